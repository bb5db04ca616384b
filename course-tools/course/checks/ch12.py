"""Checks for chapter 12, Where attention matters.

Exercise 12.1 builds the class compatibility matrix, 12.2 the adjusted homophily, 12.3 the ROC AUC
of binary scores; their references are :func:`gatkit.graph.class_compatibility`,
:func:`gatkit.graph.adjusted_homophily` and :func:`gatkit.metrics.roc_auc`.

12.1 sees a hand-checkable directed toy (a self-loop, edges listed one way, a class that receives
nothing), a shuffled directed graph with repeated columns, self-loops, unbalanced classes, isolated
nodes and a class that only isolated nodes hold, and Cora with self-loops: so reading rows by
source, normalising columns or by the wrong count, keeping the self-loops, counting each pair once,
averaging per node, writing zeros for an empty class or sizing the matrix by ``y.max() + 1`` all
differ from the right answer. 12.2 sees a star whose hub alone carries half the degree (class
shares by node count and by degree differ), a shuffled directed graph with repeats, self-loops,
isolated nodes and three unbalanced classes (so taking degrees from one end of the edges, or from
the node counts, differs), and Cora. 12.3 sees a toy with ties in two groups (the tied positive
before its negative in one, after both negatives in the other, so counting ties as wins, as losses
or by position all differ), the constant "always the big class" predictor on 80 / 20 labels,
scores with many ties and unbalanced classes in random order, and continuous logits.
"""

from __future__ import annotations

import torch

from course.checks.cases import directed_graph, load_cora, seeded_generator
from course.checks.core import Case, Check, as_float64, register
from gatkit import graph, metrics


def _unbalanced_classes(num_nodes: int, shares: list[float], seed: int) -> torch.Tensor:
    """(N,) int64 classes drawn with the given shares (in random node order)."""
    return torch.multinomial(torch.tensor(shares), num_nodes, replacement=True, generator=seeded_generator(seed))


def _no_loops(edge_index):
    return edge_index[:, edge_index[0] != edge_index[1]]


# --- 12.1 the class compatibility matrix ----------------------------------------------------------------

# Five nodes of classes 0 0 1 1 2, and a class 3 with no node (num_classes = 4). Edges j -> i:
# 2 -> 0, 3 -> 0, 4 -> 0, 0 -> 1 (into class 0: sources of classes 1, 1, 2, 0), 0 -> 2, 1 -> 2 and the
# self-loop 2 -> 2 (into class 1: sources 0, 0; the loop does not count), 3 -> 4 (into class 2: 1).
COMPAT_EDGES = torch.tensor([[2, 0, 3, 1, 4, 2, 0, 3],
                             [0, 2, 0, 2, 0, 2, 1, 4]])  # (2, E=8), in no particular order
COMPAT_CLASSES = torch.tensor([0, 0, 1, 1, 2])
COMPAT_ANSWER = torch.tensor([[0.25, 0.5, 0.25, 0.0],
                              [1.0, 0.0, 0.0, 0.0],
                              [0.0, 1.0, 0.0, 0.0],
                              [float("nan")] * 4], dtype=torch.float64)


def _compatibility_cases() -> list[Case]:
    cora = load_cora()
    edge_index, num_nodes = directed_graph(36, 150, seed=120, loops=(2, 9, 30), repeated=6, isolated=4)
    y = _unbalanced_classes(num_nodes, [0.55, 0.25, 0.15, 0.05], seed=121)  # (N,)
    y[-4:] = 4  # class 4: only the isolated nodes, so it receives no edge
    return [Case("toy (5 nodes of classes 0 0 1 1 2, num_classes = 4, one self-loop, edges listed one way)",
                 (COMPAT_EDGES, COMPAT_CLASSES, 4)),
            Case(f"directed graph ({num_nodes} nodes, shuffled, repeated columns, 3 self-loops, unbalanced "
                 "classes; class 4 only on the 4 isolated nodes)", (edge_index, y, 5)),
            Case("Cora with self-loops (7 classes)", (cora.edge_index_with_self_loops, cora.y, 7))]


def _class_compatibility(edge_index, y, num_classes):
    return graph.class_compatibility(edge_index, y, num_classes)


def _counts(edge_index, y, num_classes, *, loops=False):
    """(C, C) float64 counts, [k, l] = edges from class l into class k."""
    kept = edge_index if loops else _no_loops(edge_index)
    pair = y[kept[1]] * num_classes + y[kept[0]]  # (E,)
    return torch.bincount(pair, minlength=num_classes ** 2).view(num_classes, num_classes).double()


def _rows(counts):
    return counts / counts.sum(dim=1, keepdim=True)


def _by_source(edge_index, y, num_classes):
    return _rows(_counts(edge_index, y, num_classes).T)


