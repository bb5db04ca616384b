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
# # Chapter 04 · Implementation 1: dense, per head
#
# Chapter 03 computed attention edge by edge, with a Python loop over the targets. That is clear,
# but it takes one Python step per target. The most direct way to lose the loop is to stop
# thinking in edges: treat every pair `(i, j)` of nodes as a possible edge, compute **all** N × N
# scores of every head at once with batched matrix operations, and let the adjacency matrix
# decide which ones count.
#
# | step | tensor | shape |
# |---|---|---|
# | project every head at once (`torch.bmm`) | `z` | (H, N, F') |
# | score every pair by broadcasting | `scores` | (H, N, N) |
# | softmax over each row's neighbours (0/1 adjacency) | `alpha` | (H, N, N) |
# | aggregate (`torch.bmm`), then concatenate or average the heads | `out` | (N, H·F') or (N, F') |
#
# Entry `[h, i, j]` of `scores` and `alpha` belongs to the edge `j -> i`: row `i` is the target,
# column `j` the source, as in the adjacency matrix `adj[i, j] = 1` iff `j -> i` of chapter 01.
# You will write the four steps, assemble them into a layer, check it against
# `gatkit.layers.GATLayerDense` on Cora, and measure what the N × N matrices cost.

# %%
import time

import torch
import torch.nn.functional as F
from torch import nn

from gatkit import edges, load_planetoid
from course.checks import exercise
from gatkit.functional import edge_scores, neighbourhood_softmax, node_scores  # chapter 03's equations, edge by edge
from gatkit.layers import GATLayerDense, GATLayerMasked

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)

cora = load_planetoid("cora", progress=False)
print(cora)

# %% [markdown]
# We keep chapter 03's toy graph, with its numbers: features `h`, `W` the identity,
# `a_dst = [1, 1]` and `a_src = [1, -1]`, one head.

# %%
h = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]])  # (N, F) = (4, 2)
toy_edge_index = torch.tensor([[0, 1, 0, 1, 2, 3, 1, 2, 3, 1, 2, 3],   # source j
                               [0, 0, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3]])  # target i, self-loops included
toy_adj = edges.to_dense_adjacency(toy_edge_index, 4)  # (N, N), adj[i, j] = 1 iff j -> i
toy_weight = torch.eye(2)  # (H*F', F) with H = 1
toy_a_dst = torch.tensor([[1.0, 1.0]])  # (H, F')
toy_a_src = torch.tensor([[1.0, -1.0]])  # (H, F')
print(toy_adj)

# %% [markdown]
# ## 1. All heads in one batched matrix product
#
# A layer with H heads holds one `W` per head. `gatkit` stores them stacked as the rows of a
# single `linear.weight` of shape (H·F', F): head `h` owns rows `h·F'` to `(h+1)·F' − 1`. Viewing
# that matrix as (H, F', F) gives one (F', F) matrix per head without copying anything:

# %%
heads, f_in, f_out = 8, cora.num_features, 8
weight = nn.init.xavier_uniform_(torch.empty(heads * f_out, f_in))  # (H*F', F), as linear.weight
per_head = weight.view(heads, f_out, f_in)  # (H, F', F), a view: same memory
assert torch.equal(per_head[3], weight[3 * f_out:4 * f_out])
assert per_head.data_ptr() == weight.data_ptr()

# %% [markdown]
# `torch.bmm(A, B)` multiplies a batch of matrices: (B, n, m) @ (B, m, p) gives (B, n, p), one
# product per batch entry. With the heads as the batch, `z[h] = x @ W_h^T` for all heads in one
# call. `x` must be repeated H times along a new first axis; `x.expand(H, N, F)` does that
# without copying, by giving the new axis a stride of 0:

# %%
x_heads = cora.x.expand(heads, -1, -1)  # (H, N, F), no copy
x_mb = cora.x.numel() * cora.x.element_size() / 1e6
same_memory = x_heads.data_ptr() == cora.x.data_ptr()
print(f"strides of the expanded x: {x_heads.stride()} | same memory: {same_memory} | x itself: {x_mb:.1f} MB")
assert x_heads.stride()[0] == 0 and same_memory and round(x_mb, 1) == 15.5

# %% [markdown]
# ## Exercise 4.1: all heads' projections in one batched matmul
#
# Write `project_heads(x, weight, heads)`: `x` is (N, F), `weight` is (H·F', F) laid out as above,
# and the result `z` is (H, N, F') with `z[h] = x @ W_h.T`. Use `torch.bmm`.


# %%
def project_heads(x: torch.Tensor, weight: torch.Tensor, heads: int) -> torch.Tensor:
    """Projected features (H, N, F') of every head, from one ``torch.bmm``."""
    ### BEGIN SOLUTION
    num_nodes, in_features = x.shape
    per_head = weight.view(heads, -1, in_features)  # (H, F', F)
    return torch.bmm(x.expand(heads, num_nodes, in_features), per_head.transpose(1, 2))  # (H, N, F')
    ### END SOLUTION


project_heads = exercise("4.1", project_heads)

# %% [markdown]
# On Cora, all eight heads at once, against the plain product `x @ weight.T` split into heads
# afterwards (the layout of chapter 05):

# %%
z = project_heads(cora.x, weight, heads)  # (H, N, F')
z_flat = (cora.x @ weight.T).view(cora.num_nodes, heads, f_out)  # (N, H, F')
print("z", tuple(z.shape))
assert z.shape == (8, 2708, 8)
torch.testing.assert_close(z, z_flat.transpose(0, 1))

# %% [markdown]
# ## 2. Every pair's score, by broadcasting
#
# Chapter 03 split the score of the edge `j -> i` into a target half and a source half,
# `s_dst[i] + s_src[j]`. Put `s_dst` down the rows and `s_src` along the columns, and
# broadcasting builds all N × N sums at once: (H, N, 1) + (H, 1, N) gives (H, N, N), with
# `scores[h, i, j] = LeakyReLU(s_dst[h, i] + s_src[h, j])`.
#
# ## Exercise 4.2: the (H, N, N) score matrix
#
# Write `dense_scores(z, a_src, a_dst)`: `z` is (H, N, F'), `a_src` and `a_dst` are (H, F'), and
# the result is the (H, N, N) matrix above, LeakyReLU slope 0.2, row = target, column = source.


# %%
def dense_scores(z: torch.Tensor, a_src: torch.Tensor, a_dst: torch.Tensor) -> torch.Tensor:
    """Scores (H, N, N) of every possible edge ``j -> i``, at ``[h, i, j]``."""
    ### BEGIN SOLUTION
    s_dst = (z * a_dst[:, None, :]).sum(dim=-1)  # (H, N)
    s_src = (z * a_src[:, None, :]).sum(dim=-1)  # (H, N)
    return F.leaky_relu(s_dst[:, :, None] + s_src[:, None, :], negative_slope=0.2)  # (H, N, N)
    ### END SOLUTION


dense_scores = exercise("4.2", dense_scores)

# %% [markdown]
# On the toy graph, `scores[0, 3, 1]` is chapter 03's e₃₁ = 0.2 · (−1 − 1) = −0.4. Reading the
# matrix at the edges of `edge_index` gives exactly chapter 03's edge scores; every other entry,
# like `scores[0, 0, 2]` (there is no edge 2 -> 0), is computed and then thrown away.

# %%
toy_z = project_heads(h, toy_weight, 1)  # (H, N, F') = (1, 4, 2)
toy_scores = dense_scores(toy_z, toy_a_src, toy_a_dst)  # (H, N, N)
print(toy_scores[0])
assert torch.isclose(toy_scores[0, 3, 1], torch.tensor(-0.4))

