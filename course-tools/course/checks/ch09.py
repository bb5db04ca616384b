"""Checks for chapter 09, Seeing embeddings.

Exercise 9.1 is the k-nearest-neighbour label agreement of an embedding (a node is never its own
neighbour), 9.2 the silhouette value of every node, 9.3 the scores on the first principal
components. Each is checked on a small point set whose answer can be worked out by hand, on
seeded random points and on an embedding of all of Cora.

In the toy and random cases no two candidates tie for the k-th place, so any correct way of
computing the distances (``torch.cdist``, squared differences, a loop) picks the same neighbours.
Cora's embedding has exact duplicates (nodes with the same features and neighbourhood), whose
order a library such as scikit-learn may break differently, and ``torch.cdist`` rounds in float32
(for more than 25 points a node's distance to itself comes out near 1e-3, not 0). The tolerances
(5e-4 on a share, 1e-4 on a silhouette) allow for both; every listed mistake is far outside them
on the toy case already. A second toy puts two nodes at the same point: no tie for the k-th place
either, but a node's distance 0 to itself ties with its duplicate's, so only an answer that
leaves the node out by its index (not by its distance, nor by its place in a sorted row) is
right. The references are the library's :func:`gatkit.embeddings.knn_agreement`,
:func:`gatkit.embeddings.silhouette_values` (scikit-learn's ``silhouette_samples``) and
:func:`gatkit.embeddings.pca`.

For 9.3 the answer is unique once each direction's sign is fixed (its entry of largest
magnitude positive) and the spectrum has gaps: every exact method (``torch.linalg.svd``,
``eigh`` of the covariance, NumPy, scikit-learn's ``PCA``) in float32 or float64 lands within
1e-5 of the float64 reference, and the tolerance (1e-4) leaves room for that. Cora's embedding
has two close singular values (1.85 and 1.82, as a real embedding may), which a randomised
``torch.pca_lowrank`` with a small ``q`` misses by 1e-2 and more: it passes with ``q = D``.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F

from course.checks.cases import load_cora, seeded_generator
from course.checks.core import Case, Check, as_float64, register
from gatkit import embeddings


@lru_cache(maxsize=None)
def cora_embedding() -> torch.Tensor:
    """A cheap stand-in for a GAT layer on Cora: a seeded random projection, averaged over the graph twice.

    (N, 16) float32. The averaging over each node's in-neighbours (self-loop included) gives it
    the kind of class structure an untrained GAT layer has, without training anything.
    """
    cora = load_cora()
    weights = torch.randn(cora.num_features, 16, generator=seeded_generator(90)) / 4  # (F, 16)
    z = cora.x @ weights  # (N, 16)
    source, target = cora.edge_index_with_self_loops  # (E,) each
    in_degree = torch.bincount(target, minlength=cora.num_nodes).float().unsqueeze(1)  # (N, 1)
    for _ in range(2):
        z = torch.zeros_like(z).index_add_(0, target, z[source]) / in_degree  # (N, 16)
    return z


# --- 9.1 k-NN label agreement ------------------------------------------------------------------

def agreement_tensor(z: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    """Mean over the nodes of the share of their ``k`` nearest other nodes with the same label: 0-dim."""
    return torch.tensor(embeddings.knn_agreement(z, labels, k=k), dtype=z.dtype)


# Toy, k = 2: six nodes on a line (second coordinate 0), two classes.
#   node:   0    1    2    3    4    5
#   x:     0.0  1.0  1.5  4.0  4.8  6.0
#   class:  0    0    0    1    0    1
# Two nearest other nodes: 0 -> 1, 2 (both class 0: share 1); 1 -> 2, 0 (1); 2 -> 1, 0 (1);
# 3 -> 4, 5 (classes 0, 1: 1/2); 4 -> 3, 5 (both class 1: 0); 5 -> 4, 3 (classes 0, 1: 1/2).
# Agreement (1 + 1 + 1 + 1/2 + 0 + 1/2) / 6 = 2/3. Averaged per class first it would be
# (3/4 + 1/2) / 2 = 5/8; counting each node as its own first neighbour gives 3/4; the k - 1 = 1
# nearest other node gives 1/2; the two farthest nodes 5/12.
AGREE_TOY_Z = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.5, 0.0], [4.0, 0.0], [4.8, 0.0], [6.0, 0.0]])  # (N, 2)
AGREE_TOY_LABELS = torch.tensor([0, 0, 0, 1, 0, 1])  # (N,)


# Toy with an exact duplicate, k = 2: nodes 0 and 1 sit at the same point with different labels.
#   node:   0    1    2    3    4    5
#   x:     0.0  0.0  1.0  3.0  3.5  7.0
#   class:  0    1    0    1    1    0
# Two nearest other nodes: 0 -> 1, 2 (classes 1, 0: share 1/2); 1 -> 0, 2 (0, 0: 0); 2 -> 0, 1 (1/2);
# 3 -> 4, 2 (1/2); 4 -> 3, 2 (1/2); 5 -> 4, 3 (0). Agreement 2/6 = 1/3. No tie at the k-th place,
# so the answer is unique; but a node's distance 0 to itself ties with its duplicate's, so an
# answer that assumes the node comes first in its sorted row (topk(k + 1) then [:, 1:]) keeps
# the node itself for one of the two, and one that drops every distance 0 loses the duplicate.
DUPLICATE_TOY_Z = torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [3.5, 0.0], [7.0, 0.0]])  # (N, 2)
DUPLICATE_TOY_LABELS = torch.tensor([0, 1, 0, 1, 1, 0])  # (N,)


def clustered_points(n: int, dims: int, classes: int, spread: float,
                     seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` seeded points (n, dims) around one random centre per class, and their labels (n,).

    Every class gets at least two points (labels are dealt round-robin, then shuffled).
    """
    generator = seeded_generator(seed)
    labels = torch.arange(n) % classes  # (n,)
    labels = labels[torch.randperm(n, generator=generator)]
    centres = torch.randn(classes, dims, generator=generator)  # (C, dims)
    z = centres[labels] + spread * torch.randn(n, dims, generator=generator)  # (n, dims)
    return z, labels


