"""Mutation suites for chapter 09, seeing embeddings: 9.1 k-NN label agreement, 9.2 silhouette values,
9.3 principal components.

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


# --- 9.3 principal components ------------------------------------------------------------------------

def _centred(z):
    return z - z.mean(dim=0)


def _sign_by_largest_entry(directions):
    """``directions`` (D, k) with each column's entry of largest magnitude made positive."""
    largest = directions.abs().argmax(dim=0)
    return directions * torch.sign(directions[largest, torch.arange(directions.shape[1])])


def _top_directions(x, k):
    """The top ``k`` right singular vectors of ``x`` (D, k), signed by the rule."""
    return _sign_by_largest_entry(torch.linalg.svd(x, full_matrices=False)[2][:k].T)


def _right(z, k):
    centred = _centred(z)
    return centred, _top_directions(centred, k)


# centring
@mutant("9.3", "centring")
def not_centred(z, k=2):
    return z @ _top_directions(z, k)


@mutant("9.3", "centring")
def directions_of_the_centred_rows_applied_to_the_raw_rows(z, k=2):
    _, directions = _right(z, k)
    return z @ directions


@mutant("9.3", "centring")
def each_node_centred_on_its_own_mean(z, k=2):
    centred = z - z.mean(dim=1, keepdim=True)
    return centred @ _top_directions(centred, k)


@mutant("9.3", "centring")
def centred_by_the_mean_of_all_entries(z, k=2):
    centred = z - z.mean()  # one number for every feature
    return centred @ _top_directions(centred, k)


@mutant("9.3", "centring")
def covariance_without_centring_scores_centred(z, k=2):
    _, vectors = torch.linalg.eigh(z.T @ z)  # second moments, not the covariance
    return _centred(z) @ _sign_by_largest_entry(vectors.flip(1)[:, :k])


# which components
@mutant("9.3", "order")
def smallest_components_from_eigh(z, k=2):
    centred = _centred(z)
    return centred @ _sign_by_largest_entry(torch.linalg.eigh(centred.T @ centred)[1][:, :k])


@mutant("9.3", "order")
def top_k_in_ascending_order(z, k=2):
    centred = _centred(z)
    return centred @ _sign_by_largest_entry(torch.linalg.eigh(centred.T @ centred)[1][:, -k:])


@mutant("9.3", "order")
def first_component_skipped(z, k=2):
    centred = _centred(z)
    vh = torch.linalg.svd(centred)[2]  # (D, D)
    return centred @ _sign_by_largest_entry(vh[1:k + 1].T)


@mutant("9.3", "order")
def largest_variance_features_instead_of_directions(z, k=2):
    centred = _centred(z)
    top = centred.var(dim=0).argsort(descending=True)[:k]
    return centred[:, top]


# rows and columns
@mutant("9.3", "axes")
def first_k_columns_of_vh(z, k=2):
    centred = _centred(z)
    return centred @ _sign_by_largest_entry(torch.linalg.svd(centred)[2][:, :k])


@mutant("9.3", "axes")
def eigenvectors_of_the_node_gram_matrix(z, k=2):
    centred = _centred(z)
    _, vectors = torch.linalg.eigh(centred @ centred.T)  # (N, N): components over the nodes
    return _sign_by_largest_entry(vectors.flip(1)[:, :k])


@mutant("9.3", "axes")
def torch_svd_v_read_as_vh(z, k=2):
    centred = _centred(z)
    v = torch.svd(centred, some=False).V  # the old torch.svd returns V itself (D, D): its COLUMNS are the directions
    return centred @ _sign_by_largest_entry(v[:k].T)


@mutant("9.3", "approximate")
def pca_lowrank_with_its_defaults(z, k=2):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        _, _, v = torch.pca_lowrank(z, center=True)  # q = min(6, N, D), 2 iterations: randomised
    return _centred(z) @ _sign_by_largest_entry(v[:, :k])


# scale
@mutant("9.3", "scale")
def u_without_the_singular_values(z, k=2):
    centred = _centred(z)
    u, s, vh = torch.linalg.svd(centred, full_matrices=False)
    signs = torch.sign(vh[:k].gather(1, vh[:k].abs().argmax(dim=1, keepdim=True)).T)  # (1, k)
    return u[:, :k] * signs


@mutant("9.3", "scale")
def whitened_to_unit_variance(z, k=2):
    centred, directions = _right(z, k)
    scores = centred @ directions
    return scores / scores.std(dim=0)


@mutant("9.3", "scale")
def scaled_by_the_singular_values_twice(z, k=2):
    centred, directions = _right(z, k)
    s = torch.linalg.svdvals(centred)[:k]
    return centred @ directions * s


@mutant("9.3", "scale")
def divided_by_the_number_of_nodes(z, k=2):
    centred, directions = _right(z, k)
    return centred @ directions / len(z)


