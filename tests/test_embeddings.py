"""gatkit.embeddings (the k-NN and silhouette numbers, t-SNE) and what gatkit.viz.embeddings draws."""

import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from sklearn.metrics import silhouette_samples, silhouette_score  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402

from gatkit import embeddings, viz  # noqa: E402
from course.checks import ch09, exercise  # noqa: E402
from course.checks.cases import load_cora  # noqa: E402

LINE = np.array([[0.0], [1.0], [10.0], [11.0]])  # (4, 1): two tight pairs far apart


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def blobs():
    """120 points in 4-D around 3 centres (overlapping a little), no ties in distance."""
    z, labels = ch09.clustered_points(120, 4, 3, 0.7, seed=5)
    return z.double().numpy(), labels.numpy()


# --- k-NN agreement -------------------------------------------------------------------------


def test_agreement_is_one_for_separated_groups_and_zero_for_interleaved_classes():
    assert embeddings.knn_agreement(LINE, [0, 0, 1, 1], k=1) == 1.0
    assert embeddings.knn_agreement(LINE, [0, 1, 0, 1], k=1) == 0.0
    # k = 2: each node's second neighbour is in the other pair, so half of the votes agree
    assert embeddings.knn_agreement(LINE, [0, 0, 1, 1], k=2) == 0.5


def test_agreement_on_the_hand_worked_toy_of_the_check():
    z, labels = ch09.AGREE_TOY_Z, ch09.AGREE_TOY_LABELS
    assert embeddings.knn_agreement(z, labels, k=2) == pytest.approx(2 / 3)
    # over nodes 3, 4, 5 only: (1/2 + 0 + 1/2) / 3
    assert embeddings.knn_agreement(z, labels, k=2, index=[3, 4, 5]) == pytest.approx(1 / 3)
    mask = torch.tensor([False, False, False, True, True, True])
    assert embeddings.knn_agreement(z, labels, k=2, index=mask) == pytest.approx(1 / 3)


def test_a_node_is_never_its_own_neighbour_even_among_duplicates():
    points = np.array([[0.0], [0.0], [5.0], [5.0]])  # two exact duplicates of different classes
    assert embeddings.knn_agreement(points, [0, 1, 0, 1], k=1) == 0.0
    assert embeddings.knn_accuracy(points, [0, 1, 0, 1], k=1) == 0.0


def test_agreement_matches_an_independent_count(blobs):
    z, labels = blobs
    ours = embeddings.knn_agreement(z, labels, k=7)
    assert ours == pytest.approx(embeddings.knn_agreement(torch.from_numpy(z), torch.from_numpy(labels), k=7))
    dist = np.linalg.norm(z[:, None] - z[None], axis=2)
    np.fill_diagonal(dist, np.inf)
    neighbours = np.argsort(dist, axis=1)[:, :7]
    assert ours == pytest.approx((labels[neighbours] == labels[:, None]).mean(), abs=1e-12)


# --- k-NN accuracy --------------------------------------------------------------------------


def test_knn_accuracy_by_hand():
    points = np.array([[0.0], [1.0], [10.0], [11.0], [2.0], [9.0]])
    labels = np.array([0, 0, 1, 1, 0, 0])
    # training nodes 0-3 vote; test node 4 (at 2) is nearest to class 0 (right), node 5 (at 9) to class 1 (wrong)
    assert embeddings.knn_accuracy(points, labels, k=1, train_index=[0, 1, 2, 3], test_index=[4, 5]) == 0.5
    # without test_index, the test nodes are all nodes outside train_index
    assert embeddings.knn_accuracy(points, labels, k=1, train_index=[0, 1, 2, 3]) == 0.5


def test_knn_accuracy_equals_scikit_learn_with_training_voters(blobs):
    z, labels = blobs
    train, test = np.arange(0, 120, 4), np.setdiff1d(np.arange(120), np.arange(0, 120, 4))
    for k in (1, 5, 9):
        expected = KNeighborsClassifier(n_neighbors=k).fit(z[train], labels[train]).score(z[test], labels[test])
        got = embeddings.knn_accuracy(z, labels, k=k, train_index=train, test_index=test)
        assert got == pytest.approx(expected)


