"""Scoring what the layers produce: class structure in an embedding, and t-SNE (chapter 09).

A t-SNE picture is persuasive and easy to over-read, so every picture comes with numbers that
can be computed both in the original space of the embedding and in the 2-D picture:

:func:`knn_agreement`
    The share of each node's ``k`` nearest other nodes that carry its label (leave-one-out, all
    nodes as candidates). It measures *local* class purity.
:func:`knn_accuracy`
    A ``k``-nearest-neighbour classifier, by default fitted on the training nodes only and scored
    on the test nodes: do nodes of one class sit together even when they are far apart in the
    graph?
:func:`silhouette`
    scikit-learn's silhouette score: how much closer a node is to its own class than to the
    nearest other class, averaged over the nodes (from -1 to 1).
:func:`embedding_scores`
    The three at once, as a dict.

:func:`pca` projects onto the first principal components: a linear view with no settings, which
keeps the directions of largest variance and never lengthens a distance. :func:`tsne` wraps
scikit-learn's ``TSNE`` with fast, deterministic defaults. The pictures are
:func:`gatkit.viz.plot_embeddings` (colour = class, test nodes outlined, scores written in) and
:func:`gatkit.viz.plot_embedding_panels` (several side by side with one legend).

The k-NN scores and :func:`pca` need torch and NumPy only; :func:`silhouette`,
:func:`embedding_scores` and :func:`tsne` need scikit-learn, which comes with the ``gatkit[plot]``
extra (without it they raise :class:`gatkit.extras.MissingExtraError`, which says how to install
it).

Distances are Euclidean throughout and computed in float64. Inputs may be torch tensors (dense or
sparse) or NumPy arrays; node sets (``index`` arguments) may be index tensors/arrays or boolean
masks of length N. :func:`as_points`, :func:`as_labels` and :func:`as_index` check and convert
them (the pictures use them too).
"""

from __future__ import annotations

import inspect

import numpy as np
import torch

from gatkit.extras import require

__all__ = [
    "as_index",
    "as_labels",
    "as_points",
    "embedding_scores",
    "knn_accuracy",
    "knn_agreement",
    "pca",
    "silhouette",
    "silhouette_values",
    "tsne",
]

_CHUNK = 2048  # query rows per distance block: 2048 x N float64 stays small for graphs like Cora


# --------------------------------------------------------------------------
# Input checking
# --------------------------------------------------------------------------


def as_points(embeddings, name: str = "embeddings") -> np.ndarray:
    """``embeddings`` as a finite float64 array (N, D), N >= 2.

    Accepts a torch tensor (dense or sparse, on any device) or anything NumPy turns into a
    numeric array. ``name`` is the argument's name in error messages.

    Raises
    ------
    ValueError
        For non-numeric input, a shape other than (N >= 2, D >= 1), NaN or infinite values.
    """
    if isinstance(embeddings, torch.Tensor):
        tensor = embeddings.detach().cpu()
        if tensor.layout != torch.strided:
            tensor = tensor.to_dense()
        array = tensor.double().numpy()
    else:
        try:
            array = np.asarray(embeddings, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{name} must be a numeric (N, D) array or tensor: {error}") from None
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D, (N, D) with one row per node, got shape {array.shape}")
    if array.shape[0] < 2 or array.shape[1] < 1:
        raise ValueError(f"{name} needs at least 2 rows and 1 column, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def as_labels(labels, num_nodes: int) -> np.ndarray:
    """``labels`` as an int64 array (N,) of class ids >= 0, one per row of the embeddings.

    Raises
    ------
    ValueError
        For a shape other than ``(num_nodes,)``, non-integer or negative class ids.
    """
    if isinstance(labels, torch.Tensor):
        labels = labels.detach().cpu().numpy()
    array = np.asarray(labels)
    if array.ndim != 1:
        raise ValueError(f"labels must be 1-D (N,), got shape {array.shape}")
    if len(array) != num_nodes:
        raise ValueError(f"labels has {len(array)} entries but the embeddings have {num_nodes} rows")
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"labels must be integer class ids, got dtype {array.dtype}")
    if len(array) and array.min() < 0:
        raise ValueError("labels must be class ids >= 0")
    return array.astype(np.int64)


def as_index(index, num_nodes: int, name: str) -> np.ndarray:
    """A node set (index tensor/array or boolean mask of length N) as int64 ids, in the order given.

    ``name`` is the argument's name in error messages (``"test_index"``).

    Raises
    ------
    ValueError
        For a mask of the wrong length, non-integer ids, an empty set, ids outside
        ``0 .. num_nodes - 1`` or a node listed twice.
    """
    if isinstance(index, torch.Tensor):
        index = index.detach().cpu().numpy()
    array = np.asarray(index)
    if array.dtype == bool:
        if array.shape != (num_nodes,):
            raise ValueError(f"{name} as a boolean mask must have shape ({num_nodes},), got {array.shape}")
        array = np.flatnonzero(array)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must be a 1-D array of node ids or a boolean mask, "
                         f"got {array.dtype} {array.shape}")
    if len(array) == 0:
        raise ValueError(f"{name} is empty")
    if array.min() < 0 or array.max() >= num_nodes:
        raise ValueError(f"{name} has node ids outside 0..{num_nodes - 1}")
    if len(np.unique(array)) != len(array):
        raise ValueError(f"{name} lists a node twice")
    return array.astype(np.int64)


