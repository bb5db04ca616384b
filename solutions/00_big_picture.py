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
# # Chapter 00 · The big picture
#
# This course builds a **Graph Attention Network** (GAT; Veličković et al., ICLR 2018) from
# scratch, three times over, trains it and looks inside it. This first chapter needs no
# knowledge of graph neural networks. It answers four questions before any equation gets
# serious:
#
# 1. **What is the task?** Guess the topic of every paper in a citation graph from 140 labels.
# 2. **What does a graph neural network do?** Every node gathers *messages* from its neighbours:
#    transform, aggregate, update.
# 3. **What did the GCN, GAT's best-known predecessor, do, and what can it not do?** It weighs
#    neighbours by their degrees, never by what they contain.
# 4. **What does attention change?** The weights become a learned function of the features.
#
# It ends with a map of the course. Nothing is trained here; you write three small functions
# (the mean of the messages, the GCN edge weights and a GCN layer), each checked automatically.

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle

from course.checks import exercise
from gatkit.data import load_planetoid
from gatkit.functional import aggregate, edge_scores, neighbourhood_softmax, node_scores

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)

# %% [markdown]
# ## 1. The task: node classification on a citation graph
#
# **Cora** is a graph of 2708 machine-learning papers. Each paper is a **node**; a citation
# between two papers is an **edge** (a citation has a direction, but like the GCN and GAT
# papers we let information flow both ways). Each paper is described by which of 1433
# dictionary words its text contains, and belongs to one of 7 topics. The task, *node
# classification*: predict the topic of every paper.

# %%
cora = load_planetoid("cora", progress=False)
x, y, edge_index = cora.x, cora.y, cora.edge_index  # (N, F), (N,), (2, E)
num_nodes, num_classes = cora.num_nodes, len(cora.class_names)
print(cora)
for c, name in enumerate(cora.class_names):
    print(f"  topic {c}: {name}")
assert (num_nodes, x.shape[1], num_classes) == (2708, 1433, 7)

# %% [markdown]
# `edge_index` holds the edges as a (2, E) tensor, one column per edge `j -> i`: row 0 the
# **source** `j`, row 1 the **target** `i`. Every citation is stored in both directions.
# Here are four papers, their number of distinct words, and their neighbours (the papers they
# cite or are cited by) with their topics. The dataset has no titles, only ids.

# %%
words = (x > 0).sum(dim=1)  # (N,) distinct words per paper


def neighbours_of(node: int) -> torch.Tensor:
    """The sources of the edges into ``node``."""
    return edge_index[0, edge_index[1] == node]  # (d,)


print(f"{'node':>5}  {'topic':22}  {'words':>5}  neighbours (topic)")
for node in (0, 4, 10, 2):
    listed = ", ".join(f"{j} ({cora.class_names[y[j]]})" for j in neighbours_of(node).tolist())
    print(f"{node:>5}  {cora.class_names[y[node]]:22}  {words[node].item():>5}  {listed}")

keys = edge_index[0] * num_nodes + edge_index[1]  # (E,) one number per edge j -> i
assert torch.equal(keys.sort().values, (edge_index[1] * num_nodes + edge_index[0]).sort().values)  # both ways
assert all(y[neighbours_of(0)] == y[0])  # paper 0: all three neighbours share its topic
assert (y[neighbours_of(10)] != y[10]).all()  # paper 10: none of its two does

# %% [markdown]
# Paper 0's three neighbours are all *Neural_Networks* papers, like paper 0 itself. Paper 10 is
# the other case: a *Theory* paper whose two neighbours are both about *Reinforcement_Learning*.
#
# ### Few labels
#
# We may learn from the topics of only **140 papers**, 20 per topic (the standard *Planetoid*
# split that every GNN paper reports on). 500 more are for validation (choosing when to stop
# training) and 1000 for the final test. The other papers are unlabelled, but their words and
# citations are still there to be used: that is *semi-supervised*, *transductive* learning.

# %%
train_share = len(cora.train_idx) / num_nodes
print(f"train {len(cora.train_idx)}, validation {len(cora.val_idx)}, test {len(cora.test_idx)} "
      f"of {num_nodes} papers: {train_share:.1%} of the labels are given")
print("training labels per topic:", torch.bincount(y[cora.train_idx], minlength=num_classes).tolist())
assert (len(cora.train_idx), len(cora.val_idx), len(cora.test_idx)) == (140, 500, 1000)
assert (torch.bincount(y[cora.train_idx]) == 20).all() and 0.05 < train_share < 0.055  # "about 5%"

# %% [markdown]
# ### Why the graph helps
#
# Papers tend to cite papers on their own topic. We count it: the share of edges that join two
# papers of the same topic (the *edge homophily*), against the share we would expect if the
# topics were handed out at random with the same class sizes.

# %%
same_topic = (y[edge_index[0]] == y[edge_index[1]]).float().mean().item()  # share of same-topic edges
class_share = torch.bincount(y).float() / num_nodes  # (C,)
by_chance = (class_share ** 2).sum().item()  # two random papers share a topic this often
print(f"edges joining same-topic papers: {same_topic:.1%}; with topics at random: {by_chance:.1%}")
assert 0.80 < same_topic < 0.82 and 0.17 < by_chance < 0.19

