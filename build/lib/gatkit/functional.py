"""The graph-attention equations as small functions: the pieces the three layers are built from.

Veličković et al. (2018), equations 1-4, for every target ``i``, source ``j`` and head ``h``::

    z = x W                                               (N, H, F')    the layer's projection
    e_ij = LeakyReLU(a_dst . z_i + a_src . z_j)           (E, H)        node_scores, edge_scores
    alpha_ij = exp(e_ij) / sum_{k -> i} exp(e_ik)         (E, H)        neighbourhood_softmax
    out_i = sum_{j -> i} alpha_ij z_j                     (N, H, F')    aggregate
    concatenate the heads (hidden layers) or average them (output)     combine_heads

Two layouts, the same numbers:

* edge list (implementation 3): ``e`` and ``alpha`` hold one row per column of ``edge_index``
  (row 0 the source ``j``, row 1 the target ``i``), O(E) memory.
* dense (implementations 1 and 2): ``(H, N, N)`` matrices with entry ``[h, i, j]`` for the edge
  ``j -> i``, O(N^2) memory; :func:`project_heads` (heads as a batch), :func:`dense_scores`,
  :func:`dense_softmax` (multiply by the 0/1 adjacency) and :func:`connectivity_mask` with
  :func:`masked_softmax` (add a ``-inf`` mask, the authors' TensorFlow layout).

The course's exercise checks take their references from here, so the chapters, the layers and
the checks compute one function. The fast paths for sparse input and dropout are in
:mod:`gatkit.ops`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "NEGATIVE_SLOPE",
    "aggregate",
    "combine_heads",
    "connectivity_mask",
    "dense_scores",
    "dense_softmax",
    "edge_scores",
    "masked_softmax",
    "neighbourhood_softmax",
    "node_scores",
    "project_heads",
]

#: The paper's LeakyReLU slope for the raw scores.
NEGATIVE_SLOPE = 0.2


# --- projection ----------------------------------------------------------------------------------

def project_heads(x: Tensor, weight: Tensor, heads: int) -> Tensor:
    """``z`` (H, N, F'): every head's projection ``x W_h^T`` as one batched matrix product.

    ``weight`` is the layer's ``(H*F', F)`` matrix; head ``h`` owns rows ``h*F' .. (h+1)*F' - 1``.
    The dense per-head layout of implementation 1 (the others keep ``z`` as (N, H, F')).
    """
    num_nodes, in_features = x.shape
    weight = weight.view(heads, -1, in_features)  # (H, F', F)
    return torch.bmm(x.expand(heads, num_nodes, in_features), weight.transpose(1, 2))  # (H, N, F')


# --- scores --------------------------------------------------------------------------------------

def node_scores(z: Tensor, a: Tensor) -> Tensor:
    """One half of every score, per node and head: ``a[h] . z[n, h]``, (N, H) from ``z`` (N, H, F').

    The paper's attention vector ``a`` splits into ``a_src`` (scores the source ``j``) and
    ``a_dst`` (scores the target ``i``), so ``a . [z_i || z_j]`` is a sum of two per-node
    numbers: computed once per node here, then lifted to the edges.
    """
    return (z * a).sum(dim=-1)  # (N, H)


def edge_scores(s_src: Tensor, s_dst: Tensor, edge_index: Tensor, *,
                negative_slope: float = NEGATIVE_SLOPE) -> Tensor:
    """Raw scores ``e`` (E, H): ``LeakyReLU(s_src[j] + s_dst[i])`` for every edge ``j -> i``."""
    lifted = s_src.index_select(0, edge_index[0]) + s_dst.index_select(0, edge_index[1])  # (E, H)
    return F.leaky_relu(lifted, negative_slope)


def dense_scores(s_src: Tensor, s_dst: Tensor, *, negative_slope: float = NEGATIVE_SLOPE) -> Tensor:
    """Scores of every pair (H, N, N): ``scores[h, i, j] = LeakyReLU(s_dst[i, h] + s_src[j, h])``."""
    pairs = s_dst.T.unsqueeze(2) + s_src.T.unsqueeze(1)  # (H, N, 1) + (H, 1, N) -> (H, N, N)
    return F.leaky_relu(pairs, negative_slope)


# --- normalisation -------------------------------------------------------------------------------

def neighbourhood_softmax(e: Tensor, edge_index: Tensor, num_nodes: int) -> Tensor:
    """``alpha`` (E, H): softmax of ``e`` over the incoming edges of each target, per head.

    Each target's own maximum is subtracted before ``exp`` (softmax does not change under a
    shift), so every neighbourhood's largest term is ``exp(0) = 1`` and no neighbourhood
    underflows, however far its scores lie from the others'. One global maximum would starve a
    neighbourhood far below it (the original PyTorch GAT project's bug). Entries of ``-inf``
    get weight 0, as long as their target has a finite score.
    """
    target = edge_index[1]  # (E,)
    # Detached: the result does not depend on the shift, so no gradient needs to flow through it.
    target_max = e.new_full((num_nodes, e.shape[1]), float("-inf")).scatter_reduce(
        0, target.unsqueeze(1).expand_as(e), e.detach(), reduce="amax")  # (N, H)
    p = (e - target_max.index_select(0, target)).exp()  # (E, H), each in [0, 1]
    target_sum = e.new_zeros(num_nodes, e.shape[1]).index_add(0, target, p)  # (N, H), >= 1 where used
    return p / target_sum.index_select(0, target)  # (E, H)


def dense_softmax(scores: Tensor, adj: Tensor) -> Tensor:
    """``alpha`` (H, N, N): softmax of each row of ``scores`` over the row's neighbours (``adj == 1``).

    Each row's maximum over its neighbours is subtracted first; a row without neighbours gets
    all zeros (not 0 / 0 = nan).
    """
    row_max = scores.detach().masked_fill(adj == 0, float("-inf")).amax(dim=-1, keepdim=True)  # (H, N, 1)
    row_max = row_max.nan_to_num(neginf=0.0)  # rows without neighbours
    # clamp: a non-neighbour far above the row max would overflow exp to inf, and inf * 0 = nan.
    p = (scores - row_max).clamp(max=0.0).exp() * adj  # (H, N, N), zero off the neighbourhood
    row_sum = p.sum(dim=-1, keepdim=True)  # (H, N, 1)
    return p / torch.where(row_sum > 0, row_sum, torch.ones_like(row_sum))  # (H, N, N)


def connectivity_mask(edge_index: Tensor, num_nodes: int, *, dtype: torch.dtype = torch.float32) -> Tensor:
    """Additive mask (N, N): 0 where ``j -> i`` is an edge (``mask[i, j]``), ``-inf`` elsewhere."""
    mask = torch.full((num_nodes, num_nodes), float("-inf"), dtype=dtype, device=edge_index.device)  # (N, N)
    mask[edge_index[1], edge_index[0]] = 0.0
    return mask


def masked_softmax(scores: Tensor, mask: Tensor) -> Tensor:
    """``alpha`` (H, N, N): ``softmax(scores + mask)`` over each row, as the authors' TensorFlow code.

    A row that is ``-inf`` everywhere (a node without incoming edges; the TensorFlow code relies
    on self-loops so that there is none) gets all zeros instead of nan.
    """
    has_neighbours = (mask != float("-inf")).any(dim=-1, keepdim=True)  # (N, 1)
    alpha = F.softmax(scores + mask.masked_fill(~has_neighbours, 0.0), dim=-1)  # (H, N, N)
    return alpha if bool(has_neighbours.all()) else alpha * has_neighbours


# --- aggregation ---------------------------------------------------------------------------------

def aggregate(alpha: Tensor, z: Tensor, edge_index: Tensor) -> Tensor:
    """``out`` (N, H, F'): ``out_i = sum over edges j -> i of alpha_ij z_j``, per head.

    A node without incoming edges gets zeros.
    """
    messages = alpha.unsqueeze(-1) * z.index_select(0, edge_index[0])  # (E, H, 1) * (E, H, F')
    return z.new_zeros(z.shape).index_add(0, edge_index[1], messages)  # (N, H, F')


def combine_heads(out: Tensor, concat: bool) -> Tensor:
    """(N, H, F') to (N, H*F'), head 0's features first, if ``concat``; else the mean over heads, (N, F')."""
    if concat:
        return out.reshape(out.shape[0], -1)  # (N, H*F')
    return out.mean(dim=1)  # (N, F')