def _check_k(k: int, candidates: int) -> None:
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if k > candidates:
        raise ValueError(f"k = {k} but only {candidates} other nodes can be neighbours")


# --------------------------------------------------------------------------
# Nearest neighbours
# --------------------------------------------------------------------------


def _nearest(points: np.ndarray, queries: np.ndarray, reference: np.ndarray, k: int) -> np.ndarray:
    """Ids (len(queries), k) of each query's ``k`` nearest reference nodes, never itself.

    Ordered by distance; a query that is also a reference node is excluded by its id, not by
    its distance, so duplicate points are handled correctly.
    """
    z = torch.from_numpy(points)  # (N, D) float64
    ref = torch.from_numpy(reference)  # (R,)
    position = torch.full((len(points),), -1, dtype=torch.long)
    position[ref] = torch.arange(len(ref))
    out = []
    for start in range(0, len(queries), _CHUNK):
        q = torch.from_numpy(queries[start:start + _CHUNK])  # (B,)
        dist = torch.cdist(z[q], z[ref])  # (B, R)
        own = position[q]  # (B,) each query's column in the reference, -1 if it is none
        rows = torch.nonzero(own >= 0).squeeze(1)
        dist[rows, own[rows]] = torch.inf  # a node is never its own neighbour
        out.append(ref[dist.topk(k, dim=1, largest=False).indices])  # (B, k)
    return torch.cat(out).numpy()


def knn_agreement(embeddings, labels, *, k: int = 10, index=None) -> float:
    """Mean share of a node's ``k`` nearest other nodes that have its label.

    Parameters
    ----------
    embeddings : torch.Tensor or numpy.ndarray
        (N, D), one row per node.
    labels : torch.Tensor or numpy.ndarray
        (N,) integer class ids.
    k : int
        Neighbours per node (default 10).
    index : array-like, optional
        The nodes to average over (ids or a boolean mask); all nodes by default. Their
        neighbours are always looked for among all N nodes, the node itself excluded.

    Returns
    -------
    float
        Between 0 and 1. Random neighbours would give ``sum_c p_c**2`` on average, where ``p_c``
        is the share of class ``c``.
    """
    points = as_points(embeddings)
    y = as_labels(labels, len(points))
    queries = np.arange(len(points)) if index is None else as_index(index, len(points), "index")
    _check_k(k, len(points) - 1)
    neighbours = _nearest(points, queries, np.arange(len(points)), k)  # (Q, k)
    return float((y[neighbours] == y[queries, None]).mean())


