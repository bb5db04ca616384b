"""Inputs the checks of several chapters share: Cora, seeded randomness, random and toy graphs.

Every builder is seeded, so a check sees the same cases on every run. Random graphs are
*directed* (many edges have no reverse, so a mix-up of source and target changes results) and
their columns come in random order (so an answer that assumes edges sorted by target fails).
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

from gatkit import data
from gatkit.functional import neighbourhood_softmax


@lru_cache(maxsize=None)
def load_cora() -> data.Planetoid:
    """Cora, loaded once for every chapter's check cases."""
    return data.load_planetoid("cora", progress=False)


def seeded_generator(seed: int) -> torch.Generator:
    """A seeded random generator, so check cases are the same on every run."""
    return torch.Generator().manual_seed(seed)


def random_graph(num_nodes: int, num_edges: int, seed: int, *, self_loops: bool = True) -> torch.Tensor:
    """A seeded random directed graph: ``num_edges`` distinct non-loop edges, columns shuffled.

    With ``self_loops`` one loop per node is added, so every node has a non-empty neighbourhood.
    Returns a (2, E) int64 ``edge_index``.
    """
    generator = seeded_generator(seed)
    flat = torch.randperm(num_nodes * num_nodes, generator=generator)  # (N*N,) random pairs
    source, target = flat // num_nodes, flat % num_nodes
    keep = source != target
    edge_index = torch.stack([source[keep], target[keep]])[:, :num_edges]  # (2, E0)
    if self_loops:
        edge_index = torch.cat([edge_index, torch.arange(num_nodes).repeat(2, 1)], dim=1)  # (2, E0 + N)
    return edge_index[:, torch.randperm(edge_index.shape[1], generator=generator)]


def random_attention(edge_index: torch.Tensor, num_nodes: int, heads: int, seed: int, *,
                     scale: float = 2.0, zeros: float = 0.0) -> torch.Tensor:
    """Coefficients (E, H) that sum to 1 over each target's incoming edges: a softmax of random scores.

    With ``zeros > 0`` that share of the edges that are not self-loops gets weight exactly 0 (as
    attention dropout would leave); every target keeps its self-loop.
    """
    generator = seeded_generator(seed)
    scores = scale * torch.randn(edge_index.shape[1], heads, generator=generator)  # (E, H)
    dropped = torch.rand(edge_index.shape[1], heads, generator=generator) < zeros  # (E, H)
    dropped &= (edge_index[0] != edge_index[1]).unsqueeze(1)
    return neighbourhood_softmax(scores.masked_fill(dropped, -math.inf), edge_index, num_nodes)  # (E, H)


# The undirected toy graph of chapter 03: edges 0-1, 1-2, 1-3, 2-3 in both directions, plus one
# self-loop per node, sorted by (target, source). Nodes 2 and 3 have the same neighbourhood
# {1, 2, 3}. With W = I, z = TOY_H, so every number can be checked by hand.
TOY_EDGE_INDEX = torch.tensor([[0, 1, 0, 1, 2, 3, 1, 2, 3, 1, 2, 3],
                               [0, 0, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3]])  # (2, E=12)
TOY_H = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]])  # (N, F)
TOY_A_DST = torch.tensor([[1.0, 1.0]])  # (H=1, F')
TOY_A_SRC = torch.tensor([[1.0, -1.0]])  # (H=1, F')

# The directed toy graph of chapters 05 and 06, edges j -> i as columns (source, target): 0->1,
# 0->2, 1->2, 3->2, 2->0, and self-loops on 0, 1, 2 only. Node 3 receives no edge at all; node 2
# has three sources.
TOY_DIRECTED = torch.tensor([[0, 0, 1, 3, 2, 0, 1, 2],
                             [1, 2, 2, 2, 0, 0, 1, 2]])  # (2, E=8)
TOY_DIRECTED_LOOPED = torch.cat([TOY_DIRECTED, torch.tensor([[3], [3]])], dim=1)  # every node has its loop
