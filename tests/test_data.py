"""Tests for gatkit.data: Planetoid loading, download safety, restricted unpickling.

No test touches the network: the files come from the local mirror
(``shared/data/planetoid`` beside the repository), either as a folder or
served over HTTP by a throw-away server on 127.0.0.1, and an autouse fixture
makes any other URL fail.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import time
import warnings
from pathlib import Path

import numpy as np
import pooch
import pytest
import scipy.sparse as sp
import torch

from gatkit import data
from gatkit.data import (
    CHECKSUMS,
    PLANETOID_URL,
    DataError,
    Planetoid,
    default_root,
    load_planetoid,
    safe_unpickle,
)

MIRROR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "planetoid"
PLANETOID_FILES = {f: pinned for name in ("cora", "citeseer") for f, pinned in CHECKSUMS[name].items()}

pytestmark = [
    pytest.mark.skipif(not (MIRROR / "SHA256SUMS").is_file(),
                       reason=f"Planetoid mirror not found at {MIRROR}"),
    # gatkit/__init__ silences this once at import; pytest resets filters per test.
    pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta"),
    pytest.mark.usefixtures("blocked_urls"),  # tests/conftest.py: no network but localhost
]

CORA_COUNTS = {
    "Theory": 351, "Reinforcement_Learning": 217, "Genetic_Algorithms": 418,
    "Neural_Networks": 818, "Probabilistic_Methods": 426, "Case_Based": 298,
    "Rule_Learning": 180,
}
# Class sizes of the original CiteSeer dataset (3312 labelled papers).
CITESEER_COUNTS = {"Agents": 596, "AI": 249, "DB": 701, "IR": 668, "ML": 590, "HCI": 508}


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------


def _load_from_mirror(name: str, root: Path) -> Planetoid:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GATKIT_DATA_MIRROR", str(MIRROR))
        return load_planetoid(name, root, progress=False)


@pytest.fixture(scope="module")
def cora_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cora_cache")


@pytest.fixture(scope="module")
def cora(cora_root) -> Planetoid:
    return _load_from_mirror("cora", cora_root)


@pytest.fixture(scope="module")
def citeseer(tmp_path_factory) -> Planetoid:
    return _load_from_mirror("citeseer", tmp_path_factory.mktemp("citeseer_cache"))


def _leftovers(folder: Path) -> list[str]:
    """Hidden (temporary) files, plus files that fail their pinned checksum."""
    pinned = {f: v for files in CHECKSUMS.values() for f, v in files.items()}
    bad = []
    for path in sorted(folder.iterdir()) if folder.exists() else []:
        blob = path.read_bytes()
        if path.name not in pinned or (len(blob), hashlib.sha256(blob).hexdigest()) != pinned[path.name]:
            bad.append(path.name)
    return bad


def _flip_byte(path: Path) -> None:
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.chmod(0o644)
    path.write_bytes(bytes(blob))


# --------------------------------------------------------------------------
# The datasets
# --------------------------------------------------------------------------


def _check_edges(ds: Planetoid) -> None:
    n = ds.num_nodes
    src, dst = ds.edge_index
    assert ds.edge_index.dtype == torch.int64
    assert not torch.any(src == dst), "self-loops"
    key = dst * n + src
    assert torch.all(key[1:] > key[:-1]), "not strictly sorted by (target, source): unsorted or duplicates"
    reverse = torch.sort(src * n + dst).values
    assert torch.equal(reverse, key), "not symmetric"
    loops = ds.edge_index_with_self_loops
    assert loops.shape == (2, ds.num_edges + n)
    lkey = loops[1] * n + loops[0]
    assert torch.all(lkey[1:] > lkey[:-1])
    expected = torch.sort(torch.cat([key, torch.arange(n) * (n + 1)])).values
    assert torch.equal(lkey, expected)


def _check_features(ds: Planetoid) -> None:
    assert ds.x_raw.layout == torch.sparse_csr and ds.x_raw.dtype == torch.float32
    assert ds.x.dtype == torch.float32 and ds.x.shape == (ds.num_nodes, ds.num_features)
    dense = ds.x_raw.to_dense()
    assert set(dense.unique().tolist()) == {0.0, 1.0}
    sums = dense.sum(dim=1, keepdim=True)
    expected = torch.where(sums > 0, dense / sums.clamp(min=1), torch.zeros_like(dense))
    assert torch.allclose(ds.x, expected, atol=1e-6)
    row_sums = ds.x.sum(dim=1)
    assert not torch.isnan(ds.x).any()
    empty = sums.squeeze(1) == 0
    assert torch.allclose(row_sums[~empty], torch.ones(int((~empty).sum())), atol=1e-5)
    assert torch.all(row_sums[empty] == 0)


def _check_splits(ds: Planetoid, n_train: int) -> None:
    assert torch.equal(ds.train_idx, torch.arange(n_train))
    assert torch.equal(ds.val_idx, torch.arange(n_train, n_train + 500))
    assert len(ds.test_idx) == 1000
    for idx in (ds.train_idx, ds.val_idx, ds.test_idx):
        assert idx.dtype == torch.int64 and torch.all(idx[1:] > idx[:-1])
    masks = torch.stack([ds.train_mask, ds.val_mask, ds.test_mask]).int()
    assert masks.sum(dim=0).max() == 1, "splits overlap"
    assert masks.sum().item() == n_train + 1500
    assert torch.equal(torch.nonzero(ds.test_mask).squeeze(1), ds.test_idx)


def _class_counts(ds: Planetoid) -> dict[str, int]:
    labelled = torch.ones(ds.num_nodes, dtype=torch.bool)
    labelled[ds.missing_test_nodes] = False
    counts = torch.bincount(ds.y[labelled], minlength=ds.num_classes)
    return dict(zip(ds.class_names, counts.tolist()))


def test_cora_facts(cora):
    assert (cora.name, cora.num_nodes, cora.num_features, cora.num_classes) == ("cora", 2708, 1433, 7)
    assert cora.num_edges == 10556
    assert cora.edge_index_with_self_loops.shape[1] == 13264
    assert torch.bincount(cora.edge_index[1]).max() == 168
    assert cora.missing_test_nodes.numel() == 0 and cora.missing_test_nodes.dtype == torch.int64
    assert cora.y.dtype == torch.int64 and cora.y.shape == (2708,)
    _check_splits(cora, 140)
    _check_edges(cora)
    _check_features(cora)


def test_citeseer_facts(citeseer):
    ds = citeseer
    assert (ds.name, ds.num_nodes, ds.num_features, ds.num_classes) == ("citeseer", 3327, 3703, 6)
    assert ds.num_edges == 9104
    assert ds.edge_index_with_self_loops.shape[1] == 9104 + 3327
    assert torch.bincount(ds.edge_index[1]).max() == 99
    _check_splits(ds, 120)
    _check_edges(ds)
    _check_features(ds)


def test_citeseer_filler_nodes(citeseer):
    ds = citeseer
    test_ids = [int(t) for t in (MIRROR / "ind.citeseer.test.index").read_text().split()]
    gaps = sorted(set(range(min(test_ids), max(test_ids) + 1)) - set(test_ids))
    assert ds.missing_test_nodes.tolist() == gaps and len(gaps) == 15
    miss = ds.missing_test_nodes
    assert torch.all(ds.x[miss] == 0) and torch.all(ds.y[miss] == 0)
    # They are the only nodes without words, and in no split.
    assert torch.equal(torch.nonzero(ds.x.sum(dim=1) == 0).squeeze(1), miss)
    in_split = ds.train_mask | ds.val_mask | ds.test_mask
    assert not in_split[miss].any()


def test_class_names_match_class_sizes(cora, citeseer):
    assert _class_counts(cora) == CORA_COUNTS
    assert _class_counts(citeseer) == CITESEER_COUNTS
    assert citeseer.class_names == ("AI", "ML", "IR", "DB", "Agents", "HCI")


def _gcn_style_reference(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels assembled step by step as the GCN paper's code does."""
    part = {p: safe_unpickle((MIRROR / f"ind.{name}.{p}").read_bytes(), filename=p)
            for p in ("allx", "ally", "tx", "ty")}
    tx, ty = part["tx"], part["ty"]
    order = np.array((MIRROR / f"ind.{name}.test.index").read_text().split(), dtype=np.int64)
    ranked = np.sort(order)
    lo, hi = ranked[0], ranked[-1]
    if hi - lo + 1 > len(order):  # gaps (Citeseer): pad with zero rows
        tx_full = sp.lil_matrix((hi - lo + 1, tx.shape[1]))
        tx_full[ranked - lo, :] = tx
        ty_full = np.zeros((hi - lo + 1, ty.shape[1]))
        ty_full[ranked - lo, :] = ty
        tx, ty = tx_full, ty_full
    feats = sp.vstack((part["allx"], tx)).tolil()
    feats[order, :] = feats[ranked, :]
    labels = np.vstack((part["ally"], ty))
    labels[order, :] = labels[ranked, :]
    return feats.toarray(), labels


