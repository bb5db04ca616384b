"""Tests for the heterophilous graphs in gatkit.data (Platonov et al., ICLR 2023), and what both
dataset classes share: ``load_dataset``, ``metric``, ``split``, ``splits``, ``with_split``.

No test touches the network: the files come from the local mirror (``shared/data`` beside the
repository), as a folder or served by a throw-away HTTP server on 127.0.0.1; any other URL fails.
Files with bad content are planted in a cache with their checksum pinned by monkeypatching
``CHECKSUMS``, so that the content checks behind the checksum test are reached.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from gatkit import data, edges
from gatkit.data import (
    CHECKSUMS,
    CLASS_NAMES,
    DATASET_NAMES,
    HETEROPHILOUS_URL,
    SCORED_BY,
    DataCacheError,
    DataError,
    Heterophilous,
    NodeDataset,
    Planetoid,
    load_dataset,
    load_heterophilous,
    load_planetoid,
)
from gatkit.graph import edge_homophily

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MIRROR = SHARED / "heterophilous"

pytestmark = [
    pytest.mark.skipif(not (MIRROR / "SHA256SUMS").is_file() or not (SHARED / "planetoid").is_dir(),
                       reason=f"data mirror not found at {SHARED}"),
    pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta"),
    pytest.mark.usefixtures("blocked_urls"),  # tests/conftest.py: no network but localhost
]

# The mirror's README: N, edges stored once, F, classes, edge homophily.
FACTS = {
    "minesweeper": (10000, 39402, 7, 2, 0.683),
    "tolokers": (11758, 519000, 10, 2, 0.595),
    "chameleon_filtered": (890, 8854, 2325, 5, 0.236),
    "squirrel_filtered": (2223, 46998, 2089, 5, 0.207),
    "chameleon": (2277, 31371, 2325, 5, 0.230),
    "squirrel": (5201, 198353, 2089, 5, 0.222),
    "actor": (7600, 26659, 932, 5, 0.217),
    "texas": (183, 279, 1703, 5, 0.061),
    "cornell": (183, 277, 1703, 5, 0.123),
    "wisconsin": (251, 450, 1703, 5, 0.178),
}
TEXAS_SIZE = CHECKSUMS["texas"]["texas.npz"][0]


# --------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """A cache root that the module-scoped fixtures fill from the mirror folder."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def loaded(cache) -> dict[str, Heterophilous]:
    """Every mirrored graph, loaded once (about 2 s in all)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GATKIT_DATA_MIRROR", str(SHARED))
        return {name: load_heterophilous(name, cache, progress=False) for name in FACTS}


@pytest.fixture(scope="module")
def texas(loaded) -> Heterophilous:
    return loaded["texas"]


def raw(name: str) -> dict[str, np.ndarray]:
    with np.load(MIRROR / f"{name}.npz") as archive:
        return {key: archive[key] for key in archive.files}


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message and message.strip() == message
    return message


def contents(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def plant(monkeypatch, root: Path, blob: bytes, name: str = "texas") -> Path:
    """Put ``blob`` in the cache as ``name``'s file and pin its checksum; return the file."""
    path = root / "heterophilous" / f"{name}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(blob)
    monkeypatch.setitem(CHECKSUMS, name, {path.name: (len(blob), hashlib.sha256(blob).hexdigest())})
    return path


