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
# # Chapter 05 · Implementation 2: dense with a connectivity mask
#
# Chapter 04 built a GAT layer head by head: dense `(H, N, N)` scores, exponentiated, then
# **multiplied** by the 0/1 adjacency so that only neighbours keep a weight. The authors' own
# TensorFlow code (the `PetarV-/GAT` repository) computes the same function with a different
# layout, and it is worth knowing because the same trick runs every Transformer's attention mask:
#
# 1. project the features once, `z = x W`, for all heads;
# 2. score every pair `(i, j)` with one broadcast sum, `f_dst + f_srcᵀ`, and a LeakyReLU;
# 3. **add** a connectivity mask that is 0 on edges and `-inf` everywhere else;
# 4. hand the result to an ordinary `softmax` over each row, and multiply by `z`.
#
# You will write the masked softmax of step 4, then the whole attention step of all heads as one
# function of the layer's parameters, and last the function that reads the dense coefficients
# edge by edge. On the way you will see why adding `-inf` is all it takes to restrict a softmax
# to a neighbourhood and find the one case where the TF code's `-1e9` and a true `-inf`
# disagree; at the end your layer matches all three of `gatkit`'s implementations on Cora, edge
# by edge.

# %%
import torch
import torch.nn.functional as F
from torch import nn

from gatkit import load_planetoid
from course.checks import exercise
from gatkit.functional import combine_heads, connectivity_mask
from gatkit.layers import GATLayerDense, GATLayerEdge, GATLayerMasked

torch.manual_seed(0)

cora = load_planetoid("cora", progress=False)
x = cora.x  # (N, F)
edge_index = cora.edge_index_with_self_loops  # (2, E), row 0 source j, row 1 target i
N, F_in = x.shape
E = edge_index.shape[1]
H, F_out = 8, 8  # the paper's first Cora layer: 8 heads of 8 features
print(f"Cora: N = {N} nodes, F = {F_in} features, E = {E} edges with self-loops; H = {H} heads, F' = {F_out}")

# %% [markdown]
# ## 1. One projection for all heads
#
# Each head `h` has its own weight matrix `W_h` of shape (F', F). The TF code calls its attention
# head function once per head in a Python loop, each with its own projection (a width-1
# convolution, which is a matrix product). Stacking the H matrices into one (H·F', F) matrix does
# all heads in **one** matmul: `z = x Wᵀ` has shape (N, H·F'), and head `h` owns the columns
# `h·F' .. (h+1)·F' − 1`. Viewing `z` as (N, H, F') splits it back into heads without copying.
# That is exactly `gatkit`'s `linear.weight`, so a state dict moves between all implementations.
#
# Chapter 04 computed the same thing as a batched product, `(H, N, F) @ (H, F, F')`. Same
# numbers, different layout:

# %%
W = nn.init.xavier_uniform_(torch.empty(H * F_out, F_in))  # (H*F', F)
z = x @ W.T  # (N, H*F'): one matmul for all heads
z_heads = z.view(N, H, F_out)  # (N, H, F'), no copy
z_per_head = torch.bmm(x.expand(H, N, F_in), W.view(H, F_out, F_in).transpose(1, 2))  # (H, N, F'), chapter 04
print("z", tuple(z.shape), "-> per head", tuple(z_heads.shape))
torch.testing.assert_close(z_heads.transpose(0, 1), z_per_head)
assert z_heads.data_ptr() == z.data_ptr()  # a view: no copy

# %% [markdown]
# ## 2. All pair scores with one broadcast
#
# The paper scores an edge `j -> i` with
#
# > e_ij = LeakyReLU(aᵀ [W h_i ‖ W h_j])
#
# and splitting `a` into the half that meets the target, `a_dst`, and the half that meets the
# source, `a_src`, turns the score into a sum of two *per-node* numbers (chapter 03):
#
# `e_ij = LeakyReLU(f_dst[i] + f_src[j])` with `f_dst[i] = a_dst · z_i`, `f_src[j] = a_src · z_j`.
#
# So every head needs only 2N dot products, and the (N, N) table of all pairs is a broadcast:
# a column of target scores (N, 1) plus a row of source scores (1, N). The TF code writes this
# as `f_1 + transpose(f_2)`. With the heads in front, `logits[h, i, j]` is
# `(H, N, 1) + (H, 1, N) -> (H, N, N)`: **row `i` is the target, column `j` the source**, the same
# orientation as the dense adjacency `adj[i, j] = 1` iff `j -> i`. It is chapter 04's score
# matrix (exercise 4.2); only the layout of `z` differs, (N, H, F') here, so the node scores come
# out as (N, H) and a transpose puts the heads in front:

