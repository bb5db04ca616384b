"""Mutation suites for chapter 12, where attention matters: 12.1 the class compatibility matrix, 12.2
adjusted homophily, 12.3 ROC AUC by hand.

Each family is a kind of slip a learner who gets the exercise almost right could make. Every mutant
runs on every case of its check and computes something else on at least one of them.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from mutants import EQUIVALENT, alternative, mutant

# Both measures drop the self-loops first, so leaving them out or listing them twice beforehand
# changes nothing.
EQUIVALENT.add(("12.1", "self-loops"))
EQUIVALENT.add(("12.2", "self-loops"))
# Adjusted homophily counts both ends of every edge, and (y[j] == y[i]) == (y[i] == y[j]): reading
# every edge target -> source gives the same value.
EQUIVALENT.add(("12.2", "direction"))


def _no_loops(edge_index):
    return edge_index[:, edge_index[0] != edge_index[1]]


# --- 12.1 the class compatibility matrix ----------------------------------------------------------------

def _counts(edge_index, y, num_classes, *, loops=False, rows=1, columns=0):
    """(C, C) float64 counts of class pairs: [class of edge_index[rows], class of edge_index[columns]]."""
    kept = edge_index if loops else _no_loops(edge_index)
    counts = torch.zeros(num_classes, num_classes, dtype=torch.float64)
    return counts.index_put_((y[kept[rows]], y[kept[columns]]), torch.ones(kept.shape[1], dtype=torch.float64),
                             accumulate=True)


def _rows(counts):
    return counts / counts.sum(dim=1, keepdim=True)


@mutant("12.1", "direction")
def rows_by_the_source_class(edge_index, y, num_classes):
    return _rows(_counts(edge_index, y, num_classes, rows=0, columns=1))


@mutant("12.1", "direction")
def every_edge_counted_both_ways(edge_index, y, num_classes):
    both = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    return _rows(_counts(both, y, num_classes))


@mutant("12.1", "direction")
def only_columns_with_source_below_target(edge_index, y, num_classes):
    return _rows(_counts(edge_index[:, edge_index[0] < edge_index[1]], y, num_classes))


@mutant("12.1", "normalisation")
def columns_sum_to_one(edge_index, y, num_classes):
    counts = _counts(edge_index, y, num_classes)
    return counts / counts.sum(dim=0, keepdim=True)


@mutant("12.1", "normalisation")
def divided_by_all_edges(edge_index, y, num_classes):
    counts = _counts(edge_index, y, num_classes)
    return counts / counts.sum()


@mutant("12.1", "normalisation")
def divided_by_the_class_sizes(edge_index, y, num_classes):
    return _counts(edge_index, y, num_classes) / torch.bincount(y, minlength=num_classes).double()[:, None]


@mutant("12.1", "normalisation")
def divided_by_the_edge_ends_of_the_class(edge_index, y, num_classes):
    kept = _no_loops(edge_index)
    ends = torch.bincount(y[kept.flatten()], minlength=num_classes).double()  # both ends, not just targets
    return _counts(edge_index, y, num_classes) / ends[:, None]


@mutant("12.1", "normalisation")
def divided_by_the_largest_entry_of_the_row(edge_index, y, num_classes):
    counts = _counts(edge_index, y, num_classes)
    return counts / counts.amax(dim=1, keepdim=True)


@mutant("12.1", "normalisation")
def softmax_of_the_counts(edge_index, y, num_classes):
    return torch.softmax(_counts(edge_index, y, num_classes), dim=1)


@mutant("12.1", "self-loops")
def self_loops_counted(edge_index, y, num_classes):
    return _rows(_counts(edge_index, y, num_classes, loops=True))


@mutant("12.1", "self-loops")
def one_loop_per_node_subtracted_from_the_diagonal(edge_index, y, num_classes):
    counts = _counts(edge_index, y, num_classes, loops=True)
    counts -= torch.diag(torch.bincount(y, minlength=num_classes).double())
    return _rows(counts)


@mutant("12.1", "empty classes")
def zeros_for_a_class_without_edges(edge_index, y, num_classes):
    return torch.nan_to_num(_rows(_counts(edge_index, y, num_classes)), nan=0.0)


@mutant("12.1", "empty classes")
def uniform_row_for_a_class_without_edges(edge_index, y, num_classes):
    rows = _rows(_counts(edge_index, y, num_classes))
    return torch.nan_to_num(rows, nan=1.0 / num_classes)


@mutant("12.1", "empty classes")
def sized_by_the_largest_label(edge_index, y, num_classes):
    return _rows(_counts(edge_index, y, int(y.max()) + 1))


@mutant("12.1", "empty classes")
def sized_by_the_classes_that_receive_edges(edge_index, y, num_classes):
    present = int(y[_no_loops(edge_index)[1]].max()) + 1
    return _rows(_counts(edge_index, y, present))


@mutant("12.1", "averaging")
def mean_of_each_nodes_neighbour_mix(edge_index, y, num_classes):
    kept = _no_loops(edge_index)
    per_node = torch.zeros(len(y), num_classes, dtype=torch.float64)
    per_node.index_put_((kept[1], y[kept[0]]), torch.ones(kept.shape[1], dtype=torch.float64), accumulate=True)
    received = per_node.sum(dim=1) > 0
    shares = per_node[received] / per_node[received].sum(dim=1, keepdim=True)  # (N', C)
    totals = torch.zeros(num_classes, num_classes, dtype=torch.float64).index_add_(0, y[received], shares)
    return totals / torch.bincount(y[received], minlength=num_classes).double()[:, None]


@mutant("12.1", "repeats")
def repeated_columns_counted_once(edge_index, y, num_classes):
    return _rows(_counts(torch.unique(edge_index, dim=1), y, num_classes))


@mutant("12.1", "dtype")
def integer_counts(edge_index, y, num_classes):
    return _counts(edge_index, y, num_classes).long()


@alternative("12.1")
def one_hot_matrix_product(edge_index, y, num_classes):
    kept = _no_loops(edge_index)
    onehot = torch.nn.functional.one_hot(y, num_classes).double()  # (N, C)
    counts = onehot[kept[1]].T @ onehot[kept[0]]  # (C, C): targets' classes by sources' classes
    return counts / counts.sum(dim=1, keepdim=True)


@alternative("12.1")
def python_counter(edge_index, y, num_classes):
    pairs = Counter((int(y[i]), int(y[j])) for j, i in edge_index.T.tolist() if i != j)
    matrix = torch.full((num_classes, num_classes), float("nan"), dtype=torch.float64)
    for k in range(num_classes):
        total = sum(pairs[k, l] for l in range(num_classes))
        if total:
            matrix[k] = torch.tensor([pairs[k, l] / total for l in range(num_classes)], dtype=torch.float64)
    return matrix


@alternative("12.1")
def float32_bincount(edge_index, y, num_classes):
    kept = _no_loops(edge_index)
    counts = torch.bincount(y[kept[1]] * num_classes + y[kept[0]], minlength=num_classes ** 2).float()
    counts = counts.view(num_classes, num_classes)
    return counts / counts.sum(dim=1, keepdim=True)


# --- 12.2 adjusted homophily ----------------------------------------------------------------------------

def _h_edge(edge_index, y):
    kept = _no_loops(edge_index)
    return (y[kept[0]] == y[kept[1]]).double().mean()


def _end_shares(edge_index, y, *, rows=(0, 1)):
    kept = _no_loops(edge_index)
    ends = torch.cat([y[kept[row]] for row in rows])
    counts = torch.bincount(ends, minlength=int(y.max()) + 1).double()
    return counts / counts.sum()


def _adjusted(h_edge, chance):
    return (h_edge - chance) / (1 - chance)


@mutant("12.2", "chance level")
def shares_of_nodes(edge_index, y):
    return _adjusted(_h_edge(edge_index, y), (torch.bincount(y).double() / len(y)).pow(2).sum())


@mutant("12.2", "chance level")
def shares_of_the_nodes_with_edges(edge_index, y):
    touched = torch.unique(_no_loops(edge_index).flatten())
    shares = torch.bincount(y[touched], minlength=int(y.max()) + 1).double() / len(touched)
    return _adjusted(_h_edge(edge_index, y), shares.pow(2).sum())


@mutant("12.2", "chance level")
def one_over_the_number_of_classes(edge_index, y):
    return _adjusted(_h_edge(edge_index, y), torch.tensor(1.0 / (int(y.max()) + 1), dtype=torch.float64))


@mutant("12.2", "chance level")
def targets_only(edge_index, y):
    return _adjusted(_h_edge(edge_index, y), _end_shares(edge_index, y, rows=(1,)).pow(2).sum())


@mutant("12.2", "chance level")
def sources_only(edge_index, y):
    return _adjusted(_h_edge(edge_index, y), _end_shares(edge_index, y, rows=(0,)).pow(2).sum())


@mutant("12.2", "chance level")
def largest_share_instead_of_the_sum_of_squares(edge_index, y):
    return _adjusted(_h_edge(edge_index, y), _end_shares(edge_index, y).max())


@mutant("12.2", "chance level")
def product_of_source_and_target_shares_per_edge(edge_index, y):
    # mean over edges of p[y_j] * p[y_i]: a chance level, but of the wrong thing
    kept = _no_loops(edge_index)
    shares = _end_shares(edge_index, y)
    return _adjusted(_h_edge(edge_index, y), (shares[y[kept[0]]] * shares[y[kept[1]]]).mean())


@mutant("12.2", "self-loops")
def self_loops_in_h_edge(edge_index, y):
    return _adjusted((y[edge_index[0]] == y[edge_index[1]]).double().mean(), _end_shares(edge_index, y).pow(2).sum())


@mutant("12.2", "self-loops")
def self_loops_in_the_degrees(edge_index, y):
    shares = torch.bincount(y[edge_index.flatten()]).double() / edge_index.numel()
    return _adjusted(_h_edge(edge_index, y), shares.pow(2).sum())


@mutant("12.2", "formula")
def no_denominator(edge_index, y):
    return _h_edge(edge_index, y) - _end_shares(edge_index, y).pow(2).sum()


@mutant("12.2", "formula")
def divided_by_the_chance_level(edge_index, y):
    chance = _end_shares(edge_index, y).pow(2).sum()
    return (_h_edge(edge_index, y) - chance) / chance


@mutant("12.2", "formula")
def divided_by_one_minus_h_edge(edge_index, y):
    h_edge, chance = _h_edge(edge_index, y), _end_shares(edge_index, y).pow(2).sum()
    return (h_edge - chance) / (1 - h_edge)


@mutant("12.2", "formula")
def raw_edge_homophily(edge_index, y):
    return _h_edge(edge_index, y)


@mutant("12.2", "formula")
def heterophily_adjusted(edge_index, y):
    return _adjusted(1 - _h_edge(edge_index, y), _end_shares(edge_index, y).pow(2).sum())


@mutant("12.2", "repeats")
def each_undirected_edge_once(edge_index, y):
    kept = _no_loops(edge_index)
    pairs = torch.unique(torch.stack([kept.min(dim=0).values, kept.max(dim=0).values]), dim=1)
    return _adjusted(_h_edge(pairs, y), _end_shares(pairs, y).pow(2).sum())


@alternative("12.2")
def from_the_symmetric_mixing_matrix(edge_index, y):
    kept = _no_loops(edge_index)
    num_classes = int(y.max()) + 1
    mixing = torch.zeros(num_classes, num_classes, dtype=torch.float64)
    mixing.index_put_((y[kept[0]], y[kept[1]]), torch.ones(kept.shape[1], dtype=torch.float64), accumulate=True)
    mixing = (mixing + mixing.T) / (2 * kept.shape[1])  # (C, C) joint classes of the two ends
    margin = mixing.sum(dim=1)  # (C,) p_k
    return (mixing.trace() - margin.pow(2).sum()) / (1 - margin.pow(2).sum())


@alternative("12.2")
def python_counts(edge_index, y):
    pairs = [(int(y[j]), int(y[i])) for j, i in edge_index.T.tolist() if i != j]
    h_edge = sum(a == b for a, b in pairs) / len(pairs)
    ends = Counter(c for pair in pairs for c in pair)
    chance = sum((count / (2 * len(pairs))) ** 2 for count in ends.values())
    return (h_edge - chance) / (1 - chance)


@alternative("12.2")
def degrees_of_the_nodes_summed_per_class(edge_index, y):
    kept = _no_loops(edge_index)
    degree = torch.bincount(kept.flatten(), minlength=len(y)).double()  # (N,) undirected degree
    per_class = torch.zeros(int(y.max()) + 1, dtype=torch.float64).index_add_(0, y, degree)  # (C,) D_k
    chance = (per_class / kept.shape[1] / 2).pow(2).sum()
    return float((_h_edge(edge_index, y) - chance) / (1 - chance))


# --- 12.3 ROC AUC ----------------------------------------------------------------------------------------

def _pair_share(scores, labels, *, tie=0.5, positive=1, denominator=None):
    pos, neg = scores[labels == positive], scores[labels != positive]
    wins = (pos[:, None] > neg[None, :]).double().sum()
    ties = (pos[:, None] == neg[None, :]).double().sum()
    return (wins + tie * ties) / (denominator if denominator is not None else len(pos) * len(neg))


def _auc_from_ranks(ranks, labels):
    positives = int(labels.sum())
    return (ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * (len(labels) - positives))


def _ordinal_ranks(scores, *, descending=False):
    order = torch.argsort(scores, descending=descending, stable=True)
    ranks = torch.empty(len(scores), dtype=torch.float64)
    ranks[order] = torch.arange(1, len(scores) + 1, dtype=torch.float64)
    return ranks if not descending else len(scores) + 1 - ranks


@mutant("12.3", "ties")
def ties_count_as_wins(scores, labels):
    return _pair_share(scores, labels, tie=1.0)


@mutant("12.3", "ties")
def ties_count_as_losses(scores, labels):
    return _pair_share(scores, labels, tie=0.0)


@mutant("12.3", "ties")
def ties_left_out_of_the_pairs(scores, labels):
    pos, neg = scores[labels == 1], scores[labels == 0]
    wins = (pos[:, None] > neg[None, :]).double().sum()
    decided = (pos[:, None] != neg[None, :]).double().sum()
    return wins / decided.clamp(min=1)


@mutant("12.3", "ties")
def ranks_by_position_ascending(scores, labels):
    return _auc_from_ranks(_ordinal_ranks(scores), labels)


@mutant("12.3", "ties")
def ranks_by_position_descending(scores, labels):
    return _auc_from_ranks(_ordinal_ranks(scores, descending=True), labels)


@mutant("12.3", "ties")
def tied_scores_get_the_lowest_rank_of_their_group(scores, labels):
    _, group, counts = torch.unique(scores, return_inverse=True, return_counts=True)
    lowest = (counts.cumsum(0) - counts + 1).double()  # (distinct,) like rankdata(method="min")
    return _auc_from_ranks(lowest[group], labels)


@mutant("12.3", "ties")
def trapezoid_over_single_samples(scores, labels):
    order = torch.argsort(scores, descending=True, stable=True)
    hits = labels[order].double()
    tpr = torch.cat([torch.zeros(1, dtype=torch.float64), hits.cumsum(0) / hits.sum()])
    fpr = torch.cat([torch.zeros(1, dtype=torch.float64), (1 - hits).cumsum(0) / (1 - hits).sum()])
    return torch.trapezoid(tpr, fpr)


@mutant("12.3", "threshold")
def accuracy_at_one_half(scores, labels):
    return ((scores > 0.5).long() == labels).double().mean()


@mutant("12.3", "threshold")
def accuracy_at_zero(scores, labels):
    return ((scores > 0).long() == labels).double().mean()


@mutant("12.3", "threshold")
def balanced_accuracy_at_one_half(scores, labels):
    predicted = scores > 0.5
    recall = predicted[labels == 1].double().mean()
    specificity = (~predicted[labels == 0]).double().mean()
    return (recall + specificity) / 2


@mutant("12.3", "threshold")
def true_positive_rate_at_the_median(scores, labels):
    return (scores[labels == 1] > scores.median()).double().mean()


@mutant("12.3", "normalisation")
def divided_by_n_squared(scores, labels):
    return _pair_share(scores, labels, denominator=len(scores) ** 2)


@mutant("12.3", "normalisation")
def divided_by_positives_times_n(scores, labels):
    return _pair_share(scores, labels, denominator=int(labels.sum()) * len(scores))


@mutant("12.3", "normalisation")
def rank_sum_without_the_positives_own_ranks_removed(scores, labels):
    _, group, counts = torch.unique(scores, return_inverse=True, return_counts=True)
    mean_rank = counts.cumsum(0).double() - (counts.double() - 1) / 2
    positives = int(labels.sum())
    return mean_rank[group][labels == 1].sum() / (positives * (len(labels) - positives))


@mutant("12.3", "classes")
def positives_and_negatives_swapped(scores, labels):
    return _pair_share(scores, labels, positive=0)


@mutant("12.3", "classes")
def lower_score_means_positive(scores, labels):
    return _pair_share(-scores, labels)


@mutant("12.3", "order")
def scores_assumed_sorted(scores, labels):
    # walks the nodes in the given order as if the scores rose along it
    negatives_seen = (1 - labels).cumsum(0).double()
    positives = labels.bool()
    return negatives_seen[positives].sum() / (int(positives.sum()) * int((~positives).sum()))


@alternative("12.3")
def every_pair(scores, labels):
    pos, neg = scores[labels == 1], scores[labels == 0]
    return ((pos[:, None] > neg[None, :]).double() + 0.5 * (pos[:, None] == neg[None, :]).double()).mean()


@alternative("12.3")
def scikit_learn(scores, labels):
    return float(roc_auc_score(labels.numpy(), scores.numpy()))


@alternative("12.3")
def trapezoid_over_the_distinct_thresholds(scores, labels):
    values = torch.unique(scores).flip(0)  # (distinct,) highest first: lower the threshold step by step
    above = scores[None, :] >= values[:, None]  # (distinct, n): predicted positive at each threshold
    tpr = (above & (labels == 1)).sum(dim=1).double() / (labels == 1).sum()
    fpr = (above & (labels == 0)).sum(dim=1).double() / (labels == 0).sum()
    zero = torch.zeros(1, dtype=torch.float64)
    return torch.trapezoid(torch.cat([zero, tpr]), torch.cat([zero, fpr]))


@alternative("12.3")
def mann_whitney_on_probabilities(scores, labels):
    probabilities = torch.sigmoid(scores.double())  # increasing, so the same order and the same AUC
    ranks = torch.from_numpy(np.argsort(np.argsort(probabilities.numpy(), kind="stable"), kind="stable") + 1.0)
    # average the ranks of tied values
    _, group = torch.unique(probabilities, return_inverse=True)
    mean = torch.zeros(int(group.max()) + 1, dtype=torch.float64).index_add_(0, group, ranks)
    mean /= torch.bincount(group).double()
    return _auc_from_ranks(mean[group], labels)