# %% [markdown]
# About four edges in five (81%) join papers of the same topic, against 18% by chance. So a
# paper's neighbours carry strong evidence about its own topic, even when its own words are
# ambiguous, and even when the neighbours are unlabelled: their *words* can be pooled too. A
# graph neural network is a way to learn how to do that pooling. Chapter 02 looks at the graph
# in detail; the chapters after 10 look at graphs where the opposite holds (*heterophily*).
#
# ## 2. Message passing: transform, aggregate, update
#
# A graph neural network layer gives every node a new feature vector, computed from its own and
# its neighbours' vectors, in three steps:
#
# 1. **Transform**: every node `j` turns its features $h_j$ into a *message* $m_j = W h_j$, with
#    one weight matrix $W$ shared by all nodes (so the layer has as many parameters for 10 nodes
#    as for 10 million).
# 2. **Aggregate**: every target `i` combines the messages arriving over its edges `j -> i` into
#    one vector, $a_i = \sum_{j \to i} w_{ij}\, m_j$. The weights $w_{ij}$ are where the models
#    differ: a plain mean, the GCN's degree-based weights, or GAT's attention.
# 3. **Update**: the node's new features are $h'_i = \sigma(a_i)$, a nonlinearity applied to the
#    aggregate (often with the node's own message mixed in; with a self-loop `i -> i` it is
#    simply one of the messages).
#
# Every node does this at the same time, so one layer lets information travel one edge; two
# layers reach the neighbours' neighbours. Here it is for one target node `i` with three
# neighbours, each feature vector drawn as a row of coloured cells (darker = larger):

# %%
# The figure's graph: target i = node 0 hears nodes 1, 2 and 3; node 4 is a neighbour of 2 only.
figure_h = torch.tensor([[0.9, 0.1, 0.5], [0.2, 0.8, 0.3], [0.7, 0.6, 0.1],
                         [0.1, 0.3, 0.9], [0.5, 0.5, 0.5]])  # (N, F) = (5, 3)
figure_w = torch.tensor([[1.0, 0.0, 0.5], [0.0, 1.0, -0.5], [0.5, 0.5, 0.0]])  # (F, F')
figure_pairs = [(1, 0), (2, 0), (3, 0), (4, 2), (1, 2)]  # undirected edges
figure_edges = torch.tensor(figure_pairs + [(i, j) for j, i in figure_pairs]).T  # (2, E): both directions
figure_m = figure_h @ figure_w  # (N, F') messages
figure_a = figure_m[[1, 2, 3]].mean(dim=0)  # (F',) node 0's aggregate: here the mean
figure_new = torch.relu(figure_a)  # (F',) its update, sigma = ReLU

POSITION = {0: (0.0, 0.0), 1: (-1.7, 1.0), 2: (-1.7, -0.85), 3: (1.7, 0.6), 4: (-3.0, -1.35)}
BLUES, ORANGES, GREENS = plt.cm.Blues, plt.cm.Oranges, plt.cm.Greens
CELL = 0.24


def draw_vector(ax, x, y, values, cmap):
    """A feature vector as a row of coloured cells centred on (x, y)."""
    left = x - len(values) * CELL / 2
    for k, value in enumerate(values.tolist()):
        ax.add_patch(Rectangle((left + k * CELL, y - CELL / 2), CELL, CELL, facecolor=cmap(0.15 + 0.62 * value),
                               edgecolor="0.35", lw=0.6, zorder=4))


def draw_graph(ax, faces, faded=()):
    """The figure's graph: grey edges, one circle per node, node 0 labelled i."""
    for u, v in figure_pairs:
        ax.plot(*zip(POSITION[u], POSITION[v]), color="0.82", lw=1.6, zorder=1)
    for node, (px, py) in POSITION.items():
        alpha = 0.3 if node in faded else 1.0
        ax.add_patch(Circle((px, py), 0.32, facecolor=faces.get(node, "#dce8f5"), edgecolor="0.25", lw=1.5,
                            zorder=3, alpha=alpha))
        ax.text(px, py, "i" if node == 0 else str(node), ha="center", va="center", fontsize=14, zorder=5,
                alpha=alpha, fontstyle="italic" if node == 0 else "normal")
    ax.set_xlim(-3.9, 2.6)
    ax.set_ylim(-2.75, 1.9)
    ax.set_aspect("equal")
    ax.axis("off")


def caption(ax, formula, note):
    ax.text(-0.65, -2.05, formula, ha="center", fontsize=13)
    ax.text(-0.65, -2.55, note, ha="center", fontsize=11, color="0.3")


fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.6))
draw_graph(ax1, {0: "#f3d2a4"})
for node, (px, py) in POSITION.items():
    draw_vector(ax1, px - 0.45, py + 0.55, figure_h[node], BLUES)
    ax1.text(px, py + 0.55, "→", ha="center", va="center", fontsize=12)
    draw_vector(ax1, px + 0.45, py + 0.55, figure_m[node], ORANGES)
caption(ax1, r"$m_j = W h_j$  for every node $j$", "one weight matrix $W$ shared by all nodes")
ax1.set_title("1. Transform", fontsize=14, loc="left")

draw_graph(ax2, {0: "#f3d2a4"}, faded=(4,))
for j in (1, 2, 3):
    (xj, yj), (xi, yi) = POSITION[j], POSITION[0]
    ax2.add_patch(FancyArrowPatch((xj, yj), (xi, yi), arrowstyle="-|>", mutation_scale=20, lw=2.4,
                                  color="#e08a2c", shrinkA=20, shrinkB=20, zorder=2))
    beside_arrow = 0.33 if yj > 0 else -0.33
    draw_vector(ax2, 0.55 * xj + 0.45 * xi, 0.55 * yj + 0.45 * yi + beside_arrow, figure_m[j], ORANGES)
draw_vector(ax2, 0, -0.62, figure_a, ORANGES)
ax2.text(0.45, -0.62, "$a_i$", va="center", fontsize=13)
caption(ax2, r"$a_i = \Sigma_{j \to i}\, w_{ij}\, m_j$  over the edges into $i$",
        r"$w_{ij}$: a mean $1/d_i$, GCN's $1/\sqrt{d_i d_j}$ or GAT's learned $\alpha_{ij}$")