# %%
a_src = nn.init.xavier_uniform_(torch.empty(H, F_out))  # (H, F')
a_dst = nn.init.xavier_uniform_(torch.empty(H, F_out))  # (H, F')
f_src = (z_heads * a_src).sum(dim=-1)  # (N, H): each node scored as a source j
f_dst = (z_heads * a_dst).sum(dim=-1)  # (N, H): each node scored as a target i
logits = F.leaky_relu(f_dst.T.unsqueeze(2) + f_src.T.unsqueeze(1), negative_slope=0.2)  # (H, N, N)

# %% [markdown]
# One entry checked against the paper's formula with the concatenation `[z_i ‖ z_j]` and the
# whole vector `a = [a_dst ‖ a_src]`, for the first Cora edge whose source and target differ:

# %%
k = int((edge_index[0] != edge_index[1]).nonzero()[0])
j, i, h = int(edge_index[0, k]), int(edge_index[1, k]), 3
a_full = torch.cat([a_dst[h], a_src[h]])  # (2F',)
by_the_paper = F.leaky_relu(a_full @ torch.cat([z_heads[i, h], z_heads[j, h]]), 0.2)
print(f"edge {j} -> {i}, head {h}: logits[h, i, j] = {logits[h, i, j].item():.6f}, "
      f"paper's formula = {by_the_paper.item():.6f}")
torch.testing.assert_close(logits[h, i, j], by_the_paper)
print(f"logits hold {logits.numel():,d} numbers ({logits.numel() * 4 / 1e6:.1f} MB), "
      f"of which only H·E = {H * E:,d} belong to edges")
assert H * E / logits.numel() < 0.01  # almost all score pairs that are not edges

# %% [markdown]
# Almost all of those numbers score pairs that are **not** edges: `logits` scores every node
# against every other node, as a Transformer would. The graph enters only in the next step.
#
# ## 3. The connectivity mask
#
# Instead of multiplying by the adjacency after the exponential (chapter 04), implementation 2
# **adds** a mask to the logits before the softmax:
#
# `mask[i, j] = 0` if `j -> i` is an edge, `-inf` otherwise.
#
# Adding 0 leaves an edge's score alone; adding `-inf` turns a non-edge's score into `-inf`. One
# (N, N) mask serves all heads: broadcasting adds it to each of the H score matrices. It is built
# like chapter 01's dense adjacency (exercise 1.4), with `-inf` as the background and 0 on the
# edges; `gatkit.functional.connectivity_mask` does exactly this.
#
# Who adds the self-loops? The mask must say exactly what `edge_index` says and nothing more; the
# *caller* passes `edge_index_with_self_loops`, just as for every `gatkit` layer. (The TF code
# hides this step inside its mask builder, `adj_to_bias`, which adds the identity to the adjacency
# and returns `-1e9 · (1 − A)`.)
#
# On a directed toy graph with 4 nodes: `0 -> 1`, `0 -> 2`, `1 -> 2`, `3 -> 2`, `2 -> 0` and
# self-loops on nodes 0, 1 and 2 only. Node 3 sends an edge but receives none, so its row is all
# `-inf`; we come back to that row in a moment.

# %%
toy_edges = torch.tensor([[0, 0, 1, 3, 2, 0, 1, 2],
                          [1, 2, 2, 2, 0, 0, 1, 2]])  # (2, 8): row 0 source, row 1 target