@pytest.mark.parametrize("name", ["cora", "citeseer"])
def test_matches_gcn_style_assembly(name, cora, citeseer):
    ds = {"cora": cora, "citeseer": citeseer}[name]
    feats, labels = _gcn_style_reference(name)
    assert np.array_equal(ds.x_raw.to_dense().numpy(), feats)
    assert np.array_equal(ds.y.numpy(), labels.argmax(axis=1))
    # train nodes are the rows of ind.<name>.x, in order
    x = safe_unpickle((MIRROR / f"ind.{name}.x").read_bytes(), filename="x").toarray()
    assert np.array_equal(feats[: len(x)], x)


def test_checksums_agree_with_mirror_sha256sums():
    listed = {}
    for line in (MIRROR / "SHA256SUMS").read_text().splitlines():
        sha, fname = line.split()
        listed[fname] = sha
    assert {f: sha for f, (_, sha) in PLANETOID_FILES.items()} == listed
    assert {f: size for f, (size, _) in PLANETOID_FILES.items()} == {f: (MIRROR / f).stat().st_size for f in listed}


def test_dataset_checksum(cora, citeseer):
    # Same as `grep 'ind\.cora\.' SHA256SUMS | sha256sum`.
    lines = (MIRROR / "SHA256SUMS").read_text().splitlines(keepends=True)
    for ds in (cora, citeseer):
        mine = sorted((l for l in lines if l.split()[1].startswith(f"ind.{ds.name}.")),
                      key=lambda l: l.split()[1])
        mine = "".join(mine)
        assert ds.checksum == hashlib.sha256(mine.encode()).hexdigest()
    assert cora.checksum != citeseer.checksum