ax2.set_title("2. Aggregate", fontsize=14, loc="left")

draw_graph(ax3, {0: "#c5e3c6"}, faded=(1, 2, 3, 4))
draw_vector(ax3, 0, 0.55, figure_new, GREENS)
ax3.text(0.45, 0.55, "$h'_i$", va="center", fontsize=13)
caption(ax3, r"$h'_i = \sigma(a_i)$", "σ a nonlinearity (ReLU, ELU); all nodes update at once")
ax3.set_title("3. Update", fontsize=14, loc="left")

legend = [Rectangle((0, 0), 1, 1, facecolor=cmap(0.6), edgecolor="0.35") for cmap in (BLUES, ORANGES, GREENS)]
fig.legend(legend, ["features $h_j$", "messages $m_j = W h_j$ and their weighted sum $a_i$",
                   "new features $h'_i$"],
           loc="lower center", ncol=3, frameon=False, fontsize=12, bbox_to_anchor=(0.5, -0.02))
fig.suptitle("One round of message passing, seen from one target node i (messages flow j → i)", fontsize=15)
fig.tight_layout(rect=(0, 0.06, 1, 1))
plt.show()

# %% [markdown]
# Node 4 is two edges away from `i`: its message reaches `i` only in a second layer, through
# node 2. The figure used the simplest aggregation, the **mean** of the incoming messages,
# which is where you start.
#
# ## Exercise 0.1: the mean of the incoming messages
#
# Write `mean_aggregate(h, edge_index)`: `h` is (N, F), `edge_index` (2, E) with row 0 the
# source `j` and row 1 the target `i`; return (N, F) where row `i` is the mean of `h[j]` over
# the edges `j -> i`. A node with no incoming edge gets zeros (not NaN). Nothing else is
# added: a node counts itself only if `edge_index` holds its self-loop `i -> i`.
#
# Useful: `h[edge_index[0]]` (one row per edge), `torch.zeros_like(h).index_add_(0, index, rows)`
# (adds row `k` of `rows` into row `index[k]`), `torch.bincount(index, minlength=N)`. About 3
# lines. The check feeds a directed toy graph (one node receives nothing), random directed graphs
# with shuffled columns (one node has no edge at all) and Cora.