toy_mask = torch.full((4, 4), float("-inf"))  # (N, N): no edge anywhere ...
toy_mask[toy_edges[1], toy_edges[0]] = 0.0  # ... except at row = target, column = source
print(toy_mask)
assert torch.equal(toy_mask, connectivity_mask(toy_edges, 4))
assert toy_mask[2, 3] == 0 and toy_mask[3, 2] == float("-inf")  # 3 -> 2 is an edge, 2 -> 3 is not
assert torch.isinf(toy_mask[3]).all()  # nothing flows into node 3

# %% [markdown]
# ## 4. The masked softmax
#
# Row `i` of `logits + mask` holds node `i`'s scores with every non-neighbour pushed to `-inf`.
# An ordinary softmax over that row,
#
# `alpha[i, j] = exp(l_ij + m_ij) / Σ_k exp(l_ik + m_ik)`,
#
# needs no knowledge of the graph at all: `exp(-inf) = 0` exactly, so every non-neighbour
# vanishes from the numerator **and** from the denominator, and what remains is the softmax over
# `i`'s neighbourhood, the paper's `alpha_ij`. Stability comes for free as well: `F.softmax`
# subtracts each row's maximum before exponentiating, and with the non-neighbours at `-inf` that
# maximum is the maximum over the neighbours, precisely the shift that implementation 1 had to
# compute by hand.
#
# ## Exercise 5.1: the masked softmax
#
# Write `masked_softmax(logits, mask)`: `logits` (H, N, N), `mask` (N, N) as above. Return
# `alpha` (H, N, N), each row `i` a probability distribution over the sources `j` of target `i`
# (about 1 line). The check's graphs give every node its self-loop.