def test_leave_one_out_knn_accuracy_equals_scikit_learn(blobs):
    z, labels = blobs
    hits = []
    for i in range(len(z)):  # refit without node i, the textbook leave-one-out
        others = np.delete(np.arange(len(z)), i)
        classifier = KNeighborsClassifier(n_neighbors=5).fit(z[others], labels[others])
        hits.append(classifier.predict(z[i:i + 1])[0] == labels[i])
    assert embeddings.knn_accuracy(z, labels, k=5) == pytest.approx(np.mean(hits))


def test_knn_accuracy_on_a_cora_embedding_equals_scikit_learn():
    cora = load_cora()
    z = ch09.cora_embedding().double().numpy()
    y, train, test = cora.y.numpy(), cora.train_idx.numpy(), cora.test_idx.numpy()
    expected = KNeighborsClassifier(n_neighbors=10).fit(z[train], y[train]).score(z[test], y[test])
    got = embeddings.knn_accuracy(torch.from_numpy(z), cora.y, k=10, train_index=cora.train_idx,
                                  test_index=cora.test_idx)
    assert got == pytest.approx(expected)
    assert 0.2 < got < 0.9  # a real, imperfect embedding: the comparison is not trivially 0 == 0 or 1 == 1


# --- silhouette -----------------------------------------------------------------------------


def test_silhouette_by_hand_and_against_scikit_learn(blobs):
    toy = embeddings.silhouette(ch09.SIL_TOY_Z, ch09.SIL_TOY_LABELS)
    assert toy == pytest.approx(ch09.SIL_TOY_ANSWER.mean().item())
    z, labels = blobs
    assert embeddings.silhouette(z, labels) == pytest.approx(silhouette_score(z, labels))
    subset = np.arange(0, 120, 3)
    expected = silhouette_score(z[subset], labels[subset])
    assert embeddings.silhouette(z, labels, index=subset) == pytest.approx(expected)


def test_silhouette_is_near_one_for_tight_far_groups_and_negative_for_interleaved_classes():
    assert embeddings.silhouette(LINE, [0, 0, 1, 1]) == pytest.approx(np.mean([9.5 / 10.5, 8.5 / 9.5] * 2))
    assert embeddings.silhouette(LINE, [0, 0, 1, 1]) > 0.85
    assert embeddings.silhouette(LINE, [0, 1, 0, 1]) < 0


def test_silhouette_values_by_hand_and_as_scikit_learn_per_node(blobs):
    np.testing.assert_allclose(embeddings.silhouette_values(ch09.SIL_TOY_Z, ch09.SIL_TOY_LABELS),
                               ch09.SIL_TOY_ANSWER.double().numpy(), atol=1e-12)
    z, labels = blobs
    np.testing.assert_allclose(embeddings.silhouette_values(z, labels), silhouette_samples(z, labels), atol=1e-12)
    assert embeddings.silhouette(z, labels) == pytest.approx(embeddings.silhouette_values(z, labels).mean())


def test_embedding_scores_bundles_the_three_numbers(blobs):
    z, labels = blobs
    train, test = np.arange(30), np.arange(30, 120)
    got = embeddings.embedding_scores(z, labels, train_index=train, test_index=test, k=5)
    assert got == {"knn_accuracy": embeddings.knn_accuracy(z, labels, k=5, train_index=train, test_index=test),
                   "agreement": embeddings.knn_agreement(z, labels, k=5),
                   "silhouette": embeddings.silhouette(z, labels)}


# --- the chapter-09 checks accept other correct ways of computing the same thing -------------


def test_checks_accept_other_correct_implementations(capsys):
    def agreement_with_squared_differences(z, labels, k):
        norms = (z * z).sum(dim=1)  # (N,)
        dist = norms.unsqueeze(1) + norms.unsqueeze(0) - 2 * z @ z.T  # squared distances: the same order
        dist = dist + torch.diag(torch.full((len(z),), float("inf")))
        neighbours = dist.argsort(dim=1)[:, :k]
        return (labels[neighbours] == labels.unsqueeze(1)).double().mean()  # float64 is fine too

    def silhouette_with_a_loop(z, labels):
        dist = torch.cdist(z.double(), z.double())
        out = []
        for i in range(len(z)):
            own = labels == labels[i]
            own[i] = False
            a = dist[i, own].mean()
            b = min(dist[i, labels == c].mean() for c in labels.unique() if c != labels[i])
            out.append((b - a) / max(a, b))
        return torch.stack(out)

    assert exercise("9.1", agreement_with_squared_differences) is agreement_with_squared_differences
    assert exercise("9.2", silhouette_with_a_loop) is silhouette_with_a_loop
    assert capsys.readouterr().out.count("passed") == 2