@mutant("9.3", "scale")
def directions_weighted_by_their_eigenvalues(z, k=2):
    centred, directions = _right(z, k)
    eigenvalues = torch.linalg.svdvals(centred)[:k] ** 2 / (len(z) - 1)
    return centred @ (directions * eigenvalues)


# signs
@mutant("9.3", "sign")
def signs_as_torch_svd_returns_them(z, k=2):
    centred = _centred(z)
    return centred @ torch.linalg.svd(centred, full_matrices=False)[2][:k].T


@mutant("9.3", "sign")
def signs_as_torch_eigh_returns_them(z, k=2):
    centred = _centred(z)
    return centred @ torch.linalg.eigh(centred.T @ centred)[1].flip(1)[:, :k]


@mutant("9.3", "sign")
def largest_score_positive(z, k=2):
    centred, directions = _right(z, k)
    scores = centred @ directions
    return scores * torch.sign(scores[scores.abs().argmax(dim=0), torch.arange(k)])


@mutant("9.3", "sign")
def first_entry_positive(z, k=2):
    centred, directions = _right(z, k)
    return centred @ (directions * torch.sign(directions[0]))


@mutant("9.3", "sign")
def sum_of_the_entries_positive(z, k=2):
    centred, directions = _right(z, k)
    return centred @ (directions * torch.sign(directions.sum(dim=0)))


@mutant("9.3", "sign")
def largest_entry_negative(z, k=2):
    centred, directions = _right(z, k)
    return -(centred @ directions)


@mutant("9.3", "sign")
def first_node_scores_positive(z, k=2):
    centred, directions = _right(z, k)
    scores = centred @ directions
    return scores * torch.sign(scores[0])


@mutant("9.3", "sign")
def sign_from_the_largest_entry_without_abs(z, k=2):
    centred = _centred(z)
    directions = torch.linalg.svd(centred, full_matrices=False)[2][:k].T  # (D, k) as returned
    return centred @ (directions * torch.sign(directions[directions.argmax(dim=0), torch.arange(k)]))


# features rescaled first
@mutant("9.3", "features")
def features_standardised(z, k=2):
    standard = _centred(z) / z.std(dim=0)
    return standard @ _top_directions(standard, k)


@mutant("9.3", "features")
def features_min_max_scaled(z, k=2):
    scaled = (z - z.min(dim=0).values) / (z.max(dim=0).values - z.min(dim=0).values)
    centred = _centred(scaled)
    return centred @ _top_directions(centred, k)


@mutant("9.3", "features")
def rows_normalised_to_length_1(z, k=2):
    centred = _centred(F.normalize(z, dim=1))
    return centred @ _top_directions(centred, k)


# k
@mutant("9.3", "k")
def always_two_components(z, k=2):
    centred, directions = _right(z, 2)
    return centred @ directions


@mutant("9.3", "k")
def one_component_too_many(z, k=2):
    centred, directions = _right(z, min(k + 1, min(z.shape)))
    return centred @ directions


@mutant("9.3", "k")
def one_component_too_few(z, k=2):
    centred, directions = _right(z, k)
    return centred @ directions[:, :k - 1]


@alternative("9.3")
def eigh_of_the_covariance(z, k=2):
    centred = z - z.mean(dim=0)
    _, vectors = torch.linalg.eigh(centred.T @ centred / (len(z) - 1))  # ascending
    directions = vectors.flip(1)[:, :k]  # (D, k) largest first
    largest = directions.abs().argmax(dim=0)
    return centred @ (directions * torch.sign(directions[largest, torch.arange(k)]))


@alternative("9.3")
def numpy_svd_in_float64(z, k=2):
    points = z.double().numpy()
    centred = points - points.mean(axis=0)
    directions = np.linalg.svd(centred, full_matrices=False)[2][:k].T
    directions *= np.sign(directions[np.abs(directions).argmax(axis=0), np.arange(k)])
    return torch.from_numpy(centred @ directions)


@alternative("9.3")
def scikit_learn_pca(z, k=2):
    from sklearn.decomposition import PCA
    return torch.from_numpy(PCA(n_components=k, svd_solver="full").fit_transform(z.double().numpy()))


@alternative("9.3")
def pca_lowrank_with_every_direction(z, k=2):
    u, s, v = torch.pca_lowrank(z, q=min(z.shape), center=True)  # q = min(N, D): exact, not randomised
    directions = v[:, :k]
    largest = directions.abs().argmax(dim=0)
    return (z - z.mean(dim=0)) @ (directions * torch.sign(directions[largest, torch.arange(k)]))


@alternative("9.3")
def full_svd_and_u_times_s(z, k=2):
    centred = z - z.mean(dim=0)
    u, s, vh = torch.linalg.svd(centred)  # full matrices
    signs = torch.sign(vh[torch.arange(k), vh[:k].abs().argmax(dim=1)])  # (k,)
    return u[:, :k] * s[:k] * signs