def _columns_normalised(edge_index, y, num_classes):
    counts = _counts(edge_index, y, num_classes)
    return counts / counts.sum(dim=0, keepdim=True)


def _loops_kept(edge_index, y, num_classes):
    return _rows(_counts(edge_index, y, num_classes, loops=True))


def _share_of_all_edges(edge_index, y, num_classes):
    counts = _counts(edge_index, y, num_classes)
    return counts / counts.sum()


def _per_class_size(edge_index, y, num_classes):
    sizes = torch.bincount(y, minlength=num_classes).double()  # (C,) nodes per class
    return _counts(edge_index, y, num_classes) / sizes[:, None]


def _zeros_for_silent_classes(edge_index, y, num_classes):
    return torch.nan_to_num(_rows(_counts(edge_index, y, num_classes)), nan=0.0)


def _classes_from_labels(edge_index, y, num_classes):
    return _rows(_counts(edge_index, y, int(y.max()) + 1))


def _mean_over_nodes(edge_index, y, num_classes):
    kept = _no_loops(edge_index)
    per_node = torch.zeros(len(y), num_classes, dtype=torch.float64)
    per_node.index_put_((kept[1], y[kept[0]]), torch.ones(kept.shape[1], dtype=torch.float64), accumulate=True)
    per_node = per_node / per_node.sum(dim=1, keepdim=True)  # (N, C); nan for nodes that receive nothing
    received = ~torch.isnan(per_node[:, 0])
    totals = torch.zeros(num_classes, num_classes, dtype=torch.float64).index_add_(0, y[received], per_node[received])
    return totals / torch.bincount(y[received], minlength=num_classes).double()[:, None]


register(Check(
    id="12.1",
    title="the class compatibility matrix",
    reference=_class_compatibility,
    cases=_compatibility_cases,
    normalise=as_float64,
    hint="Drop the self-loops. For every remaining edge j -> i, count the pair (class of the TARGET "
         "y[i], class of the SOURCE y[j]) in a (C, C) table: one bincount of y[i] * C + y[j] with "
         "minlength C * C, viewed as (C, C). Then divide each row by its sum (a class that receives "
         "no edge gets nan from 0 / 0).",
    mistakes={
        "Your rows are indexed by the SOURCE's class: row k must describe the edges INTO class-k "
        "targets (edge_index[1]), and column l the class of their sources (edge_index[0]).": _by_source,
        "You normalised the columns: each ROW must sum to 1 (row k is where class k's incoming "
        "messages come from), counts / counts.sum(dim=1, keepdim=True).": _columns_normalised,
        "Self-loops are counted: a node's loop is a message from its own class that says nothing "
        "about its neighbours. Drop the columns with edge_index[0] == edge_index[1] first.": _loops_kept,
        "You divided by the number of all edges: that is the joint share of each class pair. Divide "
        "each row by the number of edges into that class, so that every row sums to 1.":
            _share_of_all_edges,
        "You divided by the number of NODES in each class: the shares are of edges, so divide each "
        "row by the number of edges into that class (the row's own sum).": _per_class_size,
        "A class that receives no edge has nothing to describe: its row must be nan (0 / 0), not 0, "
        "which would claim it hears from no class at all.": _zeros_for_silent_classes,
        "Your matrix is sized by y.max() + 1: use num_classes, so that a class with no node (the toy's "
        "class 3) still has its row and column.": _classes_from_labels,
        "You averaged each node's own neighbour mix over the nodes of a class: the matrix weighs "
        "every EDGE equally (a node with many neighbours counts more), so count edges per class pair "
        "and normalise the rows of the counts.": _mean_over_nodes,
    },
))


# --- 12.2 adjusted homophily ----------------------------------------------------------------------------

# A star: hub 0 (class 0) linked both ways to 1, 2 (class 1) and 3, 4 (class 0), plus a self-loop
# on every node. h_edge = 2/4; degrees 4, 1, 1, 1, 1, so p = (6/8, 2/8) and sum p^2 = 10/16:
# h_adj = (1/2 - 5/8) / (3/8) = -1/3. Class shares by node count (3/5, 2/5) would give -1/24.
_STAR = torch.tensor([[0, 0, 0, 0], [1, 2, 3, 4]])
STAR_EDGES = torch.cat([_STAR, _STAR.flip(0), torch.arange(5).repeat(2, 1)], dim=1)  # (2, E=13)
STAR_CLASSES = torch.tensor([0, 1, 1, 0, 0])
STAR_ANSWER = -1 / 3


