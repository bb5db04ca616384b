"""Reading a trained GAT's attention: one node's coefficients and how spread out they are.

A GAT layer gives every edge ``j -> i`` of ``edge_index`` (2, E) one coefficient per head,
``alpha`` (E, H), normalised over the incoming edges of each target ``i``: for every ``i`` and
head, the coefficients of the edges into ``i`` sum to 1. ``GAT(..., return_attention=True)``
returns one such tensor per layer, in ``edge_index`` column order.

The functions here answer three questions, with torch alone (no optional extra needed):

- *Whom does a node listen to?* :func:`node_attention` gathers one node's coefficients.
- *How spread out is a node's attention?* :func:`attention_entropy` (in nats) against the
  baseline of uniform attention, :func:`uniform_entropy` = ``log(in-degree)``.
  :func:`entropy_gap` summarises the difference per head; per node it is the KL divergence of the
  attention from the uniform distribution, so it is never negative.
- *How far is each coefficient from uniform?* :func:`attention_ratio` = ``alpha_ij * |N(i)|``
  (1 for uniform attention).

:func:`check_alpha`, :func:`check_node` and :func:`head_weights` check and slice the inputs; the
pictures of all this (:func:`gatkit.viz.draw_attention`, :func:`gatkit.viz.plot_entropy_histograms`,
:func:`gatkit.viz.plot_attention_ratios`) use them too and need the ``gatkit[plot]`` extra.

Layers are numbered from 1 in titles, as in the paper (layer 1 is ``alphas[0]``); heads are
numbered from 0, as the columns of ``alpha``.

Examples
--------
>>> import torch
>>> edge_index = torch.tensor([[0, 1, 2, 1], [0, 0, 0, 1]])  # 0, 1, 2 -> 0 and 1 -> 1
>>> alpha = torch.tensor([[0.5], [0.25], [0.25], [1.0]])      # (E, H=1)
>>> attention_entropy(alpha, edge_index, 3)[:, 0]             # 1.5 ln 2, 0, no incoming edge
tensor([1.0397, 0.0000,    nan])
"""

from __future__ import annotations

import math
import numbers

import torch

from gatkit.edges import validate_edge_index

__all__ = [
    "attention_entropy",
    "attention_ratio",
    "check_alpha",
    "check_node",
    "entropy_gap",
    "head_weights",
    "node_attention",
    "top_source",
    "uniform_entropy",
]


# --------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------


def check_alpha(alpha: object, edge_index: torch.Tensor) -> torch.Tensor:
    """``alpha`` as an (E, H) floating tensor with one row per column of ``edge_index``.

    Parameters
    ----------
    alpha : torch.Tensor
        (E, H) or (E,) coefficients in ``edge_index`` column order; (E,) becomes (E, 1).
    edge_index : torch.Tensor
        (2, E) the edges ``alpha`` belongs to (only its number of columns is read).

    Returns
    -------
    torch.Tensor
        (E, H), the same tensor or a view of it.

    Raises
    ------
    ValueError
        For a non-tensor, integer coefficients, a wrong number of dimensions, or a row count
        that is not E (with a hint when ``alpha`` looks transposed).
    """
    if not isinstance(alpha, torch.Tensor):
        raise ValueError(f"alpha must be a torch.Tensor, got {type(alpha).__name__}")
    if not alpha.is_floating_point():
        raise ValueError(f"alpha must hold floating-point coefficients, got dtype {alpha.dtype}")
    if alpha.dim() == 1:
        alpha = alpha.unsqueeze(1)  # (E, 1)
    if alpha.dim() != 2:
        raise ValueError(f"alpha must have shape (E, H) or (E,), got {tuple(alpha.shape)}")
    if alpha.shape[0] != edge_index.shape[1]:
        hint = " (it looks transposed: use alpha.T)" if alpha.shape[1] == edge_index.shape[1] else ""
        raise ValueError(f"alpha has {alpha.shape[0]} rows but edge_index has {edge_index.shape[1]} "
                         f"columns: alpha must hold one row per edge, in edge_index column order{hint}")
    return alpha


