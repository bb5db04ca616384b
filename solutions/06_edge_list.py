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
# # Chapter 06 · Implementation 3: edge list
#
# The dense implementations of chapters 04 and 05 score every pair of nodes and then throw away
# the pairs that are not edges. On Cora that means H·N² scores to keep H·E of them. This chapter
# computes GAT on the edges alone: every tensor is (N, ·) or (E, ·), never (N, N). Three
# operations do all the work:
#
# - **gather**: `index_select` copies each edge's source row and target row out of a per-node
#   tensor, lifting (N, H) node scores to (E, H) edge scores;
# - **scatter-reduce**: `scatter_reduce(..., "amax")` and `index_add_` combine the edges that
#   share a target, giving one maximum and one sum per neighbourhood, for a softmax that runs over
#   each node's incoming edges;
# - **scatter-add**: `index_add_` sums the weighted messages `alpha_ij z_j` into their targets.
#
# This is how graph libraries (PyTorch Geometric, DGL) implement GAT. On the way we meet the
# numerical trap of the original PyTorch GAT project, a softmax stabilised with one *global*
# maximum; you compute the maximum of each neighbourhood instead, and we show with numbers why
# that is the one to subtract. Then you
# assemble the pieces into a complete layer, an `nn.Module` with its parameters, their
# initialisation and the paper's two dropouts, and check that it computes the same function as
# `gatkit`'s three implementations.

# %%
import importlib.util
import math

import torch
import torch.nn.functional as F
from torch import nn

from gatkit import load_planetoid
from course.checks import exercise
from course.checks.modules import GATParameterMap
from gatkit.edges import add_self_loops
from gatkit.layers import GATLayerDense, GATLayerEdge, GATLayerMasked

torch.manual_seed(0)

cora = load_planetoid("cora", progress=False)
x = cora.x  # (N, F)
edge_index = cora.edge_index_with_self_loops  # (2, E), row 0 source j, row 1 target i
N, F_in = x.shape
E = edge_index.shape[1]
H, F_out = 8, 8  # the paper's first Cora layer
print(f"N = {N}, E = {E} (with self-loops), H = {H}, F' = {F_out}")
print(f"dense scores: H·N² = {H * N * N:,d}; edge scores: H·E = {H * E:,d} ({E / N**2:.2%} of the pairs)")
assert (N, E) == (2708, 13264) and E / N**2 < 0.002

# %% [markdown]
# ## 1. Scores per node, computed once
#
# The split of the attention vector (chapter 03) gives
# `e_ij = LeakyReLU(a_dst · z_i + a_src · z_j)`: each node needs two numbers per head, one for
# its role as a target and one as a source. We compute them once per node, in (N, H):

# %%
W = nn.init.xavier_uniform_(torch.empty(H * F_out, F_in))  # (H*F', F)
a_src = nn.init.xavier_uniform_(torch.empty(H, F_out))  # (H, F')
a_dst = nn.init.xavier_uniform_(torch.empty(H, F_out))  # (H, F')

z = (x @ W.T).view(N, H, F_out)  # (N, H, F')
s_src = (z * a_src).sum(dim=-1)  # (N, H): node as a source j
s_dst = (z * a_dst).sum(dim=-1)  # (N, H): node as a target i
print("z", tuple(z.shape), " s_src", tuple(s_src.shape), " s_dst", tuple(s_dst.shape))

# %% [markdown]
# ## 2. Lifting node scores to the edges
#
# `t.index_select(0, idx)` returns the rows `t[idx[0]], t[idx[1]], ...`: one row per entry of
# `idx`, repeats allowed. With `idx = edge_index[0]` that is one row per edge holding its
# source's score; with `edge_index[1]`, its target's. On the directed 4-node toy graph of chapter
# 05 (`0 -> 1`, `0 -> 2`, `1 -> 2`, `3 -> 2`, `2 -> 0`, and a self-loop on every node), with one
# head and scores chosen so that row `n` is easy to spot:

# %%
toy_edges = torch.tensor([[0, 0, 1, 3, 2, 0, 1, 2, 3],
                          [1, 2, 2, 2, 0, 0, 1, 2, 3]])  # (2, 9): row 0 source, row 1 target
toy_s = torch.tensor([[0.0], [10.0], [20.0], [30.0]])  # (N, 1): node n scores 10 n
print("sources:          ", toy_edges[0].tolist())
print("lifted to edges:  ", toy_s.index_select(0, toy_edges[0]).squeeze(1).tolist())
assert toy_s.index_select(0, toy_edges[0]).shape == (9, 1)

# %% [markdown]
# ## Exercise 6.1: lifting scores to the edges
#
# Write `edge_scores(s_src, s_dst, edge_index)`: `s_src` and `s_dst` are (N, H); return the
# raw attention scores (E, H), `e[k] = LeakyReLU(s_src[j] + s_dst[i])` with slope 0.2 for the
# edge `k = j -> i`, in `edge_index` column order.