def _adjusted_cases() -> list[Case]:
    cora = load_cora()
    edge_index, num_nodes = directed_graph(40, 160, seed=122, loops=(1, 5, 22), repeated=8, isolated=5)
    y = _unbalanced_classes(num_nodes, [0.7, 0.2, 0.1], seed=123)  # (N,)
    return [Case("star: hub 0 (class 0) joined both ways to 1, 2 (class 1) and 3, 4 (class 0), self-loops",
                 (STAR_EDGES, STAR_CLASSES)),
            Case(f"directed graph ({num_nodes} nodes, edges one way, shuffled, repeated columns, 3 self-loops, "
                 "5 isolated nodes, classes of 70 / 20 / 10%)", (edge_index, y)),
            Case("Cora with self-loops", (cora.edge_index_with_self_loops, cora.y))]


def _adjusted_homophily(edge_index, y):
    return torch.tensor(graph.adjusted_homophily(edge_index, y), dtype=torch.float64)


def _adjusted(h_edge, shares):
    chance = (shares ** 2).sum()
    return (h_edge - chance) / (1 - chance)


def _h_edge(edge_index, y):
    kept = _no_loops(edge_index)
    return (y[kept[0]] == y[kept[1]]).double().mean()


def _degree_shares(edge_index, y):
    kept = _no_loops(edge_index)
    ends = torch.bincount(y[kept.flatten()], minlength=int(y.max()) + 1).double()
    return ends / ends.sum()


def _by_node_count(edge_index, y):
    return _adjusted(_h_edge(edge_index, y), torch.bincount(y).double() / len(y))


def _uniform_classes(edge_index, y):
    num_classes = int(y.max()) + 1
    return _adjusted(_h_edge(edge_index, y), torch.full((num_classes,), 1.0 / num_classes, dtype=torch.float64))


def _targets_only(edge_index, y):
    kept = _no_loops(edge_index)
    ends = torch.bincount(y[kept[1]], minlength=int(y.max()) + 1).double()
    return _adjusted(_h_edge(edge_index, y), ends / ends.sum())


def _loops_in_h_edge(edge_index, y):
    return _adjusted((y[edge_index[0]] == y[edge_index[1]]).double().mean(), _degree_shares(edge_index, y))


def _loops_everywhere(edge_index, y):
    ends = torch.bincount(y[edge_index.flatten()]).double()
    return _adjusted((y[edge_index[0]] == y[edge_index[1]]).double().mean(), ends / ends.sum())


def _no_denominator(edge_index, y):
    return _h_edge(edge_index, y) - (_degree_shares(edge_index, y) ** 2).sum()


def _shares_not_squared(edge_index, y):
    shares = _degree_shares(edge_index, y)
    return (_h_edge(edge_index, y) - shares.max()) / (1 - shares.max())


def _raw_edge_homophily(edge_index, y):
    return _h_edge(edge_index, y)


register(Check(
    id="12.2",
    title="adjusted homophily",
    reference=_adjusted_homophily,
    cases=_adjusted_cases,
    normalise=as_float64,
    hint="Drop the self-loops. h_edge is the share of edges whose two ends share a class. p_k is the "
         "share of edge ENDS in class k: bincount the classes of both rows of edge_index together "
         "(y[edge_index.flatten()]) and divide by their number, 2E. Then "
         "h_adj = (h_edge - sum p_k^2) / (1 - sum p_k^2).",
    mistakes={
        "Your p_k are the shares of NODES in each class: the chance level counts edge ends, so a "
        "class of high-degree nodes (the star's hub) weighs more. Count the classes of both ends of "
        "every edge, y[edge_index.flatten()].": _by_node_count,
        "You assumed equal classes, p_k = 1 / C: the chance level depends on how the edge ends are "
        "spread over the classes, sum_k p_k^2, which is what makes unbalanced graphs look "
        "homophilous.": _uniform_classes,
        "Your p_k count only the TARGETS of the edges: a degree counts both ends of an edge. With "
        "edges listed one way that differs; count y[edge_index[0]] and y[edge_index[1]] together.":
            _targets_only,
        "Self-loops are counted in h_edge: a loop always joins a node to its own class. Drop the "
        "columns with edge_index[0] == edge_index[1] before anything else.": _loops_in_h_edge,
        "Self-loops are counted (in h_edge and in the degrees): drop the columns with "
        "edge_index[0] == edge_index[1] before anything else.": _loops_everywhere,
        "The denominator is missing: h_edge - sum p_k^2 is how far above chance the graph is; "
        "divide it by 1 - sum p_k^2, the most it could be, so that 1 means every edge is within a "
        "class.": _no_denominator,
        "You used the largest p_k instead of sum_k p_k^2: the chance that both ends of a random "
        "edge share a class is the sum over classes of p_k squared.": _shares_not_squared,
        "That is the raw edge homophily: subtract the chance level sum_k p_k^2 and divide by "
        "1 - sum_k p_k^2.": _raw_edge_homophily,
    },
))


# --- 12.3 ROC AUC ----------------------------------------------------------------------------------------

