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
# # Chapter 03 · The attention math
#
# A graph attention layer turns every node's feature vector into a new one by mixing the vectors
# of its neighbours, with weights that it computes from the features themselves. This chapter
# goes through the equations of the GAT paper (Veličković et al., *Graph Attention Networks*,
# ICLR 2018) one at a time. After each equation comes the code that implements exactly that, run
# on a 4-node toy graph whose projection `W` is the identity, so that you can check every printed
# number with pen and paper.
#
# | symbol | shape | meaning |
# |---|---|---|
# | `h` | (N, F) | input features, one row per node |
# | `W` | (F', F) per head | the shared linear projection |
# | `z = W h` | (N, H, F') | projected features, one F'-vector per node and head |
# | `a_src`, `a_dst` | (H, F') | the two halves of the attention vector `a` |
# | `edge_index` | (2, E) | row 0 the **source** `j`, row 1 the **target** `i`: messages flow `j -> i` |
# | `e`, `alpha` | (E, H) | raw scores and attention coefficients, one per edge and head |
#
# The paper writes `K` for the number of heads; we write `H`. You will write four functions:
# the edge scores, the neighbourhood softmax, the aggregation and the combination of heads.
# Chapters 04 to 06 turn them into three fast implementations.

# %%
import matplotlib.pyplot as plt
import networkx as nx
import torch
import torch.nn.functional as F

from course.checks import exercise

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)

# %% [markdown]
# ## 1. The toy graph
#
# Four nodes with two features each, and four undirected edges: 0–1, 1–2, 1–3 and 2–3. GAT lets
# every node attend to itself too, so we add one self-loop per node. In `edge_index` each
# undirected edge appears twice, once per direction, and the columns are sorted by target, so each
# node's incoming edges sit next to each other. Nodes 2 and 3 are the interesting pair: both have
# the neighbourhood {1, 2, 3} (themselves included), but different features.

# %%
h = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]])  # (N, F) = (4, 2)
edge_index = torch.tensor([[0, 1, 0, 1, 2, 3, 1, 2, 3, 1, 2, 3],   # row 0: source j
                           [0, 0, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3]])  # row 1: target i
num_nodes, num_edges = h.shape[0], edge_index.shape[1]
source, target = edge_index  # (E,), (E,)

for i in range(num_nodes):
    print(f"node {i}: features {h[i].tolist()}, receives from {source[target == i].tolist()}")
assert num_edges == 2 * 4 + 4  # four undirected edges both ways, plus four self-loops
pairs = set(zip(source.tolist(), target.tolist()))
assert {(j, i) for j, i in pairs if j < i} == {(0, 1), (1, 2), (1, 3), (2, 3)}
assert all((i, j) in pairs for j, i in pairs)  # every edge both ways
assert all((i, i) in pairs for i in range(num_nodes)) and (target.diff() >= 0).all()  # self-loops; sorted by target
assert source[target == 2].tolist() == source[target == 3].tolist() == [1, 2, 3] and not torch.equal(h[2], h[3])

# %%
graph = nx.DiGraph(list(zip(source.tolist(), target.tolist())))
positions = {0: (0, 0), 1: (1, 0), 2: (2, 0.6), 3: (2, -0.6)}
fig, ax = plt.subplots(figsize=(5, 2.4))
nx.draw_networkx(graph, positions, ax=ax, node_color="lightsteelblue", node_size=700,
                 edgelist=[(j, i) for j, i in graph.edges if j != i], arrows=False)
for node, (px, py) in positions.items():
    ax.annotate(f"h={h[node].int().tolist()}", (px, py - 0.42), ha="center", fontsize=9)
ax.set_ylim(-1.2, 0.9)  # room for the labels under nodes 0, 1 and 3
ax.set_title("toy graph (self-loops not drawn)")
ax.axis("off")
plt.show()

# %% [markdown]
# ## 2. A shared linear projection: `z = W h`
#
# > In order to obtain sufficient expressive power to transform the input features into
# > higher-level features, at least one learnable linear transformation is required. To that end,
# > as an initial step, a shared linear transformation, parametrized by a weight matrix,
# > $\mathbf{W} \in \mathbb{R}^{F' \times F}$, is applied to every node.
#
# $$z_i = \mathbf{W} h_i$$
#
# "Shared" means one `W` for all nodes: a layer has as many parameters for a graph of 4 nodes as
# for one of 4 million. We take `W` to be the 2 × 2 identity, so `z = h` and the arithmetic below
# stays readable. With H heads each head has its own `W`; we start with one head and keep the
# heads axis anyway, so the shapes are those of the real layer.

