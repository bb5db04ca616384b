"""Mutation suites for chapter 09, seeing embeddings: 9.1 k-NN label agreement, 9.2 silhouette values.

For 9.1 squared distances pick the same neighbours (an alternative, not a mutant); for 9.2 they
change every mean distance (a mutant).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from mutants import add_mutant, alternative, mutant


# --- 9.1 k-NN label agreement ------------------------------------------------------------------------

def _share(labels, neighbours):
    return (labels[neighbours] == labels.unsqueeze(1)).float().mean()


def _without_self(dist):
    dist = dist.clone()
    dist.fill_diagonal_(float("inf"))
    return dist


def _agreement_with(distance, *, k_change=0, largest=False):
    def wrong(z, labels, k):
        neighbours = _without_self(distance(z)).topk(k + k_change, dim=1, largest=largest).indices
        return _share(labels, neighbours)
    return wrong


_DISTANCES = {
    "manhattan_distance": lambda z: torch.cdist(z, z, p=1),
    "chebyshev_distance": lambda z: torch.cdist(z, z, p=float("inf")),
    "cosine_distance": lambda z: 1 - F.normalize(z, dim=1) @ F.normalize(z, dim=1).T,
    "negative_dot_product": lambda z: -(z @ z.T),
    "distance_of_the_normalised_rows": lambda z: torch.cdist(F.normalize(z, dim=1), F.normalize(z, dim=1)),
    "distance_of_the_standardised_columns": lambda z: torch.cdist(*2 * ((z - z.mean(0)) / z.std(0),)),
    "first_coordinate_only": lambda z: torch.cdist(z[:, :1], z[:, :1]),
}
for _name, _distance in _DISTANCES.items():
    add_mutant("9.1", "distance", _name, _agreement_with(_distance))

for _change in (-1, 1, 2):
    add_mutant("9.1", "k off by one", f"k_plus_{_change}" if _change > 0 else f"k_minus_{-_change}",
              _agreement_with(lambda z: torch.cdist(z, z), k_change=_change))


@mutant("9.1", "self")
def self_counted_among_the_k(z, labels, k):
    return _share(labels, torch.cdist(z, z).topk(k, dim=1, largest=False).indices)


@mutant("9.1", "self")
def first_of_k_plus_1_dropped(z, labels, k):
    return _share(labels, torch.cdist(z, z).topk(k + 1, dim=1, largest=False).indices[:, 1:])


@mutant("9.1", "self")
def argsort_columns_1_to_k(z, labels, k):
    return _share(labels, torch.cdist(z, z).argsort(dim=1)[:, 1:k + 1])


@mutant("9.1", "self")
def zero_distances_excluded(z, labels, k):
    dist = torch.cdist(z, z, compute_mode="donot_use_mm_for_euclid_dist")
    dist[dist == 0] = float("inf")  # the node itself, but also every exact duplicate
    return _share(labels, dist.topk(k, dim=1, largest=False).indices)


@mutant("9.1", "self")
def first_of_k_dropped(z, labels, k):
    return _share(labels, torch.cdist(z, z).topk(k, dim=1, largest=False).indices[:, 1:])


@mutant("9.1", "farthest")
def farthest_k(z, labels, k):
    return _share(labels, _without_self(torch.cdist(z, z)).masked_fill(torch.eye(len(z), dtype=torch.bool), -1)
                  .topk(k, dim=1).indices)


@mutant("9.1", "farthest")
def topk_default_largest(z, labels, k):
    return _share(labels, _without_self(torch.cdist(z, z)).topk(k, dim=1).indices)


@mutant("9.1", "averaging")
def averaged_per_class_first(z, labels, k):
    neighbours = _without_self(torch.cdist(z, z)).topk(k, dim=1, largest=False).indices
    per_node = (labels[neighbours] == labels.unsqueeze(1)).float().mean(dim=1)
    return torch.stack([per_node[labels == c].mean() for c in labels.unique()]).mean()


@mutant("9.1", "averaging")
def weighted_by_inverse_class_size(z, labels, k):
    neighbours = _without_self(torch.cdist(z, z)).topk(k, dim=1, largest=False).indices
    per_node = (labels[neighbours] == labels.unsqueeze(1)).float().mean(dim=1)
    weight = 1.0 / torch.bincount(labels)[labels].float()
    return (per_node * weight).sum() / weight.sum()


@mutant("9.1", "averaging")
def mean_count_not_share(z, labels, k):
    neighbours = _without_self(torch.cdist(z, z)).topk(k, dim=1, largest=False).indices
    return (labels[neighbours] == labels.unsqueeze(1)).float().sum(dim=1).mean()


@mutant("9.1", "averaging")
def majority_vote_accuracy(z, labels, k):
    neighbours = _without_self(torch.cdist(z, z)).topk(k, dim=1, largest=False).indices
    votes = F.one_hot(labels[neighbours], int(labels.max()) + 1).sum(dim=1)  # (N, C)
    return (votes.argmax(dim=1) == labels).float().mean()


@mutant("9.1", "averaging")
def any_neighbour_agrees(z, labels, k):
    neighbours = _without_self(torch.cdist(z, z)).topk(k, dim=1, largest=False).indices
    return (labels[neighbours] == labels.unsqueeze(1)).any(dim=1).float().mean()


@mutant("9.1", "averaging")
def nearest_neighbour_only(z, labels, k):
    neighbours = _without_self(torch.cdist(z, z)).topk(1, dim=1, largest=False).indices
    return _share(labels, neighbours)


@mutant("9.1", "averaging")
def weighted_by_inverse_distance(z, labels, k):
    dist = _without_self(torch.cdist(z, z))
    nearest = dist.topk(k, dim=1, largest=False)
    weight = 1.0 / nearest.values.clamp(min=1e-6)
    agree = (labels[nearest.indices] == labels.unsqueeze(1)).float()
    return ((agree * weight).sum(dim=1) / weight.sum(dim=1)).mean()


@mutant("9.1", "averaging")
def labels_compared_with_the_first_neighbour(z, labels, k):
    neighbours = _without_self(torch.cdist(z, z)).topk(k, dim=1, largest=False).indices
    return (labels[neighbours] == labels[neighbours[:, :1]]).float().mean()


@mutant("9.1", "type")
def rounded_to_two_decimals(z, labels, k):
    neighbours = _without_self(torch.cdist(z, z)).topk(k, dim=1, largest=False).indices
    return torch.round(_share(labels, neighbours) * 100) / 100


@alternative("9.1")
def squared_distances_and_eye_mask(z, labels, k):
    diff = z.unsqueeze(1) - z.unsqueeze(0)  # (N, N, D): the exact squared distances, no cdist rounding
    squared = (diff * diff).sum(dim=-1) if len(z) <= 500 else torch.cdist(z.double(), z.double()) ** 2
    squared = squared.masked_fill(torch.eye(len(z), dtype=torch.bool), float("inf"))
    neighbours = squared.topk(k, dim=1, largest=False, sorted=False).indices
    return (labels[neighbours] == labels[:, None]).float().mean()


@alternative("9.1")
def scikit_learn_nearest_neighbours(z, labels, k):
    from sklearn.neighbors import NearestNeighbors
    points = z.double().numpy()
    neighbours = NearestNeighbors(n_neighbors=k).fit(points).kneighbors(return_distance=False)  # no X: self left out
    y = labels.numpy()
    return float((y[neighbours] == y[:, None]).mean())


@alternative("9.1")
def python_loop_over_nodes_in_float64(z, labels, k):
    points = z.double()
    shares = []
    for i in range(len(points)):
        dist = (points - points[i]).norm(dim=1)
        dist[i] = float("inf")
        nearest = dist.argsort(stable=True)[:k]
        shares.append((labels[nearest] == labels[i]).double().mean())
    return torch.stack(shares).mean()


# --- 9.2 silhouette values -----------------------------------------------------------------------------

def _silhouette(dist, labels, *, own_divisor=-1, b_of=None, a_of=None, divide="max", sign=1):
    """Silhouette from a distance matrix (N, N), with parts replaceable by wrong ones."""
    onehot = F.one_hot(labels, int(labels.max()) + 1).to(dist.dtype)
    sizes, rows = onehot.sum(dim=0), torch.arange(len(labels))
    sums = dist @ onehot  # (N, C)
    a = sums[rows, labels] / (sizes[labels] + own_divisor) if a_of is None else a_of(dist, labels)
    if b_of is None:
        mean_to_class = (sums / sizes).index_put((rows, labels), torch.tensor(float("inf"), dtype=dist.dtype))
        b = mean_to_class.min(dim=1).values
    else:
        b = b_of(dist, labels, sums, sizes)
    denominator = {"max": torch.maximum(a, b), "min": torch.minimum(a, b), "b": b, "a": a,
                   "global max": torch.maximum(a, b).max(), "sum": a + b}[divide]
    return sign * (b - a) / denominator


def _sil(distance=lambda z: torch.cdist(z, z), **changes):
    return lambda z, labels: _silhouette(distance(z), labels, **changes)


def _other_classes(labels, sums, fill):
    rows = torch.arange(len(labels))
    return sums.index_put((rows, labels), torch.tensor(fill, dtype=sums.dtype))


_B_VARIANTS = {
    "b_over_all_other_nodes": lambda d, y, s, n: (
        (d * (y.unsqueeze(0) != y.unsqueeze(1))).sum(1) / (y.unsqueeze(0) != y.unsqueeze(1)).sum(1)),
    "b_own_class_included_in_the_min": lambda d, y, s, n: (s / n).min(dim=1).values,
    "b_farthest_other_class": lambda d, y, s, n: _other_classes(y, s / n, -float("inf")).max(dim=1).values,
    "b_sum_not_mean": lambda d, y, s, n: _other_classes(y, s, float("inf")).min(dim=1).values,
    "b_divided_by_size_minus_1": lambda d, y, s, n: _other_classes(y, s / (n - 1), float("inf")).min(dim=1).values,
    "b_nearest_other_node": lambda d, y, s, n: (
        d.masked_fill(y.unsqueeze(0) == y.unsqueeze(1), float("inf")).min(1).values),
    "b_mean_over_the_other_classes": lambda d, y, s, n: (
        (s / n).sum(1) - (s / n)[torch.arange(len(y)), y]) / (len(n) - 1),
}
for _name, _b in _B_VARIANTS.items():
    add_mutant("9.2", "b", _name, _sil(b_of=_b))


_A_VARIANTS = {
    "a_divided_by_the_class_size": dict(own_divisor=0),
    "a_divided_by_size_minus_2": dict(own_divisor=-2),
    "a_nearest_node_of_the_own_class": dict(a_of=lambda d, y: d.masked_fill(
        (y.unsqueeze(0) != y.unsqueeze(1)) | torch.eye(len(y), dtype=torch.bool), float("inf")).min(1).values),
    "a_farthest_node_of_the_own_class": dict(a_of=lambda d, y: d.masked_fill(
        y.unsqueeze(0) != y.unsqueeze(1), -float("inf")).max(1).values),
}
for _name, _changes in _A_VARIANTS.items():
    add_mutant("9.2", "a", _name, _sil(**_changes))

for _divide in ("min", "b", "a", "global max", "sum"):
    add_mutant("9.2", "formula", f"divided_by_{_divide.replace(' ', '_')}", _sil(divide=_divide))
add_mutant("9.2", "formula", "a_minus_b", _sil(sign=-1))

_METRICS = {
    "squared_distances": lambda z: torch.cdist(z, z) ** 2,
    "manhattan_distances": lambda z: torch.cdist(z, z, p=1),
    "cosine_distances": lambda z: (1 - F.normalize(z, dim=1) @ F.normalize(z, dim=1).T).clamp(min=0),
    "distances_of_the_normalised_rows": lambda z: torch.cdist(F.normalize(z, dim=1), F.normalize(z, dim=1)),
}
for _name, _distance in _METRICS.items():
    add_mutant("9.2", "distance", _name, _sil(distance=_distance))


@mutant("9.2", "centroids")
def simplified_silhouette_with_centroids(z, labels):
    onehot = F.one_hot(labels, int(labels.max()) + 1).to(z.dtype)
    centroids = (onehot.T @ z) / onehot.sum(dim=0).unsqueeze(1)  # (C, D)
    to_centroid = torch.cdist(z, centroids)  # (N, C)
    rows = torch.arange(len(labels))
    a = to_centroid[rows, labels]
    b = to_centroid.index_put((rows, labels), torch.tensor(float("inf"), dtype=z.dtype)).min(dim=1).values
    return (b - a) / torch.maximum(a, b)


@mutant("9.2", "b")
def b_of_the_class_with_the_nearest_centroid(z, labels):
    # "the nearest other class" read as the class whose centroid is nearest, then the mean distance to it
    onehot = F.one_hot(labels, int(labels.max()) + 1).to(z.dtype)
    sizes, rows = onehot.sum(dim=0), torch.arange(len(labels))
    centroids = (onehot.T @ z) / sizes.unsqueeze(1)  # (C, D)
    nearest = _other_classes(labels, torch.cdist(z, centroids), float("inf")).argmin(dim=1)  # (N,)
    mean_to_class = torch.cdist(z, z) @ onehot / sizes  # (N, C)
    return _silhouette(torch.cdist(z, z), labels, b_of=lambda d, y, s, n: mean_to_class[rows, nearest])


@mutant("9.2", "sorted order")
def classes_assumed_in_contiguous_blocks(z, labels):
    sizes = torch.bincount(labels)
    ends = sizes.cumsum(0)
    dist = torch.cdist(z, z)
    # the nodes of class c assumed to be the c-th block of rows: columns start_c .. end_c
    sums = torch.stack([dist[:, end - size:end].sum(dim=1) for size, end in zip(sizes.tolist(), ends.tolist())], dim=1)
    return _silhouette(dist, labels, b_of=lambda d, y, s, n: _other_classes(y, sums / n, float("inf")).min(1).values,
                       a_of=lambda d, y: sums[torch.arange(len(y)), y] / (sizes[y] - 1))


@mutant("9.2", "dtype")
def mean_silhouette_broadcast(z, labels):
    values = _silhouette(torch.cdist(z, z), labels)
    return values.mean().expand_as(values).clone()


@alternative("9.2")
def scikit_learn_silhouette_samples(z, labels):
    from sklearn.metrics import silhouette_samples
    return torch.from_numpy(silhouette_samples(z.numpy(), labels.numpy()))


@alternative("9.2")
def masks_per_class_in_float64(z, labels):
    points = z.double()
    dist = torch.cdist(points, points, compute_mode="donot_use_mm_for_euclid_dist")
    classes = labels.unique()
    mean_to = torch.stack([dist[:, labels == c].mean(dim=1) for c in classes], dim=1)  # (N, C), self included
    sizes = torch.stack([(labels == c).sum() for c in classes]).double()
    own = (labels.unsqueeze(1) == classes.unsqueeze(0))  # (N, C)
    a = (mean_to * own).sum(dim=1) * sizes[labels] / (sizes[labels] - 1)
    b = mean_to.masked_fill(own, float("inf")).min(dim=1).values
    return torch.where(a < b, 1 - a / b, b / a - 1)


@alternative("9.2")
def numpy_loop_over_nodes(z, labels):
    points, y = z.double().numpy(), labels.numpy()
    out = np.empty(len(y))
    for i in range(len(y)):
        d = np.sqrt(((points - points[i]) ** 2).sum(axis=1))
        same = y == y[i]
        a = d[same].sum() / (same.sum() - 1)
        b = min(d[y == c].mean() for c in np.unique(y) if c != y[i])
        out[i] = (b - a) / max(a, b)
    return torch.from_numpy(out).to(z.dtype)