def check_node(node: object, num_nodes: int) -> int:
    """``node`` as a Python int in ``0 .. num_nodes - 1`` (a one-element integer tensor is accepted).

    Raises
    ------
    ValueError
        For a bool, a float, anything else that is not an integer, or an id out of range.
    """
    if isinstance(node, torch.Tensor) and node.numel() == 1 and not node.is_floating_point():
        node = int(node)
    if isinstance(node, bool) or not isinstance(node, numbers.Integral):
        raise ValueError(f"node must be an integer node id, got {node!r}")
    node = int(node)
    if not 0 <= node < num_nodes:
        raise ValueError(f"node id must be in 0 .. {num_nodes - 1}, got {node}")
    return node


def _check_num_nodes(num_nodes: object) -> int:
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, numbers.Integral) or num_nodes < 0:
        raise ValueError(f"num_nodes must be a non-negative integer, got {num_nodes!r}")
    return int(num_nodes)


def head_weights(alpha: torch.Tensor, head: int | str) -> torch.Tensor:
    """One head's column of ``alpha`` (E, H), or the mean over the heads: (E,).

    Parameters
    ----------
    alpha : torch.Tensor
        (E, H), as :func:`check_alpha` returns it.
    head : int or "mean"
        A head number in ``0 .. H - 1``, or ``"mean"``. The mean of normalised coefficients is
        still normalised: it sums to 1 over each neighbourhood.

    Raises
    ------
    ValueError
        For any other ``head``.
    """
    heads = alpha.shape[1]
    if head == "mean":
        return alpha.mean(dim=1)  # (E,): still sums to 1 over each neighbourhood
    if isinstance(head, bool) or not isinstance(head, numbers.Integral) or not 0 <= head < heads:
        raise ValueError(f"head must be 'mean' or a head number in 0 .. {heads - 1}, got {head!r}")
    return alpha[:, int(head)]  # (E,)


# --------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------