# %%
def edge_scores(s_src: torch.Tensor, s_dst: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
    """Raw scores (E, H): ``LeakyReLU(s_src[j] + s_dst[i])`` for every edge ``j -> i``."""
    ### BEGIN SOLUTION
    scores = s_src.index_select(0, edge_index[0]) + s_dst.index_select(0, edge_index[1])  # (E, H)
    return F.leaky_relu(scores, negative_slope=0.2)
    ### END SOLUTION


edge_scores = exercise("6.1", edge_scores)

# %% [markdown]
# These are exactly the entries of chapter 05's (H, N, N) logits at `[h, i, j]` for the edges,
# and nothing else. We check that on Cora for two heads (the dense table of two heads is small
# enough to build just for this):

# %%
e = edge_scores(s_src, s_dst, edge_index)  # (E, H)
dense_two_heads = F.leaky_relu(s_dst[:, :2].T.unsqueeze(2) + s_src[:, :2].T.unsqueeze(1), 0.2)  # (2, N, N)
torch.testing.assert_close(e[:, :2], dense_two_heads[:, edge_index[1], edge_index[0]].T)
print("e", tuple(e.shape), f"= {e.numel():,d} numbers, the edge entries of the dense logits")

# %% [markdown]
# ## 3. A softmax per neighbourhood
#
# Target `i` normalises over its incoming edges only:
#
# `alpha_k = exp(e_k − m_i) / Σ_{k' into i} exp(e_k' − m_i)` for every edge `k` into `i`,
#
# where `m_i` is any constant per target; the softmax does not change if every score of one
# neighbourhood is shifted by the same amount. We choose `m_i` = the largest score into `i`, so
# that the largest term of each neighbourhood is `exp(0) = 1` and nothing overflows. With the
# edges grouped by their target `edge_index[1]`, that is four steps:
#
# 1. `m` (N, H): row `i` holds the largest score over the edges into `i`, per head (exercise 6.2);
# 2. `p = exp(e − m[target])`, gathering each edge's own neighbourhood max with `index_select`;
# 3. `s = zeros(N, H).index_add_(0, target, p)`: row `i` sums the `p` of the edges into `i`;
# 4. `alpha = p / s[target]`.
#
# Step 3 adds, but step 1 needs a maximum, and `index_add_` can only add. The general tool is
# `t.scatter_reduce(0, index, src, reduce)`: it combines every `src[k]` into `t[index[k]]` with
# `reduce`, one of `"sum"`, `"prod"`, `"mean"`, `"amax"`, `"amin"`. Two details matter. `index`
# has the shape of `src` (for (E, H) scores: each edge's target, repeated for every head). And the
# values `t` starts with take part in the reduction, unless `include_self=False` leaves them out.
# Counting on the toy graph without node 3's self-loop, so that nothing arrives at node 3:

# %%
no_loop_3 = toy_edges[:, :-1]  # (2, 8): node 3's self-loop removed
per_edge = torch.ones(no_loop_3.shape[1])  # (E,): one per edge
counts = {"start 0": torch.zeros(4).scatter_reduce(0, no_loop_3[1], per_edge, reduce="sum"),
          "start 1": torch.ones(4).scatter_reduce(0, no_loop_3[1], per_edge, reduce="sum"),
          "start 1, include_self=False": torch.ones(4).scatter_reduce(0, no_loop_3[1], per_edge, reduce="sum",
                                                                      include_self=False)}  # (N,) each
for name, count in counts.items():
    print(f"{name:28s} {count.tolist()}")
assert [c.tolist() for c in counts.values()] == [[2, 2, 4, 0], [3, 3, 5, 1], [2, 2, 4, 1]]

# %% [markdown]
# From zeros, `"sum"` counts each node's incoming edges, its in-degree. Started from ones, the
# ones are counted too. With `include_self=False` they are left out of every sum, but node 3,
# which receives nothing, keeps its 1: the starting value stays wherever no edge arrives.
#
# ## Exercise 6.2: the maximum of each neighbourhood
#
# Write `neighbourhood_max(scores, edge_index, num_nodes)`: `scores` (E, H); return `m` (N, H),
# where row `i` holds, per head, the largest score over the edges into `i`, with no Python loop
# over the nodes (one `scatter_reduce`). A node without incoming edges gets 0: no edge gathers its
# row, so the value never reaches a softmax, and 0 keeps the table finite (−inf would turn into nan
# as soon as it met a 0, `−inf · 0`, or itself, `−inf − (−inf)`). Keep the dtype of `scores`
# and leave the inputs unchanged. The check feeds it directed graphs with shuffled columns and
# nodes that receive nothing, neighbourhoods around +120, around −120 and spread ±100, heads with
# different maxima, and float64 scores.


# %%
def neighbourhood_max(scores: torch.Tensor, edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Largest score (N, H) over the incoming edges of each target, per head; 0 where nothing arrives."""
    ### BEGIN SOLUTION
    index = edge_index[1].unsqueeze(1).expand_as(scores)  # (E, H): each edge's target, for every head
    return scores.new_zeros(num_nodes, scores.shape[1]).scatter_reduce(
        0, index, scores, reduce="amax", include_self=False)  # (N, H)
    ### END SOLUTION


neighbourhood_max = exercise("6.2", neighbourhood_max)

# %% [markdown]
# On the toy graph, with the lifted scores of section 2 (the edge `j -> i` scores `10 j`): the
# edges into node 2 come from 0, 1, 3 and 2 itself, so its max is 30; without its self-loop, node 3
# receives nothing and gets 0.

# %%
toy_e = toy_s.index_select(0, toy_edges[0])  # (E, 1): each edge scored by its source, 10 j
toy_max = neighbourhood_max(toy_e, toy_edges, 4)  # (N, 1)
toy_max_no_loop_3 = neighbourhood_max(toy_e[:-1], no_loop_3, 4)  # (N, 1)
print("max over each target's incoming edges:", toy_max.squeeze(1).tolist())
print("the same without node 3's self-loop:   ", toy_max_no_loop_3.squeeze(1).tolist())
assert toy_max.squeeze(1).tolist() == [20.0, 10.0, 30.0, 30.0]
assert toy_max_no_loop_3.squeeze(1).tolist() == [20.0, 10.0, 30.0, 0.0]

# %% [markdown]
# Steps 2 to 4 turn your maximum into the stable softmax that the layer of exercise 6.3 calls.
# The maximum is detached from autograd: the softmax does not depend on the shift, so no gradient
# needs to flow through it.


# %%
def neighbourhood_softmax(scores: torch.Tensor, edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Softmax of ``scores`` (E, H) over the incoming edges of each target, shifted by each target's max."""
    target = edge_index[1]  # (E,)
    top = neighbourhood_max(scores.detach(), edge_index, num_nodes)  # (N, H), step 1: exercise 6.2
    p = (scores - top.index_select(0, target)).exp()  # (E, H), step 2: in (0, 1], 1 at each max
    sums = scores.new_zeros(num_nodes, scores.shape[1]).index_add(0, target, p)  # (N, H), step 3: >= 1 where used
    return p / sums.index_select(0, target)  # (E, H), step 4


# %% [markdown]
# On Cora, for every head, the coefficients of the edges into each target sum to 1, and they
# agree with the library's `gatkit.functional.neighbourhood_softmax`:

# %%
from gatkit.functional import neighbourhood_softmax as gatkit_softmax

alpha = neighbourhood_softmax(e, edge_index, N)  # (E, H)
per_target = torch.zeros(N, H).index_add_(0, edge_index[1], alpha)  # (N, H)
print("alpha", tuple(alpha.shape), "| sum over each target's incoming edges: min",
      f"{per_target.min().item():.6f}, max {per_target.max().item():.6f}")
library_alpha = gatkit_softmax(e, edge_index, N)  # (E, H)
print(f"max |alpha - gatkit's neighbourhood_softmax| = {(alpha - library_alpha).abs().max().item():.1e}")
torch.testing.assert_close(per_target, torch.ones(N, H))
torch.testing.assert_close(alpha, library_alpha)

# %% [markdown]
# ### Why the maximum must be taken per target
#
# Any constant shift is exact in real arithmetic, so why not subtract one global maximum over
# all edges, `scores.max()`, as the edge-list implementation of the original PyTorch GAT
# project does? Because float32 cannot represent small enough numbers:
#
# - `exp(x)` is **denormal** (fewer significant bits, growing relative error) for x below about
#   −87.3, where float32's smallest normal number 1.2·10⁻³⁸ lies;
# - `exp(x)` is **exactly 0** for x below about −103.9.
#
# A neighbourhood whose scores sit far below the global maximum is therefore computed with
# denormals, or vanishes: its sum is 0, and `0 / 0 = nan` (or `0` if, as that project does, a
# small epsilon is added to the sum). Here are three neighbourhoods of one head: target 0's
# scores around +50 (they hold the global maximum), target 1's around −48, target 2's around
# −200. Your `neighbourhood_max` measures how far each one lies below the global maximum.

# %%
assert torch.exp(torch.tensor(-87.0)) >= torch.finfo(torch.float32).tiny > torch.exp(torch.tensor(-88.0))
assert torch.exp(torch.tensor(-103.0)) > 0 and torch.exp(torch.tensor(-104.0)) == 0

far_edges = torch.tensor([[0, 1, 2, 1, 0, 2, 2, 0],
                          [0, 0, 0, 1, 1, 2, 2, 2]])  # (2, 8): three neighbourhoods (targets 0, 1, 2)
far_scores = torch.tensor([[50.0], [49.0], [47.5],  # into 0: the global max
                           [-48.0], [-50.5],  # into 1
                           [-200.0], [-201.0], [-203.0]])  # into 2, (E, 1)
far_max = neighbourhood_max(far_scores, far_edges, 3)  # (N, 1)
below = (far_scores.max() - far_max).squeeze(1)  # (N,): how far each neighbourhood's max lies below the global one
print("each neighbourhood's max:", far_max.squeeze(1).tolist(), "| below the global max by", below.tolist())
assert below.tolist() == [0.0, 98.0, 250.0]


def softmax_global_max(scores, edge_index, num_nodes, epsilon=0.0):
    """The original project's shift: one max over all edges (an epsilon optional)."""
    p = (scores - scores.max()).exp()  # (E, H)
    sums = torch.zeros(num_nodes, scores.shape[1]).index_add_(0, edge_index[1], p)  # (N, H)
    return p / (sums.index_select(0, edge_index[1]) + epsilon)


groups = [slice(0, 3), slice(3, 5), slice(5, 8)]  # the edges of targets 0, 1, 2
exact = torch.cat([F.softmax(far_scores[g].double(), dim=0) for g in groups])  # (E, 1), float64 reference
versions = {"global max": softmax_global_max(far_scores, far_edges, 3),
            "global max + 1e-16": softmax_global_max(far_scores, far_edges, 3, epsilon=1e-16),
            "per-target max": neighbourhood_softmax(far_scores, far_edges, 3)}
for name, result in versions.items():
    sums = torch.zeros(3, 1).index_add_(0, far_edges[1], result).squeeze(1)  # (N,)
    errors = [(result[g].double() - exact[g]).abs().max().item() for g in groups]
    print(f"{name:18s} sums per target {[round(v, 6) for v in sums.tolist()]}, "
          f"max error per target {[f'{err:.0e}' for err in errors]}")

starved = versions["global max"]
assert torch.isnan(starved[5:]).all()  # target 2: 0 / 0
assert (versions["global max + 1e-16"][5:] == 0).all()  # target 2: sums to 0 instead of 1
assert 3.5e-4 < (starved[3:5].double() - exact[3:5]).abs().max() < 4.5e-4  # target 1: denormal arithmetic
denormal_sum = (far_scores[3:5] - far_scores.max()).exp().sum()  # target 1's sum under the global shift
assert 2.5e-43 < denormal_sum < 3.5e-43 and (versions["global max + 1e-16"][3:] < 1e-20).all()
assert (versions["per-target max"].double() - exact).abs().max() < 1e-6

cora_top = neighbourhood_max(e, edge_index, N)  # (N, H): each neighbourhood's max on Cora
cora_gap = (e.max() - cora_top).max().item()  # how far below the global max the lowest neighbourhood max lies
print(f"this chapter's Cora scores: every neighbourhood's max lies within {cora_gap:.2f} of the global max")
assert cora_gap < 1

# %% [markdown]
# With one global maximum, target 2's attention is NaN, or, with the epsilon, sums to 0: the
# node silently ignores all its neighbours. Target 1's terms are denormal: without the epsilon
# its coefficients are off by about 4·10⁻⁴, and with it they vanish too, because its whole sum,
# about 3·10⁻⁴³, is nothing next to `1e-16`. Subtracting each target's own maximum makes every
# neighbourhood's largest term exactly 1, its sum at least 1, and the result correct to float32
# precision, at the cost of one `scatter_reduce`. With scores as close together as those of our
# Cora layer above (every neighbourhood's maximum less than 1 below the global one, printed) the
# global shift is harmless, which is why the bug goes unnoticed; nothing, however, keeps a
# network's scores from spreading further.
#
# ## 4. Aggregation: scattering the messages
#
# The layer's output for target `i` and head `h` is `Σ_{j -> i} alpha_ij z_j`. On the edge list:
# gather the source features `z[j]` per edge (E, H, F'), weight them by `alpha` (E, H, 1), and
# add each message into its target's row of a fresh zero tensor with `index_add_`. A node with no
# incoming edge keeps its zeros. You wrote exactly this in exercise 3.3, and nothing in it
# changes here, so this chapter imports the library's copy, `gatkit.functional.aggregate`:
#
# ```python
# messages = alpha.unsqueeze(-1) * z.index_select(0, edge_index[0])  # (E, H, 1) * (E, H, F')
# return torch.zeros_like(z).index_add_(0, edge_index[1], messages)  # (N, H, F')
# ```
#
# `index_add_` works **in place**: call it on a new `torch.zeros(...)`, never on a tensor you were
# given, or you overwrite the caller's data (and autograd may complain).
#
# Aggregation is a product with the (N, N) attention matrix, computed without ever building that
# matrix. One-hot features make this visible: with `z_j` the j-th unit vector, row `i` of the
# output holds node `i`'s coefficients `alpha_ij` in column `j`. On the toy graph, with the lifted
# scores divided by 10 (so node `j` scores `j`):

# %%
from gatkit.functional import aggregate  # exercise 3.3

toy_alpha = neighbourhood_softmax(toy_e / 10, toy_edges, 4)  # (E, 1)
one_hot = torch.eye(4).unsqueeze(1)  # (N, 1, N): z_j is the j-th unit vector
toy_out = aggregate(toy_alpha, one_hot, toy_edges).squeeze(1)  # (N, N): row i holds alpha_ij at column j
print(toy_out.numpy().round(3))
torch.testing.assert_close(toy_out.sum(dim=1), torch.ones(4))  # every node has a self-loop here
torch.testing.assert_close(toy_out[2], F.softmax(torch.arange(4.0), dim=0))  # node 2 hears from all four
assert toy_out[3].tolist() == [0.0, 0.0, 0.0, 1.0]  # node 3: its self-loop only

# %% [markdown]
# Row 2 is the softmax of node 2's four sources' scores 0, 1, 2, 3; row 3 is all node 3's own,
# its self-loop being its only incoming edge.
#
# ## 5. The whole layer
#
# A layer is an `nn.Module`: `__init__` creates its parameters, `forward` computes with them. A
# tensor wrapped in `nn.Parameter` (or created by a module such as `nn.Linear`) is *registered*:
# `layer.parameters()` hands it to the optimiser, `state_dict()` saves it, `.to(device)` moves
# it. A tensor kept as a plain attribute gets none of that and is silently never trained.
#
# The parameters, with the names and layout `gatkit` uses:
#
# - `W`, the projection from F to H·F' features: `nn.Linear(in_features, heads * out_features,
#   bias=False)`, weight (H·F', F). Head `h` owns rows `h·F' .. (h+1)·F' − 1`, so
#   `z.view(N, H, F')` splits the heads;
# - `a_src` and `a_dst`, (H, F') each;
# - `bias`: (H·F',) when the heads are concatenated, (F',) when they are averaged, added once,
#   after the heads are combined.
#
# > Models are initialized using Glorot initialization (Glorot & Bengio, 2010)
#
# Glorot-uniform (`nn.init.xavier_uniform_`) draws a weight with `fan_in` inputs and `fan_out`
# outputs from U(−b, b) with b = √(6 / (fan_in + fan_out)), which keeps the variance of the
# signals, forward and backward, about the same from layer to layer. `nn.Linear` initialises its
# weight otherwise, within ±1/√F, so W needs its own call; the bias starts at zero. For the
# first Cora layer:

# %%
glorot_bound = math.sqrt(6 / (F_in + H * F_out))  # fan_in F, fan_out H*F'
linear_bound = 1 / math.sqrt(F_in)  # nn.Linear's own initialisation
W_glorot = nn.init.xavier_uniform_(torch.empty(H * F_out, F_in))  # (H*F', F)
W_linear = nn.Linear(F_in, H * F_out, bias=False).weight.detach()  # (H*F', F)
print(f"Glorot bound {glorot_bound:.4f}: max |W| {W_glorot.abs().max().item():.4f} | "
      f"nn.Linear's bound {linear_bound:.4f}: max |W| {W_linear.abs().max().item():.4f}")
assert 0.99 * glorot_bound < W_glorot.abs().max() <= glorot_bound
assert 0.99 * linear_bound < W_linear.abs().max() <= linear_bound < glorot_bound / 2

# %% [markdown]
# On Cora, nn.Linear's default would start W at less than half of Glorot's width (both bounds
# printed above).
#
# The paper regularises the layer with two dropouts:
#
# > dropout (Srivastava et al., 2014) with p = 0.6 is applied to both layers' inputs, as well as
# > to the normalized attention coefficients (critically, this means that at each training
# > iteration, each node is exposed to a stochastically sampled neighborhood).
#
# So: `dropout` on the input `x`, before the projection, and `attention_dropout` on `alpha`,
# after the softmax and before the aggregation. A dropped coefficient removes that neighbour
# from the sum for this step, and the kept ones are scaled by 1/(1 − p). Both act only while
# training. `model.train()` and `model.eval()` set every module's `self.training`; `nn.Dropout`
# modules follow it by themselves, but `F.dropout` must be told, `F.dropout(t, p,
# training=self.training)`, since its `training` defaults to `True`:

# %%
ones = torch.ones(10)  # (10,)
drop = nn.Dropout(0.6)
print("nn.Dropout in train mode:", drop.train()(ones).tolist())
print("nn.Dropout in eval mode: ", drop.eval()(ones).tolist())
print("F.dropout(t, 0.6):       ", F.dropout(ones, 0.6).tolist(), "(training=True by default)")
assert set(drop.train()(ones).tolist()) <= {0.0, 2.5} and torch.equal(drop.eval()(ones), ones)

# %% [markdown]
# Kept entries become 1 / (1 − 0.6) = 2.5, so each entry keeps its expected value.
#
# ## Exercise 6.3: the layer as an nn.Module
#
# Complete `EdgeGATLayer`: in `__init__` create and initialise W, `a_src`, `a_dst` and the bias;
# `forward(x, edge_index)` returns (N, H·F') if `concat` else (N, F'), with input dropout on `x`
# and attention dropout on `alpha`, in train mode only. Use `edge_scores` (6.1),
# `neighbourhood_softmax` (section 3, built on your 6.2) and `aggregate` (3.3). Lay the
# parameters out as you like (an `nn.Linear` or an (F, H·F') matrix used as `x @ W`, per-head
# vectors, the paper's single `a` of (H, 2F')): the check finds them by name and shape. It
# builds your layer on small directed graphs, judges its initial values by the Glorot rule, then
# loads the same weights into yours and `gatkit`'s `GATLayerEdge` and compares outputs (eval and
# train mode), gradients, and where dropout went (during the check dropout is recorded instead of
# applied).


# %%
class EdgeGATLayer(nn.Module):
    """One GAT layer on the edge list: input dropout, projection, attention, aggregation, heads, bias."""

    def __init__(self, in_features, out_features, heads=1, *, concat=True, dropout=0.0, attention_dropout=0.0):
        super().__init__()
        self.heads, self.out_features, self.concat = heads, out_features, concat
        self.dropout, self.attention_dropout = dropout, attention_dropout
        ### BEGIN SOLUTION
        self.linear = nn.Linear(in_features, heads * out_features, bias=False)  # W: (H*F', F)
        self.a_src = nn.Parameter(torch.empty(heads, out_features))  # (H, F')
        self.a_dst = nn.Parameter(torch.empty(heads, out_features))  # (H, F')
        self.bias = nn.Parameter(torch.zeros(heads * out_features if concat else out_features))  # (H*F',) or (F',)
        for weight in (self.linear.weight, self.a_src, self.a_dst):
            nn.init.xavier_uniform_(weight)
        ### END SOLUTION

    def forward(self, x, edge_index):
        n = x.shape[0]
        ### BEGIN SOLUTION
        x = F.dropout(x, self.dropout, self.training)  # (N, F)
        z = self.linear(x).view(n, self.heads, self.out_features)  # (N, H, F')
        s_src = (z * self.a_src).sum(dim=-1)  # (N, H)
        s_dst = (z * self.a_dst).sum(dim=-1)  # (N, H)
        alpha = neighbourhood_softmax(edge_scores(s_src, s_dst, edge_index), edge_index, n)  # (E, H)
        alpha = F.dropout(alpha, self.attention_dropout, self.training)  # (E, H)
        out = aggregate(alpha, z, edge_index)  # (N, H, F')
        out = out.reshape(n, -1) if self.concat else out.mean(dim=1)  # (N, H*F') or (N, F')
        return out + self.bias
        ### END SOLUTION


EdgeGATLayer = exercise("6.3", EdgeGATLayer)

# %% [markdown]
# Your layer may name and lay out its parameters its own way, so to compare it with `gatkit`'s
# three implementations we use the map the check used: `GATParameterMap(layer, F, F', H,
# concat)` finds W, `a_src`, `a_dst` and the bias in a layer, `.load(state_dict)` copies
# `gatkit`'s parameters in, and `.read(grad=True)` reads the gradients out in `gatkit`'s layout.
# We load the state dict of `gatkit`'s implementation 3 into our layer and into the two dense
# implementations, and compare outputs on Cora in eval mode (our layer is built with dropout 0.6,
# which eval mode must switch off), for a hidden layer (8 heads, concatenated) and an output layer
# (2 heads averaged, 7 classes):

# %%
def compare(edge_index, configs, implementations):
    """Load one random state dict into our layer and each implementation; assert equal outputs."""
    for heads, out_features, concat in configs:
        reference = GATLayerEdge(F_in, out_features, heads, concat=concat)
        with torch.no_grad():
            reference.bias.normal_()  # a non-zero bias, so that it is compared too
        ours = EdgeGATLayer(F_in, out_features, heads, concat=concat, dropout=0.6, attention_dropout=0.6)
        GATParameterMap(ours, F_in, out_features, heads, concat).load(reference.state_dict())
        with torch.no_grad():
            out_ours = ours.eval()(x, edge_index)  # (N, H*F') or (N, F')
            for implementation in implementations:
                layer = implementation(F_in, out_features, heads, concat=concat)
                layer.load_state_dict(reference.state_dict())
                out = layer.eval()(x, edge_index)  # (N, H*F') or (N, F')
                torch.testing.assert_close(out_ours, out, rtol=1e-5, atol=1e-5)
                print(f"H={heads}, F'={out_features}, concat={concat}: ours vs {implementation.__name__:14s} "
                      f"max |output difference| {(out_ours - out).abs().max().item():.1e}")


compare(edge_index, [(H, F_out, True), (2, 7, False)], [GATLayerEdge, GATLayerMasked, GATLayerDense])

# %% [markdown]
# Cora is undirected, so it cannot tell a layer that confuses source and target from a correct
# one as easily as a directed graph can. We keep **one direction** of every Cora edge, chosen at
# random, add the self-loops back, and compare again (the edge-list and the dense layout once
# each, to keep it quick):

# %%
no_loops = cora.edge_index  # (2, E0), both directions of every edge
one_way = no_loops[:, no_loops[0] < no_loops[1]]  # (2, E0/2), each undirected edge once
flip = torch.rand(one_way.shape[1]) < 0.5
directed = torch.where(flip, one_way.flip(0), one_way)  # (2, E0/2), a random direction per edge
directed = add_self_loops(directed, N)  # (2, E0/2 + N)
key, reverse_key = directed[0] * N + directed[1], directed[1] * N + directed[0]  # (E,)
assert not torch.isin(reverse_key[directed[0] != directed[1]], key).any()  # no edge has its reverse
print(f"directed Cora: {directed.shape[1]} edges")
compare(directed, [(H, F_out, True)], [GATLayerEdge, GATLayerMasked])

# %% [markdown]
# The gradients agree too, so the three implementations also *train* the same (the subtracted
# maximum carries no gradient: the softmax does not depend on the shift). We compare ours with
# `gatkit`'s implementation 3 on Cora, then with implementations 1 and 2 on the graph of Cora's
# first 500 nodes, which keeps the dense backward passes small:

# %%
reference = GATLayerEdge(F_in, F_out, H)
ours = EdgeGATLayer(F_in, F_out, H)
ours_parameters = GATParameterMap(ours, F_in, F_out, H, concat=True)
ours_parameters.load(reference.state_dict())
for layer in (reference, ours):
    layer(x, edge_index).square().sum().backward()
for name, gradient in ours_parameters.read(grad=True).items():
    torch.testing.assert_close(gradient, reference.get_parameter(name).grad, rtol=1e-4, atol=1e-5)
print("gradients agree for", list(ours_parameters.read(grad=True)))

first = 500
first_edges = edge_index[:, (edge_index < first).all(dim=0)]  # (2, E'): the edges among nodes 0..499, self-loops too
for implementation in (GATLayerMasked, GATLayerDense):
    dense = implementation(F_in, F_out, H)
    dense.load_state_dict(reference.state_dict())
    ours.zero_grad()
    for layer in (dense, ours):
        layer(x[:first], first_edges).square().sum().backward()
    for name, gradient in ours_parameters.read(grad=True).items():
        torch.testing.assert_close(gradient, dense.get_parameter(name).grad, rtol=1e-4, atol=1e-5)
    print(f"first {first} nodes, {first_edges.shape[1]} edges: gradients of ours and {implementation.__name__} agree")

# %% [markdown]
# One thing only the edge list can do: **repeated edges**. A dense (N, N) matrix holds each pair
# once, so `gatkit`'s dense layers refuse an `edge_index` with a repeated column; the edge list
# simply attends over each copy separately.

# %%
repeated = torch.cat([edge_index, edge_index[:, :1]], dim=1)  # (2, E + 1): the first edge twice
print("edge list:", tuple(EdgeGATLayer(F_in, F_out, H).eval()(x, repeated).shape))
try:
    GATLayerMasked(F_in, F_out, H)(x, repeated)
except ValueError as error:
    print("dense:    ValueError:", str(error)[:90], "...")
else:
    raise AssertionError("the dense layer accepted a repeated edge")

# %% [markdown]
# ## 6. Memory: O(H·E) against O(H·N²)
#
# The dense layers hold (H, N, N) tensors; the edge list holds (E, H) scores and
# coefficients and one (E, H, F') message tensor. For the first Cora layer in float32:

# %%
dense_bytes = H * N * N * 4  # one (H, N, N) tensor
edge_bytes = E * H * 4  # one (E, H) tensor
message_bytes = E * H * F_out * 4  # the (E, H, F') messages
print(f"(H, N, N): {dense_bytes / 1e6:7.1f} MB   (E, H): {edge_bytes / 1e6:.2f} MB   "
      f"(E, H, F'): {message_bytes / 1e6:.2f} MB   ratio N²/E = {N * N / E:.0f}")
assert round(dense_bytes / 1e6) == 235 and round(edge_bytes / 1e3) == 424 and round(N * N / E) == 553

big_n, big_e = 100_000, 100_000 * 11  # a 100 000-node graph, average in-degree 10 plus the self-loop
print(f"100 000 nodes: (H, N, N) {H * big_n**2 * 4 / 1e9:.0f} GB, (E, H, F') {big_e * H * F_out * 4 / 1e6:.0f} MB")
assert H * big_n**2 * 4 / 1e9 == 320 and round(big_e * H * F_out * 4 / 1e6) == 282

# %% [markdown]
# On Cora one dense score tensor (235 MB) is 553 times the edge scores (0.42 MB); a graph of
# 100 000 nodes would need 320 GB per dense tensor and 282 MB for the messages. Chapter 10
# measures time and peak memory of all three implementations as the graph grows.
#
# ### The practitioner's version: PyTorch Geometric's `GATConv`
#
# `torch_geometric.nn.GATConv` is implementation 3 as libraries ship it: the same lifting, a
# per-target softmax built on scatter operations, and a scatter-sum aggregation. Its attention
# vectors are called `att_src` and `att_dst` (shape (1, H, F')) and its projection `lin`. Given
# the same weights as our layer (and told not to add self-loops, since ours are already there) it
# computes the same function. Its `torch_geometric.utils.scatter(..., reduce="max")`, the step 1 of
# its softmax, also gives 0 to a node that receives nothing, like your `neighbourhood_max`. It is
# installed with the course's development tools; the cell skips itself without it.

# %%
if importlib.util.find_spec("torch_geometric") is None:
    print("torch_geometric is not installed; skipping the GATConv comparison")
else:
    from torch_geometric.nn import GATConv

    conv = GATConv(F_in, F_out, heads=H, add_self_loops=False).eval()
    reference = GATLayerEdge(F_in, F_out, H)
    ours = EdgeGATLayer(F_in, F_out, H).eval()
    with torch.no_grad():
        reference.bias.normal_()  # a non-zero bias, so that it is compared too
        GATParameterMap(ours, F_in, F_out, H, concat=True).load(reference.state_dict())
        conv.lin.weight.copy_(reference.linear.weight)
        conv.att_src.copy_(reference.a_src.unsqueeze(0))
        conv.att_dst.copy_(reference.a_dst.unsqueeze(0))
        conv.bias.copy_(reference.bias)
        difference = (conv(x, edge_index) - ours(x, edge_index)).abs().max().item()
    print(f"GATConv vs ours: max |output difference| {difference:.1e}")
    assert difference < 1e-5

    from torch_geometric.utils import scatter

    pyg_max = scatter(toy_e[:-1], no_loop_3[1], dim=0, dim_size=4, reduce="max")  # (N, 1): nothing arrives at 3
    print("PyG's scatter max, toy graph without node 3's self-loop:", pyg_max.squeeze(1).tolist())
    assert torch.equal(pyg_max, neighbourhood_max(toy_e[:-1], no_loop_3, 4))

# %% [markdown]
# ## Summary
#
# - Implementation 3 never forms an (N, N) tensor: node scores (N, H) are lifted to edges with
#   `index_select`, and everything else is (E, H) or (E, H, F'); aggregation is `index_add_` of
#   `alpha_ij z_j` into the targets, on a fresh zero tensor.
# - The softmax over each target's incoming edges is four scatter steps: per-target max
#   (`scatter_reduce`, `"amax"`, `include_self=False` on zeros, so a node that receives nothing
#   keeps 0), `exp` of the shifted scores, per-target sum (`index_add_`), division.
# - The shift must be the **per-target** maximum: one global maximum underflows neighbourhoods
#   far below it (denormal errors, then attention that sums to 0 or NaN).
# - The layer as an `nn.Module`: registered parameters (Glorot-uniform W, `a_src`, `a_dst`; zero
#   bias, added after the heads are concatenated or averaged), dropout on the input `x` and on
#   `alpha` after the softmax, both only in train mode (`training=self.training`).
# - Same parameters, same function: our layer's outputs match implementations 1 to 3 on Cora (and
#   on a directed Cora), its gradients on a 500-node part of it, with O(H·E) instead of O(H·N²)
#   memory.
#
# ## Check your understanding
#
# 1. Why is `index_select` on `s_src` and `s_dst` enough to get every edge's score, instead of a
#    dot product per edge with `a` and the concatenation `[z_i ‖ z_j]`? What does it save?
# 2. In `scatter_reduce(..., reduce="amax")`, what goes wrong with `include_self=True` on a zero
#    tensor, and for which neighbourhoods?
# 3. `neighbourhood_max` gives a node without incoming edges 0. Why can that value never change
#    an attention coefficient? Where would −inf in its place do harm?
# 4. A neighbourhood's scores lie 120 below the global maximum. What attention does the
#    global-max softmax give it, with and without the `1e-16` epsilon?
# 5. Your aggregation gathers `z[edge_index[0]]` correctly but adds the messages at
#    `edge_index[0]` too. The shapes are right. What does row `j` of the output hold?
# 6. Cora has E = 13 264 edges with self-loops. At which number of nodes N would the dense
#    (N, N) mask of chapter 05 alone take as much memory as the (E, H, F') messages of
#    implementation 3 with H = F' = 8, at this E?
# 7. Your layer calls `F.dropout(alpha, self.attention_dropout)` without `training=`. What happens
#    when you evaluate the trained model with `model.eval()`?
# 8. Why does attention dropout act on `alpha` after the softmax and not on the raw scores `e`
#    before it? What would zeroing a raw score `e_ij` do to node `i`'s attention?

# %% [markdown] tags=["solution"]
# **Answers.**
#
# 1. The score splits into a target part and a source part, `a_dst · z_i + a_src · z_j`, so each
#    node's two parts are computed once (2·N·H dot products of length F') and each edge only adds
#    two gathered numbers. A dot product per edge would cost 2·E·H·F' multiplications and an
#    (E, H, 2F') concatenation in memory.
# 2. The starting zeros join the maximum, so every neighbourhood's shift becomes
#    `max(0, its own max)`. A neighbourhood whose scores are all negative is shifted by 0 instead
#    of its own max: harmless while the scores are moderate, but below about −87 its terms turn
#    denormal and below about −104 they underflow to 0, exactly as with a global max.
# 3. The softmax reads the table only through `m[target]`, one row per edge, and only the rows of
#    nodes that some edge points to are ever gathered: the row of a node that receives nothing
#    is never read. −inf there is harmless for the softmax but not for whoever uses the table
#    otherwise: `-inf * 0` and `-inf - (-inf)` are nan, so masking it with a 0/1 vector, or
#    using the max itself as a node feature (a max aggregation, as in GraphSAGE's pooling), would
#    spread nan through the network. 0 is what the computation leaves there anyway (zeros with
#    `include_self=False`), and what PyTorch Geometric's `scatter(..., reduce="max")` gives too.
# 4. `exp(-120 + ...)` is 0 in float32 (below about −103.9), so the sum is 0: without the epsilon
#    every coefficient is `0 / 0 = nan`; with it, `0 / 1e-16 = 0`, and the node's attention sums
#    to 0: it ignores every neighbour, including itself.
# 5. Every message `alpha_ij z_j` lands back on its own source `j`, so row `j` is
#    `(Σ_i alpha_ij) · z_j`: node `j`'s own features, scaled by how much attention the nodes it
#    points to pay it. No information flows between nodes at all; only a value check catches it.
# 6. The mask takes 4·N² bytes, the messages 4·E·H·F' = 4 · 13 264 · 64 bytes, so N² = 848 896 and
#    N ≈ 921: for any graph larger than about a thousand nodes with Cora's number of edges, the
#    mask alone outweighs all of implementation 3's messages.
# 7. Dropout stays on: `F.dropout` defaults to `training=True`, and `model.eval()` only changes
#    `self.training`, which that call never reads. At evaluation each coefficient is still zeroed
#    with probability p (and the rest scaled by 1/(1 − p)), so predictions are random, accuracy
#    comes out lower than the model's and changes from run to run. Pass
#    `training=self.training`, or use an `nn.Dropout` module, which follows the mode.
# 8. Dropping a normalised coefficient removes neighbour `j` from node `i`'s sum for this step:
#    node `i` aggregates over a random subset of its neighbourhood, as the paper intends. Zeroing
#    a raw score instead sets `e_ij = 0` (and scales the kept scores by 1/(1 − p), which sharpens
#    the softmax): after the softmax `j` still gets the weight `exp(0 − m_i) / Σ` and the weights
#    still sum to 1. Every neighbour stays in the sum and only the weights are perturbed, which is
#    another, milder regulariser than the paper's sampled neighbourhoods.

# %% [markdown]
# ## Going further
#
# - This chapter's solutions are in the library: `gatkit.functional.edge_scores` (6.1),
#   `neighbourhood_max` (6.2) and the softmax built on it, `neighbourhood_softmax`, `aggregate`
#   (3.3), and the layer, `gatkit.layers.GATLayerEdge` (6.3). Its base class `GATLayer` also
#   offers a residual connection, a `negative_slope`, and `value_dropout`, a dropout on the
#   projected features before the aggregation, which the authors' code applies too.
# - PyTorch Geometric's `GATConv` (and `GATv2Conv`, which applies `a` after the nonlinearity so
#   the ranking of neighbours can depend on the target), and its `torch_geometric.utils.softmax`,
#   the per-target stable softmax used by many of its layers.
# - DGL's `edge_softmax` and its message-passing API express the same gather/scatter pattern.
# - Two other ways to the same maximum: `Tensor.index_reduce_(0, edge_index[1], scores, "amax",
#   include_self=False)` takes the 1-D index as it is, and `torch.segment_reduce` reduces
#   consecutive runs, so it needs the edges sorted by target first.
# - `torch.Tensor.scatter_reduce` also offers `"sum"`, `"mean"`, `"amin"` and `"prod"`; on a GPU,
#   `index_add_` uses atomic additions, so float sums may differ in the last bits from run to run
#   (see PyTorch's notes on reproducibility).
# - The original PyTorch GAT project's implementation 3 (gordicaleksa/pytorch-GAT) uses the
#   global-maximum shift discussed above; compare its code with yours.