# --- t-SNE ----------------------------------------------------------------------------------


def test_tsne_shape_dtype_and_determinism(blobs):
    z, labels = blobs
    first = embeddings.tsne(torch.from_numpy(z), perplexity=10, max_iter=250)
    again = embeddings.tsne(z, perplexity=10, max_iter=250)
    assert isinstance(first, np.ndarray) and first.shape == (120, 2) and first.dtype == np.float32
    np.testing.assert_array_equal(first, again)
    # PCA start: the seed does not matter; random start: it does
    np.testing.assert_array_equal(first, embeddings.tsne(z, seed=3, perplexity=10, max_iter=250))
    random_0 = embeddings.tsne(z, init="random", seed=0, perplexity=10, max_iter=250)
    random_1 = embeddings.tsne(z, init="random", seed=1, perplexity=10, max_iter=250)
    assert not np.allclose(random_0, random_1)


def test_tsne_keeps_well_separated_groups_apart():
    z, labels = ch09.clustered_points(90, 6, 3, 0.15, seed=6)  # tight groups: agreement 1 in 6-D
    assert embeddings.knn_agreement(z, labels, k=5) == 1.0
    points = embeddings.tsne(z, perplexity=10)
    assert embeddings.knn_agreement(points, labels, k=5) == 1.0
    assert embeddings.silhouette(points, labels) > 0.5


def test_tsne_reduces_wide_inputs_with_pca_first():
    generator = np.random.default_rng(0)
    wide = generator.normal(size=(40, 300))
    points = embeddings.tsne(wide, perplexity=5, max_iter=250, pca_dims=20)
    assert points.shape == (40, 2) and np.isfinite(points).all()


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("call, message", [
    (lambda: embeddings.knn_agreement(LINE, [0, 1, 0]), "3 entries but the embeddings have 4 rows"),
    (lambda: embeddings.knn_agreement(LINE[:, 0], [0, 1, 0, 1]), "2-D"),
    (lambda: embeddings.knn_agreement(np.array([[0.0], [np.nan], [1.0], [2.0]]), [0, 1, 0, 1]), "NaN"),
    (lambda: embeddings.knn_agreement(LINE, [0, 1, 0, 1], k=4), "only 3 other nodes"),
    (lambda: embeddings.knn_agreement(LINE, [0, 1, 0, 1], k=0), "positive integer"),
    (lambda: embeddings.knn_agreement(LINE, [0.0, 1.0, 0.0, 1.0]), "integer class ids"),
    (lambda: embeddings.knn_agreement(LINE, [0, 1, 0, 1], k=1, index=[5]), "outside 0..3"),
    (lambda: embeddings.knn_agreement(LINE, [0, 1, 0, 1], k=1, index=[True, False]), "boolean mask"),
    (lambda: embeddings.knn_accuracy(LINE, [0, 1, 0, 1], k=1, train_index=[0, 1], test_index=[1, 2]), "overlap"),
    (lambda: embeddings.knn_accuracy(LINE, [0, 1, 0, 1], k=3, train_index=[0, 1]), "only 2 other nodes"),
    (lambda: embeddings.silhouette(LINE, [0, 0, 0, 0]), "2 to n - 1 classes"),
    (lambda: embeddings.tsne(LINE, perplexity=30), "perplexity"),
    (lambda: embeddings.tsne(np.zeros((50, 3)) + np.arange(50)[:, None], max_iter=100), "at least 250"),
    (lambda: viz.plot_embeddings(np.zeros((4, 3)), [0, 1, 0, 1]), r"\(N, 2\)"),
    (lambda: viz.plot_embeddings(np.zeros((4, 2)), [0, 1, 0, 2], class_names=["a", "b"]), "class names"),
    (lambda: viz.plot_embedding_panels({}, [0, 1]), "empty"),
])
def test_bad_input_is_refused_with_a_clear_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_without_scikit_learn_the_knn_scores_work_and_the_rest_says_how_to_install_it(monkeypatch):
    from gatkit.extras import MissingExtraError

    for module in ("sklearn", "sklearn.metrics", "sklearn.manifold", "sklearn.decomposition"):
        monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    assert embeddings.knn_agreement(LINE, [0, 0, 1, 1], k=1) == 1.0
    assert embeddings.knn_accuracy(LINE, [0, 0, 1, 1], k=1) == 1.0
    for call in (lambda: embeddings.silhouette(LINE, [0, 0, 1, 1]), lambda: embeddings.tsne(LINE, perplexity=2),
                 lambda: embeddings.embedding_scores(LINE, [0, 0, 1, 1], train_index=[0, 2], test_index=[1, 3], k=1)):
        with pytest.raises(MissingExtraError, match=r"needs scikit-learn.*pip install 'gatkit\[plot\]'"):
            call()