def test_repr(cora, citeseer):
    assert repr(cora) == ("Planetoid(cora: 2708 nodes, 1433 features, 7 classes, 10556 edges; "
                          "train/val/test = 140/500/1000)")
    assert "15 filler nodes" in repr(citeseer) and "120/500/1000" in repr(citeseer)


def test_cached_load_is_fast_and_offline(cora_root, cora, blocked_urls):
    # No mirror set: a cache miss would try the network and be refused.
    start = time.perf_counter()
    again = load_planetoid("CORA", cora_root, progress=False)  # names are case-insensitive
    elapsed = time.perf_counter() - start
    assert blocked_urls == []
    assert elapsed < 1.0, f"loading Cora from the cache took {elapsed:.2f} s"
    assert again.checksum == cora.checksum and torch.equal(again.edge_index, cora.edge_index)


def test_fetch_and_read_raw_file(cora_root, cora):
    paths = data.fetch_planetoid("cora", cora_root, progress=False)
    assert sorted(p.name for p in paths.values()) == sorted(CHECKSUMS["cora"])
    graph = data.read_raw_file("cora", "graph", cora_root, progress=False)
    assert isinstance(graph, dict) and len(graph) == 2708
    tx = data.read_raw_file("cora", "tx", cora_root, progress=False)
    assert isinstance(tx, sp.csr_matrix) and tx.shape == (1000, 1433)
    order = data.read_raw_file("cora", "test.index", cora_root, progress=False)
    assert order.dtype == np.int64 and np.array_equal(np.sort(order), cora.test_idx.numpy())
    with pytest.raises(DataError, match="unknown Planetoid part"):
        data.read_raw_file("cora", "features", cora_root, progress=False)


def test_unknown_name():
    with pytest.raises(DataError, match="pubmed") as err:
        load_planetoid("pubmed")
    assert "'cora'" in str(err.value) and "'citeseer'" in str(err.value)


