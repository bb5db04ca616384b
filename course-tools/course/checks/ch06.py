"""Checks for chapter 06, Implementation 3: edge list.

The references are the library's :func:`gatkit.functional.edge_scores`,
:func:`~gatkit.functional.neighbourhood_softmax` and :func:`~gatkit.functional.aggregate`, the
functions implementation 3 (:class:`gatkit.layers.GATLayerEdge`) is built from.

The random graphs are directed with shuffled columns, so answers that swap source and target or
assume edges sorted by target fail. The softmax sees neighbourhoods far apart from each other and
neighbourhoods whose scores spread widely inside: only a shift by each target's own maximum (or
something within a few units of it) keeps exp finite and nonzero in float32. The aggregation sees
a node without incoming edges and attention after dropout (weights that do not sum to 1).
"""

from __future__ import annotations


import torch
import torch.nn.functional as F

from course.checks.cases import (TOY_DIRECTED, TOY_DIRECTED_LOOPED, after_dropout, load_cora, random_graph,
                                 seeded_generator)
from course.checks.core import Case, Check, register
from gatkit.functional import aggregate, edge_scores, neighbourhood_softmax

# Five neighbourhoods whose head-0 scores sit far apart (targets 0..4, sources listed per target):
# around +100 (exp overflows without a shift), +50, -70 (starves under a global max, but survives
# a max clamped at 0), -200 (starves under any shift but its own max) and a moderate one.
# Head 1 holds moderate scores, so a softmax over the heads axis shows up too.
FAR_APART_SOURCES = {0: [0, 1, 2], 1: [1, 3], 2: [2, 0, 4], 3: [3, 4], 4: [4, 1]}
FAR_APART_HEAD0 = {0: [100.0, 99.0, 97.0], 1: [50.0, 48.5], 2: [-70.0, -71.0, -73.0],
                   3: [-200.0, -201.5], 4: [0.5, -1.0]}


# --- cases --------------------------------------------------------------------------------

def _score_inputs(edge_index: torch.Tensor, num_nodes: int, heads: int, seed: int) -> tuple:
    generator = seeded_generator(seed)
    s_src = torch.randn(num_nodes, heads, generator=generator)  # (N, H)
    s_dst = torch.randn(num_nodes, heads, generator=generator)  # (N, H)
    return s_src, s_dst, edge_index


def _score_cases() -> list[Case]:
    cora = load_cora()
    return [Case("directed toy graph (4 nodes, H=2)", _score_inputs(TOY_DIRECTED_LOOPED, 4, 2, seed=10)),
            Case("random directed graph (15 nodes, 40 edges, H=3)",
                 _score_inputs(random_graph(15, 40, seed=11), 15, 3, seed=12)),
            Case("Cora with self-loops (H=8)",
                 _score_inputs(cora.edge_index_with_self_loops, cora.num_nodes, 8, seed=13))]


def far_apart_case() -> tuple[torch.Tensor, torch.Tensor, int]:
    """Scores (E, 2), edge_index (2, E) and N for five neighbourhoods whose scores sit far apart."""
    columns, head0 = [], []
    for target, sources in FAR_APART_SOURCES.items():
        columns += [(source, target) for source in sources]
        head0 += FAR_APART_HEAD0[target]
    edge_index = torch.tensor(columns).T  # (2, E)
    head1 = torch.linspace(-1.5, 2.0, len(head0))  # (E,) moderate
    return torch.stack([torch.tensor(head0), head1], dim=1), edge_index, len(FAR_APART_SOURCES)


# Six neighbourhoods (targets 0..5) whose head-0 scores spread widely INSIDE each one: any shift
# but the target's own max (or something within a few units of it) overflows or underflows. A
# mean or min shift overflows exp in target 0 (spread 600, max 150 above the mean) and target 2
# (spread 290); target 1 sits 1000 below everything (even a float64 global max underflows there);
# target 5 has its self-loop only. Head 1 holds the negated scores, so the max of another head
# (or over the heads) is wrong too. The columns come in a seeded random order.
WIDE_SOURCES = {0: [0, 1, 2, 3], 1: [1, 4], 2: [2, 5, 0], 3: [3, 2], 4: [4, 0, 1], 5: [5]}
WIDE_HEAD0 = {0: [300.0, 299.0, 298.5, -300.0], 1: [-1000.0, -1001.5], 2: [90.0, 89.5, -200.0],
              3: [-420.0, -421.0], 4: [120.0, 119.0, 40.0], 5: [7.0]}


