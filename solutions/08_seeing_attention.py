# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     notebook_metadata_filter: kernelspec,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Chapter 08 · Seeing attention
#
# Chapter 07 trained the paper's GAT on Cora. Its two layers computed one coefficient `alpha_ij`
# for every edge `j -> i` and every head, and those coefficients are the one part of the model we
# can read directly: how much node `i` listens to each of its neighbours. This chapter looks at
# them in two ways.
#
# - **One node at a time**: its neighbours drawn around it, each edge as wide as its weight, on
#   one absolute scale so that pictures of different nodes compare.
# - **All nodes at once**: the *entropy* of each node's attention, which is largest when a node
#   listens to all its neighbours equally and 0 when it listens to one, against exactly that
#   largest value, the entropy of uniform attention.
#
# You will write three small functions: gather one node's coefficients from `edge_index` and
# `alpha` (8.1), the entropy of every node's attention with a scatter sum (8.2), and the uniform
# baseline (8.3). Chapter 02 predicted from Cora's homophily that trained attention would stay
# close to uniform; here we measure how close, compare with a model that was never trained, and
# see why. An explorer at the end lets you look at any node, layer and head.

# %%
import math
import time

import matplotlib.pyplot as plt
import torch
from IPython.display import display

from gatkit import attention, graph, load_planetoid, viz
from course.checks import exercise
from gatkit.explorer import attention_explorer, attention_table, explore_attention, format_attention_table
from gatkit.train import build_model, paper_config, train

torch.manual_seed(0)
# Cora is small: we train it on one thread, which other busy programs cannot stall the way they
# stall threads that wait for each other on shared cores (chapter 10, section 1).
torch.set_num_threads(1)
chapter_started = time.perf_counter()

cora = load_planetoid("cora", progress=False)
x = cora.x_sparse  # (N, F) sparse CSR, row-normalised
edge_index = cora.edge_index_with_self_loops  # (2, E), row 0 source j, row 1 target i
y = cora.y  # (N,)
N, E = cora.num_nodes, edge_index.shape[1]
in_degree = torch.bincount(edge_index[1], minlength=N)  # (N,) |N(i)|, the self-loop included
print(f"N = {N}, E = {E} (with self-loops); |N(i)| from {int(in_degree.min())} to {int(in_degree.max())}")

# %% [markdown]
# ## 1. A trained GAT and its coefficients
#
# We train the paper's model once with the library's loop, `gatkit.train` (chapter 07's recipe,
# seed 0), and ask it for its attention. `model(x, edge_index, return_attention=True)` returns
# the logits and a list `alphas`, one tensor per layer: `alphas[l]` has one row per column of
# `edge_index` and one column per head, after the softmax. We number the layers from 1 as the paper does (layer 1 is
# `alphas[0]`, 8 heads; layer 2 is `alphas[1]`, 1 head) and the heads from 0, as columns.

# %%
started = time.perf_counter()
result = train(paper_config(seed=0), dataset=cora, out_dir=None, progress=False, test=True)
model = result.model.eval()
print(f"trained in {time.perf_counter() - started:.1f} s: weights of epoch {result.best_epoch}, "
      f"test accuracy {result.metrics['test_acc']:.1%}")
assert result.metrics["test_acc"] > 0.78

with torch.no_grad():
    logits, alphas = model(x, edge_index, return_attention=True)  # (N, C), [(E, 8), (E, 1)]
for l, alpha in enumerate(alphas, start=1):
    print(f"layer {l}: alpha {tuple(alpha.shape)}")
assert [tuple(alpha.shape) for alpha in alphas] == [(E, 8), (E, 1)]
for alpha in alphas:  # every node's incoming coefficients sum to 1, per head
    totals = torch.zeros(N, alpha.shape[1]).index_add_(0, edge_index[1], alpha)  # (N, H)
    torch.testing.assert_close(totals, torch.ones_like(totals))

# %% [markdown]
# To tell what training did to the attention we also need the model **before** training. `train`
# seeds the generator with the config's seed and builds the model, so the same two steps give
# the weights this run started from (a run of 0 epochs returns exactly them, which we check):

# %%
torch.manual_seed(0)
untrained = build_model(paper_config(seed=0), cora.num_features, cora.num_classes).eval()
start = train(paper_config(seed=0, epochs=0), dataset=cora, out_dir=None, progress=False).model
assert all(torch.equal(a, b) for a, b in zip(untrained.state_dict().values(), start.state_dict().values()))
with torch.no_grad():
    _, untrained_alphas = untrained(x, edge_index, return_attention=True)  # [(E, 8), (E, 1)]