# %%
def masked_softmax(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax of ``logits + mask`` over the sources j (last axis), shape (H, N, N)."""
    # YOUR CODE HERE (1 line)
    raise NotImplementedError('Exercise 5.1: the masked softmax')


masked_softmax = exercise("5.1", masked_softmax)

# %% [markdown]
# On the toy graph, now with node 3's self-loop added, and two heads of random scores: every row
# sums to 1 and the zeros sit exactly where the mask has `-inf`.

# %%
toy_looped = torch.cat([toy_edges, torch.tensor([[3], [3]])], dim=1)  # (2, 9): every node has its loop
toy_logits = torch.randn(2, 4, 4)  # (H, N, N): any scores will do
toy_alpha = masked_softmax(toy_logits, connectivity_mask(toy_looped, 4))  # (H, N, N)
print(toy_alpha[0])
torch.testing.assert_close(toy_alpha.sum(dim=-1), torch.ones(2, 4))
assert torch.equal(toy_alpha > 0, (connectivity_mask(toy_looped, 4) == 0).expand(2, 4, 4))

# %% [markdown]
# ### `-inf` or `-1e9`?
#
# The TF code adds `-1e9` rather than `-inf`. Wherever a row has at least one neighbour the two
# give *identical* attention: after the row maximum is subtracted, `exp(-1e9 − max)` is exactly 0
# in float32, just like `exp(-inf)`. They differ only on a row with **no** neighbour at all, such
# as node 3 of the toy graph without its self-loop:
#
# - with `-inf` every entry of the row is `-inf`, the row maximum is `-inf`, and the softmax
#   computes `-inf − (-inf) = nan`: the row is NaN;
# - with `-1e9` every entry is `l_ij − 1e9`, and float32 cannot even tell these apart: near
#   `1e9` consecutive float32 numbers are 64 apart, so any logit smaller than 32 in size is
#   absorbed. All N entries are equal and the softmax returns **uniform attention over all N
#   nodes**.

# %%
mask_inf = connectivity_mask(toy_edges, 4)  # (4, 4), row 3 all -inf
mask_1e9 = torch.where(mask_inf == 0, 0.0, -1e9)  # (4, 4), the TF code's constant
alpha_inf = F.softmax(toy_logits + mask_inf, dim=-1)  # (2, 4, 4): your masked softmax, as the TF code
alpha_1e9 = F.softmax(toy_logits + mask_1e9, dim=-1)  # (2, 4, 4)
print("node 3, mask -inf:", alpha_inf[0, 3].tolist())
print("node 3, mask -1e9:", alpha_1e9[0, 3].tolist())

spacing = (torch.nextafter(torch.tensor(1e9), torch.tensor(2e9)) - torch.tensor(1e9)).item()
assert spacing == 64.0 and torch.tensor(-1e9) + 3.0 == torch.tensor(-1e9)
assert torch.isnan(alpha_inf[:, 3]).all()
assert torch.equal(alpha_1e9[:, 3], torch.full((2, 4), 0.25))  # uniform over all 4 nodes
assert torch.equal(alpha_inf[:, :3], alpha_1e9[:, :3])  # bit for bit the same where rows have neighbours

# %% [markdown]
# Which failure is better? The NaN is loud: it reaches the loss in the first forward pass, and
# you find the node without a neighbour at once. The uniform row is silent: node 3 quietly
# averages the features of every node in the graph, most of them unrelated, and training runs on.
#
# The real fix is the one the paper prescribes: **self-loops**. With `i -> i` in `edge_index`,
# every row of the mask has at least one 0, on its diagonal, so no row is ever empty and both
# constants give the same answer. Cora has no node without an edge, but Citeseer has dozens:

# %%
citeseer = load_planetoid("citeseer", progress=False)
receives_nothing = int((torch.bincount(citeseer.edge_index[1], minlength=citeseer.num_nodes) == 0).sum())
receives_nothing_looped = int((torch.bincount(citeseer.edge_index_with_self_loops[1],
                                              minlength=citeseer.num_nodes) == 0).sum())
print(f"Citeseer: {receives_nothing} of {citeseer.num_nodes} nodes receive no edge; "
      f"with self-loops: {receives_nothing_looped}")
assert receives_nothing > 40 and receives_nothing_looped == 0
assert int((torch.bincount(cora.edge_index[1], minlength=N) == 0).sum()) == 0  # Cora: none
assert torch.tensor(-1e9, dtype=torch.float16).isinf()  # in half precision -1e9 *is* -inf
assert torch.finfo(torch.float16).max == 65504

# %% [markdown]
# (The last line is a warning for mixed-precision training: float16 cannot hold `-1e9`, its
# largest finite value is 65504, so the TF constant silently becomes `-inf` there anyway.)
#
# `gatkit.layers.GATLayerMasked` does not rely on the caller: the library's
# `gatkit.functional.masked_softmax` leaves a row with no neighbour unmasked and zeroes it after
# the softmax, so such a node aggregates nothing and gets just its bias, the same answer as the
# edge-list implementation of chapter 06 gives.

# %%
toy_layer = GATLayerMasked(2, 3, heads=2).eval()
toy_edge_layer = GATLayerEdge(2, 3, heads=2).eval()  # chapter 06's implementation
toy_x = torch.randn(4, 2)  # (4, F)
with torch.no_grad():
    toy_layer.bias.normal_()  # a visible bias
    toy_edge_layer.load_state_dict(toy_layer.state_dict())
    toy_out = toy_layer(toy_x, toy_edges)  # (4, H*F'), node 3 has no incoming edge
    toy_out_edge = toy_edge_layer(toy_x, toy_edges)  # (4, H*F')
print("node 3's output:", toy_out[3].tolist())
assert not toy_out.isnan().any() and torch.equal(toy_out[3], toy_layer.bias.detach())
torch.testing.assert_close(toy_out, toy_out_edge)  # the same answer as chapter 06's layout

# %% [markdown]
# ### Adding versus multiplying
#
# Implementation 1 masks **after** the exponential: `p = exp(e − m) · adj`, `alpha = p / Σ p`.
# Mathematically the two masks are the same; numerically the multiplicative one needs care that
# the additive one gets for free. Take one row with two neighbours scoring 1 and 2 and one
# non-neighbour whose score happens to be 120 (`exp(120)` overflows float32):

# %%
row = torch.tensor([1.0, 2.0, 120.0])  # scores of one target's row; the last node is not a neighbour
adj_row = torch.tensor([1.0, 1.0, 0.0])  # (N,)
mask_row = torch.tensor([0.0, 0.0, float("-inf")])  # (N,)

assert torch.exp(row[2]).isinf()  # exp(120) overflows float32
no_shift = torch.exp(row) * adj_row  # inf * 0 = nan
whole_row_max = torch.exp(row - row.max()) * adj_row  # the neighbours underflow to 0
additive = F.softmax(row + mask_row, dim=-1)
print("multiply, no shift:      ", (no_shift / no_shift.sum()).tolist())
print("multiply, max of the row:", (whole_row_max / whole_row_max.sum()).tolist())
print("add -inf, then softmax:  ", additive.tolist())
assert torch.isnan(no_shift / no_shift.sum()).all()
assert torch.isnan(whole_row_max / whole_row_max.sum()).all()
torch.testing.assert_close(additive, torch.tensor([1.0, torch.e, 0.0]) / (1 + torch.e))

# %% [markdown]
# The multiplicative mask is only safe when the shift is the maximum over the **neighbours** and
# non-neighbours cannot overflow, which is why implementation 1 computes a masked row maximum and
# clamps. The additive mask removes the non-neighbours *before* anything is exponentiated, so the
# library softmax, with its own row maximum, is automatically right. (The 120 is picked to make
# the failure visible; the point is that one form is correct by construction and the other by
# care.) Chapter 06 meets the same trap in edge-list form: one global maximum starves
# neighbourhoods.
#
# ## 5. All heads in one function
#
# Sections 1 to 4 are the whole attention step of a layer, and the TF code's `attn_head` runs
# them once per head. With the heads as a batch axis, one function of the layer's parameters
# does all heads at once: project (section 1), score every pair (section 2), mask and normalise
# (your `masked_softmax`), and aggregate. The aggregation is one more matrix product per head:
# `alpha` (H, N, N) times `z` with the heads in front, (H, N, F'), gives (H, N, F'), and row `i`
# is `Σ_j alpha_ij z_j`, the sum over the neighbours only, because every other `alpha_ij` is 0.
# `torch.matmul` (or `@`) multiplies the last two axes and batches over the first.
#
# ## Exercise 5.2: the masked attention, all heads at once
#
# Write `masked_attention(x, weight, a_src, a_dst, mask)`: `x` (N, F), `weight` (H·F', F) laid out
# as `gatkit`'s `linear.weight`, `a_src` and `a_dst` (H, F'), `mask` (N, N). Return the pair
# `(out, alpha)`: `out` (N, H, F') holds each head's aggregate (the layer concatenates or
# averages the heads afterwards), `alpha` (H, N, N) the attention. LeakyReLU slope 0.2. The check
# feeds chapter 03's toy graph, directed graphs and 500 Cora nodes with 8 heads, every node with
# its self-loop, and passes parameters that require grad, as a layer's do (about 8 lines).


# %%
def masked_attention(x: torch.Tensor, weight: torch.Tensor, a_src: torch.Tensor, a_dst: torch.Tensor,
                     mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every head's aggregate (N, H, F') and attention (H, N, N), in the TensorFlow layout."""
    # YOUR CODE HERE (about 8 lines)
    raise NotImplementedError('Exercise 5.2: the masked attention, all heads at once')


masked_attention = exercise("5.2", masked_attention)

# %% [markdown]
# Chapter 03 worked its undirected toy graph out by hand: `W` the identity, one head,
# `a_dst = [1, 1]`, `a_src = [1, −1]`. Node 1 attends to nodes 0 to 3 with
# [0.6103, 0.0826, 0.2245, 0.0826], and node 0's new features are h'₀ = [0.8808, 0.1192].
# The same numbers come out of one call, row 1 of `alpha` and row 0 of `out`:

# %%
ch03_h = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]])  # (N, F)
ch03_edges = torch.tensor([[0, 1, 0, 1, 2, 3, 1, 2, 3, 1, 2, 3],
                           [0, 0, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3]])  # (2, 12), self-loops included