# %%
W = torch.eye(2)  # (F', F)
z = (h @ W.T)[:, None, :]  # (N, H=1, F') = (4, 1, 2)
print(z.squeeze(1))
assert torch.equal(z[:, 0], h)

# %% [markdown]
# ## 3. Scores per edge, computed per node
#
# > We then perform self-attention on the nodes — a shared attentional mechanism
# > $a : \mathbb{R}^{F'} \times \mathbb{R}^{F'} \rightarrow \mathbb{R}$ computes attention
# > coefficients $e_{ij} = a(\mathbf{W}h_i, \mathbf{W}h_j)$ that indicate the importance of node
# > $j$'s features to node $i$. [...] we only compute $e_{ij}$ for nodes $j \in \mathcal{N}_i$,
# > where $\mathcal{N}_i$ is some neighborhood of node $i$ in the graph.
#
# > In our experiments, the attention mechanism $a$ is a single-layer feedforward neural network,
# > parametrized by a weight vector $\vec{a} \in \mathbb{R}^{2F'}$, and applying the LeakyReLU
# > nonlinearity (with negative input slope $\alpha = 0.2$).
#
# $$e_{ij} = \mathrm{LeakyReLU}\left(\vec{a}^{\,T} [z_i \,\|\, z_j]\right)$$
#
# Here `i` is the node that *receives* (the target) and `j` the node it listens to (the source):
# `e_ij` belongs to the edge `j -> i`. Split $\vec{a}$ into its first half `a_dst`, which meets
# $z_i$, and its second half `a_src`, which meets $z_j$. A dot product with a concatenation is
# the sum of the two dot products:
#
# $$\vec{a}^{\,T} [z_i \,\|\, z_j] = \underbrace{a_{dst} \cdot z_i}_{s^{dst}_i} +
#   \underbrace{a_{src} \cdot z_j}_{s^{src}_j}$$
#
# That is the trick every efficient implementation uses: compute two scores **per node**
# (O(N·F') work), then build each edge's score with one addition (O(E) work), instead of
# building a 2F'-vector per edge. Our attention vector: `a_dst = [1, 1]`, `a_src = [1, -1]`.

# %%
a_dst = torch.tensor([[1.0, 1.0]])  # (H, F')
a_src = torch.tensor([[1.0, -1.0]])  # (H, F')

s_dst = (z * a_dst).sum(dim=-1)  # (N, H): how each node scores as a target
s_src = (z * a_src).sum(dim=-1)  # (N, H): how each node scores as a source
print("s_dst:", s_dst[:, 0].tolist(), " s_src:", s_src[:, 0].tolist())
assert s_dst[:, 0].tolist() == [1, 1, 2, -1] and s_src[:, 0].tolist() == [1, -1, 0, -1]

raw = s_dst[target] + s_src[source]  # (E, H): one addition per edge
a_full = torch.cat([a_dst, a_src], dim=1)  # (H, 2F'): the paper's a = [a_dst || a_src]
raw_concat = torch.cat([z[target], z[source]], dim=-1) @ a_full[0]  # (E, H): the paper's form
assert torch.allclose(raw, raw_concat)

# %% [markdown]
# Then the LeakyReLU, with slope 0.2 for negative inputs (careful: `F.leaky_relu`'s default
# slope is 0.01). Nine of the twelve raw scores here are positive or zero and pass unchanged; the
# other three are node 3's: its `s_dst` is negative, so all three of its scores are negative and
# scaled by 0.2. For example, for the edge 1 -> 3:
#
# e₃₁ = LeakyReLU(s_dst[3] + s_src[1]) = LeakyReLU(−1 + (−1)) = 0.2 · (−2) = −0.4
#
# and for the edge 0 -> 1: e₁₀ = LeakyReLU(1 + 1) = 2.

# %%
e = F.leaky_relu(raw, negative_slope=0.2)  # (E, H)
print(" j -> i   raw       e")
for k in range(num_edges):
    print(f" {source[k]} -> {target[k]}   {raw[k, 0]:5.1f}   {e[k, 0]:5.1f}")