def _agreement_cases() -> list[Case]:
    cora = load_cora()
    z, labels = clustered_points(40, 5, 4, 0.8, seed=91)
    return [Case("toy: 6 nodes on a line, k = 2 (answer 2/3)", (AGREE_TOY_Z, AGREE_TOY_LABELS, 2)),
            Case("toy with two nodes at the same point, k = 2 (answer 1/3)",
                 (DUPLICATE_TOY_Z, DUPLICATE_TOY_LABELS, 2)),
            Case("random points (40 nodes in 5-D, 4 overlapping classes), k = 5", (z, labels, 5)),
            Case("an embedding of Cora (2708 nodes, 16-D), k = 10", (cora_embedding(), cora.y, 10))]


def _self_counted(z, labels, k):
    neighbours = torch.cdist(z, z).topk(k, dim=1, largest=False).indices  # the node itself comes first
    return (labels[neighbours] == labels.unsqueeze(1)).float().mean()


def _farthest(z, labels, k):
    neighbours = torch.cdist(z, z).topk(k, dim=1).indices
    return (labels[neighbours] == labels.unsqueeze(1)).float().mean()


def _farthest_after_excluding_self(z, labels, k):
    dist = torch.cdist(z, z)
    dist.fill_diagonal_(float("inf"))
    neighbours = dist.topk(k, dim=1).indices
    return (labels[neighbours] == labels.unsqueeze(1)).float().mean()


def _dropped_first_of_k(z, labels, k):
    neighbours = torch.cdist(z, z).topk(k, dim=1, largest=False).indices[:, 1:]  # only k - 1 left
    return (labels[neighbours] == labels.unsqueeze(1)).float().mean()


def _first_of_k_plus_1_dropped(z, labels, k):
    neighbours = torch.cdist(z, z).topk(k + 1, dim=1, largest=False).indices[:, 1:]  # assumes the node comes first
    return (labels[neighbours] == labels.unsqueeze(1)).float().mean()


def _averaged_over_classes(z, labels, k):
    dist = torch.cdist(z, z)
    dist.fill_diagonal_(float("inf"))
    neighbours = dist.topk(k, dim=1, largest=False).indices
    per_node = (labels[neighbours] == labels.unsqueeze(1)).float().mean(dim=1)  # (N,)
    return torch.stack([per_node[labels == c].mean() for c in labels.unique()]).mean()