def wide_case() -> tuple[torch.Tensor, torch.Tensor, int]:
    """Scores (E, 2), edge_index (2, E) and N for six neighbourhoods whose scores spread widely, shuffled."""
    columns, head0 = [], []
    for target, sources in WIDE_SOURCES.items():
        columns += [(source, target) for source in sources]
        head0 += WIDE_HEAD0[target]
    order = torch.randperm(len(columns), generator=seeded_generator(22))
    scores = torch.tensor(head0)[order]  # (E,)
    return torch.stack([scores, -scores], dim=1), torch.tensor(columns).T[:, order], len(WIDE_SOURCES)


def _softmax_cases() -> list[Case]:
    cora = load_cora()
    toy = TOY_DIRECTED_LOOPED
    random_edges = random_graph(12, 35, seed=14)
    return [Case("directed toy graph (4 nodes, H=2)",
                 (torch.randn(toy.shape[1], 2, generator=seeded_generator(15)), toy, 4)),
            Case("random directed graph (12 nodes, 35 edges, H=3)",
                 (3 * torch.randn(random_edges.shape[1], 3, generator=seeded_generator(16)), random_edges, 12)),
            Case("neighbourhoods whose scores sit far apart (+100, +50, -70, -200)", far_apart_case()),
            Case("neighbourhoods whose scores spread widely inside (+300 .. -300 into one node, "
                 "-1000 into another), columns shuffled", wide_case()),
            Case("Cora with self-loops (H=8)",
                 (torch.randn(cora.edge_index_with_self_loops.shape[1], 8, generator=seeded_generator(17)),
                  cora.edge_index_with_self_loops, cora.num_nodes))]


def _aggregate_inputs(edge_index: torch.Tensor, num_nodes: int, heads: int, out_features: int, seed: int) -> tuple:
    generator = seeded_generator(seed)
    scores = torch.randn(edge_index.shape[1], heads, generator=generator)  # (E, H)
    alpha = neighbourhood_softmax(scores, edge_index, num_nodes)  # (E, H), sums to 1 per target
    z = torch.randn(num_nodes, heads, out_features, generator=generator)  # (N, H, F')
    return alpha, z, edge_index


def _dropped_out(inputs: tuple, p: float, seed: int) -> tuple:
    """The aggregation inputs with dropout on alpha, as a GAT layer applies it in training."""
    alpha, z, edge_index = inputs
    return after_dropout(alpha, p, seed), z, edge_index


def _aggregate_cases() -> list[Case]:
    cora = load_cora()
    return [Case("directed toy graph (4 nodes, H=2, F'=3; node 3 receives nothing)",
                 _aggregate_inputs(TOY_DIRECTED, 4, 2, 3, seed=18)),
            Case("random directed graph (10 nodes, 25 edges, H=3, F'=2)",
                 _aggregate_inputs(random_graph(10, 25, seed=19), 10, 3, 2, seed=20)),
            Case("random directed graph, attention after dropout p = 0.6 (weights 0 or scaled by 2.5)",
                 _dropped_out(_aggregate_inputs(random_graph(12, 40, seed=23), 12, 2, 3, seed=24), 0.6, seed=25)),
            Case("Cora with self-loops (H=8, F'=8)",
                 _aggregate_inputs(cora.edge_index_with_self_loops, cora.num_nodes, 8, 8, seed=21))]


# --- known mistakes, each fed to its check by the tests --------------------------------------

def _scores_swapped(s_src, s_dst, edge_index):
    return edge_scores(s_src, s_dst, edge_index.flip(0))


def _scores_without_leaky_relu(s_src, s_dst, edge_index):
    return s_src.index_select(0, edge_index[0]) + s_dst.index_select(0, edge_index[1])


def _scores_default_slope(s_src, s_dst, edge_index):
    return F.leaky_relu(_scores_without_leaky_relu(s_src, s_dst, edge_index))  # slope 0.01


def _one_global_max(scores, edge_index, num_nodes):
    target = edge_index[1]
    exp = (scores - scores.max()).exp()
    sums = scores.new_zeros(num_nodes, scores.shape[1]).index_add_(0, target, exp)
    return exp / sums.index_select(0, target)