def knn_accuracy(embeddings, labels, *, k: int = 10, train_index=None, test_index=None) -> float:
    """Accuracy of a ``k``-nearest-neighbour majority vote.

    Parameters
    ----------
    embeddings : torch.Tensor or numpy.ndarray
        (N, D), one row per node.
    labels : torch.Tensor or numpy.ndarray
        (N,) integer class ids.
    k : int
        Voters per node (default 10). Ties go to the smallest class id, as in scikit-learn's
        ``KNeighborsClassifier``.
    train_index : array-like, optional
        The labelled nodes that vote (ids or a boolean mask). Without it every node votes for
        every other node (leave-one-out: the node itself never votes).
    test_index : array-like, optional
        The nodes whose predicted class is scored; by default all nodes not in ``train_index``
        (all nodes in leave-one-out mode). Must not overlap ``train_index``.

    Returns
    -------
    float
        The share of test nodes whose majority class among their voters is their label. With the
        training nodes as voters this equals scikit-learn's
        ``KNeighborsClassifier(k).fit(z[train], y[train]).score(z[test], y[test])`` (up to ties
        in distance).
    """
    points = as_points(embeddings)
    n = len(points)
    y = as_labels(labels, n)
    reference = np.arange(n) if train_index is None else as_index(train_index, n, "train_index")
    if test_index is None:
        queries = np.setdiff1d(np.arange(n), reference) if train_index is not None else np.arange(n)
        if len(queries) == 0:
            raise ValueError("train_index covers every node: pass test_index")
    else:
        queries = as_index(test_index, n, "test_index")
        if train_index is not None and np.intersect1d(queries, reference).size:
            raise ValueError("train_index and test_index overlap: a test node would vote for itself")
    _check_k(k, len(reference) - (1 if train_index is None else 0))
    neighbours = _nearest(points, queries, reference, k)  # (Q, k)
    votes = np.zeros((len(queries), int(y.max()) + 1), dtype=np.int64)  # (Q, C)
    np.add.at(votes, (np.arange(len(queries))[:, None], y[neighbours]), 1)
    return float((votes.argmax(axis=1) == y[queries]).mean())


def silhouette_values(embeddings, labels) -> np.ndarray:
    """The silhouette coefficient of every node (scikit-learn's ``silhouette_samples``, Euclidean).

    For node ``i`` with ``a_i`` its mean distance to the other nodes of its class and ``b_i``
    its mean distance to the nodes of the nearest other class, ``s_i = (b_i - a_i) /
    max(a_i, b_i)``; a node alone in its class scores 0.

    Parameters
    ----------
    embeddings : torch.Tensor or numpy.ndarray
        (N, D).
    labels : torch.Tensor or numpy.ndarray
        (N,) integer class ids, at least 2 and at most N - 1 different ones.

    Returns
    -------
    numpy.ndarray
        (N,) float64, each from -1 (closer to another class) to 1.
    """
    silhouette_samples = require("sklearn.metrics", "plot", feature="the silhouette score").silhouette_samples
    points = as_points(embeddings)
    y = as_labels(labels, len(points))
    present = len(np.unique(y))
    if not 2 <= present <= len(y) - 1:
        raise ValueError(f"the silhouette needs 2 to n - 1 classes among the n = {len(y)} nodes scored, "
                         f"got {present}")
    return silhouette_samples(points, y, metric="euclidean")


def silhouette(embeddings, labels, *, index=None) -> float:
    """Mean silhouette coefficient (see :func:`silhouette_values`).

    Parameters
    ----------
    embeddings : torch.Tensor or numpy.ndarray
        (N, D).
    labels : torch.Tensor or numpy.ndarray
        (N,) integer class ids.
    index : array-like, optional
        Score only these nodes, *among themselves* (ids or a boolean mask); all nodes by default.

    Returns
    -------
    float
        From -1 (every node closer to another class) to 1 (tight, well separated classes); near 0
        when the classes overlap.
    """
    points = as_points(embeddings)
    y = as_labels(labels, len(points))
    if index is not None:
        chosen = as_index(index, len(points), "index")
        points, y = points[chosen], y[chosen]
    return float(silhouette_values(points, y).mean())


def embedding_scores(embeddings, labels, *, train_index, test_index, k: int = 10) -> dict[str, float]:
    """The three numbers of this module for one embedding.

    Returns
    -------
    dict
        ``{"knn_accuracy": ..., "agreement": ..., "silhouette": ...}``: :func:`knn_accuracy` with
        the ``train_index`` nodes voting for the ``test_index`` nodes, :func:`knn_agreement` over
        all nodes, and :func:`silhouette` over all nodes.
    """
    return {"knn_accuracy": knn_accuracy(embeddings, labels, k=k, train_index=train_index, test_index=test_index),
            "agreement": knn_agreement(embeddings, labels, k=k),
            "silhouette": silhouette(embeddings, labels)}


# --------------------------------------------------------------------------
# PCA
# --------------------------------------------------------------------------