toy_source, toy_target = toy_edge_index
toy_z_edges = toy_z.transpose(0, 1)  # (N, H, F'), chapter 03's layout
toy_e = edge_scores(node_scores(toy_z_edges, toy_a_src), node_scores(toy_z_edges, toy_a_dst), toy_edge_index)  # (E, H)
assert torch.equal(toy_scores[:, toy_target, toy_source].T, toy_e)

useful = cora.edge_index_with_self_loops.shape[1] / cora.num_nodes**2
print(f"on Cora only {useful:.2%} of the N x N entries are edges")
assert useful < 0.002

# %% [markdown]
# ## 3. The softmax over each row's neighbours
#
# Row `i` of `scores` holds a score for every node; the softmax must use only `i`'s neighbours,
# the `j` with `adj[i, j] = 1`. Multiply the exponentials by the 0/1 adjacency before summing:
#
# $$\alpha_{ij} = \frac{adj_{ij}\, \exp(s_{ij} - m_i)}{\sum_k adj_{ik}\, \exp(s_{ik} - m_i)},
#   \qquad m_i = \max_{k:\, adj_{ik} = 1} s_{ik}.$$
#
# Subtracting `m_i` changes nothing mathematically (it cancels between numerator and
# denominator), but it keeps `exp` finite. In float32, `exp` overflows just above 88 and
# underflows to 0 below about −104:

# %%
big_exp, tiny_exp = torch.exp(torch.tensor([89.0, -105.0])).tolist()  # float32
print("exp(89) =", big_exp, "  exp(-105) =", tiny_exp)
print("inf * 0 =", (torch.tensor(float("inf")) * 0).item(), "  0 / 0 =", (torch.tensor(0.0) / 0).item())
assert big_exp == float("inf") and tiny_exp == 0.0
assert torch.exp(torch.tensor(88.0)).isfinite() and torch.exp(torch.tensor(-103.0)) > 0  # the limits lie between
assert (torch.tensor(float("inf")) * 0).isnan() and (torch.tensor(0.0) / 0).isnan()

# %% [markdown]
# Three consequences for the code:
#
# - the max must be taken **per row**: one max over the whole matrix would push a row whose scores
#   all lie far below it to exp(−105) = 0 everywhere, and 0 / 0 = nan;
# - **over the neighbours only**, so that the largest term of every row is exactly exp(0) = 1 and
#   the sum is at least 1 (`masked_fill(adj == 0, -inf)` before `amax`);
# - a non-neighbour's score may still lie far *above* `m_i`; its `exp` could overflow to inf, and
#   inf · 0 = nan. `.clamp(max=0)` before `exp` caps it at exp(0) = 1 before the adjacency zeroes it
#   (neighbours are never above `m_i`, so they are untouched). `gatkit.layers.GATLayerDense` does
#   the same.
#
# ## Exercise 4.3: the softmax over each row's neighbours
#
# Write `dense_softmax(scores, adj)`: `scores` is (H, N, N), `adj` is the (N, N) 0/1 float
# adjacency (every row has at least one neighbour: the self-loop). Return `alpha` (H, N, N): zero
# where `adj` is 0, and each row of each head summing to 1 over the neighbours. Multiply by `adj`
# rather than calling `F.softmax` (chapter 05 does the masked-softmax version). The check
# includes a directed graph and a row whose scores lie 120 above the others.