# --------------------------------------------------------------------------
# Cache location and mirrors
# --------------------------------------------------------------------------


def test_default_root(monkeypatch, tmp_path):
    monkeypatch.setenv("GATKIT_DATA_DIR", str(tmp_path / "env"))
    assert default_root() == tmp_path / "env"
    monkeypatch.delenv("GATKIT_DATA_DIR")
    # Pretend gatkit lives in tmp_path/repo/gatkit: no repo data/ -> ~/.cache/gatkit
    monkeypatch.setattr(data, "__file__", str(tmp_path / "repo" / "gatkit" / "data.py"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_root() == tmp_path / "home" / ".cache" / "gatkit"
    (tmp_path / "repo" / "data").mkdir(parents=True)
    assert default_root() == tmp_path / "repo" / "data"


def test_gatkit_data_dir_is_used(monkeypatch, tmp_path):
    monkeypatch.setenv("GATKIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GATKIT_DATA_MIRROR", MIRROR.as_uri())  # file:// URL form
    ds = load_planetoid("cora", progress=False)
    assert ds.num_nodes == 2708
    assert sorted(p.name for p in (tmp_path / "planetoid").iterdir()) == sorted(CHECKSUMS["cora"])


def test_relative_mirror_folder_and_a_quiet_download(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(MIRROR.parent)
    monkeypatch.setenv("GATKIT_DATA_MIRROR", MIRROR.name)
    logged = []
    handler = logging.Handler()
    handler.emit = logged.append
    pooch.get_logger().addHandler(handler)
    try:
        assert load_planetoid("cora", tmp_path, progress=False).num_nodes == 2708
    finally:
        pooch.get_logger().removeHandler(handler)
    assert logged == [] and capsys.readouterr().err == "", "progress=False must print nothing"


def test_mirror_folder_missing_a_file(monkeypatch, tmp_path):
    partial = tmp_path / "mirror"
    partial.mkdir()
    for f in CHECKSUMS["cora"]:
        if f != "ind.cora.graph":
            (partial / f).write_bytes((MIRROR / f).read_bytes())
    monkeypatch.setenv("GATKIT_DATA_MIRROR", str(partial))
    with pytest.raises(DataError, match=r"no file ind\.cora\.graph"):
        load_planetoid("cora", tmp_path / "cache", progress=False)
    assert _leftovers(tmp_path / "cache" / "planetoid") == []


def test_no_network_mentions_mirror(blocked_urls, tmp_path):
    with pytest.raises(DataError, match="GATKIT_DATA_MIRROR") as err:
        load_planetoid("cora", tmp_path, progress=False)
    assert "ind.cora." in str(err.value)
    assert blocked_urls and blocked_urls[0].startswith(PLANETOID_URL + "ind.cora.")
    assert _leftovers(tmp_path / "planetoid") == []


def test_unreachable_mirror(monkeypatch, tmp_path):
    monkeypatch.setenv("GATKIT_DATA_MIRROR", "http://127.0.0.1:1/")
    with pytest.raises(DataError, match="GATKIT_DATA_MIRROR") as err:
        load_planetoid("citeseer", tmp_path, progress=False)
    assert "ind.citeseer.x" in str(err.value)
    assert _leftovers(tmp_path / "planetoid") == []


# --------------------------------------------------------------------------
# Downloading over HTTP
# --------------------------------------------------------------------------


def test_http_download_then_cache(serve, tmp_path, capsys):
    server = serve(MIRROR)
    ds = load_planetoid("cora", tmp_path, progress=True)
    assert ds.num_edges == 10556
    assert sorted(server.requests) == sorted("/" + f for f in CHECKSUMS["cora"])
    assert sorted(p.name for p in (tmp_path / "planetoid").iterdir()) == sorted(CHECKSUMS["cora"])
    assert "Downloading cora" in capsys.readouterr().err
    assert all((p.stat().st_mode & 0o777) == 0o644 for p in (tmp_path / "planetoid").iterdir())
    load_planetoid("cora", tmp_path, progress=True)
    assert len(server.requests) == 8, "a cached dataset must not be downloaded again"
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("truncate", r"truncated \(got 29923 of 59847 bytes\)"),
        ("die", r"truncated|broke off"),
        ("tamper", r"checksum mismatch.*corrupt or tampered"),
        ("long", r"too long"),
        ("404", r"HTTP 404"),
    ],
)
def test_bad_download_leaves_nothing(serve, tmp_path, mode, message):
    serve(MIRROR, mode, target="ind.cora.graph")
    with pytest.raises(DataError, match=message) as err:
        load_planetoid("cora", tmp_path, progress=False)
    assert "ind.cora.graph" in str(err.value)
    cache = tmp_path / "planetoid"
    assert not (cache / "ind.cora.graph").exists()
    assert _leftovers(cache) == [], "a temporary or unverified file was left in the cache"


# Slow servers, Ctrl-C and SIGTERM during a download, an unwritable cache: tests/test_downloads.py


# --------------------------------------------------------------------------
# A damaged cache
# --------------------------------------------------------------------------


def test_corrupted_cache_and_force_download(monkeypatch, tmp_path):
    monkeypatch.setenv("GATKIT_DATA_MIRROR", str(MIRROR))
    load_planetoid("cora", tmp_path, progress=False)
    bad = tmp_path / "planetoid" / "ind.cora.tx"
    _flip_byte(bad)
    with pytest.raises(DataError, match="force_download") as err:
        load_planetoid("cora", tmp_path, progress=False)
    assert str(bad) in str(err.value) and "checksum mismatch" in str(err.value)
    ds = load_planetoid("cora", tmp_path, progress=False, force_download=True)
    assert ds.num_nodes == 2708 and _leftovers(bad.parent) == []


def test_truncated_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("GATKIT_DATA_MIRROR", str(MIRROR))
    load_planetoid("cora", tmp_path, progress=False)
    bad = tmp_path / "planetoid" / "ind.cora.graph"
    bad.write_bytes(bad.read_bytes()[:100])
    with pytest.raises(DataError, match=r"truncated \(got 100 of 59847 bytes\)") as err:
        load_planetoid("cora", tmp_path, progress=False)
    assert str(bad) in str(err.value)


# --------------------------------------------------------------------------
# Restricted unpickling
# --------------------------------------------------------------------------


class _RunsCommand:
    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_safe_unpickle_refuses_os_system(tmp_path, protocol):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_RunsCommand(f"echo pwned > {marker}"), protocol=protocol)
    with pytest.raises(DataError, match=r"\b(os|posix|nt)\.system\b") as err:
        safe_unpickle(payload, filename="evil.pkl")
    assert "evil.pkl" in str(err.value)
    assert not marker.exists(), "the pickled command ran"