def test_the_input_helpers_are_public():
    assert embeddings.as_points(torch.ones(3, 2)).dtype == np.float64
    np.testing.assert_array_equal(embeddings.as_labels(torch.tensor([2, 0, 1]), 3), [2, 0, 1])
    np.testing.assert_array_equal(embeddings.as_index([False, True, True], 3, "index"), [1, 2])
    with pytest.raises(ValueError, match="test_index lists a node twice"):
        embeddings.as_index([1, 1], 3, "test_index")


# --- plots ----------------------------------------------------------------------------------


def _collection(ax, gid):
    found = [c for c in ax.collections if c.get_gid() == gid]
    assert len(found) == 1, gid
    return found[0]


def test_plot_marks_the_test_and_training_nodes(blobs, tmp_path):
    z, labels = blobs
    points = z[:, :2]
    test, train = np.arange(60, 120), np.arange(0, 12)
    scores = {"knn_accuracy": 0.5, "agreement": 0.75, "silhouette": 0.25}
    fig = viz.plot_embeddings(points, labels, test_index=test, train_index=train,
                              class_names=["a", "b", "c"], title="blobs", scores=scores)
    ax = fig.axes[0]
    test_dots, train_dots, other = _collection(ax, "test"), _collection(ax, "train"), _collection(ax, "other")
    np.testing.assert_allclose(test_dots.get_offsets(), points[test])
    np.testing.assert_allclose(train_dots.get_offsets(), points[train])
    assert len(other.get_offsets()) == 120 - 60 - 12
    assert (test_dots.get_linewidths() > 0).all() and (other.get_linewidths() == 0).all()  # outlined
    colours = np.array(viz.class_colours(3))
    np.testing.assert_allclose(test_dots.get_facecolors()[:, :3], colours[labels[test]])
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[:3] == [f"{name} ({count})" for name, count in zip("abc", np.bincount(labels))]
    assert "test node (outlined)" in texts and "training node" in texts
    assert "blobs" in ax.get_title() and "k-NN acc. 0.50" in ax.get_title() and "silhouette 0.25" in ax.get_title()
    path = tmp_path / "embedding.png"
    fig.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_plot_without_marks_draws_every_node_once(blobs):
    z, labels = blobs
    fig, ax = plt.subplots()
    drawn = viz.plot_embeddings(torch.from_numpy(z[:, :2]), torch.from_numpy(labels), ax=ax, legend=False)
    assert drawn is fig
    assert [c.get_gid() for c in ax.collections] == ["other"]
    assert len(ax.collections[0].get_offsets()) == 120 and ax.get_legend() is None


def test_panels_share_one_legend_and_hide_unused_axes(blobs):
    z, labels = blobs
    panels = {"first": z[:, :2], "second": z[:, 2:], "third": z[:, 1:3]}
    fig = viz.plot_embedding_panels(panels, labels, test_index=np.arange(50), ncols=2,
                                    scores={"second": {"silhouette": 0.125}}, suptitle="all")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title().split("\n")[0] for ax in visible] == list(panels)
    assert "silhouette 0.12" in visible[1].get_title() and "\n" not in visible[0].get_title()
    assert len(fig.axes) == 4 and not fig.axes[3].get_visible()
    assert all(ax.get_legend() is None for ax in fig.axes) and len(fig.legends) == 1
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == [f"class {c} ({n})" for c, n in enumerate(np.bincount(labels))] + ["test node (outlined)"]
    assert fig._suptitle.get_text() == "all"