# %%
def mean_aggregate(h: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
    """(N, F): row i is the mean of h[j] over the edges j -> i; zeros where nothing arrives."""
    ### BEGIN SOLUTION
    summed = torch.zeros_like(h).index_add_(0, edge_index[1], h[edge_index[0]])  # (N, F)
    in_degree = torch.bincount(edge_index[1], minlength=h.shape[0]).clamp(min=1)  # (N,)
    return summed / in_degree.unsqueeze(1)  # (N, F)
    ### END SOLUTION


mean_aggregate = exercise("0.1", mean_aggregate)

# %%
figure_means = mean_aggregate(figure_m, figure_edges)  # (N, F') every node's mean, at once
print("node i's aggregate in the figure:", figure_means[0])
assert torch.allclose(figure_means[0], figure_a)
assert torch.allclose(figure_means[4], figure_m[2])  # node 4 hears node 2 only

# %% [markdown]
# ### Averaging over neighbours, before anything is learned
#
# How much does one round of averaging help on Cora? A guess that learns nothing: average the
# features of the 20 training papers of each topic, and give every paper the topic whose average
# its own features are most similar to (cosine similarity). We score the guesses on the 1000 test
# papers, first on the raw word vectors, then after one and two rounds of `mean_aggregate` (with
# self-loops, so each paper's own words stay in its mean).


# %%
def nearest_class_average(features: torch.Tensor) -> float:
    """Share of test papers whose features are most similar to their own topic's training average."""
    train = cora.train_idx  # (140,)
    averages = torch.stack([features[train][y[train] == c].mean(dim=0) for c in range(num_classes)])  # (C, F)
    similarity = F.normalize(features, dim=1) @ F.normalize(averages, dim=1).T  # (N, C)
    return (similarity.argmax(dim=1)[cora.test_idx] == y[cora.test_idx]).float().mean().item()


edge_index_sl = cora.edge_index_with_self_loops  # (2, E + N)
x_mean1 = mean_aggregate(x, edge_index_sl)  # (N, F) one round
x_mean2 = mean_aggregate(x_mean1, edge_index_sl)  # (N, F) two rounds
guesses = {"own words only": nearest_class_average(x),
           "averaged over neighbours once": nearest_class_average(x_mean1),
           "averaged twice": nearest_class_average(x_mean2)}
for name, share in guesses.items():
    print(f"{name:30s} {share:.1%} of the test papers")
assert 0.55 < guesses["own words only"] < 0.59
assert 0.73 < guesses["averaged over neighbours once"] < 0.77 and guesses["averaged twice"] > 0.73

# %% [markdown]
# One round of averaging lifts the guess from about 57% to about 75% of the test papers, with
# nothing learned: the graph does the work, because neighbours mostly share a topic. The GAT
# paper reports 83.0% ± 0.7 for a trained GAT on the same split; chapter 07 trains one. What
# the mean cannot do is *choose*: every neighbour counts the same, whether it is on topic
# (paper 0's) or off topic (paper 10's).
#
# ## 3. A GCN layer, and what it cannot do
#
# The Graph Convolutional Network of Kipf and Welling (ICLR 2017) is the layer GAT set out to
# improve on. Its propagation rule, their equation 2:
#
# > $H^{(l+1)} = \sigma\left(\tilde{D}^{-\frac{1}{2}}\tilde{A}\tilde{D}^{-\frac{1}{2}}H^{(l)}W^{(l)}\right)$.
# > Here, $\tilde{A} = A + I_N$ is the adjacency matrix of the undirected graph $\mathcal{G}$
# > with added self-connections. $I_N$ is the identity matrix, $\tilde{D}_{ii} = \sum_j \tilde{A}_{ij}$
# > and $W^{(l)}$ is a layer-specific trainable weight matrix. $\sigma(\cdot)$ denotes an
# > activation function, such as the $\mathrm{ReLU}(\cdot) = \max(0, \cdot)$.
#
# Read per edge, with $d_i = \tilde{D}_{ii}$ the number of edges into `i`, its self-loop
# included:
#
# $$h'_i = \sigma\Big(\sum_{j \to i} \frac{1}{\sqrt{d_i\, d_j}}\, (h W)_j\Big)$$
#
# That is transform (`h @ W`), aggregate (a weighted sum over the incoming edges) and update
# (σ). Unlike the mean, the weight of an edge also depends on the *source's* degree: a much-cited
# paper speaks more softly to each of the papers it is linked to.
#
# ## Exercise 0.2: the GCN edge weights
#
# Write `gcn_coefficients(edge_index, num_nodes)`: return a float32 tensor of shape (E,) holding
# $1/\sqrt{d_i d_j}$ for each column `(j, i)` of `edge_index`, where `d` is the **in-degree**,
# the number of columns whose target is the node. `edge_index` already holds one self-loop per
# node (the $+ I$ of $\tilde{A}$): count the columns as they are, do not add a loop. About 2
# lines. The check uses the toy graph below, a directed toy graph (where in- and out-degrees
# differ), a random directed graph in which one node has only its self-loop, and Cora.


# %%
def gcn_coefficients(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """(E,) float32: 1 / sqrt(d_i d_j) for every edge j -> i, d the in-degree (self-loops included)."""
    ### BEGIN SOLUTION
    degree = torch.bincount(edge_index[1], minlength=num_nodes).float()  # (N,)
    return (degree[edge_index[1]] * degree[edge_index[0]]).rsqrt()  # (E,)
    ### END SOLUTION


gcn_coefficients = exercise("0.2", gcn_coefficients)

# %% [markdown]
# ## Exercise 0.3: a GCN layer
#
# Write `gcn_layer(x, edge_index, weight)`: `x` is (N, F), `weight` is (F, F') and is applied as
# `x @ weight` (Kipf and Welling's $HW$; `torch.nn.Linear` stores the transpose), `edge_index`
# holds the self-loops. Return (N, F'): row `i` is the sum over the edges `j -> i` of
# `gcn_coefficients(...)[edge] * (x @ weight)[j]`. **No activation**: the model applies σ
# between layers, and the last layer's output goes to the loss as it is. About 4 lines; the
# check tries `W = I`, a weight that is not symmetric, a random directed graph with F = 5 and
# F' = 3, and Cora.


# %%
def gcn_layer(x: torch.Tensor, edge_index: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """(N, F'): one GCN layer before its activation, sum over j -> i of (x W)_j / sqrt(d_i d_j)."""
    ### BEGIN SOLUTION
    z = x @ weight  # (N, F') transform
    coefficients = gcn_coefficients(edge_index, x.shape[0])  # (E,)
    messages = coefficients.unsqueeze(1) * z[edge_index[0]]  # (E, F')
    return torch.zeros_like(z).index_add_(0, edge_index[1], messages)  # (N, F') aggregate
    ### END SOLUTION


gcn_layer = exercise("0.3", gcn_layer)

# %% [markdown]
# Does it matter whether you project first, $\hat{A}(xW)$ with
# $\hat{A} = \tilde{D}^{-1/2}\tilde{A}\tilde{D}^{-1/2}$, or aggregate first, $(\hat{A}x)W$?
# Not for the result: both are the same matrix product, grouped differently. For the cost it
# does: projecting first sends F' numbers along each edge instead of F, and on Cora F = 1433
# while a GAT layer has F' = 8 per head.

# %%
weight = 0.1 * torch.randn(x.shape[1], 16)  # (F, F')
project_first = gcn_layer(x, edge_index_sl, weight)  # (N, F')
x_gcn1 = gcn_layer(x, edge_index_sl, torch.eye(x.shape[1]))  # (N, F) W = I: the aggregation alone
aggregate_first = x_gcn1 @ weight  # (N, F')
print("largest difference between the two orders:", (project_first - aggregate_first).abs().max().item())
assert torch.allclose(project_first, aggregate_first, atol=1e-6)

# %% [markdown]
# ### What the GCN cannot do
#
# Take four nodes with two features each and the edges 0–1, 1–2, 1–3 and 2–3, both ways, plus a
# self-loop on every node. We set the projection to the identity, `W = I`, so that every output
# is a weighted sum of the inputs you can check by hand. Nodes 2 and 3 are the interesting pair:
# both hear exactly {1, 2, 3}, but their features differ.

# %%
toy_h = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]])  # (N, F) = (4, 2)
toy_edges = torch.tensor([[0, 1, 0, 1, 2, 3, 1, 2, 3, 1, 2, 3],   # row 0: source j
                          [0, 0, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3]])  # row 1: target i
source, target = toy_edges  # (E,), (E,)
toy_degree = torch.bincount(target)  # (N,) self-loops included
toy_weights = gcn_coefficients(toy_edges, 4)  # (E,)

print("in-degrees d:", toy_degree.tolist())
for i in range(4):
    heard = {j: round(w, 4) for j, w in zip(source[target == i].tolist(), toy_weights[target == i].tolist())}
    print(f"node {i} (features {toy_h[i].tolist()}) weighs its sources {heard}")