print("untrained: the weights training started from; alphas", [tuple(a.shape) for a in untrained_alphas])

# %% [markdown]
# ## 2. Whom does one node listen to?
#
# Column `k` of `edge_index` is the edge `edge_index[0, k] -> edge_index[1, k]` and row `k` of
# `alpha` is its coefficients. Node `i`'s attention is a distribution over its **incoming** edges,
# the columns with `i` in row 1 (its self-loop among them): they are the `|N(i)|` numbers that sum
# to 1 in every head.
#
# ## Exercise 8.1: one node's attention
#
# Write `incoming_attention(edge_index, alpha, node)`: `alpha` (E, H) in `edge_index` column
# order. Return the rows of `alpha` for the edges whose **target** is `node`, in column order, a
# (k, H) tensor with `k = |N(node)|` (about 1 line). The check uses a directed graph, where the
# edges into a node and the edges out of it differ.


# %%
def incoming_attention(edge_index: torch.Tensor, alpha: torch.Tensor, node: int) -> torch.Tensor:
    """The coefficients (k, H) of the edges into ``node``, in column order."""
    ### BEGIN SOLUTION
    return alpha[edge_index[1] == node]  # (k, H)
    ### END SOLUTION


incoming_attention = exercise("8.1", incoming_attention)

# %% [markdown]
# The sources of the same columns say who gets each weight. Here is a node with three
# neighbours, so four incoming edges, in layer 1. Next to each weight we print it times `|N(i)|`:
# 1 is exactly the uniform share `1 / |N(i)|`.

# %%
node = int(torch.nonzero(in_degree == 4)[0])
sources = edge_index[0, edge_index[1] == node]  # (k,)
weights = incoming_attention(edge_index, alphas[0], node)  # (k, H)
print(f"node {node} ({cora.class_names[y[node]]}), layer 1, the weights of heads 0 to 7:")
for source, row in zip(sources.tolist(), weights):
    kind = "itself" if source == node else cora.class_names[y[source]]
    print(f"  from {source:4d} ({kind:22s}) " + " ".join(f"{w:.3f}" for w in row.tolist()))
print(f"  uniform share 1/{len(sources)} = {1 / len(sources):.3f}; weight x |N(i)| from "
      f"{float((weights * len(sources)).min()):.3f} to {float((weights * len(sources)).max()):.3f}")
torch.testing.assert_close(weights.sum(dim=0), torch.ones(8))
lib_sources, lib_weights = attention.node_attention(edge_index, alphas[0], node)  # gatkit's version
assert torch.equal(lib_sources, sources) and torch.equal(lib_weights, weights)
assert float((weights * len(sources) - 1).abs().max()) < 0.05  # all within 5% of uniform

# %% [markdown]
# Every head gives each of the four edges nearly a quarter: within 5% of it (the printed range).
# One node is one node, though; the rest of the chapter looks at all of them.
#
# ## 3. Drawing attention on an absolute scale
#
# `viz.draw_attention` draws a node (the star) with its neighbours around it, coloured by
# class, and each incoming edge as wide as its weight; the self-loop's weight is the ring around
# the star. The layout is igraph's circular Reingold-Tilford tree rooted at the node (the
# neighbours on one circle, grouped by class) or Kamada-Kawai, which pulls neighbours that cite
# each other together (their links drawn thin and grey).
#
# The widths are on an **absolute** scale: a weight `w` is always `w × 16` points wide, whatever
# the node. Rescaling each picture so that its heaviest edge looks heavy would make every node
# seem to have favourites; on one scale, pictures compare. And since a node's weights sum to 1,
# every picture holds the same total width: a node with two incoming edges splits it in two, the
# highest-degree node of Cora in 169 (168 neighbours and itself).

# %%
hubs, hub_degrees = graph.top_degree_nodes(in_degree, k=2)
hub = int(hubs[0])
fig = viz.draw_attention(edge_index, alphas[0], y, hub, head=0, layer=1, class_names=cora.class_names)
width = viz.WIDTH_PER_UNIT  # points per unit of attention, the same in every picture
print(f"node {hub}: uniform share 1/{int(hub_degrees[0])} = {1 / int(hub_degrees[0]):.4f}, "
      f"{width / int(hub_degrees[0]):.2f} points wide; a single neighbour with weight 1/2: {width / 2:.0f} points")