def _one_global_max_plus_epsilon(scores, edge_index, num_nodes):
    target = edge_index[1]
    exp = (scores - scores.max()).exp()
    sums = scores.new_zeros(num_nodes, scores.shape[1]).index_add_(0, target, exp)
    return exp / (sums.index_select(0, target) + 1e-16)


def _no_max_subtracted(scores, edge_index, num_nodes):
    target = edge_index[1]
    exp = scores.exp()
    sums = scores.new_zeros(num_nodes, scores.shape[1]).index_add_(0, target, exp)
    return exp / sums.index_select(0, target)


def _max_includes_zero(scores, edge_index, num_nodes):
    target = edge_index[1]
    index = target.unsqueeze(1).expand_as(scores)
    top = scores.new_zeros(num_nodes, scores.shape[1]).scatter_reduce(0, index, scores, reduce="amax")
    exp = (scores - top.index_select(0, target)).exp()
    sums = scores.new_zeros(num_nodes, scores.shape[1]).index_add_(0, target, exp)
    return exp / sums.index_select(0, target)


def _softmax_over_all_edges(scores, edge_index, num_nodes):
    return F.softmax(scores, dim=0)


def _softmax_over_heads(scores, edge_index, num_nodes):
    return F.softmax(scores, dim=1)


def _grouped_by_source(scores, edge_index, num_nodes):
    return neighbourhood_softmax(scores, edge_index.flip(0), num_nodes)


def _shifted_per_target(scores, edge_index, num_nodes, reduce):
    target = edge_index[1]
    index = target.unsqueeze(1).expand_as(scores)
    shift = scores.new_zeros(num_nodes, scores.shape[1]).scatter_reduce(0, index, scores, reduce=reduce,
                                                                       include_self=False)
    exp = (scores - shift.index_select(0, target)).exp()
    sums = scores.new_zeros(num_nodes, scores.shape[1]).index_add_(0, target, exp)
    return exp / sums.index_select(0, target)


def _per_target_mean(scores, edge_index, num_nodes):
    return _shifted_per_target(scores, edge_index, num_nodes, "mean")


def _consecutive_blocks(scores, edge_index, num_nodes):
    counts = torch.bincount(edge_index[1], minlength=num_nodes).tolist()  # block sizes, if sorted by target
    return torch.cat([F.softmax(block, dim=0) for block in torch.split(scores, counts)])


def _aggregated_into_sources(alpha, z, edge_index):
    return aggregate(alpha, z, edge_index.flip(0))


def _messages_from_targets(alpha, z, edge_index):
    messages = alpha.unsqueeze(-1) * z.index_select(0, edge_index[1])
    return torch.zeros_like(z).index_add_(0, edge_index[1], messages)


def _alpha_forgotten(alpha, z, edge_index):
    return torch.zeros_like(z).index_add_(0, edge_index[1], z.index_select(0, edge_index[0]))


def _index_add_into_z(alpha, z, edge_index):
    messages = alpha.unsqueeze(-1) * z.index_select(0, edge_index[0])
    return z.index_add_(0, edge_index[1], messages)  # writes into the caller's z


def _mean_of_messages(alpha, z, edge_index):
    messages = alpha.unsqueeze(-1) * z.index_select(0, edge_index[0])
    index = edge_index[1].view(-1, 1, 1).expand_as(messages)
    return torch.zeros_like(z).scatter_reduce(0, index, messages, reduce="mean", include_self=False)


def _renormalised(alpha, z, edge_index):
    out = aggregate(alpha, z, edge_index)  # (N, H, F')
    total = torch.zeros(z.shape[0], alpha.shape[1], dtype=alpha.dtype).index_add_(0, edge_index[1], alpha)
    return out / total.clamp(min=1e-12).unsqueeze(-1)


register(Check(
    id="6.1",
    title="lifting scores to the edges",
    reference=edge_scores,
    cases=_score_cases,
    hint="Take the source's score with s_src.index_select(0, edge_index[0]), the target's with "
         "s_dst.index_select(0, edge_index[1]), add them (E, H), then F.leaky_relu(..., 0.2).",
    mistakes={
        "Source and target are swapped: row 0 of edge_index is the SOURCE j (its score comes from "
        "s_src) and row 1 the TARGET i (s_dst).": _scores_swapped,
        "The LeakyReLU is missing: e = LeakyReLU(s_src[j] + s_dst[i]) with slope 0.2.":
            _scores_without_leaky_relu,
        "LeakyReLU has the wrong slope: F.leaky_relu defaults to 0.01, GAT uses "
        "negative_slope=0.2.": _scores_default_slope,
    },
))