@pytest.mark.parametrize("obj", [eval, dict, np.load, Path])
def test_safe_unpickle_refuses_other_globals(obj):
    with pytest.raises(DataError, match="not allowed"):
        safe_unpickle(pickle.dumps(obj, protocol=2), filename="f.pkl")


@pytest.mark.parametrize("blob", [b"", b"not a pickle", (MIRROR / "ind.cora.graph").read_bytes()[:5000]])
def test_safe_unpickle_unreadable(blob):
    with pytest.raises(DataError, match="not a readable pickle") as err:
        safe_unpickle(blob, filename="ind.cora.graph")
    assert "ind.cora.graph" in str(err.value)


@pytest.mark.parametrize("fname", sorted(f for f in PLANETOID_FILES if not f.endswith("test.index")))
def test_safe_unpickle_real_files(fname):
    obj = safe_unpickle((MIRROR / fname).read_bytes(), filename=fname)
    part = fname.split(".", 2)[2]
    if part in ("x", "tx", "allx"):
        assert isinstance(obj, sp.csr_matrix) and obj.dtype == np.float32
    elif part == "graph":
        assert isinstance(obj, dict) and all(isinstance(v, list) for v in obj.values())
    else:
        assert isinstance(obj, np.ndarray) and obj.ndim == 2 and set(np.unique(obj)) <= {0, 1}
    # Same result as the unrestricted unpickler (fine here: the mirror is trusted).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # scipy.sparse.csr path
        plain = pickle.loads((MIRROR / fname).read_bytes(), encoding="latin1")
    if sp.issparse(obj):
        assert (obj != plain).nnz == 0
    elif isinstance(obj, dict):
        assert obj == plain
    else:
        assert np.array_equal(obj, plain)