def edge_of(j: int, i: int) -> int:
    """Column of the edge ``j -> i`` in ``edge_index``."""
    return int(((source == j) & (target == i)).nonzero())


assert torch.isclose(e[edge_of(1, 3), 0], torch.tensor(-0.4))
assert e[edge_of(0, 1), 0] == 2.0
assert int((raw >= 0).sum()) == 9 and torch.equal(raw[:, 0] < 0, target == 3)  # only node 3's three are negative
assert torch.isclose(F.leaky_relu(torch.tensor(-1.0)), torch.tensor(-0.01))  # the default slope

# %% [markdown]
# ## Exercise 3.1: the edge scores
#
# Write `edge_scores(z, a_src, a_dst, edge_index)` for any number of heads: `z` is (N, H, F'),
# `a_src` and `a_dst` are (H, F'), and the result `e` is (E, H) with
# `e[k, h] = LeakyReLU(a_dst[h]·z[i, h] + a_src[h]·z[j, h])` for the edge `k` from
# `j = edge_index[0, k]` to `i = edge_index[1, k]`, slope 0.2. The check tries the toy graph
# with one and two heads and a random directed graph.


# %%
def edge_scores(z: torch.Tensor, a_src: torch.Tensor, a_dst: torch.Tensor,
                edge_index: torch.Tensor) -> torch.Tensor:
    """Raw attention scores (E, H) of every edge ``j -> i``."""
    ### BEGIN SOLUTION
    s_src = (z * a_src).sum(dim=-1)  # (N, H)
    s_dst = (z * a_dst).sum(dim=-1)  # (N, H)
    raw = s_dst[edge_index[1]] + s_src[edge_index[0]]  # (E, H)
    return F.leaky_relu(raw, negative_slope=0.2)
    ### END SOLUTION


edge_scores = exercise("3.1", edge_scores)

# %%
e = edge_scores(z, a_src, a_dst, edge_index)  # (E, H)
assert e.shape == (num_edges, 1)

# %% [markdown]
# ## 4. The softmax over each neighbourhood
#
# > To make coefficients easily comparable across different nodes, we normalize them across all
# > choices of $j$ using the softmax function:
# > $\alpha_{ij} = \mathrm{softmax}_j(e_{ij}) = \frac{\exp(e_{ij})}{\sum_{k \in \mathcal{N}_i} \exp(e_{ik})}$
#
# > In all our experiments, these will be exactly the first-order neighbors of $i$ (including $i$).
#
# The softmax runs over the **incoming edges of each target**, its self-loop included, and each
# head separately. Node 0 receives from itself (e₀₀ = LeakyReLU(1 + 1) = 2) and from node 1
# (e₀₁ = LeakyReLU(1 − 1) = 0), so
#
# α₀₀ = e² / (e² + e⁰) = 7.389 / 8.389 = 0.8808 and α₀₁ = 1 / 8.389 = 0.1192.
#
# For node 0 alone, selecting the edges into it:

# %%
into_0 = target == 0  # (E,) which edges end at node 0
alpha_0 = torch.softmax(e[into_0], dim=0)  # (2, H): over those edges only, per head
print("edges into node 0 come from", source[into_0].tolist(), "with weights", alpha_0[:, 0].tolist())
assert torch.allclose(alpha_0[:, 0], torch.tensor([0.8808, 0.1192]), atol=1e-4)  # from 0 (itself), from 1
assert source[into_0].tolist() == [0, 1]

# %% [markdown]
# ## Exercise 3.2: the neighbourhood softmax
#
# Write `neighbourhood_softmax(e, edge_index, num_nodes)`: `e` is (E, H), the result `alpha` is
# (E, H), and for every target `i` and head `h` the entries of the edges into `i` are the softmax
# of their scores: what the cell above did for node 0, for every node at once. Any correct way is
# fine here (a loop over the targets, say); chapter 06 builds the numerically safe version
# without a Python loop. The check uses graphs that hold self-loops, directed graphs, a node whose
# only edge is its self-loop, and neighbourhoods whose scores lie hundreds apart.