# --- PCA --------------------------------------------------------------------------------------


def _directions(points: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The directions (D, k) behind ``scores``: scores = centred @ V, V orthonormal, so V = pinv(centred) @ scores."""
    return np.linalg.pinv(points - points.mean(axis=0)) @ scores


def test_pca_on_the_hand_worked_toy_of_the_check():
    np.testing.assert_allclose(embeddings.pca(ch09.PCA_TOY_Z, k=2), ch09.PCA_TOY_ANSWER.numpy(), atol=1e-12)
    # k = 3 adds the z axis: the last two points score +1 and -1 there
    np.testing.assert_allclose(embeddings.pca(ch09.PCA_TOY_Z.numpy(), k=3)[4:, 2], [1.0, -1.0], atol=1e-12)


def test_pca_equals_scikit_learn_and_follows_the_sign_rule(blobs):
    from sklearn.decomposition import PCA

    z, _ = blobs
    scores = embeddings.pca(z, k=3)
    assert scores.shape == (120, 3) and scores.dtype == np.float64
    np.testing.assert_allclose(scores, PCA(n_components=3, svd_solver="full").fit_transform(z), atol=1e-10)
    directions = _directions(z, scores)  # (D, 3)
    np.testing.assert_allclose(directions.T @ directions, np.eye(3), atol=1e-10)  # orthonormal
    largest = directions[np.abs(directions).argmax(axis=0), np.arange(3)]
    assert (largest > 0).all()  # each direction's entry of largest magnitude is positive


def test_pca_scores_are_centred_uncorrelated_and_ordered_by_variance(blobs):
    z, _ = blobs
    scores = embeddings.pca(z + 100.0, k=4)  # a shift of every point changes nothing
    np.testing.assert_allclose(scores, embeddings.pca(z, k=4), atol=1e-9)
    np.testing.assert_allclose(scores.mean(axis=0), 0.0, atol=1e-9)
    covariance = np.cov(scores, rowvar=False)  # (4, 4)
    np.testing.assert_allclose(covariance, np.diag(np.diag(covariance)), atol=1e-9)
    singular = np.linalg.svd(z - z.mean(axis=0), compute_uv=False)
    np.testing.assert_allclose(np.diag(covariance), singular[:4] ** 2 / (len(z) - 1))  # not whitened
    assert (np.diff(np.diag(covariance)) < 0).all()


def test_pca_never_lengthens_a_distance_and_keeps_all_of_them_with_every_component(blobs):
    z, _ = blobs
    original = np.linalg.norm(z[:, None] - z[None], axis=2)
    for k in (1, 2, 3):
        scores = embeddings.pca(z, k=k)
        assert (np.linalg.norm(scores[:, None] - scores[None], axis=2) <= original + 1e-9).all()
    scores = embeddings.pca(torch.from_numpy(z), k=z.shape[1])
    np.testing.assert_allclose(np.linalg.norm(scores[:, None] - scores[None], axis=2), original, atol=1e-9)


def test_pca_with_fewer_points_than_features_and_bad_k():
    wide = np.random.default_rng(1).normal(size=(5, 9))
    assert embeddings.pca(wide, k=5).shape == (5, 5)
    for k in (0, 6, 2.0, True):
        with pytest.raises(ValueError, match="k must be an integer from 1 to min"):
            embeddings.pca(wide, k=k)


def test_the_pca_check_accepts_eigh_and_rejects_unsigned_directions(capsys):
    def pca_by_eigh(z, k=2):
        centred = z.double() - z.double().mean(dim=0)
        values, vectors = torch.linalg.eigh(centred.T @ centred)
        directions = vectors[:, values.argsort(descending=True)[:k]]
        directions *= torch.sign(directions.gather(0, directions.abs().argmax(dim=0, keepdim=True)))
        return centred @ directions

    def unsigned(z, k=2):
        centred = z - z.mean(dim=0)
        return centred @ torch.linalg.svd(centred, full_matrices=False)[2][:k].T

    assert exercise("9.3", pca_by_eigh) is pca_by_eigh
    assert "passed" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="turn each direction"):
        exercise("9.3", unsigned)