register(Check(
    id="6.2",
    title="the neighbourhood softmax",
    reference=neighbourhood_softmax,
    cases=_softmax_cases,
    hint="Group the edges by their TARGET edge_index[1]: per-target max with scatter_reduce(0, index, "
         "scores, reduce='amax', include_self=False) (index = target expanded to (E, H)), subtract it "
         "(gathered back with index_select), exp, sum per target with index_add_, divide.",
    mistakes={
        "You subtract ONE global max: a neighbourhood whose scores sit far below it (here -200 "
        "against +100) underflows to exp(...) = 0, and 0 / 0 = nan. Subtract each target's own max "
        "(scatter_reduce with reduce='amax').": _one_global_max,
        "You subtract ONE global max and add an epsilon to the sums: a neighbourhood far below that "
        "max underflows to 0 and its attention sums to 0 instead of 1. Subtract each target's own "
        "max (scatter_reduce with reduce='amax'), and no epsilon is needed.": _one_global_max_plus_epsilon,
        "No max is subtracted: exp(100) overflows to inf and exp(-200) underflows to 0, so large or "
        "very negative neighbourhoods give nan. Subtract each target's max before exp.": _no_max_subtracted,
        "Your per-target max also sees the zeros you started from: scatter_reduce includes the "
        "destination's initial value unless include_self=False, so a neighbourhood whose scores are "
        "all far below 0 (here -200) still underflows.": _max_includes_zero,
        "That is one softmax over ALL edges: attention must be normalised over the incoming edges of "
        "each target separately (sum per target with index_add_).": _softmax_over_all_edges,
        "The softmax runs over the heads axis (dim=1): each head is normalised on its own, over the "
        "incoming edges of each target.": _softmax_over_heads,
        "You grouped the edges by their SOURCE (edge_index[0]): the softmax runs over the incoming "
        "edges of each TARGET, edge_index[1]. Check on a directed graph.": _grouped_by_source,
        "You subtract a per-target shift other than the max (the mean or the min?): any per-target "
        "shift is exact on paper, but the largest term is then exp(max - shift), and here one "
        "neighbourhood's scores spread from +300 to -300, so it overflows to inf (inf / inf = nan). "
        "Subtract the target's MAX, so that the largest term is exp(0) = 1.": _per_target_mean,
        "You normalised consecutive blocks of columns, as if the edges were sorted by target: the "
        "columns of edge_index come in any order (here shuffled). Group them by their target with "
        "scatter_reduce / index_add_ at edge_index[1], which works in any order.": _consecutive_blocks,
    },
))

register(Check(
    id="6.3",
    title="the scatter aggregation",
    reference=aggregate,
    cases=_aggregate_cases,
    hint="Weight each source's features by its edge's alpha (alpha.unsqueeze(-1) * "
         "z.index_select(0, edge_index[0]), shape (E, H, F')) and add them into a NEW zero tensor at "
         "the targets: torch.zeros_like(z).index_add_(0, edge_index[1], messages).",
    mistakes={
        "You aggregated into the SOURCES: messages flow j -> i, so add them at edge_index[1] and "
        "take the features of edge_index[0].": _aggregated_into_sources,
        "Each message must carry the SOURCE's features z[edge_index[0]]; you took the target's own "
        "features, so every output is just z_i again.": _messages_from_targets,
        "The messages are not weighted: multiply each source's features by its attention "
        "coefficient, alpha.unsqueeze(-1) * z_j.": _alpha_forgotten,
        "You called index_add_ on z itself: that adds the messages onto the input features (and "
        "changes the caller's z). Start from torch.zeros_like(z).": _index_add_into_z,
        "You averaged the messages of each target: the output is their SUM, weighted by alpha (the "
        "weights already sum to 1 after the softmax, so dividing by the in-degree shrinks it again).":
            _mean_of_messages,
        "You divided by the sum of alpha over each target's edges: after attention dropout (as here, "
        "p = 0.6) the weights no longer sum to 1, and the layer must use them as they are. Return the "
        "plain weighted sum.": _renormalised,
    },
))