def _counts_not_shares(z, labels, k):
    dist = torch.cdist(z, z)
    dist.fill_diagonal_(float("inf"))
    neighbours = dist.topk(k, dim=1, largest=False).indices
    return (labels[neighbours] == labels.unsqueeze(1)).float().sum(dim=1).mean()


register(Check(
    id="9.1",
    title="k-NN label agreement",
    reference=agreement_tensor,
    cases=_agreement_cases,
    normalise=as_float64,
    rtol=1e-4,
    atol=5e-4,
    hint="Take all pairwise distances, torch.cdist(z, z) (N, N); set the diagonal to infinity so that "
         "no node picks itself; the k smallest distances of each row, .topk(k, dim=1, largest=False)"
         ".indices (N, k), are its neighbours. Compare their labels with the node's own, "
         "labels[neighbours] == labels.unsqueeze(1), and average over all N * k entries.",
    mistakes={
        "Each node counts itself as its own nearest neighbour (its distance to itself is 0), which "
        "inflates the agreement. Set the diagonal of the distance matrix to infinity before topk: "
        "dist.fill_diagonal_(float('inf')).": _self_counted,
        "topk returns the LARGEST values by default: you took each node's k farthest nodes. Pass "
        "largest=False.": _farthest,
        "topk returns the LARGEST values by default, so after the diagonal was set to infinity each "
        "node picked itself and then its farthest nodes. Pass largest=False.":
            _farthest_after_excluding_self,
        "You dropped the first of the k nearest nodes (the node itself) but then have only k - 1 "
        "neighbours. Exclude the node first (diagonal set to infinity), then take k.": _dropped_first_of_k,
        "You took the k + 1 nearest nodes and dropped the first, assuming it is the node itself: when "
        "another node sits at the same point (distance 0 too) it may come first instead, and the node "
        "stays among its own neighbours. Exclude the node by its index, dist.fill_diagonal_(float('inf')), "
        "then take k.": _first_of_k_plus_1_dropped,
        "You averaged per class and then over the classes: every class then weighs the same, however "
        "many nodes it has. Average over all nodes (all N * k neighbour slots) instead.":
            _averaged_over_classes,
        "That is the mean NUMBER of agreeing neighbours (between 0 and k): divide by k, i.e. take the "
        "mean over the neighbours too, to get a share between 0 and 1.": _counts_not_shares,
    },
))


# --- 9.2 silhouette values -----------------------------------------------------------------------