into_1 = toy_weights[target == 1]  # (4,) from nodes 0, 1, 2, 3
assert toy_degree.tolist() == [2, 4, 3, 3]
assert torch.allclose(into_1, torch.tensor([8.0, 16.0, 12.0, 12.0]).rsqrt())  # 1/sqrt(4*2), 1/4, 1/sqrt(4*3) x2
assert into_1[2] == into_1[3] and not torch.equal(toy_h[2], toy_h[3])  # same degree, same weight
print(f"node 1's weights sum to {into_1.sum().item():.3f}, not 1: a GCN does not average")
assert 1.17 < into_1.sum() < 1.19

# %% [markdown]
# Node 1 hears nodes 0, 1, 2 and 3 with weights $1/\sqrt{4 \cdot 2} = 0.354$, $1/4 = 0.25$ and
# $1/\sqrt{4 \cdot 3} = 0.289$ for both 2 and 3. Those numbers come from the degrees alone:
# `gcn_coefficients` never sees the features. Nodes 2 and 3 get the same weight from node 1
# although their features are opposite in the first coordinate, and no training can change
# that: the weights are not parameters. Now the layer itself:

# %%
gcn_out = gcn_layer(toy_h, toy_edges, torch.eye(2))  # (N, F') with W = I
gcn_out2 = gcn_layer(gcn_out, toy_edges, torch.eye(2))  # (N, F') a second layer
print("one GCN layer, W = I:\n", gcn_out)
expected_2 = 12 ** -0.5 * toy_h[1] + toy_h[2] / 3 + toy_h[3] / 3  # node 2 by hand
assert torch.allclose(gcn_out[2], expected_2)
assert torch.allclose(expected_2, torch.tensor([0.0, 0.6220]), atol=1e-4)
assert torch.allclose(gcn_out[2], gcn_out[3]) and torch.allclose(gcn_out2[2], gcn_out2[3])

# %% [markdown]
# By hand, node 2: $\frac{1}{\sqrt{3 \cdot 4}}[0, 1] + \frac{1}{3}[1, 1] + \frac{1}{3}[-1, 0] = [0, 0.622]$,
# and node 3 gets exactly the same: same neighbourhood, same degrees, so the same weighted sum
# of the same vectors. After any number of layers, and for any `W`, nodes 2 and 3 stay
# indistinguishable, whatever their own features say. That is the GCN's blind spot: **a node
# weighs its neighbours by the graph's structure alone**. The same degree-based weights on Cora
# still help, as the mean did (a weighted sum that gives hubs less say), but they cannot tell an
# on-topic neighbour from an off-topic one:

# %%
gcn_guess = nearest_class_average(x_gcn1)  # x_gcn1: one GCN layer with W = I, from above
print(f"averaged once with the GCN weights: {gcn_guess:.1%} of the test papers")
assert 0.71 < gcn_guess < 0.75

# %% [markdown]
# ## 4. Attention: neighbour weights learned from the features
#
# GAT keeps transform, aggregate and update, and replaces the fixed weight of each edge by one
# computed from the features of its two ends. From the abstract:
#
# > By stacking layers in which nodes are able to attend over their neighborhoods' features, we
# > enable (implicitly) specifying different weights to different nodes in a neighborhood,
# > without requiring any kind of costly matrix operation (such as inversion) or depending on
# > knowing the graph structure upfront.
#
# The layer, in the paper's words and equations (section 2.1; `a` is a learned vector of
# length 2F', ‖ is concatenation):
#
# > a shared attentional mechanism $a : \mathbb{R}^{F'} \times \mathbb{R}^{F'} \rightarrow \mathbb{R}$
# > computes attention coefficients $e_{ij} = a(\mathbf{W}\vec{h}_i, \mathbf{W}\vec{h}_j)$
# > that indicate the importance of node $j$'s features to node $i$.
#
# > $\alpha_{ij} = \mathrm{softmax}_j(e_{ij}) = \frac{\exp(e_{ij})}{\sum_{k \in \mathcal{N}_i} \exp(e_{ik})}$
#
# > $\alpha_{ij} = \frac{\exp\left(\mathrm{LeakyReLU}\left(\vec{a}^T[\mathbf{W}\vec{h}_i \| \mathbf{W}\vec{h}_j]\right)\right)}{\sum_{k \in \mathcal{N}_i} \exp\left(\mathrm{LeakyReLU}\left(\vec{a}^T[\mathbf{W}\vec{h}_i \| \mathbf{W}\vec{h}_k]\right)\right)}$
#
# > $\vec{h}'_i = \sigma\left(\sum_{j \in \mathcal{N}_i} \alpha_{ij} \mathbf{W}\vec{h}_j\right)$
#
# $\mathcal{N}_i$ is `i`'s neighbourhood, itself included (the self-loop). Compare the last line
# with the GCN: the sum is the same, with $\alpha_{ij}$ in place of $1/\sqrt{d_i d_j}$. The
# weights of each neighbourhood are positive and sum to 1 (a softmax), and since $\vec a$ is
# learned, *which* neighbour gets the weight is learned too. The flow for one target `i`:

# %%
LEARNED, PLAIN = "#f6d8ae", "#e4ecf6"
fig, ax = plt.subplots(figsize=(13, 3.6))
ax.set_xlim(-0.6, 12.4)
ax.set_ylim(-0.75, 1.95)
ax.axis("off")


def box(x, y, text, face=PLAIN, width=1.2):
    """A rounded box centred on (x, y); returns its centre and size for the arrows."""
    ax.add_patch(FancyBboxPatch((x - width / 2, y - 0.25), width, 0.5, facecolor=face, edgecolor="0.3", lw=1.2,
                                boxstyle="round,pad=0.04,rounding_size=0.1", zorder=2))
    ax.text(x, y, text, ha="center", va="center", fontsize=13, zorder=3)
    return x, y, width