def node_attention(edge_index: torch.Tensor, alpha: torch.Tensor, node: int, *,
                   num_nodes: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The attention ``node`` gives to each of its incoming neighbours.

    Parameters
    ----------
    edge_index : torch.Tensor
        (2, E) int64, row 0 source ``j``, row 1 target ``i``.
    alpha : torch.Tensor
        (E, H) (or (E,)) coefficients in ``edge_index`` column order.
    node : int
        The target ``i`` whose attention is read.
    num_nodes : int, optional
        N; defaults to the largest id in ``edge_index`` plus one.

    Returns
    -------
    sources : torch.Tensor
        (k,) int64, the source ``j`` of every edge into ``node`` (its self-loop included), in
        column order.
    weights : torch.Tensor
        (k, H), the rows of ``alpha`` for those edges: ``weights[m, h]`` is what ``node`` gives
        ``sources[m]`` in head ``h``. Each column sums to 1 when ``alpha`` is normalised.

    Raises
    ------
    ValueError
        For a malformed ``edge_index``, an ``alpha`` without one row per edge, or a node id
        outside ``0 .. N - 1``.
    """
    if num_nodes is None:
        num_nodes = int(edge_index.max()) + 1 if isinstance(edge_index, torch.Tensor) and edge_index.numel() else 0
    num_nodes = _check_num_nodes(num_nodes)
    validate_edge_index(edge_index, num_nodes)
    alpha = check_alpha(alpha, edge_index)
    node = check_node(node, num_nodes)
    incoming = edge_index[1] == node  # (E,) the columns whose target is node
    return edge_index[0, incoming], alpha[incoming]  # (k,), (k, H)


def attention_entropy(alpha: torch.Tensor, edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Entropy, in nats, of every node's attention over its incoming edges, per head.

    ``H_i = - sum_{j in N(i)} alpha_ij ln alpha_ij``, with ``0 ln 0 = 0`` (``torch.xlogy``), summed
    per target with ``index_add_``. It is 0 when a node gives all its attention to one neighbour
    and ``ln |N(i)|`` (:func:`uniform_entropy`) when it spreads it evenly; nothing in between is
    higher. The formula assumes each target's coefficients sum to 1 (as a GAT's do).

    Parameters
    ----------
    alpha : torch.Tensor
        (E, H) coefficients in ``edge_index`` column order; (E,) gives an (N,) result.
    edge_index : torch.Tensor
        (2, E) int64.
    num_nodes : int
        N.

    Returns
    -------
    torch.Tensor
        (N, H) (or (N,)) in ``alpha``'s dtype. A node with **no incoming edge** has no attention
        distribution at all: its entropy is NaN (not 0, which would claim a one-hot distribution).
        With self-loops added, as a GAT does, every node has at least one incoming edge.

    Raises
    ------
    ValueError
        For a malformed ``edge_index``, an ``alpha`` without one row per edge, or negative
        coefficients.
    """
    num_nodes = _check_num_nodes(num_nodes)
    validate_edge_index(edge_index, num_nodes)
    one_dim = isinstance(alpha, torch.Tensor) and alpha.dim() == 1
    alpha = check_alpha(alpha, edge_index)  # (E, H)
    if alpha.numel() and bool((alpha < 0).any()):
        raise ValueError("alpha holds negative coefficients: attention weights come out of a softmax "
                         "and are never negative")
    terms = -torch.xlogy(alpha, alpha)  # (E, H), 0 where alpha == 0
    entropy = torch.zeros(num_nodes, alpha.shape[1], dtype=alpha.dtype, device=alpha.device)  # (N, H)
    entropy.index_add_(0, edge_index[1], terms)
    in_degree = torch.bincount(edge_index[1], minlength=num_nodes)  # (N,)
    entropy[in_degree == 0] = math.nan
    return entropy[:, 0] if one_dim else entropy


def uniform_entropy(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """The entropy of uniform attention, ``ln |N(i)|`` (the log of the in-degree), in nats.

    The largest entropy a distribution over ``|N(i)|`` incoming edges can have: the baseline that
    :func:`attention_entropy` is compared with.

    Returns
    -------
    torch.Tensor
        (N,) float32; NaN for a node with no incoming edge (as in :func:`attention_entropy`).
    """
    num_nodes = _check_num_nodes(num_nodes)
    validate_edge_index(edge_index, num_nodes)
    in_degree = torch.bincount(edge_index[1], minlength=num_nodes).float()  # (N,) row 1: targets
    return torch.where(in_degree > 0, in_degree.log(), torch.full_like(in_degree, math.nan))  # (N,)


def entropy_gap(alpha: torch.Tensor, edge_index: torch.Tensor, num_nodes: int, *,
                relative: bool = False) -> torch.Tensor:
    """How far below uniform a layer's attention entropy lies, per head, in nats.

    For one node, ``ln |N(i)| - H_i`` is the KL divergence of its attention from the uniform
    distribution over its neighbourhood (``sum_j alpha_ij ln(alpha_ij |N(i)|)``), so it is never
    negative and is 0 only for exactly uniform attention. The gap is its mean over the nodes that
    have incoming edges, computed in float64 (the gaps can be far below float32's resolution of
    the entropies themselves).

    Parameters
    ----------
    alpha : torch.Tensor
        (E, H) or (E,).
    edge_index : torch.Tensor
        (2, E) int64.
    num_nodes : int
        N.
    relative : bool, default False
        Divide by the mean uniform entropy over the same nodes: the share of the available
        entropy that attention gives up (0 = uniform, 1 = every node one-hot).

    Returns
    -------
    torch.Tensor
        (H,) float64 (a 0-dim tensor for a 1-D ``alpha``).
    """
    one_dim = isinstance(alpha, torch.Tensor) and alpha.dim() == 1
    alpha = check_alpha(alpha, edge_index)
    entropy = attention_entropy(alpha.double(), edge_index, num_nodes)  # (N, H)
    uniform = uniform_entropy(edge_index, num_nodes).double()  # (N,)
    has_edges = ~torch.isnan(uniform)  # (N,)
    gap = (uniform[has_edges, None] - entropy[has_edges]).mean(dim=0)  # (H,)
    if relative:
        gap = gap / uniform[has_edges].mean()
    return gap[0] if one_dim else gap


def attention_ratio(alpha: torch.Tensor, edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Every coefficient divided by its uniform value: ``alpha_ij * |N(i)|``.

    1 means the neighbour gets exactly its uniform share ``1 / |N(i)|``; 2 twice that; 0.5 half.
    Unlike the entropy gap, which grows with the *square* of small deviations, this shows them
    at first order.

    Returns
    -------
    torch.Tensor
        Same shape as ``alpha``, (E, H) or (E,).
    """
    num_nodes = _check_num_nodes(num_nodes)
    validate_edge_index(edge_index, num_nodes)
    one_dim = isinstance(alpha, torch.Tensor) and alpha.dim() == 1
    alpha = check_alpha(alpha, edge_index)
    in_degree = torch.bincount(edge_index[1], minlength=num_nodes).to(alpha.dtype)  # (N,)
    ratio = alpha * in_degree[edge_index[1]].unsqueeze(1)  # (E, H)
    return ratio[:, 0] if one_dim else ratio


def top_source(scores: torch.Tensor, edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Every target's favourite source: the ``j`` of the edge ``j -> i`` with the largest score, per head.

    Softmax keeps the order of the scores within a neighbourhood, so raw scores ``e`` and
    coefficients ``alpha`` give the same answer. Chapter 11 uses it to see static attention: in a
    GAT layer every target that shares a neighbourhood picks the same favourite.

    Parameters
    ----------
    scores : torch.Tensor
        (E, H) (or (E,)) scores or coefficients in ``edge_index`` column order.
    edge_index : torch.Tensor
        (2, E) int64, row 0 source ``j``, row 1 target ``i``, columns in any order.
    num_nodes : int
        N.

    Returns
    -------
    torch.Tensor
        (N, H) (or (N,)) int64 source ids. Ties go to the edge that comes first in column order;
        a node with no incoming edge gets -1.

    Examples
    --------
    >>> edge_index = torch.tensor([[2, 0, 1, 0], [0, 0, 0, 1]])  # 2, 0, 1 -> 0 and 0 -> 1
    >>> top_source(torch.tensor([[1.0], [3.0], [3.0], [0.5]]), edge_index, 3)[:, 0]  # tie: 0 comes first
    tensor([ 0,  0, -1])
    """
    num_nodes = _check_num_nodes(num_nodes)
    validate_edge_index(edge_index, num_nodes)
    one_dim = isinstance(scores, torch.Tensor) and scores.dim() == 1
    scores = check_alpha(scores, edge_index)  # (E, H)
    num_edges, heads = scores.shape
    target = edge_index[1].unsqueeze(1).expand(num_edges, heads)  # (E, H)
    best = scores.new_full((num_nodes, heads), -math.inf).scatter_reduce(
        0, target, scores, reduce="amax")  # (N, H)
    column = torch.arange(num_edges, device=scores.device).unsqueeze(1).expand(num_edges, heads)  # (E, H)
    candidate = torch.where(scores == best[edge_index[1]], column, num_edges)  # (E, H): E = "not the best"
    first = torch.full((num_nodes, heads), num_edges, device=scores.device).scatter_reduce(
        0, target, candidate, reduce="amin")  # (N, H): first best column, E where nothing arrives
    sources = torch.cat([edge_index[0], edge_index.new_full((1,), -1)])  # (E + 1,): column E means -1
    result = sources[first]  # (N, H)
    return result[:, 0] if one_dim else result