ch03_out, ch03_alpha = masked_attention(ch03_h, torch.eye(2), torch.tensor([[1.0, -1.0]]),
                                        torch.tensor([[1.0, 1.0]]), connectivity_mask(ch03_edges, 4))
print("alpha:\n", ch03_alpha[0], "\nout:\n", ch03_out[:, 0])  # (N, N), (N, F')
assert ch03_out.shape == (4, 1, 2) and ch03_alpha.shape == (1, 4, 4)
torch.testing.assert_close(ch03_alpha[0, 1], torch.tensor([0.6103, 0.0826, 0.2245, 0.0826]), atol=1e-4, rtol=0)
torch.testing.assert_close(ch03_out[0, 0], torch.tensor([0.8808, 0.1192]), atol=1e-4, rtol=0)

# %% [markdown]
# ## 6. The attention, edge by edge
#
# `gatkit`'s layers report `alpha` as (E, H): one row per column of `edge_index`, in column
# order, the layout of chapter 06's edge list. Our dense `alpha` holds the same numbers at
# `[h, i, j]` for the edge `j -> i`. To compare the implementations edge by edge (and to store
# or plot attention later) the dense matrix must be read at the edges.
#
# One indexing expression does it, if you know how PyTorch pairs indices: indexing two axes with
# two index tensors of length E (in one pair of brackets) pairs them up, the k-th entry of one
# with the k-th of the other, and gives **one** new axis of length E in their place. Axes you do
# not index (with `:`) stay where they are.
#
# ## Exercise 5.3: the coefficients per edge
#
# Write `edge_coefficients(alpha_dense, edge_index)`: `alpha_dense` (H, N, N) with `[h, i, j]` for
# the edge `j -> i`. Return (E, H) whose row `k` holds the H coefficients of the k-th column
# `(j, i)` of `edge_index`, in column order, without a Python loop. The check shuffles the
# columns and uses directed graphs, and in one case entry `[h, i, j]` holds `100h + 10i + j`, so
# a wrong value tells you where it was read.