assert hub == 1358 and int(hub_degrees[0]) == 169 and width == 16
hub_sources, hub_weights = attention.node_attention(edge_index, alphas[0], hub)  # (169,), (169, 8)
hub_ratio = hub_weights[:, 0] * int(hub_degrees[0])  # head 0, as drawn: 1 = the uniform share
hub_neighbours = hub_sources[hub_sources != hub]  # (168,)
same_as_hub = float((y[hub_neighbours] == y[hub]).float().mean())
print(f"head 0: each edge's weight from {float(hub_ratio.min()):.2f} to {float(hub_ratio.max()):.2f} times the "
      f"uniform share; {same_as_hub:.0%} of the neighbours are {cora.class_names[y[hub]]}, like the hub")
assert 0.5 < float(hub_ratio.min()) and float(hub_ratio.max()) < 2  # within a factor of two of uniform
assert cora.class_names[y[hub]] == "Genetic_Algorithms" and same_as_hub > 0.9
plt.show()

# %% [markdown]
# The hub's 169 edges are hairlines: at uniform attention each is 1/169 of the width of a
# single-neighbour edge, and the picture agrees that this is roughly what they got: every edge
# within a factor of two of it (the range printed). Its neighbours are nearly all
# *Genetic_Algorithms* papers, like itself (over 90%). The second-highest-degree node in layer
# 2, drawn with Kamada-Kawai:

# %%
fig = viz.draw_attention(edge_index, alphas[1], y, int(hubs[1]), head=0, layer=2, layout="kk",
                         class_names=cora.class_names)
plt.show()

# %% [markdown]
# Hubs are rare: most nodes have only a few neighbours (chapter 02; the cell below counts them).
# Three nodes drawn at random (seeded), in layer 1 head 0 on top and layer 2 below, on the same
# scale as above; the table lists the layer-1 weights of the first of them, heaviest first:

# %%
generator = torch.Generator().manual_seed(8)
random_nodes = torch.randperm(N, generator=generator)[:3].tolist()
fig, axes = plt.subplots(2, 3, figsize=(15, 10), layout="constrained")
for row, layer in enumerate((1, 2)):
    for ax, node in zip(axes[row], random_nodes):
        viz.draw_attention(edge_index, alphas[layer - 1], y, node, head=0, layer=layer,
                           class_names=cora.class_names, ax=ax, legend=False)
print(format_attention_table(attention_table(cora, alphas, random_nodes[0], layer=1, head=0)))
few = float((in_degree <= 5).float().mean())  # at most 4 neighbours besides the self-loop
print(f"{few:.0%} of the nodes have at most 4 neighbours; {int((in_degree > 21).sum())} have more than 20")
assert few > 0.5 and int((in_degree > 21).sum()) < 0.01 * N
for node in random_nodes:
    node_sources = edge_index[0, edge_index[1] == node]  # (k,)
    ratios = torch.cat([incoming_attention(edge_index, alpha, node)[:, 0] for alpha in alphas]) * len(node_sources)
    print(f"node {node}: {len(node_sources) - 1} neighbours, classes {sorted(set(y[node_sources].tolist()))}; "
          f"weight x |N(i)| from {float(ratios.min()):.3f} to {float(ratios.max()):.3f} (head 0, both layers)")
    assert (y[node_sources] == y[node]).all()  # a neighbourhood of one class
    assert float((ratios - 1).abs().max()) < 0.05  # every width within 5% of 1 / |N(i)|
plt.show()

# %% [markdown]
# Within each picture the edges look alike: the widths follow `1 / |N(i)|`, within 5% (printed
# above). These neighbourhoods happen to be of one class each. Does attention at least turn away
# from neighbours of *another* class, the edges homophily says are misleading? Over all of Cora,
# the mean of `alpha_ij × |N(i)|` (1 = the uniform share, computed in section 5 with
# `attention.attention_ratio`) by kind of edge:

# %%
loops = edge_index[0] == edge_index[1]  # (E,)
same_class = (y[edge_index[0]] == y[edge_index[1]]) & ~loops  # (E,)
other_class = y[edge_index[0]] != y[edge_index[1]]  # (E,)
print(f"{'':8s} {'self-loop':>10s} {'same class':>11s} {'other class':>12s}")
for l, alpha in enumerate(alphas, start=1):
    ratio = attention.attention_ratio(alpha, edge_index, N)  # (E, H)
    means = [float(ratio[kind].mean()) for kind in (loops, same_class, other_class)]
    print(f"layer {l}: " + " ".join(f"{m:11.4f}" for m in means))
    assert abs(means[1] - means[2]) < 0.01  # no preference between same- and other-class neighbours
print(f"{int(other_class.sum())} of {int((~loops).sum())} edges join two classes")
assert 2 * int(other_class.sum()) < int((~loops).sum())  # a minority