# %%
def dense_softmax(scores: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
    """Attention (H, N, N): each row's softmax over its neighbours, zero elsewhere."""
    ### BEGIN SOLUTION
    row_max = scores.detach().masked_fill(adj == 0, float("-inf")).amax(dim=-1, keepdim=True)  # (H, N, 1)
    exp = torch.exp((scores - row_max).clamp(max=0.0)) * adj  # (H, N, N)
    return exp / exp.sum(dim=-1, keepdim=True)  # (H, N, N)
    ### END SOLUTION


dense_softmax = exercise("4.3", dense_softmax)

# %% [markdown]
# `detach()` on the max: the softmax does not depend on the shift, so no gradient needs to flow
# through it, and autograd need not remember the masked copy. On the toy graph, row 1 holds
# chapter 03's attention of node 1, [0.6103, 0.0826, 0.2245, 0.0826], and row 0 has zeros at
# nodes 2 and 3, which do not send to node 0:

# %%
toy_alpha = dense_softmax(toy_scores, toy_adj)  # (H, N, N)
print(toy_alpha[0])
assert torch.allclose(toy_alpha[0, 1], torch.tensor([0.6103, 0.0826, 0.2245, 0.0826]), atol=1e-4)
assert torch.equal(toy_alpha[0, 0, 2:], torch.zeros(2))
assert torch.allclose(toy_alpha.sum(dim=-1), torch.ones(1, 4))

toy_alpha_edges = neighbourhood_softmax(toy_e, toy_edge_index, 4)  # (E, H), chapter 03
assert torch.allclose(toy_alpha[:, toy_target, toy_source].T, toy_alpha_edges)

# %% [markdown]
# ## 4. Aggregation, and the heads
#
# Row `i` of `alpha @ z` is `Σ_j α_ij z_j`, chapter 03's aggregation, with the zeros of `alpha`
# switching off the non-neighbours. `torch.bmm(alpha, z)` does it for every head: (H, N, N) @
# (H, N, F') gives (H, N, F'). The heads then leave the front: concatenated, node `i`'s row is
# `[out[0, i], out[1, i], ...]`, so move the heads axis next to the features with
# `transpose(0, 1)` before reshaping; averaged, it is the mean over dim 0.
#
# ## Exercise 4.4: aggregation and heads
#
# Write `aggregate_heads(alpha, z, concat)`: `alpha` is (H, N, N), `z` is (H, N, F'); return
# (N, H·F') with head 0's features first if `concat`, else the mean over the heads, (N, F').


# %%
def aggregate_heads(alpha: torch.Tensor, z: torch.Tensor, concat: bool) -> torch.Tensor:
    """New features: (N, H*F') with the heads side by side, or (N, F') averaged over them."""
    ### BEGIN SOLUTION
    out = torch.bmm(alpha, z)  # (H, N, F')
    if concat:
        return out.transpose(0, 1).reshape(out.shape[1], -1)  # (N, H * F')
    return out.mean(dim=0)  # (N, F')
    ### END SOLUTION


aggregate_heads = exercise("4.4", aggregate_heads)

# %%
toy_out = aggregate_heads(toy_alpha, toy_z, concat=True)  # (N, H*F') = (4, 2)
print(toy_out)
assert torch.allclose(toy_out[0], torch.tensor([0.8808, 0.1192]), atol=1e-4)  # chapter 03's h'_0

# %% [markdown]
# ## 5. The layer
#
# The four functions make a layer. Its parameters carry the names that all of `gatkit`'s
# implementations share (`linear.weight`, `a_src`, `a_dst`, `bias`), so one state dict loads
# into any of them. `GATLayerDense` adds what training needs (dropout on the input and on
# `alpha`, input validation, an optional residual connection); in eval mode, without a residual,
# it must compute exactly what ours computes.


# %%
class DenseGATLayer(nn.Module):
    """A GAT layer from this chapter's four functions: dense (H, N, N) attention."""

    def __init__(self, in_features: int, out_features: int, heads: int, concat: bool = True):
        super().__init__()
        self.heads, self.concat = heads, concat
        self.linear = nn.Linear(in_features, heads * out_features, bias=False)  # weight (H*F', F)
        self.a_src = nn.Parameter(nn.init.xavier_uniform_(torch.empty(heads, out_features)))  # (H, F')
        self.a_dst = nn.Parameter(nn.init.xavier_uniform_(torch.empty(heads, out_features)))  # (H, F')
        self.bias = nn.Parameter(torch.zeros(heads * out_features if concat else out_features))
        nn.init.xavier_uniform_(self.linear.weight)

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """New features (N, H*F') or (N, F'), and the attention (H, N, N)."""
        z = project_heads(x, self.linear.weight, self.heads)  # (H, N, F')
        alpha = dense_softmax(dense_scores(z, self.a_src, self.a_dst), adj)  # (H, N, N)
        return aggregate_heads(alpha, z, self.concat) + self.bias, alpha


# %% [markdown]
# On the toy graph, with two heads averaged and a random bias so that the bias is compared too
# (Cora follows in section 6):

# %%
ours = DenseGATLayer(2, 2, heads=2, concat=False)
nn.init.normal_(ours.bias)
reference = GATLayerDense(2, 2, heads=2, concat=False)
reference.load_state_dict(ours.state_dict())
reference.eval()
print(sorted(ours.state_dict()))

with torch.no_grad():
    out_ours, alpha_ours = ours(h, toy_adj)  # (N, F'), (H, N, N)
    out_ref, alpha_ref = reference(h, toy_edge_index, return_attention=True)  # (N, F'), (E, H)
torch.testing.assert_close(out_ours, out_ref)
torch.testing.assert_close(alpha_ours[:, toy_target, toy_source].T, alpha_ref)

# %% [markdown]
# ## 6. Cora, and what the N × N matrices cost
#
# Now the paper's first layer on Cora: 1433 input features, 8 heads of 8 features, concatenated
# to 64. Each (H, N, N) float32 tensor then holds H · N² numbers of 4 bytes:
# 8 · 2708² · 4 = 234 664 448 bytes, about 235 MB, for a graph whose edge list with self-loops
# has 13 264 columns. The same attention stored per edge, (E, H), takes 13 264 · 8 · 4 bytes,
# about 0.42 MB: N² / E ≈ 553 times less.

# %%
hand = 8 * 2708**2 * 4
per_edge = cora.edge_index_with_self_loops.shape[1] * 8 * 4
pubmed = 8 * 19717**2 * 4
print(f"one (H, N, N) tensor by hand: {hand:,d} bytes = {hand / 1e6:.1f} MB; "
      f"per edge: {per_edge / 1e6:.2f} MB, {hand / per_edge:.0f}x less")
print(f"PubMed (19 717 nodes), 8 heads: {pubmed / 1e9:.1f} GB per (H, N, N) tensor")
assert hand == 234_664_448 and round(hand / per_edge) == 553 and round(pubmed / 1e9, 1) == 12.4
assert cora.edge_index_with_self_loops.shape[1] == 13_264 and round(per_edge / 1e6, 2) == 0.42

# %% [markdown]
# A forward pass makes several such tensors (the scores, their LeakyReLU, the shifted and clamped
# copies, the exponentials, the masked exponentials, alpha), but most die as soon as the next one
# exists. Training is worse: to compute gradients, autograd **keeps** the tensors each operation
# needs for its backward pass until `backward()` has run. We can list them:
# `torch.autograd.graph.saved_tensors_hooks` calls a function for every tensor autograd saves.
# We run our layer once on Cora with gradients on, the way training would, and note what it keeps.

# %%
edge_index = cora.edge_index_with_self_loops  # (2, E)
source, target = edge_index
adj = edges.to_dense_adjacency(edge_index, cora.num_nodes)  # (N, N)
saved = {}


def remember(tensor: torch.Tensor) -> torch.Tensor:
    """Note each saved tensor's storage (several ops may save the same one) and size."""
    saved[tensor.untyped_storage().data_ptr()] = (tuple(tensor.shape), tensor.untyped_storage().nbytes())
    return tensor


ours = DenseGATLayer(cora.num_features, 8, heads=8)
nn.init.normal_(ours.bias)
start = time.perf_counter()
with torch.autograd.graph.saved_tensors_hooks(remember, lambda tensor: tensor):
    out_ours, alpha_ours = ours(cora.x, adj)  # (N, H*F'), (H, N, N)
seconds_forward = time.perf_counter() - start

measured = alpha_ours.numel() * alpha_ours.element_size()
big = [shape for shape, nbytes in saved.values() if nbytes == hand]
other_mb = sum(nbytes for _, nbytes in saved.values() if nbytes != hand) / 1e6
print(f"output {tuple(out_ours.shape)}, forward pass {seconds_forward:.1f} s; "
      f"alpha takes {measured:,d} bytes")
print(f"autograd keeps {len(big)} tensors of shape (H, N, N): {len(big) * hand / 1e6:,.0f} MB, "
      f"and {len(saved) - len(big)} others: {other_mb:.0f} MB")
assert measured == hand and out_ours.shape == (2708, 64)
assert len(big) >= 3 and other_mb < 100

# Your dense_softmax may keep a different number. gatkit's layers count the same way, on the toy
# graph (the count does not depend on N): GATLayerDense runs this chapter's solution steps,
# GATLayerMasked is chapter 05's layout.
kept = {}
for layer in (GATLayerDense(2, 2, heads=8).eval(), GATLayerMasked(2, 2, heads=8).eval()):
    saved.clear()
    with torch.autograd.graph.saved_tensors_hooks(remember, lambda tensor: tensor):
        layer(h, toy_edge_index)
    kept[type(layer).__name__] = sum(shape == (8, 4, 4) for shape, _ in saved.values())
print(f"(H, N, N) tensors kept by gatkit's layers: {kept}; "
      f"{kept['GATLayerDense']} of them on Cora: {kept['GATLayerDense'] * hand / 1e6:,.0f} MB")
assert kept["GATLayerDense"] == 5 and kept["GATLayerDense"] * hand > 2**30  # over a gigabyte
assert kept["GATLayerMasked"] < kept["GATLayerDense"]

# %% [markdown]
# Several (H, N, N) tensors stay alive between the forward and the backward pass. The count is
# printed above; with this chapter's solution code (and in gatkit's `GATLayerDense`) they are five,
# the LeakyReLU's input, the shifted scores before the clamp, the exponentials, the masked
# exponentials and `alpha` for the final `bmm`: over a gigabyte for one layer on a 2708-node
# graph, while everything else autograd keeps (x, the weights, z, the adjacency) takes under
# 100 MB. Memory grows as N²: a graph with 10 times more nodes needs 100 times more, and PubMed
# (19 717 nodes) would need about 12.4 GB per tensor. Chapter 05 keeps the dense layout but cuts
# the number of N × N tensors (`GATLayerMasked` above); chapter 06 drops N² altogether; chapter 10
# measures all three.
#
# Last, the same weights in `GATLayerDense`, and the attention recomputed edge by edge with
# chapter 03's functions: all three must agree.

# %%
reference = GATLayerDense(cora.num_features, 8, heads=8).eval()
reference.load_state_dict(ours.state_dict())
with torch.no_grad():
    out_ref, alpha_ref = reference(cora.x, edge_index, return_attention=True)  # (N, H*F'), (E, H)
    z_edges = project_heads(cora.x, ours.linear.weight, 8).transpose(0, 1)  # (N, H, F')
    e_edges = edge_scores(node_scores(z_edges, ours.a_src), node_scores(z_edges, ours.a_dst), edge_index)  # (E, H)
    alpha_ch03 = neighbourhood_softmax(e_edges, edge_index, cora.num_nodes)  # (E, H)

alpha_ours_edges = alpha_ours.detach()[:, target, source].T  # (E, H): the dense matrix read at the edges
torch.testing.assert_close(out_ours.detach(), out_ref)
torch.testing.assert_close(alpha_ours_edges, alpha_ref)
torch.testing.assert_close(alpha_ours_edges, alpha_ch03)
del out_ours, alpha_ours  # frees the tensors autograd kept
print("our layer = gatkit.layers.GATLayerDense = chapter 03, on Cora")

# %% [markdown]
# ## Summary
#
# - With the heads as a batch axis, a GAT layer is a handful of batched tensor operations:
#   `torch.bmm` for the projection, broadcasting `s_dst[:, :, None] + s_src[:, None, :]` for
#   the (H, N, N) scores, an adjacency-masked softmax per row, `torch.bmm` again to aggregate.
# - The softmax subtracts each row's max over the neighbours (not one global max), clamps
#   non-neighbours before `exp`, and multiplies by the 0/1 adjacency before normalising.
# - Row = target, column = source: `alpha[h, i, j]` is the attention of the edge `j -> i`, and
#   reading it at `edge_index` gives chapter 03's (E, H) coefficients.
# - Its cost is O(H·N²) time and memory: 235 MB per tensor for Cora with 8 heads, several of
#   them kept for the backward pass, although 99.8% of the entries are not edges.
#
# ## Check your understanding
#
# 1. `torch.bmm` needs `x` repeated once per head. Why does `x.expand(H, N, F)` cost no memory,
#    and why would `x.repeat(H, 1, 1)` cost 8 × 15.5 MB on Cora?
# 2. Where, in this chapter's layer, would a transposed adjacency go unnoticed on Cora, and where
#    would it not?
# 3. Why is it safe to subtract a different constant `m_i` in every row, but not to subtract a
#    different constant in every column?
# 4. What does `dense_softmax` return for a row with no neighbours at all, and how does
#    `GATLayerDense` avoid that?
# 5. Estimate the memory of one (H, N, N) tensor for PubMed with 8 output heads.

# %% [markdown] tags=["solution"]
# **Answers.**
#
# 1. `expand` only creates a view whose new axis has stride 0: all H "copies" read the same
#    memory. `repeat` writes H real copies of the (2708, 1433) float32 matrix, 15.5 MB each.
# 2. Cora is undirected, so `adj` is symmetric and `adj.T` is the same matrix: the outputs would
#    not change. On a directed graph (the exercise checks use some), row `i` would normalise over
#    the nodes `i` sends to instead of those it receives from, a different function.
# 3. Row `i` is one softmax (target `i`'s neighbourhood): a constant shared by all its terms
#    cancels between numerator and denominator. A per-column constant would shift the terms of
#    one row by different amounts, changing their ratios and so the attention.
# 4. Its max over an empty set is −inf, so `scores - (-inf)` is +inf, clamped to 0; `exp(0) * 0`
#    is 0 everywhere and the row becomes 0 / 0 = nan. `GATLayerDense` replaces the −inf max by 0
#    and divides by 1 where a row sum is 0, so such a node simply aggregates nothing. With a
#    self-loop on every node it never happens.
# 5. 8 · 19 717² · 4 bytes ≈ 12.4 GB per tensor, and several of them per layer in training: too
#    much for most GPUs. That is why graph libraries implement GAT on edge lists (chapter 06).

# %% [markdown]
# ## Going further
#
# - This chapter's solutions are in the library as `gatkit.functional.project_heads` (4.1),
#   `dense_scores` (4.2, from per-node scores), `dense_softmax` (4.3) and `combine_heads` (4.4);
#   `GATLayerDense` is built from them.
# - `torch.bmm` and broadcasting semantics: the PyTorch documentation pages "torch.bmm" and
#   "Broadcasting semantics".
# - Autograd's saved tensors: the PyTorch tutorial "Hooks for autograd saved tensors" shows how to
#   move them to CPU or disk with the same hooks, trading time for memory.
# - Dense attention over all pairs is exactly what a Transformer does; GAT keeps only the graph's
#   pairs. FlashAttention (Dao et al., 2022) computes dense attention without ever storing the
#   N × N matrix, by recomputing blocks in the backward pass.