# %%
def edge_coefficients(alpha_dense: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
    """The dense (H, N, N) attention read at the edges: (E, H) in ``edge_index`` column order."""
    # YOUR CODE HERE (1 line)
    raise NotImplementedError('Exercise 5.3: the coefficients per edge')


edge_coefficients = exercise("5.3", edge_coefficients)

# %% [markdown]
# On the toy graph with every self-loop, reading a tensor whose entry `[h, i, j]` is
# `100h + 10i + j`: each row tells which entry it came from. The edge `3 -> 2` (column 3) must
# read `[h, 2, 3]`, that is 23 and 123.

# %%
heads_ix, rows_ix, cols_ix = torch.meshgrid(torch.arange(2), torch.arange(4), torch.arange(4), indexing="ij")
named = (100 * heads_ix + 10 * rows_ix + cols_ix).float()  # (H, N, N): entry [h, i, j] = 100h + 10i + j
toy_per_edge = edge_coefficients(named, toy_looped)  # (E, H)
for (source, target), values in zip(toy_looped.T.tolist(), toy_per_edge.tolist()):
    print(f"edge {source} -> {target}: {values}")
assert toy_per_edge.shape == (9, 2) and toy_per_edge[3].tolist() == [23.0, 123.0]

# %% [markdown]
# ## 7. The whole layer
#
# Your three functions, the library's `connectivity_mask` and chapter 03's `combine_heads` make a
# complete layer. The parameter names are `gatkit`'s, so one state dict loads into every
# implementation. Dropout (chapter 07) is left out: we compare in eval mode, where it is off.


# %%
class MaskedGATLayer(nn.Module):
    """Implementation 2 built from this chapter's functions, with ``gatkit``'s parameter names."""

    def __init__(self, in_features, out_features, heads=1, *, concat=True):
        super().__init__()
        self.concat = concat
        self.linear = nn.Linear(in_features, heads * out_features, bias=False)  # W: (H*F', F)
        self.a_src = nn.Parameter(nn.init.xavier_uniform_(torch.empty(heads, out_features)))  # (H, F')
        self.a_dst = nn.Parameter(nn.init.xavier_uniform_(torch.empty(heads, out_features)))  # (H, F')
        self.bias = nn.Parameter(torch.zeros(heads * out_features if concat else out_features))

    def forward(self, x, edge_index, return_attention=False):
        mask = connectivity_mask(edge_index, x.shape[0])  # (N, N)
        out, alpha = masked_attention(x, self.linear.weight, self.a_src, self.a_dst, mask)  # (N, H, F'), (H, N, N)
        out = combine_heads(out, self.concat) + self.bias  # (N, H*F') or (N, F')
        return (out, edge_coefficients(alpha, edge_index)) if return_attention else out  # alpha (E, H)


# %% [markdown]
# Now the proof. We build `gatkit`'s three implementations with one random state dict (the dense
# per-head layout of chapter 04, the masked layout of this chapter, the edge list of chapter 06),
# load it into our layer too, and compare outputs and attention coefficients on Cora in eval
# mode, for a hidden layer (8 heads, concatenated) and an output layer (average of 2 heads,
# 7 classes). All of them report `alpha` as (E, H) in `edge_index` order, ours through
# `edge_coefficients`.

# %%
for heads, out_features, concat in [(H, F_out, True), (2, 7, False)]:
    masked = GATLayerMasked(F_in, out_features, heads, concat=concat, dropout=0.6, attention_dropout=0.6).eval()
    with torch.no_grad():
        masked.bias.normal_()  # a non-zero bias, so that it is compared too
    ours = MaskedGATLayer(F_in, out_features, heads, concat=concat).eval()
    ours.load_state_dict(masked.state_dict())
    with torch.no_grad():
        out_ours, alpha_ours = ours(x, edge_index, return_attention=True)  # (N, ...), (E, H)
    for implementation in (GATLayerDense, GATLayerMasked, GATLayerEdge):
        layer = implementation(F_in, out_features, heads, concat=concat, dropout=0.6, attention_dropout=0.6)
        layer.load_state_dict(masked.state_dict())
        with torch.no_grad():
            out, alpha = layer.eval()(x, edge_index, return_attention=True)  # (N, ...), (E, H)
        torch.testing.assert_close(out_ours, out, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(alpha_ours, alpha, rtol=1e-5, atol=1e-5)
        print(f"H={heads}, F'={out_features}, concat={concat}: ours vs {implementation.__name__:14s} "
              f"max |output difference| {(out_ours - out).abs().max().item():.1e}, "
              f"max |alpha difference| {(alpha_ours - alpha).abs().max().item():.1e}")
    per_target = torch.zeros(N, heads).index_add_(0, edge_index[1], alpha_ours)  # (N, H)
    torch.testing.assert_close(per_target, torch.ones(N, heads))  # each target's edges sum to 1

# %% [markdown]
# The layouts agree on every node, head and edge to within 1e-5 (the largest differences are
# printed above), and each target's coefficients sum to 1 over its incoming edges. The gradients
# agree too, so a layer built on your functions trains like `gatkit`'s; we check that on the
# graph of Cora's first 500 nodes, which keeps the dense backward pass small:

# %%
first = 500
first_edges = edge_index[:, (edge_index < first).all(dim=0)]  # (2, E'): the edges among nodes 0..499
reference = GATLayerMasked(F_in, F_out, H)
ours = MaskedGATLayer(F_in, F_out, H)
ours.load_state_dict(reference.state_dict())
for layer in (reference, ours):
    layer(x[:first], first_edges).square().sum().backward()
for name, parameter in ours.named_parameters():
    torch.testing.assert_close(parameter.grad, reference.get_parameter(name).grad, rtol=1e-4, atol=1e-5)
print(f"first {first} nodes, {first_edges.shape[1]} edges: gradients agree for",
      [name for name, _ in ours.named_parameters()])

# %% [markdown]
# The price of the dense layouts is memory: every (H, N, N) tensor of the first layer is
# 8 × 2708² × 4 bytes ≈ 235 MB, and a forward pass makes several of them (the logits, the
# masked logits, `alpha`), to describe E = 13 264 edges. Chapter 06 computes the same function on
# the edges alone.

# %%
dense_mb = H * N * N * 4 / 1e6
print(f"one (H, N, N) float32 tensor on Cora: {dense_mb:.1f} MB; the mask (N, N): {N * N * 4 / 1e6:.1f} MB")
assert round(dense_mb) == 235 and E == 13264

# %% [markdown]
# ## Summary
#
# - Implementation 2 is the authors' TensorFlow layout, one function of the layer's parameters:
#   one projection for all heads viewed as (N, H, F'), all pair scores as the broadcast
#   `f_dst + f_srcᵀ`, an **additive** mask, a plain softmax, one matmul per head.
# - Adding `-inf` restricts a softmax to the neighbours because `exp(-inf) = 0`; the softmax's own
#   row maximum is then the maximum over the neighbours, so it is stable without extra work.
#   Multiplying by the adjacency after `exp` is the same function, but needs a neighbours-only
#   maximum to avoid `inf · 0 = nan` and starved rows.
# - `-1e9` and `-inf` agree on every row with a neighbour. On an empty row `-inf` gives NaN
#   (loud), `-1e9` gives uniform attention over all N nodes (silent). Self-loops make every row
#   non-empty.
# - The dense coefficients of the edge `j -> i` sit at `[h, i, j]`; indexing both node axes at
#   once, `alpha[:, targets, sources]`, pairs them edge by edge, and a transpose gives (E, H) in
#   `edge_index` order.
# - Read that way, implementations 1, 2 and 3 agree to 1e-5 on Cora with one state dict; the
#   dense ones pay O(H·N²) memory for it.
#
# ## Check your understanding
#
# 1. `logits` is (H, N, N) and the mask is (N, N). Why may one mask serve every head, and which
#    axis of `logits` does it line up with?
# 2. In `masked_attention` you view `x @ weight.T` as (N, H, F'). Why not `view(H, N, F')`, which
#    has the shape the matmul wants?
# 3. You swap `a_src` and `a_dst` in `masked_attention`. What happens to the logits, and on which
#    kind of graph would the layer's output change?
# 4. A colleague applies the mask after the softmax by zeroing the non-neighbours. Why do the rows
#    then sum to less than 1, and by how much for a node with 4 neighbours among 2708 nodes whose
#    logits are all equal?
# 5. You train in float16 with the TF constant `-1e9`, on a graph where some nodes have no
#    self-loop and no incoming edge. What do those nodes' attention rows become, and why?
# 6. `alpha_dense[:, edge_index[1], edge_index[0]]` is (H, E). What shape does
#    `alpha_dense[:, edge_index[1]][:, :, edge_index[0]]` have, and what does it hold?

# %% [markdown]
# ## Going further
#
# - This chapter's solutions are in the library as `gatkit.functional.masked_softmax` (5.1),
#   `masked_attention` (5.2; `GATLayerMasked` calls it, handing it its dropout) and
#   `edge_coefficients` (5.3; both dense layers report their `alpha` through it). The mask of
#   section 3 is `connectivity_mask`, the scores of section 2 `node_scores` and `dense_scores`.
# - The authors' code: `utils/layers.py` (`attn_head`) and `utils/process.py` (`adj_to_bias`) in
#   the `PetarV-/GAT` repository on GitHub. Note that TF's `leaky_relu` defaults to slope 0.2
#   and PyTorch's `F.leaky_relu` to 0.01.
# - The same additive mask drives causal and padding masks in Transformers. PyTorch's
#   `F.scaled_dot_product_attention` takes either a boolean `attn_mask` or a float one that is
#   added to the scores; Hugging Face models fill with `torch.finfo(dtype).min`, the most
#   negative finite number of the dtype, rather than `-inf`: the TF code's choice, made to fit
#   float16 as well.
# - PyTorch's "Tensor Indexing" notes (and NumPy's "Advanced indexing") give the rule exercise
#   5.3 relies on: index tensors in one bracket are broadcast together and paired.
# - The authors' repository also has a sparse variant (`sp_attn_head`) that keeps only the edges'
#   scores; chapter 06 builds that idea in PyTorch with `index_select` and scatter operations.