def silhouette_tensor(z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Silhouette (N,) of every node: ``(b - a) / max(a, b)`` (every class has at least 2 nodes)."""
    return torch.from_numpy(embeddings.silhouette_values(z, labels)).to(z.dtype)  # (N,)


# Toy: seven nodes on a line, three classes, not sorted by class.
#   node:   0   1   2   3   4   5   6
#   x:      0   5   2  20   7   6  21
#   class:  0   1   0   2   1   0   2
# a = mean distance to the rest of the own class, b = mean distance to the nearest other class:
#   node 0: a = (2 + 6) / 2 = 4,   b = (5 + 7) / 2 = 6 (class 1)      s = 2/6  =  1/3
#   node 1: a = 2,                 b = (5 + 3 + 1) / 3 = 3 (class 0)  s = 1/3
#   node 2: a = (2 + 4) / 2 = 3,   b = (3 + 5) / 2 = 4                s = 1/4
#   node 3: a = 1,                 b = (15 + 13) / 2 = 14 (class 1)   s = 13/14
#   node 4: a = 2,                 b = (7 + 5 + 1) / 3 = 13/3         s = 7/13
#   node 5: a = (6 + 4) / 2 = 5,   b = (1 + 1) / 2 = 1 (class 1)      s = (1 - 5) / 5 = -0.8
#   node 6: a = 1,                 b = (16 + 14) / 2 = 15             s = 14/15
SIL_TOY_Z = torch.tensor([[0.0], [5.0], [2.0], [20.0], [7.0], [6.0], [21.0]])  # (N, 1)
SIL_TOY_LABELS = torch.tensor([0, 1, 0, 2, 1, 0, 2])  # (N,)
SIL_TOY_ANSWER = torch.tensor([1 / 3, 1 / 3, 1 / 4, 13 / 14, 7 / 13, -0.8, 14 / 15])  # (N,)


def _silhouette_cases() -> list[Case]:
    cora = load_cora()
    z, labels = clustered_points(24, 3, 4, 0.9, seed=92)
    return [Case("toy: 7 nodes on a line, 3 classes (one node sits among another class: -0.8)",
                 (SIL_TOY_Z, SIL_TOY_LABELS)),
            Case("random points (24 nodes in 3-D, 4 overlapping classes)", (z, labels)),
            Case("an embedding of Cora (2708 nodes, 16-D)", (cora_embedding(), cora.y))]


def _parts(z, labels):
    """Distances (N, N), one-hot labels (N, C), class sizes (C,) and row ids (N,) for the mistakes."""
    onehot = F.one_hot(labels, int(labels.max()) + 1).to(z.dtype)
    return torch.cdist(z, z), onehot, onehot.sum(dim=0), torch.arange(len(labels))


def _nearest_other(mean_to_class: torch.Tensor, rows: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(N,) the smallest entry of each row of ``mean_to_class`` (N, C), the node's own class left out."""
    own = torch.tensor(float("inf"), dtype=mean_to_class.dtype)
    return mean_to_class.index_put((rows, labels), own).min(dim=1).values


def _self_in_own_class(z, labels):
    dist, onehot, sizes, rows = _parts(z, labels)
    mean_to_class = dist @ onehot / sizes
    a = mean_to_class[rows, labels]  # divided by n_c: the node's own 0 counted
    b = _nearest_other(mean_to_class, rows, labels)
    return (b - a) / torch.maximum(a, b)


def _b_over_all_other_nodes(z, labels):
    dist, onehot, sizes, rows = _parts(z, labels)
    a = (dist @ onehot)[rows, labels] / (sizes[labels] - 1)
    other = labels.unsqueeze(0) != labels.unsqueeze(1)  # (N, N)
    b = (dist * other).sum(dim=1) / other.sum(dim=1)
    return (b - a) / torch.maximum(a, b)


def _own_class_in_the_min(z, labels):
    dist, onehot, sizes, rows = _parts(z, labels)
    mean_to_class = dist @ onehot / sizes
    a = mean_to_class[rows, labels] * sizes[labels] / (sizes[labels] - 1)
    b = mean_to_class.min(dim=1).values
    return (b - a) / torch.maximum(a, b)


def _farthest_other_class(z, labels):
    dist, onehot, sizes, rows = _parts(z, labels)
    mean_to_class = dist @ onehot / sizes
    a = mean_to_class[rows, labels] * sizes[labels] / (sizes[labels] - 1)
    b = mean_to_class.index_put((rows, labels), torch.tensor(-float("inf"), dtype=z.dtype)).max(dim=1).values
    return (b - a) / torch.maximum(a, b)


def _divided_by_b(z, labels):
    dist, onehot, sizes, rows = _parts(z, labels)
    mean_to_class = dist @ onehot / sizes
    a = mean_to_class[rows, labels] * sizes[labels] / (sizes[labels] - 1)
    b = _nearest_other(mean_to_class, rows, labels)
    return (b - a) / b


def _a_minus_b(z, labels):
    return -silhouette_tensor(z, labels)


def _squared_distances(z, labels):
    dist, onehot, sizes, rows = _parts(z, labels)
    sums = dist ** 2 @ onehot  # (N, C) sums of SQUARED distances
    a = sums[rows, labels] / (sizes[labels] - 1)
    b = _nearest_other(sums / sizes, rows, labels)
    return (b - a) / torch.maximum(a, b)


register(Check(
    id="9.2",
    title="silhouette values",
    reference=silhouette_tensor,
    cases=_silhouette_cases,
    normalise=as_float64,
    rtol=1e-4,
    atol=1e-4,
    hint="With dist = torch.cdist(z, z) (N, N): a_i is the mean distance from i to the OTHER nodes of "
         "its class (sum over the class, divided by its size - 1), b_i the smallest, over the other "
         "classes, of the mean distance from i to that class's nodes; s_i = (b_i - a_i) / max(a_i, "
         "b_i). One-hot labels (N, C) make the per-class sums one matmul: dist @ onehot.",
    mistakes={
        "Your a_i divides by the class size n_c, so the node's distance 0 to itself is part of the "
        "mean: divide the sum over its class by n_c - 1 (the OTHER nodes of the class).": _self_in_own_class,
        "Your b_i is the mean distance to ALL nodes of other classes: take the mean distance to each "
        "other class separately, then the smallest of those (the nearest other class).":
            _b_over_all_other_nodes,
        "Your b_i also considers the node's own class: the minimum must run over the OTHER classes only "
        "(set the own class's entry to infinity first).": _own_class_in_the_min,
        "Your b_i is the FARTHEST other class: b_i is the smallest mean distance over the other "
        "classes.": _farthest_other_class,
        "You divided by b_i: divide by max(a_i, b_i), so that the value stays between -1 and 1 when "
        "a node is closer to another class (a_i > b_i).": _divided_by_b,
        "Your sign is flipped: s_i = (b_i - a_i) / max(a_i, b_i) is positive when the node is closer "
        "to its own class (a_i < b_i).": _a_minus_b,
        "You averaged SQUARED distances (** 2, or the sum of squared differences without the square "
        "root): the silhouette averages Euclidean distances, and squaring changes every mean (for the "
        "nearest neighbours of 9.1 it changed nothing; here it does).": _squared_distances,
    },
))


# --- 9.3 principal components ----------------------------------------------------------------------

def pca_tensor(z: torch.Tensor, k: int = 2) -> torch.Tensor:
    """Scores (N, k): the centred rows on the top ``k`` principal directions, each turned so that
    its entry of largest magnitude is positive."""
    return torch.from_numpy(embeddings.pca(z, k))  # (N, k) float64


# Toy, k = 2: six points in 3-D around the mean (1, 2, 3), each off it along one axis:
#   centred:  (0, 3, 0) (0, -3, 0) (2, 0, 0) (-2, 0, 0) (0, 0, 1) (0, 0, -1)
# The sums of squares along the axes are 8 (x), 18 (y) and 2 (z), so the principal directions are
# y, then x, then z (singular values sqrt(18), sqrt(8), sqrt(2)), each with its one non-zero
# entry +1. Scores: (3, 0) (-3, 0) (0, 2) (0, -2) (0, 0) (0, 0). Without centring the mean shows
# up in every score; the smallest components first give z and x; scores divided by the singular
# values (U) give (0.71, 0) ... instead of (3, 0).
PCA_TOY_Z = torch.tensor([[1.0, 5.0, 3.0], [1.0, -1.0, 3.0], [3.0, 2.0, 3.0], [-1.0, 2.0, 3.0],
                          [1.0, 2.0, 4.0], [1.0, 2.0, 2.0]])  # (N, 3)
PCA_TOY_ANSWER = torch.tensor([[3.0, 0.0], [-3.0, 0.0], [0.0, 2.0], [0.0, -2.0], [0.0, 0.0], [0.0, 0.0]])  # (N, 2)


def spread_points(n: int, dims: int, scales: list[float], offset: float, seed: int) -> torch.Tensor:
    """``n`` seeded points (n, dims), spread ``scales`` (descending) along random orthogonal
    directions, around a random mean of size about ``offset``.

    The seeds used below give singular values at least 1.4 times apart up to the (k + 1)-th, so
    every exact method finds the same directions, and directions whose largest entry beats the
    next by at least 0.05, so the sign rule is not left to rounding. In some of them the entry
    of largest magnitude and the sum of the entries, or the first entry, have different signs.
    """
    generator = seeded_generator(seed)
    rotation, _ = torch.linalg.qr(torch.randn(dims, dims, generator=generator))  # (dims, dims) orthogonal
    z = torch.randn(n, dims, generator=generator) * torch.tensor(scales) @ rotation.T  # (n, dims)
    return z + offset * torch.randn(dims, generator=generator)


def _pca_cases() -> list[Case]:
    return [Case("toy: 6 points in 3-D off their mean along the axes, k = 2", (PCA_TOY_Z, 2)),
            Case("random points (60 in 5-D, far from the origin), k = 3",
                 (spread_points(60, 5, [5.0, 3.0, 2.0, 1.0, 0.5], 4.0, seed=98), 3)),
            Case("random points (40 in 4-D), k = 1", (spread_points(40, 4, [3.0, 1.5, 1.0, 0.5], 5.0, seed=94), 1)),
            Case("fewer points than features (8 in 12-D), k = 2",
                 (spread_points(8, 12, [4.0, 2.5, 1.5, 1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05], 3.0,
                                seed=97), 2)),
            Case("an embedding of Cora (2708 nodes, 16-D), k = 2", (cora_embedding(), 2))]


def _svd_parts(z):
    """The centred rows (N, D) and their SVD, for the mistakes."""
    centred = z - z.mean(dim=0)
    return (centred, *torch.linalg.svd(centred, full_matrices=False))


def _signed(directions):
    """``directions`` (D, k) turned so that each column's entry of largest magnitude is positive."""
    largest = directions.abs().argmax(dim=0)  # (k,)
    return directions * torch.sign(directions[largest, torch.arange(directions.shape[1])])


def _not_centred(z, k=2):
    _, _, vh = torch.linalg.svd(z, full_matrices=False)
    return z @ _signed(vh[:k].T)


def _smallest_components(z, k=2):
    centred = z - z.mean(dim=0)
    _, vectors = torch.linalg.eigh(centred.T @ centred)  # eigenvalues in ASCENDING order
    return centred @ _signed(vectors[:, :k])


def _columns_of_vh(z, k=2):
    centred = z - z.mean(dim=0)
    _, _, vh = torch.linalg.svd(centred)  # full_matrices=True: Vh is (D, D)
    return centred @ _signed(vh[:, :k])  # the directions are the ROWS of Vh


def _unscaled(z, k=2):
    centred, u, _, vh = _svd_parts(z)
    return u[:, :k] * torch.sign(vh[:k].gather(1, vh[:k].abs().argmax(dim=1, keepdim=True)).T)


def _no_sign_rule(z, k=2):
    centred, _, _, vh = _svd_parts(z)
    return centred @ vh[:k].T


def _sign_from_the_scores(z, k=2):
    centred, u, s, vh = _svd_parts(z)
    scores = u[:, :k] * s[:k]  # (N, k)
    return scores * torch.sign(scores[scores.abs().argmax(dim=0), torch.arange(k)])


def _standardised(z, k=2):
    standard = (z - z.mean(dim=0)) / z.std(dim=0)
    _, _, vh = torch.linalg.svd(standard, full_matrices=False)
    return standard @ _signed(vh[:k].T)


def _two_components_always(z, k=2):
    centred, _, _, vh = _svd_parts(z)
    return centred @ _signed(vh[:2].T)


register(Check(
    id="9.3",
    title="principal components",
    reference=pca_tensor,
    cases=_pca_cases,
    normalise=as_float64,
    rtol=1e-4,
    atol=1e-4,
    hint="Centre the rows, centred = z - z.mean(dim=0); U, S, Vh = torch.linalg.svd(centred, "
         "full_matrices=False); the principal directions are the first k ROWS of Vh, so "
         "V = Vh[:k].T (D, k). Turn each column of V so that its entry of largest magnitude is "
         "positive, then return centred @ V (N, k).",
    mistakes={
        "The rows were not centred: PCA looks at how the points vary around their mean, so "
        "subtract z.mean(dim=0) first (the toy's mean (1, 2, 3) shows up in your scores).": _not_centred,
        "You took the components of SMALLEST variance: torch.linalg.eigh returns the eigenvalues in "
        "ascending order, so the top k directions are its LAST k columns, largest first "
        "(vectors.flip(1)[:, :k]).": _smallest_components,
        "You took the first k COLUMNS of Vh: torch.linalg.svd returns Vh = V^T, whose ROWS are the "
        "directions. Use Vh[:k].T (D, k).": _columns_of_vh,
        "Your scores are U[:, :k] (each column of length 1), the scores divided by the singular "
        "values. The exercise asks for the projections themselves, centred @ V[:, :k] = U[:, :k] * "
        "S[:k].": _unscaled,
        "The directions are right up to their signs, which are not fixed: turn each direction "
        "(a column of V) so that its entry of largest magnitude is positive.": _no_sign_rule,
        "Your signs make the largest score of each component positive; the convention here is "
        "about the direction: the entry of largest magnitude in each column of V (D, k) is "
        "positive.": _sign_from_the_scores,
        "You standardised the features (divided by their standard deviations): that is PCA of "
        "the correlation matrix, and changes the directions. Only centre them.": _standardised,
        "Your answer has 2 columns whatever k is: return k components.": _two_components_always,
    },
))