def arrow(start, end, label=None):
    """A horizontal arrow between two boxes on one row, or a vertical one between rows."""
    (x0, y0, w0), (x1, y1, w1) = start, end
    if y0 == y1:
        tail, head = (x0 + w0 / 2, y0), (x1 - w1 / 2, y1)
    else:
        tail, head = (x0, y0 - 0.25), (x1, y1 + 0.25)
    ax.add_patch(FancyArrowPatch(tail, head, arrowstyle="-|>", mutation_scale=14, lw=1.4, color="0.25"))
    if label and y0 == y1:  # above a horizontal arrow
        ax.text((tail[0] + head[0]) / 2, y0 + 0.13, label, ha="center", va="bottom", fontsize=12)
    elif label:  # beside a vertical one
        ax.text(x0 + 0.07, (tail[1] + head[1]) / 2, label, ha="left", va="center", fontsize=12)


TOP, BOTTOM = 1.2, 0.0
h_i, h_j = box(0, TOP, "$h_i$", "white", 0.8), box(0, BOTTOM, "$h_j$", "white", 0.8)
wh_i, wh_j = box(1.7, TOP, "$W h_i$", LEARNED, 1.0), box(1.7, BOTTOM, "$W h_j$", LEARNED, 1.0)
score = box(4.0, TOP, r"$\vec a^{\,T}\,[W h_i \,\|\, W h_j]$", LEARNED, 2.4)
leaky = box(6.2, TOP, "LeakyReLU", width=1.5)
softmax = box(8.95, TOP, r"softmax over $j \in \mathcal{N}_i$", width=2.3)
weighted = box(8.95, BOTTOM, r"$\sum_{j} \alpha_{ij}\, W h_j$", width=2.3)
sigma, new = box(10.85, BOTTOM, r"$\sigma$", width=0.6), box(11.85, BOTTOM, "$h'_i$", "white", 0.8)
arrow(h_i, wh_i)
arrow(h_j, wh_j)
arrow(wh_i, score)
ax.add_patch(FancyArrowPatch((2.2, BOTTOM + 0.1), (2.8, TOP - 0.25), arrowstyle="-|>", mutation_scale=14,
                             lw=1.4, color="0.25", connectionstyle="arc3,rad=0.15"))  # W h_j into the score
arrow(score, leaky)
arrow(leaky, softmax, "$e_{ij}$")
arrow(softmax, weighted, r"$\alpha_{ij}$")
arrow(wh_j, weighted, "the message from $j$")
arrow(weighted, sigma)
arrow(sigma, new)
ax.text(0, TOP + 0.33, "target", ha="center", fontsize=10, color="0.4")
ax.text(0, BOTTOM - 0.45, "neighbour", ha="center", fontsize=10, color="0.4")
ax.text(4.0, 1.75, "scores: how much should $i$ listen to $j$?", ha="center", fontsize=11, color="0.35")
ax.text(5.6, -0.62, r"repeated for every neighbour $j$ of $i$, itself included; "
        r"learned (orange): $W$ and $\vec a$", ha="center", fontsize=11, color="0.35")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### A different `a`, different weights
#
# Back to the four-node graph, with `W = I` again and one attention vector `a` split into the
# half that meets the target, `a_dst`, and the half that meets the source, `a_src`
# ($\vec a^T[z_i \| z_j] = a_{dst} \cdot z_i + a_{src} \cdot z_j$; chapter 03 derives it). We try
# two choices that differ only in `a_src`, and look at the weights node 1 gives its four sources,
# next to the GCN's.


# %%
def attention_weights(h: torch.Tensor, edge_index: torch.Tensor, a_dst, a_src) -> torch.Tensor:
    """One head's alpha (E,) with W = I: LeakyReLU scores, softmax over each target's incoming edges."""
    z = h[:, None, :]  # (N, H=1, F)
    s_dst = node_scores(z, torch.tensor([a_dst]))  # (N, 1) a_dst . z_i
    s_src = node_scores(z, torch.tensor([a_src]))  # (N, 1) a_src . z_j
    e = edge_scores(s_src, s_dst, edge_index)  # (E, 1) LeakyReLU(a_dst . z_i + a_src . z_j), slope 0.2
    return neighbourhood_softmax(e, edge_index, h.shape[0])[:, 0]  # (E,)


choices = {"a_src = [1, -1]": ([1.0, 1.0], [1.0, -1.0]), "a_src = [-1, 1]": ([1.0, 1.0], [-1.0, 1.0])}
alphas = {name: attention_weights(toy_h, toy_edges, *a) for name, a in choices.items()}  # name -> (E,)
print("node 1 hears    ", source[target == 1].tolist())
print("GCN             ", into_1)
for name, alpha in alphas.items():
    print(f"GAT {name}", alpha[target == 1])

first, second = (alpha[target == 1] for alpha in alphas.values())  # (4,) each
assert torch.allclose(first[0], torch.tensor(7.389 / 12.107), atol=1e-4)  # e^2 / (e^2 + 1 + e + 1)
assert first.argmax() == 0 and second.argmin() == 0  # node 0: the favourite, then the least heard
assert torch.allclose(first.sum(), torch.tensor(1.0)) and torch.allclose(second.sum(), torch.tensor(1.0))

# %% [markdown]
# With `a_src = [1, -1]` node 1 listens mostly to node 0: the scores are
# LeakyReLU(`a_dst`·h₁ + `a_src`·h_j) = LeakyReLU(1 + [1, −1, 0, −1]) = [2, 0, 1, 0], and the
# softmax gives node 0 the weight e² / (e² + 1 + e + 1) = 7.389 / 12.107 = 0.610. Flip `a_src`
# and node 0 becomes the neighbour it hears least. Same graph, same features, same
# neighbourhood: only the learned vector changed. Training (chapter 07) picks `a` (and `W`) so
# that the weights help classify. The GCN's weights stay put whatever is learned:

# %%
names = ["GCN (fixed)", *(f"GAT, {name}" for name in alphas)]
bars = torch.stack([into_1, first, second])  # (3, 4): weights from sources 0..3
fig, (ax_graph, ax_bars) = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [1, 1.6]})
toy_position = {0: (0, 0), 1: (1, 0), 2: (2, 0.6), 3: (2, -0.6)}
for j, i in zip(source.tolist(), target.tolist()):
    if j < i:
        ax_graph.plot(*zip(toy_position[j], toy_position[i]), color="0.6", lw=1.5, zorder=1)
for node, (px, py) in toy_position.items():
    ax_graph.add_patch(Circle((px, py), 0.17, facecolor="#f3d2a4" if node == 1 else "#dce8f5", edgecolor="0.25",
                              lw=1.4, zorder=2))
    ax_graph.text(px, py, str(node), ha="center", va="center", fontsize=12, zorder=3)
    beside = node >= 2  # nodes 2 and 3: label to the right, clear of the edge between them
    ax_graph.text(px + 0.25 * beside, py - 0.3 * (not beside), f"h = {toy_h[node].int().tolist()}", fontsize=10,
                  ha="left" if beside else "center", va="center" if beside else "top")
ax_graph.set_xlim(-0.4, 3.0)
ax_graph.set_ylim(-1.1, 0.9)
ax_graph.set_aspect("equal")
ax_graph.axis("off")
ax_graph.set_title("the toy graph (self-loops not drawn)", fontsize=11)

colours = ["0.6", "#e08a2c", "#4c72b0"]
for k, (name, row) in enumerate(zip(names, bars)):
    ax_bars.bar(torch.arange(4) + (k - 1) * 0.27, row, width=0.27, color=colours[k], label=name)
ax_bars.set_xticks(range(4), [f"from node {j}" + (" (itself)" if j == 1 else "") for j in range(4)])
ax_bars.set_ylabel("weight of the edge j → 1")
ax_bars.set_title("how much node 1 listens to each source", fontsize=11)
ax_bars.legend(frameon=False)
ax_bars.spines[["top", "right"]].set_visible(False)
fig.tight_layout()
plt.show()

# %% [markdown]
# And the blind spot of section 3? With the first `a`, nodes 2 and 3, which hear the same
# neighbours, weigh them differently and get different outputs, because each target's own
# features enter its scores:

# %%
alpha = alphas["a_src = [1, -1]"]  # (E,)
gat_out = aggregate(alpha[:, None], toy_h[:, None, :], toy_edges)[:, 0]  # (N, F) sum of alpha_ij h_j, W = I
print("node 2 weighs 1, 2, 3:", alpha[target == 2], "-> output", gat_out[2])
print("node 3 weighs 1, 2, 3:", alpha[target == 3], "-> output", gat_out[3])
assert not torch.allclose(gat_out[2], gat_out[3]) and torch.allclose(gcn_out[2], gcn_out[3])

# %% [markdown]
# Chapter 03 works through these equations one at a time, including a subtlety this demo hides:
# in GAT every target ranks its neighbours in the same order (the order of `a_src`·z_j), it can
# only make its attention sharper or flatter. GATv2 (in a chapter after 10) lifts that limit.
#
# ## 5. The map of the course
#
# | # | chapter | what you build |
# |---|---|---|
# | 00 | The big picture | the task, message passing, the GCN and its blind spot, attention (this chapter) |
# | 01 | Loading Cora | the raw Planetoid files to tensors: features, `edge_index`, labels, self-loops, the split |
# | 02 | Looking at the graph | degrees, components, homophily, a drawing of all of Cora, a neighbourhood explorer |
# | 03 | The attention math | GAT's equations by hand on the four-node graph: scores, softmax, aggregation, heads |
# | 04 | Implementation 1: dense, per head | a GAT layer with (H, N, N) score matrices and batched matrix products |
# | 05 | Implementation 2: dense with a connectivity mask | the authors' TensorFlow layout, a masked softmax |
# | 06 | Implementation 3: edge list | the O(E) layer practitioners use: `index_select`, a stable per-neighbourhood softmax, scatter |
# | 07 | Training on Cora | the paper's recipe, early stopping that keeps the best weights, several seeds, baselines |
# | 08 | Seeing attention | which neighbours the trained heads listen to, against uniform weights |
# | 09 | Seeing embeddings | t-SNE pictures of what the layers produce |
# | 10 | Profiling and scaling | time and memory of the three implementations: O(N²) against O(E) |
# | next | When attention has to choose | static against dynamic attention (GATv2), a task GAT cannot learn, many graphs per batch |
# | next | Where attention matters | graphs whose neighbours mostly differ (heterophily): GAT and GATv2 against uniform weights and an MLP |
# | last | Beyond one machine | neighbour sampling, data-parallel training, graph partitions, what a 100-million-node graph would take |
#
# ### How exercises work
#
# Each exercise asks for one function, and the cell that defines it ends with the line
# `your_function = exercise("X.Y", your_function)`, X.Y being the exercise's number. That call
# runs your function on a few fixed inputs (a toy graph you can check by hand, seeded random
# graphs, Cora) and compares it with the reference in `gatkit`. Three outcomes:
#
# - **passed**: it prints a ✅ line and returns *your* function, which the later cells use;
# - **not right yet**: it raises an error naming the input, what differs (shape, dtype, then
#   values) and a hint; when your answer matches a known mistake, the hint explains that mistake;
# - **not attempted** (the stub still raises `NotImplementedError`): it prints ⏭️ and returns
#   the reference solution, so the rest of the chapter still runs.
#
# For example, a mean that forgot to divide gets this answer from the check of exercise 0.1
# (the first line of the message, which names the exercise, is left out here):