# %% [markdown]
# No: on average a neighbour of another class gets its uniform share as much as one of the same
# class (the two columns agree to a per cent or better). The attention has not learned to filter
# out the misleading minority of edges.
#
# ## 4. How spread out is a node's attention? Entropy
#
# Pictures show one node. To see all 2708 at once we summarise each node's attention by one
# number, its **entropy** in nats:
#
# $$H_i = -\sum_{j \in \mathcal{N}(i)} \alpha_{ij} \ln \alpha_{ij}, \qquad 0 \le H_i \le \ln |\mathcal{N}(i)|.$$
#
# It is 0 when node `i` gives all its attention to one neighbour and largest, `ln |N(i)|`, when
# it spreads it evenly: uniform attention over 4 edges has entropy `ln 4`. A weight of exactly 0
# contributes `0 ln 0 = 0` (the limit of `p ln p`), and `torch.xlogy(a, a)` computes `a ln a` with
# that convention. The per-edge terms are then added up per target, exactly like the softmax
# denominators of chapter 06.
#
# ## Exercise 8.2: the entropy of each neighbourhood
#
# Write `neighbourhood_entropy(alpha, edge_index, num_nodes)`: `alpha` (E, H). Return the (N, H)
# tensor of `H_i` per node and head, in nats, with a scatter sum over the targets
# (`index_add_`), in `alpha`'s dtype. Every node has at least its self-loop (about 2 lines).