# Positives (label 1) score 0.8, 0.5, 0.3; negatives 0.3, 0.8, 0.3, 0.1. Of the 12 pairs the positive
# 0.8 wins 3 and ties 1, 0.5 wins 3, 0.3 wins 1 and ties 2: AUC = (7 + 3 / 2) / 12 = 17/24. The tied
# positive 0.8 comes before its negative, the tied positive 0.3 after both of its negatives, so
# counting ties as losses (7/12), as wins (10/12) or by position (9/12) all differ.
AUC_SCORES = torch.tensor([0.8, 0.3, 0.8, 0.5, 0.3, 0.3, 0.1])
AUC_LABELS = torch.tensor([1, 0, 0, 1, 0, 1, 0])
AUC_ANSWER = 17 / 24


def _auc_cases() -> list[Case]:
    generator = seeded_generator(124)
    always = torch.zeros(50)  # the constant "always the big class" score
    always_labels = (torch.arange(50) % 5 == 0).long()[torch.randperm(50, generator=generator)]  # 10 of 50
    labels = (torch.rand(400, generator=generator) < 0.2).long()  # (400,) about 20% positives
    counts = (labels + torch.rand(400, generator=generator) * 4).floor().clamp(max=5)  # (400,) 0 .. 5: ties
    logit_labels = (torch.rand(1000, generator=generator) < 0.1).long()  # (1000,) about 10% positives
    logits = 1.5 * logit_labels + torch.randn(1000, generator=generator) * 2 - 1  # (1000,) both signs
    return [Case("toy: 7 scores, positives 0.8, 0.5, 0.3 and negatives 0.3, 0.8, 0.3, 0.1 (two tied groups)",
                 (AUC_SCORES, AUC_LABELS)),
            Case("the constant score 0 for all 50 nodes, 10 of them positive", (always, always_labels)),
            Case("400 whole-number scores 0 .. 5 (many ties), about 20% positives, random order", (counts, labels)),
            Case("1000 logits of both signs, about 10% positives", (logits, logit_labels))]


def _roc_auc(scores, labels):
    return torch.tensor(metrics.roc_auc(scores, labels), dtype=torch.float64)


def _pairs(scores, labels, *, tie=0.5, positive=1):
    pos, neg = scores[labels == positive], scores[labels != positive]
    wins = (pos[:, None] > neg[None, :]).double().sum() + tie * (pos[:, None] == neg[None, :]).double().sum()
    return wins / (len(pos) * len(neg))


def _ties_as_wins(scores, labels):
    return _pairs(scores, labels, tie=1.0)


def _ties_as_losses(scores, labels):
    return _pairs(scores, labels, tie=0.0)


def _ranks_by_position(scores, labels):
    ranks = torch.empty(len(scores), dtype=torch.float64)
    ranks[torch.argsort(scores, stable=True)] = torch.arange(1, len(scores) + 1, dtype=torch.float64)
    positives = int(labels.sum())
    return (ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * (len(labels) - positives))


def _accuracy(scores, labels):
    return ((scores > 0.5).long() == labels).double().mean()


def _classes_swapped(scores, labels):
    return _pairs(scores, labels, positive=0)


def _over_all_pairs(scores, labels):
    pos, neg = scores[labels == 1], scores[labels == 0]
    wins = (pos[:, None] > neg[None, :]).double().sum() + 0.5 * (pos[:, None] == neg[None, :]).double().sum()
    return wins / len(scores) ** 2


register(Check(
    id="12.3",
    title="ROC AUC by hand",
    reference=_roc_auc,
    cases=_auc_cases,
    normalise=as_float64,
    hint="AUC = P(score of a random positive > score of a random negative), a tie counting 1/2. With "
         "ranks: r = the 1-based rank of each score among all n (tied scores share the mean of their "
         "ranks: torch.unique(scores, return_inverse=True, return_counts=True) gives the groups), "
         "then AUC = (sum of the positives' ranks - P (P + 1) / 2) / (P Q) for P positives and Q "
         "negatives.",
    mistakes={
        "Ties count as wins: a positive tied with a negative is ranked right only half the time, so "
        "a tie counts 1/2 (a constant score must give 0.5, not 1).": _ties_as_wins,
        "Ties count as losses: a positive tied with a negative counts 1/2 (a constant score must give "
        "0.5, not 0).": _ties_as_losses,
        "Tied scores got different ranks (by their position, as argsort gives them): tied scores "
        "must share the mean of their ranks, or the answer depends on the order of the nodes.":
            _ranks_by_position,
        "That is the accuracy of thresholding at 0.5. ROC AUC does not pick a threshold: it asks how "
        "often a positive scores above a negative.": _accuracy,
        "Positives and negatives are swapped (you got 1 - AUC): label 1 is the positive class, and "
        "a higher score should mean 'more likely 1'.": _classes_swapped,
        "You divided by n^2: the AUC is a share of the (positive, negative) PAIRS, P * Q of them.":
            _over_all_pairs,
    },
))