def pca(embeddings, k: int = 2) -> np.ndarray:
    """The scores of the rows of ``embeddings`` on their first ``k`` principal components.

    The rows are centred (the mean over the nodes subtracted) and projected onto the ``k``
    orthonormal directions along which they vary most: ``scores = (z - z.mean(0)) @ V[:, :k]``,
    with ``V`` the right singular vectors of the centred matrix (the eigenvectors of its
    covariance) in order of decreasing singular value. The scores are not whitened: column ``c``
    has variance ``S[c]**2 / (N - 1)``. A direction is only defined up to its sign, so each is
    turned to make its entry of largest magnitude positive (scikit-learn's ``PCA`` does the same).

    Parameters
    ----------
    embeddings : torch.Tensor or numpy.ndarray
        (N, D), one row per node.
    k : int
        Components to keep, ``1 <= k <= min(N, D)``.

    Returns
    -------
    numpy.ndarray
        (N, k) float64. Distances between rows are never longer than in ``embeddings`` (it is an
        orthogonal projection), and with ``k = D`` they are the same.
    """
    points = as_points(embeddings)
    n, dims = points.shape
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 1 <= k <= min(n, dims):
        raise ValueError(f"k must be an integer from 1 to min(N, D) = {min(n, dims)}, got {k!r}")
    centred = points - points.mean(axis=0)  # (N, D)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)  # (min(N, D), D), rows by decreasing variance
    directions = vt[:k].T  # (D, k)
    largest = np.abs(directions).argmax(axis=0)  # (k,) the entry that sets each direction's sign
    directions = directions * np.sign(directions[largest, np.arange(k)])  # (D, k)
    return centred @ directions  # (N, k)


# --------------------------------------------------------------------------
# t-SNE
# --------------------------------------------------------------------------


def tsne(embeddings, *, seed: int = 0, perplexity: float = 30.0, max_iter: int = 500, init: str = "pca",
         pca_dims: int | None = 100, n_jobs: int | None = None) -> np.ndarray:
    """Two-dimensional t-SNE coordinates of the rows of ``embeddings``.

    A thin wrapper around :class:`sklearn.manifold.TSNE` (Barnes-Hut, Euclidean) with defaults
    chosen for speed and repeatability; on Cora (2708 nodes) it takes about 4 s on two cores.

    Parameters
    ----------
    embeddings : torch.Tensor or numpy.ndarray
        (N, D), one row per node; N > ``perplexity``.
    seed : int
        ``random_state`` of t-SNE (and of the PCA step). With ``init="pca"`` the start is the
        data's own PCA, so the picture does not depend on the seed; with ``init="random"`` it does.
    perplexity : float
        Roughly the number of neighbours each point tries to keep close (scikit-learn's default,
        30). Small values show fine local structure and break classes into fragments; large
        values show coarser groups and cost more time.
    max_iter : int
        Gradient steps, at least 250 (the first 250 run with early exaggeration). 500, half of
        scikit-learn's default, halves the time; on Cora's GAT embeddings the class scores of
        the picture (:func:`embedding_scores`) change by at most about 0.03 compared with 1000.
    init : {"pca", "random"}
        Starting layout. ``"pca"`` keeps the global arrangement more faithful and makes the
        result deterministic.
    pca_dims : int or None
        Inputs with more than ``pca_dims`` columns (bag-of-words features, say) are first
        reduced to ``pca_dims`` by PCA, the usual speed-up; ``None`` never reduces. GAT layers
        of up to 100 features are used as they are.
    n_jobs : int or None
        Threads for the neighbour search (scikit-learn's meaning; ``None`` is one).

    Returns
    -------
    numpy.ndarray
        (N, 2) float32 coordinates. Only neighbourhoods are meaningful: distances between
        clusters, cluster sizes and the orientation are not.
    """
    TSNE = require("sklearn.manifold", "plot", feature="t-SNE").TSNE  # noqa: N806 (a class)
    points = as_points(embeddings)
    n, dims = points.shape
    if not 0 < perplexity < n:
        raise ValueError(f"perplexity must be between 0 and the number of rows ({n}), got {perplexity}")
    if max_iter < 250:
        raise ValueError(f"max_iter must be at least 250 (the early-exaggeration phase), got {max_iter}")
    if init not in ("pca", "random"):
        raise ValueError(f"init must be 'pca' or 'random', got {init!r}")
    if pca_dims is not None and dims > pca_dims:
        PCA = require("sklearn.decomposition", "plot", feature="t-SNE").PCA  # noqa: N806 (a class)
        points = PCA(n_components=min(pca_dims, n), random_state=seed).fit_transform(points)
    iterations = "max_iter" if "max_iter" in inspect.signature(TSNE).parameters else "n_iter"  # sklearn < 1.5
    model = TSNE(n_components=2, perplexity=perplexity, init=init, learning_rate="auto",
                 random_state=seed, n_jobs=n_jobs, **{iterations: max_iter})
    return model.fit_transform(points.astype(np.float32)).astype(np.float32)