# %%
def summed_instead_of_mean(h: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
    """A wrong answer to exercise 0.1: the sum of the incoming rows."""
    return torch.zeros_like(h).index_add_(0, edge_index[1], h[edge_index[0]])  # (N, F)


demo_id = "0.1"  # passed as a variable: this call is a demonstration, not the exercise
try:
    exercise(demo_id, summed_instead_of_mean)
except AssertionError as error:
    message = str(error).split("\n", 1)[1]
    print(message)
    assert "Hint: You returned the sum of the messages" in message

# %% [markdown]
# Stuck? The complete chapters, with every solution and the answers to the questions, are in
# `solutions/` beside `chapters/`; peeking is allowed. To check all your work at once, run
# `pytest --nbval chapters/` from the repository root: every chapter runs from top to bottom and
# every check runs again.
#
# ## Summary
#
# - The task is node classification: guess the topic of 2708 Cora papers from 140 labels,
#   using their words and citations; 81% of the citations join papers of the same topic.
# - A GNN layer is message passing: transform every node ($W h_j$), aggregate the messages
#   arriving over each node's incoming edges (a weighted sum), update ($\sigma$).
# - Averaging once over the neighbours, with nothing learned, lifts a nearest-class-average guess
#   from about 57% to about 75% of the test papers.
# - A GCN weighs the edge `j -> i` by $1/\sqrt{d_i d_j}$: by degrees alone, so two nodes with the
#   same neighbourhood always get the same output.
# - GAT computes each edge's weight from the features of both ends with a learned vector `a`, and
#   normalises the weights over each neighbourhood with a softmax.
#
# ## Check your understanding
#
# 1. Why do `gcn_coefficients` and `gcn_layer` need the self-loops in `edge_index`? What would a
#    node without any edge get from `gcn_layer` without them?
# 2. Node 1's GCN weights sum to 1.18. Why is a GCN layer not an average, and which nodes get
#    weights summing to more than 1?
# 3. In the toy graph nodes 2 and 3 get the same GCN output. Is there any `W` for which they
#    would differ? Any choice of `a` for which a GAT layer gives them the same output?
# 4. On a graph where most edges join nodes of *different* classes, what would one round of
#    `mean_aggregate` do to the nearest-class-average guess, and why might attention help?
# 5. In `mean_aggregate`, what goes wrong if you read row 0 of `edge_index` as the target, and
#    why would you not notice on Cora?

# %% [markdown] tags=["solution"]
# **Answers.**
#
# 1. $\tilde{A} = A + I$ is what lets a node keep its own features: without the self-loop its
#    own row never enters its sum. A node without any edge would receive nothing and get zeros.
#    With its self-loop it has $d = 1$ and keeps $(xW)_i$ with weight 1.
# 2. The weights $1/\sqrt{d_i d_j}$ into node `i` sum to $\frac{1}{\sqrt{d_i}}\sum_{j \to i}
#    \frac{1}{\sqrt{d_j}}$: exactly 1 when every source has the degree $d_i$ of the target.
#    Sources of smaller degree push the sum above 1 (node 1, of degree 4, hears nodes of degree
#    2, 4, 3 and 3), sources of larger degree, hubs, pull it below 1. A mean would always sum
#    to 1; the GCN trades that for weighing each edge by both ends.
# 3. No `W`: the GCN output of node `i` is $\sum_j c_{ij} (xW)_j$ with the same $c$ and the same
#    `j` for both nodes, so it is equal for every `W`. For GAT, yes: with `a_dst = [0, 0]`, for
#    example, every score depends on the source `j` only, so nodes 2 and 3 weigh {1, 2, 3} alike
#    and get equal outputs. Attention *can* tell them apart; whether it does depends on what is
#    learned.
# 4. A paper's neighbours would mostly belong to other topics, so their average would pull its
#    features towards the wrong classes, and the guess could get worse rather than better.
#    Attention can learn to weigh the few useful neighbours (or the node itself) more; whether
#    it does so in practice is the subject of the chapter on heterophily.
# 5. You would average each node's *out*-neighbours into it. Cora stores every edge in both
#    directions, so the in- and out-neighbours are the same set and the result is unchanged; the
#    check uses directed graphs, where the two differ, to catch it.

# %% [markdown]
# ## Going further
#
# - Your three functions are in the library as `gatkit.functional.mean_aggregate` (0.1),
#   `gcn_coefficients` (0.2) and `gcn_layer` (0.3).
# - Veličković, Cucurull, Casanova, Romero, Liò, Bengio, *Graph Attention Networks*, ICLR 2018:
#   section 2.1 is the layer, section 3 compares it with the GCN and other models.
# - Kipf and Welling, *Semi-Supervised Classification with Graph Convolutional Networks*, ICLR
#   2017: section 2 derives the propagation rule from spectral graph convolutions.
# - Gilmer, Schoenholz, Riley, Vinyals, Dahl, *Neural Message Passing for Quantum Chemistry*,
#   ICML 2017: message passing as the common frame of many graph networks.
# - Wu et al., *Simplifying Graph Convolutional Networks*, ICML 2019: K rounds of GCN
#   propagation, then one linear classifier, close to the nearest-class-average experiment above.
# - Sanchez-Lengeling, Reif, Pearce, Wiltschko, *A Gentle Introduction to Graph Neural
#   Networks*, Distill 2021: an illustrated, interactive introduction.
# - The UvA Deep Learning tutorial 7 (*Graph Neural Networks*) runs the GCN and GAT layers on
#   a four-node graph with the projection set to the identity, as section 3 did.