def npz(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def texas_with(**changes) -> bytes:
    """texas.npz with some arrays replaced (``None`` drops one)."""
    arrays = {**raw("texas"), **changes}
    return npz({key: value for key, value in arrays.items() if value is not None})


def load_planted(monkeypatch, tmp_path, blob: bytes) -> tuple[str, Path]:
    """Load a planted texas file; return the one-line DataError message and the file's path."""
    path = plant(monkeypatch, tmp_path, blob)
    with pytest.raises(DataError) as error:
        load_heterophilous("texas", tmp_path, progress=False)
    message = one_line(error)
    assert str(path) in message and "Delete it" in message
    return message, path


# --------------------------------------------------------------------------
# The datasets
# --------------------------------------------------------------------------


def test_names_and_tables_cover_every_dataset():
    assert DATASET_NAMES[:2] == ("cora", "citeseer") and set(DATASET_NAMES[2:]) == set(FACTS)
    assert tuple(CHECKSUMS) == tuple(CLASS_NAMES) == tuple(SCORED_BY) == DATASET_NAMES
    assert {name for name, metric in SCORED_BY.items() if metric == "roc_auc"} == {"minesweeper", "tolokers"}
    assert set(SCORED_BY.values()) == {"roc_auc", "accuracy"}
    assert HETEROPHILOUS_URL.endswith("/a431395582e929d88271309716bea4fe24ce6318/data/")
    assert HETEROPHILOUS_URL.startswith("https://github.com/yandex-research/heterophilous-graphs/raw/")


def test_checksums_agree_with_mirror_sha256sums():
    listed = dict(reversed(line.split()) for line in (MIRROR / "SHA256SUMS").read_text().splitlines())
    pinned = {f: pin for name in FACTS for f, pin in CHECKSUMS[name].items()}
    assert {f: sha for f, (_, sha) in pinned.items()} == listed
    assert {f: size for f, (size, _) in pinned.items()} == {f: (MIRROR / f).stat().st_size for f in listed}


def check_edges(ds: NodeDataset) -> None:
    """Both directions, no duplicates, no self-loops, sorted by (target, source); self-loop version."""
    n = ds.num_nodes
    src, dst = ds.edge_index
    assert ds.edge_index.dtype == torch.int64 and not torch.any(src == dst)
    key = dst * n + src
    assert torch.all(key[1:] > key[:-1]), "not strictly sorted by (target, source)"
    assert torch.equal(torch.sort(src * n + dst).values, key), "not symmetric"
    loops = ds.edge_index_with_self_loops
    assert torch.equal(loops, edges.add_self_loops(ds.edge_index, n)) and loops.shape == (2, ds.num_edges + n)


@pytest.mark.parametrize("name", sorted(FACTS))
def test_every_graph_matches_the_readme(loaded, name):
    ds = loaded[name]
    nodes, stored_edges, features, classes, homophily = FACTS[name]
    assert isinstance(ds, Heterophilous) and isinstance(ds, NodeDataset) and ds.name == name
    assert (ds.num_nodes, ds.num_edges, ds.num_features, ds.num_classes) == (nodes, 2 * stored_edges, features,
                                                                             classes)
    assert round(edge_homophily(ds.edge_index, ds.y), 3) == homophily
    assert ds.metric == ("roc_auc" if classes == 2 else "accuracy")
    file = raw(name)
    assert ds.x.dtype == torch.float32 and np.array_equal(ds.x.numpy(), file["node_features"])  # as published
    assert ds.y.dtype == torch.int64 and np.array_equal(ds.y.numpy(), file["node_labels"])
    check_edges(ds)
    j, i = file["edges"].T  # each undirected edge once
    both_ways = np.unique(np.concatenate([i * nodes + j, j * nodes + i]))  # keys target * N + source
    assert np.array_equal((ds.edge_index[1] * nodes + ds.edge_index[0]).numpy(), both_ways)
    # The README's splits: minesweeper and tolokers 50/25/25% of the nodes, the others about 48/32/20%.
    shares, tolerance = ((0.50, 0.25, 0.25), 0.0005) if classes == 2 else ((0.48, 0.32, 0.20), 0.03)
    assert len(ds.splits) == 10 and ds.split == 0
    for k, split in enumerate(ds.splits):
        parts = (split.train_idx, split.val_idx, split.test_idx)
        for part, mask, share in zip(parts, ("train_masks", "val_masks", "test_masks"), shares):
            assert part.dtype == torch.int64 and torch.all(part[1:] > part[:-1])
            assert np.array_equal(part.numpy(), np.flatnonzero(file[mask][k]))
            assert abs(len(part) / nodes - share) <= tolerance, (k, mask)
        assert torch.equal(torch.sort(torch.cat(parts)).values, torch.arange(nodes)), "not a partition"
    assert ds.checksum == hashlib.sha256(f"{CHECKSUMS[name][f'{name}.npz'][1]}  {name}.npz\n".encode()).hexdigest()


def test_edge_index_is_built_as_for_planetoid(texas):
    # The Planetoid loader's construction, from an adjacency dict of the same pairs.
    adjacency: dict[int, list[int]] = {}
    for j, i in raw("texas")["edges"].tolist():
        adjacency.setdefault(j, []).append(i)
    assert torch.equal(texas.edge_index, edges.edge_index_from_adjacency(adjacency, texas.num_nodes))


def test_properties_and_repr(texas):
    assert repr(texas) == ("Heterophilous(texas: 183 nodes, 1703 features, 5 classes, 558 edges; "
                           "split 0 of 10, train/val/test = 87/59/37)")
    assert torch.equal(texas.x_sparse.to_dense(), texas.x) and texas.x_sparse.layout == torch.sparse_csr
    masks = torch.stack([texas.train_mask, texas.val_mask, texas.test_mask])  # (3, N)
    assert masks.dtype == torch.bool and masks.shape == (3, 183) and torch.all(masks.sum(dim=0) == 1)
    assert torch.equal(torch.nonzero(texas.val_mask).squeeze(1), texas.val_idx)
    assert texas.class_names == ("class 0", "class 1", "class 2", "class 3", "class 4")


def test_minesweeper_label_1_is_a_mine(loaded):
    # 20% of the cells are mines; a revealed cell (feature 0 = "unknown" off) has a one-hot count
    # of its mine neighbours, capped at 5: exactly its label-1 neighbours.
    ds = loaded["minesweeper"]
    assert ds.class_names == ("safe", "mine") and torch.bincount(ds.y).tolist() == [8000, 2000]
    src, dst = ds.edge_index
    mine_neighbours = torch.zeros(ds.num_nodes, dtype=torch.int64).index_add_(0, dst, ds.y[src])  # (N,)
    revealed = ds.x[:, 0] == 0  # (N,)
    assert int(revealed.sum()) == 5000
    shown = ds.x[revealed, 1:].argmax(dim=1)  # (5000,)
    assert torch.equal(shown, mine_neighbours[revealed].clamp(max=5))


def test_tolokers_label_1_is_banned(loaded):
    ds = loaded["tolokers"]
    assert ds.class_names == ("not banned", "banned")
    assert torch.bincount(ds.y).tolist() == [9192, 2566]  # banned: the minority, 22%


# --------------------------------------------------------------------------
# Splits, and what both dataset classes share
# --------------------------------------------------------------------------


def test_with_split(texas):
    third = texas.with_split(3)
    masks = raw("texas")
    assert third.split == 3 and texas.split == 0, "with_split returns a copy"
    assert np.array_equal(third.test_idx.numpy(), np.flatnonzero(masks["test_masks"][3]))
    assert all(torch.equal(getattr(third, f"{part}_idx"), getattr(third.splits[3], f"{part}_idx"))
               for part in ("train", "val", "test"))
    assert third.edge_index is texas.edge_index and third.splits is texas.splits
    assert "split 3 of 10" in repr(third)
    assert torch.equal(third.with_split(0).train_idx, texas.train_idx)


@pytest.mark.parametrize("k", [10, -1])
def test_with_split_out_of_range(texas, k):
    with pytest.raises(DataError) as error:
        texas.with_split(k)
    assert one_line(error) == f"texas has no split {k}: it comes with 10 splits, numbered 0 to 9."


def test_with_split_needs_a_whole_number(texas):
    with pytest.raises(DataError, match=r"split must be a whole number, got 1\.5"):
        texas.with_split(1.5)
    assert texas.with_split(np.int64(2)).split == 2


def test_load_with_a_split(cache, texas):
    fourth = load_heterophilous("texas", cache, split=4, progress=False)
    assert fourth.split == 4 and torch.equal(fourth.val_idx, texas.splits[4].val_idx)


def test_a_bad_split_fails_before_any_download(tmp_path, blocked_urls):
    for load in (load_heterophilous, load_dataset):
        with pytest.raises(DataError, match="texas has no split 10"):
            load("texas", tmp_path, split=10, progress=False)
    with pytest.raises(DataError) as error:
        load_dataset("cora", tmp_path, split=1, progress=False)
    assert one_line(error) == "cora has no split 1: it comes with one split (the public Planetoid split), number 0."
    assert blocked_urls == [] and contents(tmp_path) == []


@pytest.fixture(scope="module")
def cora(cache) -> Planetoid:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GATKIT_DATA_MIRROR", str(SHARED))  # the parent folder: planetoid/ is found in it
        return load_planetoid("cora", cache, progress=False)


def test_planetoid_has_one_split(cora):
    assert cora.metric == "accuracy" and cora.split == 0 and len(cora.splits) == 1
    assert cora.with_split(0) is cora
    with pytest.raises(DataError) as error:
        cora.with_split(1)
    assert "cora has no split 1: it comes with one split" in one_line(error)


def test_load_dataset_loads_both_collections(cache, cora, texas):
    again = load_dataset(" CORA ", cache, progress=False)
    assert isinstance(again, Planetoid) and again.checksum == cora.checksum
    assert torch.equal(again.edge_index, cora.edge_index) and again.split == 0
    second = load_dataset("Texas", cache, split=2, progress=False)
    assert isinstance(second, Heterophilous) and second.split == 2 and second.checksum == texas.checksum
    for ds in (again, second):
        assert isinstance(ds, NodeDataset) and ds.metric == "accuracy"


def test_unknown_name():
    with pytest.raises(DataError) as error:
        load_dataset("roman_empire")
    message = one_line(error)
    assert message.startswith("unknown dataset 'roman_empire': gatkit knows 'cora', 'citeseer', 'minesweeper'")
    assert all(repr(name) in message for name in DATASET_NAMES)


@pytest.mark.parametrize(("load", "name", "use"), [(load_planetoid, "texas", "load_heterophilous('texas')"),
                                                   (data.fetch_planetoid, "tolokers", "load_heterophilous"),
                                                   (load_heterophilous, "cora", "load_planetoid('cora')")])
def test_a_name_of_the_other_collection(load, name, use):
    with pytest.raises(DataError) as error:
        load(name)
    assert use in one_line(error) and "load_dataset" in str(error.value)


# --------------------------------------------------------------------------
# Mirrors and downloads
# --------------------------------------------------------------------------


@pytest.mark.parametrize("mirror", ["parent", "top", "file url"])
def test_a_mirror_folder_holds_the_file_at_its_top_or_in_the_subfolder(monkeypatch, tmp_path, blocked_urls,
                                                                       mirror):
    setting = {"parent": str(SHARED), "top": str(MIRROR), "file url": SHARED.as_uri()}[mirror]
    monkeypatch.setenv("GATKIT_DATA_MIRROR", setting)
    assert load_heterophilous("texas", tmp_path, progress=False).num_nodes == 183
    assert contents(tmp_path / "heterophilous") == ["texas.npz"] and blocked_urls == []


def test_one_parent_mirror_serves_both_collections(monkeypatch, tmp_path):
    monkeypatch.setenv("GATKIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GATKIT_DATA_MIRROR", str(SHARED))
    assert load_dataset("cora", progress=False).num_nodes == 2708
    assert load_dataset("cornell", progress=False).num_nodes == 183
    assert contents(tmp_path) == ["heterophilous", "planetoid"]
    assert contents(tmp_path / "planetoid") == sorted(CHECKSUMS["cora"])
    assert contents(tmp_path / "heterophilous") == ["cornell.npz"]


def test_a_mirror_folder_without_the_file(monkeypatch, tmp_path):
    (tmp_path / "mirror" / "heterophilous").mkdir(parents=True)
    monkeypatch.setenv("GATKIT_DATA_MIRROR", str(tmp_path / "mirror"))
    with pytest.raises(DataError) as error:
        load_heterophilous("texas", tmp_path / "cache", progress=False)
    assert one_line(error) == (
        f"the mirror folder {tmp_path / 'mirror'} (GATKIT_DATA_MIRROR) has no file texas.npz, neither at its "
        f"top nor in heterophilous/. Copy it there, or unset GATKIT_DATA_MIRROR to download from "
        f"{HETEROPHILOUS_URL}.")
    assert contents(tmp_path / "cache" / "heterophilous") == []


def test_no_network_names_the_source_and_the_mirror(tmp_path, blocked_urls):
    with pytest.raises(DataError) as error:
        load_heterophilous("texas", tmp_path, progress=False)
    message = one_line(error)
    assert blocked_urls == [HETEROPHILOUS_URL + "texas.npz"]
    assert message.startswith(f"cannot download texas.npz from {HETEROPHILOUS_URL}texas.npz")
    assert "set GATKIT_DATA_MIRROR to a copy of the heterophilous-graphs files" in message
    assert "<name>.npz, at its top or in its heterophilous/ subfolder" in message
    assert contents(tmp_path / "heterophilous") == []


def test_http_download_into_an_empty_cache(serve, tmp_path, capsys):
    server = serve(MIRROR)
    ds = load_heterophilous("wisconsin", tmp_path, progress=True)
    assert ds.num_nodes == 251 and server.requests == ["/wisconsin.npz"]
    assert "Downloading wisconsin" in capsys.readouterr().err
    cached = tmp_path / "heterophilous" / "wisconsin.npz"
    assert contents(cached.parent) == ["wisconsin.npz"] and (cached.stat().st_mode & 0o777) == 0o644
    assert cached.read_bytes() == (MIRROR / "wisconsin.npz").read_bytes()
    load_heterophilous("wisconsin", tmp_path, progress=True)
    assert server.requests == ["/wisconsin.npz"], "a cached file must not be downloaded again"


@pytest.mark.parametrize(("mode", "expected"), [("tamper", "checksum mismatch"), ("404", "HTTP 404")])
def test_a_bad_download_leaves_nothing(serve, tmp_path, mode, expected):
    serve(MIRROR, mode, target="texas.npz")
    with pytest.raises(DataError) as error:
        load_heterophilous("texas", tmp_path, progress=False)
    assert expected in one_line(error) and "texas.npz" in str(error.value)
    assert contents(tmp_path / "heterophilous") == [], "a partial or unverified file was left in the cache"


def test_an_unwritable_cache_names_the_collection(monkeypatch, tmp_path):
    monkeypatch.setenv("GATKIT_DATA_MIRROR", str(SHARED))
    (tmp_path / "heterophilous").write_text("a file, not a folder")
    with pytest.raises(DataCacheError) as error:
        load_heterophilous("texas", tmp_path, progress=False)
    message = one_line(error)
    assert f"cannot write to the dataset cache folder {tmp_path / 'heterophilous'}" in message
    assert "whose heterophilous/ subfolder already holds texas.npz" in message
    assert "load_heterophilous also takes root=" in message


# --------------------------------------------------------------------------
# A damaged cache, and files that pass their (monkeypatched) checksum but are wrong inside
# --------------------------------------------------------------------------


@pytest.fixture
def texas_cache(monkeypatch, tmp_path) -> Path:
    """A fresh cache holding texas.npz; returns the file."""
    monkeypatch.setenv("GATKIT_DATA_MIRROR", str(SHARED))
    load_heterophilous("texas", tmp_path, progress=False)
    monkeypatch.delenv("GATKIT_DATA_MIRROR")
    return tmp_path / "heterophilous" / "texas.npz"


def test_checksum_mismatch_and_force_download(monkeypatch, tmp_path, texas_cache):
    blob = bytearray(texas_cache.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    texas_cache.write_bytes(bytes(blob))
    with pytest.raises(DataError) as error:
        load_heterophilous("texas", tmp_path, progress=False)
    message = one_line(error)
    assert message.startswith(f"the cached file {texas_cache} is bad: checksum mismatch")
    assert "force_download=True" in message
    monkeypatch.setenv("GATKIT_DATA_MIRROR", str(SHARED))
    assert load_heterophilous("texas", tmp_path, progress=False, force_download=True).num_nodes == 183
    assert texas_cache.read_bytes() == (MIRROR / "texas.npz").read_bytes()


def test_truncated_file(tmp_path, texas_cache):
    texas_cache.write_bytes(texas_cache.read_bytes()[:100])
    with pytest.raises(DataError) as error:
        load_heterophilous("texas", tmp_path, progress=False)
    assert f"{texas_cache} is bad: the file is truncated (got 100 of {TEXAS_SIZE} bytes)" in one_line(error)


def test_not_a_zip_file(monkeypatch, tmp_path):
    buffer = io.BytesIO()
    np.save(buffer, raw("texas")["node_features"])  # a lone .npy
    message, _ = load_planted(monkeypatch, tmp_path, buffer.getvalue())
    assert "is bad: it is not an .npz archive (a zip file of .npy arrays)" in message


def test_a_broken_zip_file(monkeypatch, tmp_path):
    blob = (MIRROR / "texas.npz").read_bytes()
    message, _ = load_planted(monkeypatch, tmp_path, blob[: len(blob) // 2])
    assert "is bad: it is not a valid .npz archive (" in message


def test_a_damaged_array_in_the_zip(monkeypatch, tmp_path):
    blob = bytearray((MIRROR / "texas.npz").read_bytes())
    blob[5000] ^= 0xFF  # inside node_features: its CRC no longer matches
    message, _ = load_planted(monkeypatch, tmp_path, bytes(blob))
    assert "is bad: it is not a valid .npz archive (" in message


class _RunsCommand:
    def __reduce__(self):
        return (print, ("this ran",))


@pytest.mark.parametrize("pickled", ["array", "file"])
def test_pickles_are_refused(monkeypatch, tmp_path, capsys, pickled):
    if pickled == "array":
        blob = texas_with(node_labels=np.array([_RunsCommand()] * 183, dtype=object))
    else:
        blob = pickle.dumps(raw("texas"))
    message, _ = load_planted(monkeypatch, tmp_path, blob)
    if pickled == "array":
        assert "is bad: its array 'node_labels' is pickled (an object array), and gatkit refuses" in message
    else:
        assert "it is not an .npz archive" in message
    assert "this ran" not in capsys.readouterr().out


def test_a_missing_array(monkeypatch, tmp_path):
    message, _ = load_planted(monkeypatch, tmp_path, texas_with(edges=None))
    assert ("is bad: it has no array 'edges' (it holds node_features, node_labels, train_masks, val_masks, "
            "test_masks)") in message


TEXAS = raw("texas") if (MIRROR / "texas.npz").is_file() else {}


@pytest.mark.parametrize(("change", "expected"), [
    ({"node_features": TEXAS.get("node_features", np.zeros(1))[:, 0]},
     "node_features must be a 2-D float array (N, F), got float32 of shape (183,)"),
    ({"node_features": np.ones((183, 3), dtype=np.int64)},
     "node_features must be a 2-D float array (N, F), got int64 of shape (183, 3)"),
    ({"node_labels": np.zeros(183, dtype=np.float32)},
     "node_labels must be a 1-D integer array of length N = 183 (a label per row of node_features), "
     "got float32 of shape (183,)"),
    ({"node_labels": np.zeros(182, dtype=np.int64)}, "node_labels must be a 1-D integer array of length N = 183"),
    ({"node_labels": np.zeros((183, 1), dtype=np.int64)},
     "node_labels must be a 1-D integer array of length N = 183 (a label per row of node_features), "
     "got int64 of shape (183, 1)"),
    ({"edges": TEXAS.get("edges", np.zeros((1, 2))).T}, "edges must be an (E, 2) integer array, got int64 of shape (2, 279)"),
    ({"edges": np.zeros((4, 2), dtype=np.float64)}, "edges must be an (E, 2) integer array, got float64 of shape (4, 2)"),
    ({"train_masks": np.zeros((9, 183), dtype=bool)},
     "train_masks must be a (10, N = 183) boolean array, got bool of shape (9, 183)"),
    ({"test_masks": np.zeros((10, 183), dtype=np.int64)}, "test_masks must be a (10, N = 183) boolean array, got int64"),
])
def test_wrong_shapes_or_dtypes(monkeypatch, tmp_path, change, expected):
    message, _ = load_planted(monkeypatch, tmp_path, texas_with(**change))
    assert f"is bad: {expected}" in message


@pytest.mark.parametrize(("label", "expected"), [(5, "from 0 to 5"), (-1, "from -1 to 4")])
def test_labels_out_of_range(monkeypatch, tmp_path, label, expected):
    labels = TEXAS["node_labels"].copy()
    labels[7] = label
    message, _ = load_planted(monkeypatch, tmp_path, texas_with(node_labels=labels))
    assert f"node_labels run {expected}, but texas has 5 classes, 0 to 4" in message


@pytest.mark.parametrize(("end", "expected"), [(183, "0 to 183"), (-2, "-2 to 182")])
def test_edge_ends_out_of_range(monkeypatch, tmp_path, end, expected):
    pairs = TEXAS["edges"].copy()
    pairs[3, 1] = end
    message, _ = load_planted(monkeypatch, tmp_path, texas_with(edges=pairs))
    assert f"edges join node ids {expected}, but the nodes are 0 to 182" in message


def test_overlapping_masks(monkeypatch, tmp_path):
    val = TEXAS["val_masks"].copy()
    node = int(np.flatnonzero(TEXAS["test_masks"][6])[0])
    val[6, node] = True
    message, _ = load_planted(monkeypatch, tmp_path, texas_with(val_masks=val))
    assert f"split 6 puts node {node} in more than one of train_masks, val_masks and test_masks" in message


def test_features_that_are_not_finite(monkeypatch, tmp_path):
    features = TEXAS["node_features"].copy()
    features[0, 0], features[1, 1] = np.nan, np.inf
    message, _ = load_planted(monkeypatch, tmp_path, texas_with(node_features=features))
    assert "node_features holds 2 NaN or infinite values" in message


def test_a_file_that_passes_every_check_loads(monkeypatch, tmp_path):
    # Planting machinery sanity check: an unchanged re-save (other bytes, same arrays) loads.
    plant(monkeypatch, tmp_path, texas_with())
    assert load_heterophilous("texas", tmp_path, progress=False).num_edges == 558