# %%
def neighbourhood_entropy(alpha: torch.Tensor, edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Entropy in nats of each node's attention over its incoming edges, per head: (N, H)."""
    ### BEGIN SOLUTION
    terms = -torch.xlogy(alpha, alpha)  # (E, H): -alpha ln alpha, 0 where alpha == 0
    return torch.zeros(num_nodes, alpha.shape[1], dtype=alpha.dtype).index_add_(0, edge_index[1], terms)
    ### END SOLUTION


neighbourhood_entropy = exercise("8.2", neighbourhood_entropy)

# %% [markdown]
# By hand, on a star whose centre attends over four edges in three ways (three heads): uniformly
# (entropy `ln 4`), all on one edge (0, with three `0 ln 0` terms), and with weights 1/2, 1/4, 1/4
# and 0 (`(1/2) ln 2 + 2 · (1/4) ln 4 = 1.5 ln 2`):

# %%
star = torch.tensor([[0, 1, 2, 3], [0, 0, 0, 0]])  # (2, 4): node 0 attends over 0, 1, 2, 3
star_alpha = torch.tensor([[0.25, 1.0, 0.5], [0.25, 0.0, 0.25], [0.25, 0.0, 0.25], [0.25, 0.0, 0.0]])  # (E, H=3)
star_entropy = neighbourhood_entropy(star_alpha, star, 4)[0]  # (H,) of node 0
print("entropies of node 0:", [round(h, 4) for h in star_entropy.tolist()],
      f"| ln 4 = {math.log(4):.4f}, 1.5 ln 2 = {1.5 * math.log(2):.4f}")
torch.testing.assert_close(star_entropy, torch.tensor([math.log(4), 0.0, 1.5 * math.log(2)]))

# %% [markdown]
# ## Exercise 8.3: the uniform baseline
#
# The largest entropy a node can have is that of uniform attention, `ln |N(i)|`. Write
# `uniform_entropy(edge_index, num_nodes)` returning the (N,) float32 tensor of `ln |N(i)|`:
# the logarithm of every node's **in-degree**, self-loop included (about 1 line).


# %%
def uniform_entropy(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """``ln |N(i)|`` for every node: the entropy of uniform attention over its incoming edges."""
    ### BEGIN SOLUTION
    return torch.bincount(edge_index[1], minlength=num_nodes).float().log()  # (N,)
    ### END SOLUTION


uniform_entropy = exercise("8.3", uniform_entropy)

# %% [markdown]
# For one node the difference `ln |N(i)| − H_i` is the Kullback-Leibler divergence of its
# attention from the uniform distribution `u_j = 1 / |N(i)|`:
#
# $$\mathrm{KL}(\alpha_i \,\|\, u) = \sum_j \alpha_{ij} \ln \frac{\alpha_{ij}}{1/|\mathcal{N}(i)|}
#   = \ln |\mathcal{N}(i)| - H_i \;\ge\; 0 .$$
#
# So it is never negative and is 0 only for exactly uniform attention. Its mean over the nodes is
# the **entropy gap** (`attention.entropy_gap`, computed in float64), per layer and head: how
# many nats of spread the model gave up. Divided by the mean uniform entropy it becomes a share.

# %%
entropy = neighbourhood_entropy(alphas[0], edge_index, N)  # (N, 8)
uniform = uniform_entropy(edge_index, N)  # (N,)
torch.testing.assert_close(entropy, attention.attention_entropy(alphas[0], edge_index, N))
torch.testing.assert_close(uniform, attention.uniform_entropy(edge_index, N))
assert float((uniform[:, None] - entropy).min()) > -1e-5  # never above uniform (float32 rounding aside)

names = [f"layer {l}, head {h}" for l, alpha in enumerate(alphas, start=1) for h in range(alpha.shape[1])]
gaps = torch.cat([attention.entropy_gap(a, edge_index, N) for a in alphas])  # (9,) nats
shares = torch.cat([attention.entropy_gap(a, edge_index, N, relative=True) for a in alphas])  # (9,)
untrained_gaps = torch.cat([attention.entropy_gap(a, edge_index, N) for a in untrained_alphas])  # (9,)
print(f"mean uniform entropy: {float(uniform.double().mean()):.3f} nats")
print(f"{'':16s} {'trained gap':>12s} {'share':>9s} {'untrained gap':>14s}")
for name, gap, share, before in zip(names, gaps.tolist(), shares.tolist(), untrained_gaps.tolist()):
    print(f"{name:16s} {gap:12.2e} {share:9.4%} {before:14.2e}")
gap_ratio = float(gaps.mean() / untrained_gaps.mean())
print(f"mean over the 9 heads: trained {float(gaps.mean()):.2e} nats, untrained {float(untrained_gaps.mean()):.2e} "
      f"nats ({gap_ratio:.1f} times less)")
assert float(shares.max()) < 1e-3  # under 0.1% of the uniform entropy in every head
assert float(gaps.mean()) > float(untrained_gaps.mean())  # training moved attention away from uniform...
assert float(gaps.max()) < 1e-2  # ...by less than a hundredth of a nat

# %% [markdown]
# In every head of both layers the trained model's attention is within a **tenth of a per cent**
# of the largest entropy it could have (the share column). The untrained model is closer still,
# by the factor printed: training moved attention away from uniform, but barely. The histograms
# show it. Each panel is one head; the grey bars are the uniform baseline `ln |N(i)|` of all
# nodes, the lines the trained and the untrained model's entropies, on the same bins:

# %%
fig = viz.plot_entropy_histograms(alphas, edge_index, N, baseline_alphas=untrained_alphas,
                                  title="Entropy of each node's attention: trained, untrained, uniform")
plt.show()

bins = torch.linspace(0, 1.02 * float(uniform.max()), 41, dtype=torch.float64)  # the histograms' 40 bins
uniform_bin = torch.bucketize(uniform.double(), bins, right=True)  # (N,) the bin of ln |N(i)|
for which, model_alphas in (("trained", alphas), ("untrained", untrained_alphas)):
    entropies = [attention.attention_entropy(a.double(), edge_index, N) for a in model_alphas]  # [(N, 8), (N, 1)]
    moved = max(int((torch.bucketize(h, bins, right=True) != uniform_bin[:, None]).sum(dim=0).max())
                for h in entropies)  # the most nodes of one panel outside the bin of their ln |N(i)|
    below = [h < math.log(2) - 1e-12 for h in entropies]  # (N, H) each: entropy below ln 2
    deficit = max(float((math.log(2) - h[b]).max()) if b.any() else 0.0 for h, b in zip(entropies, below))
    print(f"{which:9s}: at most {moved} of {N} nodes per panel in another bin than ln |N(i)|; below ln 2: "
          f"{int(below[0].sum())} of {below[0].numel()} (node, head) pairs in layer 1, {int(below[1].sum())} of "
          f"{N} nodes in layer 2, by at most {deficit:.4f} nats")
    assert moved < 0.01 * N  # the histograms lie on top of the uniform one
    assert all(bool((in_degree[b.nonzero()[:, 0]] == 2).all()) for b in below)  # only nodes with two edges
    assert int(below[0].sum()) > 1000 and deficit < 0.05  # thousands of pairs, each only a hair below ln 2

# %% [markdown]
# The three distributions lie on top of each other in every panel: fewer than 1% of the nodes of
# any panel leave the bin of their uniform entropy (printed above). The peaks are the small
# degrees, `ln 2`, `ln 3`, `ln 4`, ...: Cora has no node without neighbours, so no node's
# *uniform* entropy is below `ln 2`. Its attention entropy can be, by a hair: a node with two
# incoming edges and unequal weights lies below `ln 2`, and thousands of (node, head) pairs do,
# untrained and trained (counted above; all of them nodes with two incoming edges).
#
# This is what chapter 02 predicted from **homophily**:

# %%
assert int(in_degree.min()) == 2  # every node: its self-loop and at least one neighbour
homophily = graph.edge_homophily(cora.edge_index, y)
print(f"edge homophily of Cora: {homophily:.1%} of the edges join two papers of the same class")
assert 0.78 < homophily < 0.84

# %% [markdown]
# When four out of five neighbours share a node's class, the plain average of the neighbourhood
# is already a good summary and there is little to gain by weighting neighbours unevenly;
# chapter 07 found the same from the other side, where a GAT with attention frozen to uniform
# classified about as well. The entropy histograms show that the trained GAT on Cora *is*,
# nearly, that uniform model.
#
# ## 5. A closer look: each weight against its uniform share
#
# Entropy is a blunt instrument near its maximum: for weights `alpha_ij = (1 + d_j) / |N(i)|` the
# KL divergence is about `(1 / 2|N(i)|) Σ_j d_j²`, *second* order in the deviations `d_j`, so
# deviations of a few per cent vanish in it. The ratio `alpha_ij × |N(i)|` (1 = uniform) shows them
# at first order (`attention.attention_ratio`; edges into nodes with a single incoming edge are
# left out, their ratio is 1 by force):

# %%
shared = in_degree[edge_index[1]] > 1  # (E,) edges whose target has a choice
print(f"{'':10s} {'within ±5% of uniform':>22s} {'smallest ratio':>15s} {'largest ratio':>14s}")
spread = {}
for which, model_alphas in (("trained", alphas), ("untrained", untrained_alphas)):
    for l, alpha in enumerate(model_alphas, start=1):
        ratio = attention.attention_ratio(alpha, edge_index, N)[shared]  # (E', H)
        within = float(((ratio - 1).abs() <= 0.05).double().mean())
        spread[which, l] = (within, float(ratio.min()), float(ratio.max()))
        print(f"{which:9s} {l}: {within:22.1%} {float(ratio.min()):15.3f} {float(ratio.max()):14.3f}")
for l in (1, 2):
    assert spread["trained", l][0] > 0.95 and spread["trained", l][2] < 2  # nearly all within 5%, never double
    assert spread["untrained", l][0] > 0.99  # the untrained ones hug 1
    assert spread["trained", l][1] < spread["untrained", l][1] and spread["untrained", l][2] < spread["trained", l][2]
fig = viz.plot_attention_ratios(alphas, edge_index, N, baseline_alphas=untrained_alphas)
plt.show()

# %% [markdown]
# Now training's effect is visible: the untrained coefficients hug 1 (the dashed line), the
# trained ones spread wider, with tails a log axis makes visible. Still, over 95% of the
# coefficients are within 5% of the uniform share and none reaches twice it (the table).
#
# **Why so uniform?** A softmax turns differences of scores into ratios of weights:
# `alpha_ij / alpha_ik = exp(e_ij − e_ik)`. So the spread of the *raw scores* `e_ij` within one
# neighbourhood can be read back from the coefficients, as the range of `ln alpha_ij`:

# %%
def score_range(alpha: torch.Tensor) -> torch.Tensor:
    """max_j e_ij - min_j e_ij per node and head, from the coefficients (ln alpha differs from e by a constant)."""
    logs = alpha.log()  # (E, H)
    index = edge_index[1].unsqueeze(1).expand_as(logs)  # (E, H)
    high = torch.full((N, alpha.shape[1]), -math.inf).scatter_reduce(0, index, logs, reduce="amax")  # (N, H)
    low = torch.full((N, alpha.shape[1]), math.inf).scatter_reduce(0, index, logs, reduce="amin")  # (N, H)
    return (high - low)[in_degree > 1]  # (N', H)


for l, alpha in enumerate(alphas, start=1):
    spread_l = score_range(alpha)
    print(f"layer {l}: raw scores within a neighbourhood span a median {float(spread_l.median()):.3f}, "
          f"at most {float(spread_l.max()):.3f} (exp of it: {math.exp(float(spread_l.median())):.3f}, "
          f"{math.exp(float(spread_l.max())):.3f})")
with torch.no_grad():
    layer_inputs = [x, model.hidden(x, edge_index)[0]]  # what layers 1 and 2 read
    z_spread = [float(layer.project(inputs).std()) for layer, inputs in zip(model.layers, layer_inputs)]
    norms = [(float(b.a_src.norm(dim=1).mean()), float(a.a_src.norm(dim=1).mean()))
             for b, a in zip(untrained.layers, model.layers)]  # mean |a_src| per head, before and after
row_sums = torch.zeros(N).index_add_(0, torch.arange(N).repeat_interleave(x.crow_indices().diff()), x.values())
print(f"mean non-zero features per row of x: {x.values().numel() / N:.1f}, each row summing to 1 "
      f"(within {float((row_sums - 1).abs().max()):.0e})")
for l, (z_std, (before, after)) in enumerate(zip(z_spread, norms), start=1):
    print(f"layer {l}: projected features z = W h have std {z_std:.3f}; |a_src| per head {before:.3f} "
          f"before training, {after:.3f} after")
assert float(score_range(alphas[0]).median()) < 0.05 and float(score_range(alphas[1]).median()) < 0.05
assert abs(x.values().numel() / N - 18) < 0.5 and float((row_sums - 1).abs().max()) < 1e-5
assert z_spread[1] > 10 * z_spread[0]  # layer 2's projected features are much larger
assert all(after < before for before, after in norms)

# %% [markdown]
# Within a typical neighbourhood the scores differ by a few hundredths or less, and `exp` of a
# few hundredths is a ratio of weights a few per cent from 1. Two things keep the scores so close:
#
# - **Layer 1 reads tiny inputs.** Each row of `x` is a bag of words normalised to sum to 1, so a
#   paper with about 18 words has feature values near 1/18, and its projection `W x_j` is small
#   (the std printed above). The score `a_src · W x_j` inherits that.
# - **Training shrank `a`.** Layer 2 reads much larger features, but the attention vectors are
#   smaller after training than at initialisation, in both layers. Weight decay pulls every
#   parameter towards 0; that the loss did not push back is consistent with chapter 07, where
#   frozen uniform attention did about as well.
#
# None of this says GAT's attention is useless in general: on graphs whose neighbourhoods are
# mixed, or where neighbours differ in how informative they are, it has something to learn (the
# paper's PPI task is the classic example). It says that on Cora, with this recipe, the trained
# GAT behaves almost exactly like a mean over each neighbourhood.
#
# ## 6. Explore
#
# `explore_attention(dataset, alphas, node, layer, head, layout)` returns the drawing and the
# table for any node (an id, `"highest degree"` or `"random"` with a `seed`), layer (from 1) and
# head (or `"mean"` over the layer's heads); the widget below calls it for you:

# %%
fig, table = explore_attention(cora, alphas, "random", layer=1, head="mean", layout="kk", seed=2)
print(format_attention_table(table, max_rows=6))
chosen = next(row["source"] for row in table if row["self_loop"])  # the node the seed picked
assert len(table) == int(in_degree[chosen])
assert all(a["weight"] >= b["weight"] for a, b in zip(table, table[1:]))  # heaviest first
assert abs(sum(row["weight"] for row in table) - 1) < 1e-5
two_node = int((graph.component_sizes(graph.connected_components(cora.edge_index, N)) == 2).sum())
print(f"Cora has {two_node} components of two nodes")
assert two_node > 0
plt.show()

# %% [markdown]
# Choose a node (by id, the highest degree, or at random with a seed), a layer, a head or the
# mean, and a layout. Things to try: the hub in layer 1 head by head (do the heads favour the
# same neighbours?), a node whose neighbours mostly belong to another class, a node from a
# two-node component. (The controls need a running notebook; everything above runs without them.)

# %% tags=["widget"]
panel = attention_explorer(cora, alphas)
display(panel)

# %%
print(f"chapter run time: {time.perf_counter() - chapter_started:.0f} s")

# %% [markdown]
# ## Summary
#
# - `alphas[l]` (E, H) holds one coefficient per edge and head; node `i`'s attention is the rows
#   of its **incoming** edges, `alpha[edge_index[1] == i]`, which sum to 1 per head.
# - Drawn with widths on one absolute scale, every node's picture holds the same total width;
#   on Cora nearly every neighbour gets within 5% of its uniform share `1 / |N(i)|`, whatever
#   its class.
# - The entropy of a node's attention (a scatter sum of `-alpha ln alpha` over its incoming edges)
#   is at most `ln |N(i)|`; the gap to it is the KL divergence from uniform attention.
# - On Cora the trained GAT's entropy is within a tenth of a per cent of uniform in every layer
#   and head: further from uniform than before training, but nearly a neighbourhood mean, as its
#   high homophily predicts.
# - Small scores, not a failure of the code, explain it: row-normalised inputs in layer 1 and
#   attention vectors that training shrank.
#
# ## Check your understanding
#
# 1. Why does every picture of `draw_attention` hold the same total edge width? What would
#    rescaling each picture to its heaviest edge have hidden?
# 2. No Cora node has a uniform entropy `ln |N(i)|` below `ln 2`, yet section 4 counted
#    thousands of (node, head) pairs whose attention entropy is below `ln 2`, untrained and
#    trained. How can both hold, and what would a node with entropy 0 have to look like?
# 3. Show that `ln |N(i)| − H_i` is never negative without looking at any data.
# 4. Section 4 measured entropy gaps of a tiny fraction of a nat; section 5 found single
#    weights well away from their uniform share. How can both hold?
# 5. A GAT layer scores `e_ij = LeakyReLU(a_src · W h_j + a_dst · W h_i)`. Argue that every node
#    ranks its neighbours by the same number `a_src · W h_j`. What does that mean for a node
#    that is a neighbour of many others?
# 6. Predict the histograms for a GAT trained on a graph with edge homophily 0.2.

# %% [markdown] tags=["solution"]
# **Answers.**
#
# 1. A node's weights sum to 1 in each head, and width is proportional to weight, so the widths
#    of its edges (ring included) add up to 16 points in every picture. Rescaling each picture to
#    its heaviest edge would make the heaviest of 169 near-equal hub edges look as important as
#    the only neighbour of a degree-1 node, and near-uniform attention would look selective.
# 2. Every Cora node has at least one neighbour besides its self-loop, so `|N(i)| ≥ 2` and the
#    uniform entropy is at least `ln 2`. A node's attention entropy is at most `ln |N(i)|`, with
#    equality only for exactly uniform weights, so a node with two incoming edges and unequal
#    weights lies below `ln 2`, however slightly; a node with three or more edges would need far
#    more uneven weights to get there, and on Cora none has them (section 4: all the pairs below
#    `ln 2` belong to nodes with two edges). Entropy 0 needs all the weight on one edge: a node
#    whose only incoming edge is its self-loop, or a softmax with one score far above the others.
# 3. `ln |N(i)| − H_i = Σ_j α_ij ln(α_ij |N(i)|) = KL(α_i ‖ u)`, and by Jensen's inequality
#    (`ln` is concave) `−KL = Σ_j α_ij ln(u_j / α_ij) ≤ ln Σ_j u_j = 0`.
# 4. The gap is second order in the deviations: for weights `(1 + d_j) / |N(i)|` it is about
#    `Σ_j d_j² / (2 |N(i)|)`, so a weight 10% off its share adds only `0.1² / 2` times that share;
#    and it is averaged over all nodes, most of them near uniform. The ratio histogram counts
#    every edge once, at first order, and its log axis shows the rare tails.
# 5. The target term `a_dst · W h_i` is the same for all of `i`'s neighbours, and LeakyReLU is
#    strictly increasing, so the order of the `e_ij` over `j` is the order of `a_src · W h_j`,
#    whatever `i` is. A neighbour with a high source score is ranked first by every node it is a
#    neighbour of: GAT's attention is *static* (Brody et al., 2022); GATv2 makes it dynamic by
#    applying `a` after the nonlinearity.
# 6. Averaging mostly other-class neighbours mixes in the wrong classes, so there is much more to
#    gain from uneven weights: we would expect larger gaps (histograms shifted left of the grey
#    baseline) at least in some heads, for example weight moved onto the self-loop. In practice GAT
#    often still struggles there (Zhu et al., *Beyond Homophily in Graph Neural Networks*, NeurIPS
#    2020), which motivated models that treat a node and its neighbours separately.

# %% [markdown]
# ## Going further
#
# - This chapter's solutions are in the library as `gatkit.attention.node_attention` (8.1, which
#   also returns the sources), `attention_entropy` (8.2) and `uniform_entropy` (8.3).
# - `viz.draw_attention(..., head="mean")` draws the mean over a layer's heads;
#   `viz.plot_entropy_histograms` accepts any model's `alphas`, for instance those of a GAT
#   trained on Citeseer (`load_planetoid("citeseer")`, `paper_config("citeseer")`).
# - Brody, Alon and Yahav, *How Attentive are Graph Attention Networks?* (ICLR 2022): static
#   attention and GATv2.
# - Knyazev, Taylor and Amer, *Understanding Attention and Generalization in Graph Neural
#   Networks* (NeurIPS 2019): when attention helps, and when it stays near uniform.
# - Kim and Oh, *How to Find Your Friendly Neighborhood: Graph Attention Design with
#   Self-Supervision* (ICLR 2021): attention and homophily across many datasets.
# - Jain and Wallace, *Attention is not Explanation* (NAACL 2019): reading attention weights as
#   explanations needs care, in graphs as in text.