# %%
def neighbourhood_softmax(e: torch.Tensor, edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Attention coefficients (E, H): softmax of ``e`` over each target's incoming edges."""
    ### BEGIN SOLUTION
    alpha = torch.zeros_like(e)  # (E, H)
    for i in range(num_nodes):
        incoming = edge_index[1] == i  # (E,)
        alpha[incoming] = torch.softmax(e[incoming], dim=0)
    return alpha
    ### END SOLUTION


neighbourhood_softmax = exercise("3.2", neighbourhood_softmax)

# %%
alpha = neighbourhood_softmax(e, edge_index, num_nodes)  # (E, H)
for i in range(num_nodes):
    row = {int(j): round(float(a), 4) for j, a in zip(source[target == i], alpha[target == i, 0])}
    print(f"node {i} attends to {row}")
assert torch.allclose(alpha[target == 1, 0], torch.tensor([0.6103, 0.0826, 0.2245, 0.0826]), atol=1e-4)
assert torch.allclose(alpha[target == 2, 0], torch.tensor([0.2119, 0.5761, 0.2119]), atol=1e-4)
torch.testing.assert_close(alpha[into_0], alpha_0)  # node 0's weights, as computed by hand above
sums = torch.zeros(num_nodes, 1).index_add_(0, target, alpha)  # (N, H): alpha summed per target
print("alpha summed over each node's incoming edges:", sums[:, 0].tolist())
assert torch.allclose(sums, torch.ones(num_nodes, 1))

# %% [markdown]
# Node 1 listens mostly to node 0 (0.61), the node with the highest source score `s_src`. Nodes 1
# and 3 have the same `s_src = -1`, so every target that hears them both gives them equal weights
# (0.0826 each from node 1, 0.2119 each from node 2).
#
# Why the self-loop matters: without it, node 0 would have node 1 as its only neighbour,
# α₀₁ would be 1 whatever the scores, and node 0's own features would vanish from its new
# representation.

# %%
no_loops = edge_index[:, source != target]  # (2, E - N)
alpha_no_loops = neighbourhood_softmax(edge_scores(z, a_src, a_dst, no_loops), no_loops, num_nodes)
into_0_without_loops = no_loops[1] == 0
print("without self-loops node 0 hears", no_loops[0, into_0_without_loops].tolist(), "with weights",
      alpha_no_loops[into_0_without_loops, 0].tolist())
assert alpha_no_loops[into_0_without_loops, 0].tolist() == [1.0]

# %% [markdown]
# ## 5. Aggregation
#
# > Once obtained, the normalized attention coefficients are used to compute a linear combination
# > of the features corresponding to them, to serve as the final output features for every node
# > (after potentially applying a nonlinearity, $\sigma$):
# > $h'_i = \sigma\left(\sum_{j \in \mathcal{N}_i} \alpha_{ij} \mathbf{W} h_j\right)$
#
# Every edge `j -> i` sends the message `α_ij z_j` to its target, and each target adds up what it
# receives. For node 0: h'₀ = 0.8808 · [1, 0] + 0.1192 · [0, 1] = [0.8808, 0.1192].
#
# `Tensor.index_add_(0, index, values)` adds row `k` of `values` into row `index[k]` of the tensor,
# summing when an index repeats, which is exactly "add every message into its target":

# %%
summed = torch.zeros(3).index_add_(0, torch.tensor([0, 2, 0]), torch.tensor([1.0, 10.0, 100.0]))
print(summed)
assert summed.tolist() == [101.0, 0.0, 10.0]  # row 0 received 1 and 100

# %% [markdown]
# σ is a nonlinearity applied afterwards: the paper uses ELU after hidden layers and nothing
# (the softmax of the loss) after the output layer, so in this course the layer itself stops at the
# sum and the model applies σ.
#
# ## Exercise 3.3: aggregation into the targets
#
# Write `aggregate(alpha, z, edge_index)`: `alpha` is (E, H), `z` is (N, H, F'), and the result is
# (N, H, F') with row `i` the sum over the edges `j -> i` of `alpha[edge] * z[j]`, head by head.


# %%
def aggregate(alpha: torch.Tensor, z: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
    """New features (N, H, F'): each target's attention-weighted sum of its sources' ``z``."""
    ### BEGIN SOLUTION
    messages = alpha[:, :, None] * z[edge_index[0]]  # (E, H, F')
    return torch.zeros_like(z).index_add_(0, edge_index[1], messages)  # (N, H, F')
    ### END SOLUTION


aggregate = exercise("3.3", aggregate)

# %%
gat_out = aggregate(alpha, z, edge_index)  # (N, H, F')
print(gat_out[:, 0])
assert torch.allclose(gat_out[0, 0], torch.tensor([0.8808, 0.1192]), atol=1e-4)

# %% [markdown]
# ## 6. Several heads: concatenate, or average
#
# > To stabilize the learning process of self-attention, we have found extending our mechanism to
# > employ multi-head attention to be beneficial [...]. Specifically, $K$ independent attention
# > mechanisms execute the transformation of Equation 4, and then their features are concatenated
# > $$h'_i = \Big\Vert_{k=1}^{K} \sigma\left(\sum_{j \in \mathcal{N}_i} \alpha_{ij}^k \mathbf{W}^k h_j\right)$$
#
# > Specially, if we perform multi-head attention on the final (prediction) layer of the network,
# > concatenation is no longer sensible — instead, we employ averaging, and delay applying the final
# > nonlinearity
# > $$h'_i = \sigma\left(\frac{1}{K}\sum_{k=1}^{K} \sum_{j \in \mathcal{N}_i} \alpha_{ij}^k \mathbf{W}^k h_j\right)$$
#
# Each head has its own `W` and its own `a`, so its own attention pattern. Hidden layers put the
# heads side by side (on Cora: 8 heads of 8 features give 64); the output layer must produce one
# score per class, so its heads are averaged (Cora's output layer has a single head, PubMed's
# has 8). We add a second head to the toy graph: `W` is the identity again, with
# `a_dst = [-1, 0.5]` and `a_src = [0.5, 2]`. Our functions already handle any number of heads.

# %%
z2 = h[:, None, :].repeat(1, 2, 1)  # (N, H=2, F'): W = I for both heads
a_dst2 = torch.tensor([[1.0, 1.0], [-1.0, 0.5]])  # (H, F')
a_src2 = torch.tensor([[1.0, -1.0], [0.5, 2.0]])  # (H, F')
alpha2 = neighbourhood_softmax(edge_scores(z2, a_src2, a_dst2, edge_index), edge_index, num_nodes)  # (E, H)
out2 = aggregate(alpha2, z2, edge_index)  # (N, H, F')
print("node 1's attention, head 0:", alpha2[target == 1, 0])
print("node 1's attention, head 1:", alpha2[target == 1, 1])
assert torch.allclose(alpha2[:, 0], alpha[:, 0])  # head 0 is the head of sections 3-5
assert alpha2[target == 1, 1].argmax() != alpha2[target == 1, 0].argmax()  # head 1 prefers another neighbour

# %% [markdown]
# Head 1 ranks node 1's neighbours differently: its largest weight goes to another neighbour.
#
# ## Exercise 3.4: concatenating or averaging the heads
#
# Write `combine_heads(out, concat)`: `out` is (N, H, F'); with `concat=True` return (N, H·F'),
# head 0's features in the first F' columns, head 1's in the next F', and so on; with
# `concat=False` return the mean over the heads, (N, F').


# %%
def combine_heads(out: torch.Tensor, concat: bool) -> torch.Tensor:
    """(N, H*F') with the heads side by side, or (N, F') averaged over the heads."""
    ### BEGIN SOLUTION
    if concat:
        return out.reshape(out.shape[0], -1)  # (N, H * F')
    return out.mean(dim=1)  # (N, F')
    ### END SOLUTION


combine_heads = exercise("3.4", combine_heads)

# %%
hidden = combine_heads(out2, concat=True)  # (N, H * F') = (4, 4)
final = combine_heads(out2, concat=False)  # (N, F') = (4, 2)
print("concatenated:\n", hidden, "\naveraged:\n", final)
assert torch.equal(hidden[:, 2:], out2[:, 1]) and torch.allclose(final, (out2[:, 0] + out2[:, 1]) / 2)

# %% [markdown]
# ## 7. Why the LeakyReLU matters
#
# Drop the LeakyReLU and `e_ij = s_dst[i] + s_src[j]`. In the softmax over `j`, the term
# `s_dst[i]` is the same for every neighbour of `i`, so it cancels:
#
# $$\frac{\exp(s^{dst}_i + s^{src}_j)}{\sum_k \exp(s^{dst}_i + s^{src}_k)} =
#   \frac{\exp(s^{src}_j)}{\sum_k \exp(s^{src}_k)}$$
#
# The target has no say at all: every node that hears the same set of neighbours gives them the
# same weights. Nodes 2 and 3 both hear {1, 2, 3}. Without the LeakyReLU both get the weights
# softmax([−1, 0, −1]) = [0.2119, 0.5761, 0.2119], even though node 3's own score `s_dst` is
# negative and node 2's positive:

# %%
def attention_of(node: int, scores: torch.Tensor) -> torch.Tensor:
    """Node ``node``'s attention over its incoming edges, one head, from raw scores (E, 1)."""
    return neighbourhood_softmax(scores, edge_index, num_nodes)[target == node, 0]


linear_scores = s_dst[target] + s_src[source]  # (E, H): no LeakyReLU
for node in (2, 3):
    print(f"node {node}: sources {source[target == node].tolist()}, "
          f"without LeakyReLU {attention_of(node, linear_scores)}, with {attention_of(node, e)}")
assert torch.allclose(attention_of(2, linear_scores), attention_of(3, linear_scores))
assert torch.allclose(attention_of(2, linear_scores), torch.tensor([0.2119, 0.5761, 0.2119]), atol=1e-4)
assert not torch.allclose(attention_of(2, e), attention_of(3, e))

# %% [markdown]
# With the LeakyReLU the target's score no longer cancels: node 2's raw scores [1, 2, 1] pass
# unchanged, while node 3's [−2, −1, −2] are squeezed to [−0.4, −0.2, −0.4] and give the flatter
# weights [0.3104, 0.3792, 0.3104]. Be careful what this buys, though: the LeakyReLU is
# increasing, so **every target still ranks its neighbours in the same order**, the order of
# `s_src`. The target can only make its attention sharper or flatter, never prefer a different
# neighbour. Brody et al. (2022) call this *static attention* and fix it in GATv2 (see "Going
# further").

# %%
ranking_2 = torch.argsort(attention_of(2, e), descending=True, stable=True)
ranking_3 = torch.argsort(attention_of(3, e), descending=True, stable=True)
assert torch.equal(ranking_2, ranking_3)  # same order; only the sharpness differs
assert torch.allclose(attention_of(3, e), torch.tensor([0.3104, 0.3792, 0.3104]), atol=1e-4)
assert raw[target == 2, 0].tolist() == [1, 2, 1] and raw[target == 3, 0].tolist() == [-2, -1, -2]
assert torch.equal(e[target == 2], raw[target == 2])
assert torch.allclose(e[target == 3, 0], torch.tensor([-0.4, -0.2, -0.4]))

# %% [markdown]
# ## 8. What a GCN would do with the same graph
#
# A graph convolutional network (Kipf & Welling, 2017) also mixes neighbours, but with fixed
# weights that depend only on degrees: with self-loops and degrees `d` (self-loop counted),
#
# $$h'_i = \sum_{j \in \mathcal{N}_i} \frac{1}{\sqrt{d_i d_j}} \mathbf{W} h_j .$$
#
# Nodes with the same neighbourhood therefore always get the same output, whatever their own
# features: node 2 and node 3 are indistinguishable after the layer.

# %%
degree = torch.bincount(target, minlength=num_nodes).float()  # (N,) self-loop included
gcn_weight = 1 / torch.sqrt(degree[target] * degree[source])  # (E,)
gcn_out = torch.zeros(num_nodes, 2).index_add_(0, target, gcn_weight[:, None] * z[source, 0])  # (N, F')
print("degrees", degree.tolist())
print("GCN output:\n", gcn_out)
print("GAT output:\n", gat_out[:, 0])
alpha_linear = neighbourhood_softmax(linear_scores, edge_index, num_nodes)  # (E, H), no LeakyReLU
gat_out_linear = aggregate(alpha_linear, z, edge_index)  # (N, H, F')
assert torch.allclose(gcn_out[2], gcn_out[3]) and torch.allclose(gat_out_linear[2], gat_out_linear[3])
assert not torch.allclose(gat_out[2], gat_out[3])

# %% [markdown]
# GAT gives nodes 2 and 3 different outputs here, and section 7 showed where that comes from: the
# LeakyReLU lets each target's own score set how sharply it attends. Without the LeakyReLU,
# GAT would be exactly as blind as GCN to the difference between 2 and 3.
#
# The bigger difference shows at node 1, which hears nodes 0 to 3. GCN weighs them by degree
# only, so node 0 (degree 2) counts most and nodes 2 and 3 (degree 3) count equally. GAT weighs
# them by **content**, through `s_src`: node 0 (score 1) first, then node 2 (score 0), then
# nodes 1 and 3 (score −1). Relabel the features and GAT's weights follow them; GCN's stay put.

# %%
print("node 1 hears   ", source[target == 1].tolist())
print("GCN weights    ", gcn_weight[target == 1])
print("GAT weights    ", alpha[target == 1, 0])
assert torch.allclose(gcn_weight[target == 1], torch.tensor([8, 16, 12, 12]).float().rsqrt())

# %% [markdown]
# ## Summary
#
# - A GAT layer projects every node with a shared `W`, scores every edge `j -> i` with
#   `e_ij = LeakyReLU(a_dst·z_i + a_src·z_j)`, normalises the scores with a softmax over each
#   target's incoming edges (self-loop included), and sums `α_ij z_j` into each target.
# - Splitting `a` into a target half and a source half turns the score into two per-node numbers
#   (O(N)) and one addition per edge (O(E)); all three implementations rely on it.
# - Hidden layers concatenate their heads (8 × 8 = 64 features on Cora); the output layer
#   averages them.
# - Without the LeakyReLU the target's half cancels in the softmax; with it the target changes how
#   sharp its attention is, but every target still ranks its neighbours in the same order.
# - Unlike GCN's degree-based weights, attention weighs neighbours by their features.
#
# ## Check your understanding
#
# 1. On a graph where node `i` has a single neighbour besides itself, how many different values
#    can α take on `i`'s incoming edges, and what do they sum to?
# 2. Why does `F.softmax(e, dim=0)` on the (E, H) tensor `e` give the wrong coefficients, and when
#    would it happen to give the right ones?
# 3. Which entries of `e` change if you change `a_dst` but leave `a_src` alone? Which entries of
#    `alpha` change when there is no LeakyReLU?
# 4. Why can the output layer not simply concatenate its heads?
# 5. A node with no edges at all and no self-loop: what does the aggregation give it?

# %% [markdown] tags=["solution"]
# **Answers.**
#
# 1. Two edges end at `i` (its self-loop and the one neighbour), so two values, and they sum to 1.
# 2. It normalises over all E edges of the graph, so the α of one target's edges sum to much less
#    than 1 and depend on every other edge's score. It gives the right answer only when the whole
#    graph is one target's neighbourhood (every edge ends at the same node).
# 3. Every raw score `a_dst·z_i + a_src·z_j` moves by `Δa_dst·z_i`, an amount that depends only
#    on the target `i`, so (barring a change orthogonal to `z_i`) all the edges change. Without the
#    LeakyReLU no entry of `alpha` changes: a shift shared by all of `i`'s incoming edges cancels
#    in `i`'s softmax.
# 4. Concatenation would give H·C numbers per node instead of one score per class; averaging keeps
#    C, and lets several heads vote on the same class scores.
# 5. No edge ends at it, so it receives nothing and its output is all zeros: it loses its own
#    features. That is one more reason to add one self-loop to every node.

# %% [markdown]
# ## Going further
#
# - Your four functions are in the library: `gatkit.functional.node_scores` with `edge_scores`
#   (3.1), `neighbourhood_softmax` (3.2), `aggregate` (3.3) and `combine_heads` (3.4). The three
#   layer implementations of chapters 04-06 are built from them, and the checks above compare
#   your answers with them.
# - The paper: Veličković, Cucurull, Casanova, Romero, Liò, Bengio, *Graph Attention Networks*,
#   ICLR 2018, section 2.1 (equations 1 to 6).
# - Brody, Alon, Yahav, *How Attentive are Graph Attention Networks?*, ICLR 2022: the ranking of
#   section 7 is the same for every target ("static attention"); GATv2 applies `a` after the
#   nonlinearity, `a^T LeakyReLU(W [h_i || h_j])`, and the ranking can then depend on `i`.
# - Kipf and Welling, *Semi-Supervised Classification with Graph Convolutional Networks*, ICLR
#   2017: the GCN of section 8, the baseline GAT improves on.
# - Vaswani et al., *Attention Is All You Need* (2017): multi-head dot-product attention, where
#   every token attends to every other; GAT restricts attention to the graph's edges.
