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


# --- inputs that separate numerically careless answers (added for the checks of chapters 01-05) ---

def spread_scores(edge_index: torch.Tensor, num_nodes: int, heads: int, seed: int, *,
                  level: float = 120.0, wide: float = 100.0) -> torch.Tensor:
    """Scores (E, H) whose neighbourhoods lie far apart and, for some, spread widely inside.

    Target ``i`` sits at its own level: ``+level`` if ``i % 3 == 0``, ``-level`` if ``i % 3 == 1``,
    and 0 with the scores alternating ``+wide`` and ``-wide`` (by column) if ``i % 3 == 2``; the
    sign of the levels alternates between heads, and each score gets a little seeded noise.
    exp(120) overflows float32 and exp(-120) underflows it, so only a shift by each target's own
    maximum, per head, keeps every neighbourhood finite and non-zero: one global maximum, a
    maximum over the heads or clamped at 0, no shift, a mean or a minimum all give 0 / 0 or
    inf / inf somewhere.
    """
    generator = seeded_generator(seed)
    kind = torch.arange(num_nodes) % 3  # (N,)
    node_level = torch.tensor([level, -level, 0.0])[kind]  # (N,)
    head_sign = torch.tensor([1.0, -1.0])[torch.arange(heads) % 2]  # (H,)
    num_edges = edge_index.shape[1]
    alternating = wide * (1.0 - 2.0 * (torch.arange(num_edges) % 2)).float()  # (E,) +wide, -wide, ...
    target_kind = kind[edge_index[1]]  # (E,)
    base = node_level[edge_index[1]] + torch.where(target_kind == 2, alternating, torch.zeros(num_edges))  # (E,)
    noise = 2.0 * torch.rand(num_edges, heads, generator=generator)  # (E, H)
    return base[:, None] * head_sign[None, :] + noise  # (E, H)


def spread_dense_scores(adj: torch.Tensor, heads: int, seed: int, *, level: float = 120.0,
                        wide: float = 100.0, above: float = 150.0) -> torch.Tensor:
    """Dense scores (H, N, N) as :func:`spread_scores`, for the dense layouts; ``adj[i, j] = 1`` iff ``j -> i``.

    Row ``i`` holds target ``i``'s scores: its neighbours sit at the row's level (rows ``i % 3 ==
    2`` spread ``+wide`` / ``-wide`` around 0), its non-neighbours ``above`` higher still. So a
    row maximum taken over the whole row instead of over the neighbours underflows the
    neighbours to 0, and exponentiating before masking overflows to inf (inf * 0 = nan).
    """
    generator = seeded_generator(seed)
    num_nodes = adj.shape[0]
    kind = torch.arange(num_nodes) % 3  # (N,)
    row_level = torch.tensor([level, -level, 0.0])[kind]  # (N,)
    head_sign = torch.tensor([1.0, -1.0])[torch.arange(heads) % 2]  # (H,)
    alternating = wide * (1.0 - 2.0 * (torch.arange(num_nodes) % 2)).float()  # (N,) by column
    spread = torch.where(kind[:, None] == 2, alternating[None, :], torch.zeros(num_nodes, num_nodes))  # (N, N)
    neighbours = row_level[:, None] + spread  # (N, N)
    levels = neighbours[None] * head_sign[:, None, None]  # (H, N, N)
    noise = 2.0 * torch.rand(heads, num_nodes, num_nodes, generator=generator)  # (H, N, N)
    lifted = levels.amax(dim=-1, keepdim=True) + above  # (H, N, 1): above every neighbour of the row
    return torch.where(adj.bool(), levels, lifted) + noise  # (H, N, N)


def after_dropout(alpha: torch.Tensor, p: float, seed: int) -> torch.Tensor:
    """``alpha`` after attention dropout as in training: entries zeroed with probability ``p``,
    the rest scaled by ``1 / (1 - p)``. The weights into a target then no longer sum to 1, so an
    answer that renormalises them differs from one that uses them as given."""
    keep = torch.rand(alpha.shape, generator=seeded_generator(seed)) >= p
    return alpha * keep / (1 - p)


def directed_graph(num_nodes: int, num_edges: int, seed: int, *, loops: tuple[int, ...] = (),
                   repeated: int = 0, isolated: int = 0) -> tuple[torch.Tensor, int]:
    """A seeded random directed graph with the quirks that separate careless answers.

    ``num_edges`` distinct non-loop edges among the first ``num_nodes`` nodes (many without their
    reverse), self-loops on the nodes in ``loops`` only, the first ``repeated`` columns listed a
    second time, and ``isolated`` extra nodes with the largest ids and no edge at all; columns in
    random order. Returns ``(edge_index, total number of nodes)``.
    """
    generator = seeded_generator(seed)
    edge_index = random_graph(num_nodes, num_edges, seed, self_loops=False)  # (2, E0)
    parts = [edge_index, edge_index[:, :repeated], torch.tensor([list(loops), list(loops)], dtype=torch.long)]
    edge_index = torch.cat(parts, dim=1)  # (2, E)
    return edge_index[:, torch.randperm(edge_index.shape[1], generator=generator)], num_nodes + isolated
