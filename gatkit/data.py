"""Planetoid citation graphs (Cora, Citeseer): download, verify, load.

The GAT paper evaluates on the *Planetoid* splits of Cora and Citeseer
(Yang, Cohen and Salakhutdinov, 2016). Those splits ship as eight files per
dataset, ``ind.<name>.{x,y,tx,ty,allx,ally,graph,test.index}``: Python-2
pickles of SciPy/NumPy objects plus one text file. This module

* fetches the files into a local cache (once) with the ``pooch`` library,
  which checks every byte against the checksums pinned below before a file
  may enter the cache;
* unpickles them with a restricted unpickler (a pickle can run arbitrary code,
  and these files come from the internet);
* assembles them the way the reference GCN/GAT code does, and returns a
  :class:`Planetoid` holding PyTorch tensors ready for a GAT layer.

Every failure a user can meet is a :class:`DataError` whose message names the
file involved and says what to do about it.

Examples
--------
>>> from gatkit.data import load_planetoid
>>> cora = load_planetoid("cora")                          # doctest: +SKIP
>>> cora                                                   # doctest: +SKIP
Planetoid(cora: 2708 nodes, 1433 features, 7 classes, 10556 edges; train/val/test = 140/500/1000)
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import pickle
import signal
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

import numpy as np
import scipy.sparse as sp
import torch
from tqdm.auto import tqdm

from gatkit import edges

__all__ = [
    "CHECKSUMS",
    "CLASS_NAMES",
    "DOWNLOAD_DEADLINE",
    "DOWNLOAD_TIMEOUT",
    "DataCacheError",
    "DataError",
    "PLANETOID_URL",
    "Planetoid",
    "Split",
    "default_root",
    "fetch_planetoid",
    "load_planetoid",
    "read_raw_file",
    "row_normalise",
    "safe_unpickle",
]

#: Where the Planetoid authors publish the files; append a file name.
PLANETOID_URL = "https://github.com/kimiyoung/planetoid/raw/master/data/"

#: Seconds to wait for a server before giving up (per connect / per read).
DOWNLOAD_TIMEOUT = 30.0

#: Seconds one file's download may take in all, however steadily the bytes arrive (checked as
#: they arrive; a server that sends nothing at all is stopped by :data:`DOWNLOAD_TIMEOUT`).
#: The largest file is 0.6 MB, so this allows a connection of about 1 kB/s.
DOWNLOAD_DEADLINE = 600.0

_CHUNK = 1 << 16
_PARTS = ("x", "y", "tx", "ty", "allx", "ally", "graph", "test.index")
_NUM_VAL = 500  # the Planetoid/GCN validation split: the 500 nodes after train
_MIRROR_ENV = "GATKIT_DATA_MIRROR"
_ROOT_ENV = "GATKIT_DATA_DIR"

#: name -> file name -> (size in bytes, sha256). Pinned in code on purpose:
#: a checksum fetched from the same place as the data would prove nothing.
CHECKSUMS: dict[str, dict[str, tuple[int, str]]] = {
    "cora": {
        "ind.cora.x": (22119, "23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab"),
        "ind.cora.y": (4054, "94465c14eb53e04ca262198dcbb2521ee8af60fb3f3d546cd6ca24a511b0e7d1"),
        "ind.cora.tx": (148025, "b9afbaa4a400df991f6f02ef677e1e44da55ffc04801fd02f9e673987829226a"),
        "ind.cora.ty": (28135, "41f5ac76596a1699cc33f53084a2419e92961c42bb75f36fc38e616d348532ad"),
        "ind.cora.allx": (257305, "9419ba2f26f5c35243db64aba110e0f35a04851609e0dc5433450676ca6b8543"),
        "ind.cora.ally": (47959, "2b998f5cc7fedc86e7f97ca2498f47a1ffc1462c29e2d578b23bf3f62b6e7d71"),
        "ind.cora.graph": (59847, "58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d"),
        "ind.cora.test.index": (5000, "297ce89af2b51a6a194181c7dbe1796c6a1cf9cd9349a88383b1b1e227867875"),
    },
    "citeseer": {
        "ind.citeseer.x": (31087, "d20de19150741e555de0ed037195630fc194114ebc7fd72ced62810148aa22f6"),
        "ind.citeseer.y": (3014, "8ba87e515d8e3ee3cf52f6d2c5b86aa73f11ecad825a808455209ec26cd54924"),
        "ind.citeseer.tx": (260321, "539a8906a2da97628d212f2fdd668c109a8b3f0d36574b59e5d3fd5b5303da21"),
        "ind.citeseer.ty": (24135, "55e5bd1ba1e733a04598753ad1a8d57957f4b8f89e74519f41f4f4938767e4ce"),
        "ind.citeseer.allx": (595021, "2ac30345d95c9ec933a817ee0bdd6a5f077f8c184a20e696910192d534414668"),
        "ind.citeseer.ally": (55623, "f704b2d986dde6c2669934de1f3ae5696a6cf9455c0f6b2646a2d135ea0a1c95"),
        "ind.citeseer.graph": (61987, "d79a4ef9d3e7169aee8946145f6b7306e35bc79bffad26346cfb94e10e9912a7"),
        "ind.citeseer.test.index": (5000, "2af990671580b6b2df5d158d1038f8292e30c9cd821b5453f399659b25b723d4"),
    },
}

# The files store class ids only. The names were matched by class size against
# the original datasets (Cora: McCallum et al.; CiteSeer: Giles et al. / LINQS);
# tests/test_data.py re-checks the sizes, so a wrong name would fail there.
CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "cora": (
        "Theory",                  # 351 nodes
        "Reinforcement_Learning",  # 217
        "Genetic_Algorithms",      # 418
        "Neural_Networks",         # 818
        "Probabilistic_Methods",   # 426
        "Case_Based",              # 298
        "Rule_Learning",           # 180
    ),
    "citeseer": (
        "AI",      # 249 nodes
        "ML",      # 590
        "IR",      # 668
        "DB",      # 701
        "Agents",  # 596
        "HCI",     # 508
    ),
}


class DataError(RuntimeError):
    """A dataset file could not be fetched, verified or read.

    The message always names the file (or dataset) involved and says what to
    do next, so it can be shown to a student as is.
    """


class DataCacheError(DataError):
    """The cache folder cannot be created or written (read-only, a file in the way, disk full).

    A problem of the set-up rather than of the data: ``gatkit`` exits with code 2 for it. The
    message names the folder and the fix (``GATKIT_DATA_DIR``).
    """


# --------------------------------------------------------------------------
# The dataset object
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Split:
    """Which nodes a run trains on, stops on (validation) and is tested on: sorted int64 ids, disjoint.

    A dataset's ``splits`` lists those it comes with (:attr:`Planetoid.splits`: one, the public
    split); :func:`gatkit.train.train_runs` trains a run on each split it is given.
    """

    train_idx: torch.Tensor
    val_idx: torch.Tensor
    test_idx: torch.Tensor


@dataclass(frozen=True, repr=False, eq=False)
class Planetoid:
    """One Planetoid dataset, as tensors.

    ``eq=False`` because tensors have no single truth value, so a generated
    ``__eq__`` would raise; two loads compare equal via ``checksum``.

    Attributes
    ----------
    name : str
        ``"cora"`` or ``"citeseer"``.
    x_raw : torch.Tensor
        ``(N, F)`` float32 sparse CSR: the raw 0/1 bag-of-words exactly as the
        files hold them (after the test rows are put in node order).
    x : torch.Tensor
        ``(N, F)`` float32 dense, row-normalised: each row sums to 1, rows with
        no words stay all-zero (the GAT paper's preprocessing).
    y : torch.Tensor
        ``(N,)`` int64 class ids. Nodes with no label (Citeseer's filler
        nodes) get class 0, as the GCN and PyG loaders do; they are in no
        split, so the value is never used for training or scoring.
    edge_index : torch.Tensor
        ``(2, E)`` int64. Row 0 is the source ``j``, row 1 the target ``i`` of
        a message ``j -> i``. Each undirected edge appears in both directions;
        no duplicates, no self-loops; sorted by (target, source).
    edge_index_with_self_loops : torch.Tensor
        ``(2, E + N)``: ``edge_index`` plus ``(i, i)`` for every node, in the
        same order. GAT attends over a node's neighbours *and itself*.
    train_idx, val_idx, test_idx : torch.Tensor
        Sorted int64 node ids of the Planetoid splits (disjoint).
    class_names : tuple of str
        Human-readable name of each class id.
    missing_test_nodes : torch.Tensor
        int64 ids of filler nodes that have no features and no label
        (Citeseer: 15; Cora: none).
    checksum : str
        sha256 identifying the exact files the dataset was built from (see
        :func:`_dataset_checksum`).
    """

    name: str
    x_raw: torch.Tensor
    x: torch.Tensor
    y: torch.Tensor
    edge_index: torch.Tensor
    edge_index_with_self_loops: torch.Tensor
    train_idx: torch.Tensor
    val_idx: torch.Tensor
    test_idx: torch.Tensor
    class_names: tuple[str, ...]
    missing_test_nodes: torch.Tensor
    checksum: str

    @cached_property
    def x_sparse(self) -> torch.Tensor:
        """``x`` as a sparse CSR tensor (N, F): the same values without the zeros.

        GAT layers accept it in place of ``x``; their input dropout and projection then skip the
        98.7% of Cora's entries that are zero, which makes training several times faster.
        """
        return self.x.to_sparse_csr()

    @property
    def splits(self) -> list[Split]:
        """The splits this dataset comes with: one, the public Planetoid split."""
        return [Split(self.train_idx, self.val_idx, self.test_idx)]

    @property
    def num_nodes(self) -> int:
        """Number of nodes ``N`` (filler nodes included)."""
        return int(self.x.shape[0])

    @property
    def num_features(self) -> int:
        """Number of input features ``F`` (vocabulary size)."""
        return int(self.x.shape[1])

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    @property
    def num_edges(self) -> int:
        """Number of directed edges ``E``, self-loops not counted."""
        return int(self.edge_index.shape[1])

    @property
    def train_mask(self) -> torch.Tensor:
        """Boolean ``(N,)`` mask of the training nodes."""
        return self._mask(self.train_idx)

    @property
    def val_mask(self) -> torch.Tensor:
        """Boolean ``(N,)`` mask of the validation nodes."""
        return self._mask(self.val_idx)

    @property
    def test_mask(self) -> torch.Tensor:
        """Boolean ``(N,)`` mask of the test nodes."""
        return self._mask(self.test_idx)

    def _mask(self, idx: torch.Tensor) -> torch.Tensor:
        mask = torch.zeros(self.num_nodes, dtype=torch.bool)
        mask[idx] = True
        return mask

    def __repr__(self) -> str:
        filler = len(self.missing_test_nodes)
        extra = f", {filler} filler nodes" if filler else ""
        return (
            f"Planetoid({self.name}: {self.num_nodes} nodes, {self.num_features} features, "
            f"{self.num_classes} classes, {self.num_edges} edges{extra}; "
            f"train/val/test = {len(self.train_idx)}/{len(self.val_idx)}/{len(self.test_idx)})"
        )


# --------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------


def default_root() -> Path:
    """Return the cache folder used when ``load_planetoid`` gets no ``root``.

    Returns
    -------
    pathlib.Path
        ``$GATKIT_DATA_DIR`` if set; else the repository's ``data/`` folder
        when it exists (a source checkout); else ``~/.cache/gatkit`` (an
        installed package must not write inside site-packages).
    """
    env = os.environ.get(_ROOT_ENV)
    if env:
        return Path(env).expanduser()
    repo_data = Path(__file__).resolve().parents[1] / "data"
    if repo_data.is_dir():
        return repo_data
    return Path.home() / ".cache" / "gatkit"


def load_planetoid(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    progress: bool = True,
    force_download: bool = False,
) -> Planetoid:
    """Load Cora or Citeseer with the Planetoid split, downloading if needed.

    Parameters
    ----------
    name : str
        ``"cora"`` or ``"citeseer"`` (case-insensitive).
    root : str or os.PathLike, optional
        Cache folder; files live in ``<root>/planetoid/``. Defaults to
        :func:`default_root`.
    progress : bool, default True
        Show a progress bar while downloading.
    force_download : bool, default False
        Fetch again every cached file that fails its checksum (repairs a damaged
        cache); without it, a damaged file raises ``DataError``.

    Returns
    -------
    Planetoid

    Raises
    ------
    DataCacheError
        The cache folder cannot be created or written, and a file has to be downloaded.
    DataError
        Unknown name, no network and no mirror, a download slower than
        :data:`DOWNLOAD_DEADLINE`, a file that fails its size or checksum test, or a
        file that cannot be read.

    Notes
    -----
    Files come from ``$GATKIT_DATA_MIRROR`` when set (a folder, ``file://``
    or ``http(s)://`` URL), else from :data:`PLANETOID_URL`. Cached files
    are re-verified on every load. A cache folder that already holds the files
    is only read, so it may be read-only. A download interrupted by an
    exception, Ctrl-C or SIGTERM leaves no partial file behind.
    """
    paths = fetch_planetoid(name, root, progress=progress, force_download=force_download)
    key = _check_name(name)
    raw = {part: _read_part(key, part, path.parent) for part, path in paths.items()}
    return _assemble(key, raw)


def fetch_planetoid(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    progress: bool = True,
    force_download: bool = False,
) -> dict[str, Path]:
    """Make sure the eight files of ``name`` are in the cache; return ``{part: path}``.

    Parts are ``x, y, tx, ty, allx, ally, graph, test.index``. Arguments and errors as in
    :func:`load_planetoid`.
    """
    key = _check_name(name)
    folder = Path(root if root is not None else default_root()).expanduser() / "planetoid"
    _ensure_cached(key, folder, progress=progress, force=force_download)
    return {part: folder / f"ind.{key}.{part}" for part in _PARTS}


def read_raw_file(name: str, part: str, root: str | os.PathLike | None = None, *,
                  progress: bool = True) -> object:
    """One Planetoid file as its authors stored it (verified, safely unpickled).

    ``test.index`` gives an int64 array; the others a ``scipy.sparse.csr_matrix`` (``x``,
    ``tx``, ``allx``), a one-hot ``numpy.ndarray`` (``y``, ``ty``, ``ally``) or the adjacency
    ``dict`` (``graph``). Chapter 01 opens them one by one.
    """
    if part not in _PARTS:
        raise DataError(f"unknown Planetoid part {part!r}: the files are {', '.join(_PARTS)}.")
    path = fetch_planetoid(name, root, progress=progress)[part]
    obj = _read_part(_check_name(name), part, path.parent)
    return _as_csr(obj, path.name) if part in ("x", "tx", "allx") else obj


def row_normalise(features: torch.Tensor) -> torch.Tensor:
    """Dense float32 copy of ``features`` (N, F) with every non-empty row scaled to sum 1.

    Accepts a sparse or dense tensor and leaves it unchanged. All-zero rows (Citeseer's filler
    nodes) stay zero instead of becoming 0 / 0 = NaN. This is the GAT paper's preprocessing.
    """
    dense = features.to_dense() if features.layout != torch.strided else features
    row_sums = dense.sum(dim=1, keepdim=True)  # (N, 1)
    return (dense / row_sums.clamp(min=torch.finfo(dense.dtype).tiny)).float()  # (N, F)


def safe_unpickle(data: bytes, *, filename: str) -> object:
    """Unpickle a Planetoid file, refusing anything but the expected types.

    ``pickle.loads`` will call any function a file names, so a doctored file
    could run code on the student's machine. This unpickler resolves only the
    handful of globals the genuine Planetoid files use.

    Parameters
    ----------
    data : bytes
        The pickle (a Python-2 pickle; text is decoded as latin-1).
    filename : str
        Name used in error messages.

    Returns
    -------
    object
        A ``scipy.sparse.csr_matrix``, ``numpy.ndarray`` or
        ``collections.defaultdict`` for the genuine files.

    Raises
    ------
    DataError
        The pickle asks for a global that is not allowed (the message names
        it as ``module.name``), or it is not a readable pickle.
    """
    unpickler = _RestrictedUnpickler(io.BytesIO(data), filename=filename)
    try:
        return unpickler.load()
    except DataError:
        raise
    except Exception as exc:  # pickle raises many types for damaged input
        raise DataError(
            f"{filename} is not a readable pickle ({type(exc).__name__}: {exc}). "
            "The file is damaged: delete it, or load with force_download=True."
        ) from exc


# --------------------------------------------------------------------------
# Restricted unpickling
# --------------------------------------------------------------------------


def _numpy_reconstruct() -> Callable:
    # NumPy 2 moved numpy.core to numpy._core; the old path still imports but
    # warns, so try the new one first.
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # NumPy 1.x
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


# (module, name) as written in the Python-2 files -> how to get the object
# today. Exactly the globals the eight files of each dataset reference.
_ALLOWED_GLOBALS: dict[tuple[str, str], Callable[[], object]] = {
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
    ("scipy.sparse.csr", "csr_matrix"): lambda: sp.csr_matrix,
    ("collections", "defaultdict"): lambda: __import__("collections").defaultdict,
    ("__builtin__", "list"): lambda: list,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` whose ``find_class`` is an allow-list."""

    def __init__(self, file: BinaryIO, *, filename: str) -> None:
        # latin-1 maps Python-2 byte strings (NumPy buffers) 1:1 onto bytes.
        super().__init__(file, encoding="latin1")
        self._filename = filename

    def find_class(self, module: str, name: str) -> object:
        resolve = _ALLOWED_GLOBALS.get((module, name))
        if resolve is None:
            raise DataError(
                f"{self._filename} asks the unpickler for '{module}.{name}', which is not "
                "allowed: genuine Planetoid files only hold NumPy arrays, SciPy CSR "
                "matrices and a dict of lists. Do not use this file; delete it and "
                "download the dataset again."
            )
        return resolve()


# --------------------------------------------------------------------------
# Cache and download
# --------------------------------------------------------------------------


def _check_name(name: str) -> str:
    key = str(name).strip().lower()
    if key not in CHECKSUMS:
        known = ", ".join(repr(k) for k in CHECKSUMS)
        raise DataError(f"unknown dataset {name!r}: gatkit knows {known}.")
    return key


def _ensure_cached(name: str, folder: Path, *, progress: bool, force: bool) -> None:
    """Download the files of ``name`` that are not in ``folder`` yet (with ``force``: or are bad)."""
    files = CHECKSUMS[name]
    todo = [f for f in files if force or not (folder / f).exists()]
    if not todo:
        return
    import pooch  # imported here: only a download needs pooch (and requests behind it)

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass  # permission bits do not tell the whole story (read-only mounts, root): try it
    except OSError as exc:
        raise _cache_error(folder, name, exc) from exc
    mirror = os.environ.get(_MIRROR_ENV, "").strip() or None
    source = _source(mirror)
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)  # pooch's own "Downloading file ..." lines would be noise
    try:
        with _sigterm_cleans_up():
            for number, filename in enumerate(todo, 1):
                # One bar per file, cleared when complete.
                with tqdm(total=files[filename][0], unit="B", unit_scale=True, unit_divisor=1024, leave=False,
                          desc=f"Downloading {name} ({number}/{len(todo)})", disable=not progress) as bar:
                    _retrieve(filename, files[filename], folder, mirror, source, bar)
    finally:
        logger.setLevel(level)


def _cache_error(folder: Path, name: str, exc: OSError) -> DataCacheError:
    """The one-line error for a cache folder that cannot be created or written."""
    blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    reason = f"{blocker} is a file, not a folder" if blocker else (exc.strerror or str(exc))
    return DataCacheError(
        f"cannot write to the dataset cache folder {folder} ({reason}), so the {name} files cannot be "
        f"downloaded into it. Set {_ROOT_ENV} to a writable folder (e.g. `export {_ROOT_ENV}=~/gatkit-data`), "
        f"or to a folder whose planetoid/ subfolder already holds the ind.{name}.* files (it is then only "
        "read); load_planetoid also takes root=.")


class _Terminated(BaseException):
    """SIGTERM arrived during a download (a BaseException, so no ``except Exception`` stops it)."""


@contextlib.contextmanager
def _sigterm_cleans_up() -> Iterator[None]:
    """While files download, turn SIGTERM into an exception, so that the temporary file is deleted.

    SIGTERM's default action ends the process on the spot, with pooch's temporary file still in
    the cache. Inside this block it raises instead, the cleanup code runs, and then the process
    ends by the same signal as before, so its parent sees what it would have seen. Only when
    SIGTERM has its default action and this is the main thread: a program that handles SIGTERM
    itself keeps its handler.
    """
    sigterm = getattr(signal, "SIGTERM", None)
    if (sigterm is None or threading.current_thread() is not threading.main_thread()
            or signal.getsignal(sigterm) != signal.SIG_DFL):
        yield
        return

    def terminated(signum: int, frame: object) -> None:
        raise _Terminated

    signal.signal(sigterm, terminated)
    try:
        yield
    except _Terminated:
        signal.signal(sigterm, signal.SIG_DFL)
        os.kill(os.getpid(), sigterm)  # the partial file is gone: now end as SIGTERM would have
        raise SystemExit(128 + sigterm)  # only reached where the signal could not end the process
    finally:
        signal.signal(sigterm, signal.SIG_DFL)


def _retrieve(filename: str, expected: tuple[int, str], folder: Path, mirror: str | None,
              source: str | Path, bar: tqdm) -> None:
    """Fetch one file into ``folder`` with ``pooch.retrieve``; raise a one-line ``DataError``.

    pooch writes the file to a temporary file in ``folder``, checks the pinned sha256 and only
    then moves it into place; whatever goes wrong, Ctrl-C and SIGTERM included (see
    :func:`_sigterm_cleans_up`), it deletes the temporary file, so the cache never holds a
    partial or unverified file. Around it: the mirror folder, the download with its deadline, a
    size check (it says *how* a download went wrong, which a checksum cannot) and messages.
    """
    import pooch
    import requests

    size, sha = expected
    where = source / filename if isinstance(source, Path) else source + filename

    def download(url: str, output_file: str, caller: object) -> None:
        if not isinstance(where, Path):
            _http_download(url, output_file, bar, filename)
        elif where.is_file():
            try:
                data = where.read_bytes()
            except OSError as exc:
                raise DataError(f"cannot read {where} in the mirror folder ({_MIRROR_ENV}): "
                                f"{exc.strerror or exc}. Fix its permissions, or unset {_MIRROR_ENV} to "
                                f"download from {PLANETOID_URL}.") from exc
            Path(output_file).write_bytes(data)
            bar.update(size)
        else:
            raise DataError(f"the mirror folder {source} ({_MIRROR_ENV}) has no file {filename}. "
                            f"Copy it there, or unset {_MIRROR_ENV} to download from {PLANETOID_URL}.")
        problem = _mismatch(os.path.getsize(output_file), expected)
        if problem:
            raise DataError(f"download of {filename} from {where} failed: {problem}. {_retry_hint()}")
        os.chmod(output_file, 0o644)  # pooch's temporary file is private; the data is public

    url = where.absolute().as_uri() if isinstance(where, Path) else where  # pooch wants a URL
    try:
        pooch.retrieve(url, f"sha256:{sha}", fname=filename, path=folder, downloader=download)
    except requests.HTTPError as exc:
        raise DataError(f"cannot download {filename}: {where} answered HTTP {exc.response.status_code} "
                        f"{exc.response.reason}. " + _where_hint(mirror)) from exc
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
        raise DataError(f"download of {filename} from {where} broke off ({_reason(exc)}). "
                        f"{_retry_hint()}") from exc
    except requests.RequestException as exc:  # refused, unknown host, timed out
        raise DataError(f"cannot download {filename} from {where} ({_reason(exc)}). "
                        + _where_hint(mirror)) from exc
    except OSError as exc:  # after the requests errors, which are OSErrors too: writing the cache failed
        raise _cache_error(folder, filename.split(".")[1], exc) from exc  # ind.<name>.<part>
    except ValueError as exc:  # pooch found a sha256 other than the pinned one
        raise DataError(f"download of {filename} from {where} failed: checksum mismatch (expected "
                        f"sha256 {sha}); the file may be corrupt or tampered with. {_retry_hint()}"
                        ) from exc


def _http_download(url: str, output_file: str, bar: tqdm, filename: str) -> None:
    """Stream ``url`` into ``output_file``, giving up after :data:`DOWNLOAD_DEADLINE` seconds.

    A per-read timeout alone lets a server that sends one byte every few seconds hold the
    download for ever, so the time so far is checked whenever bytes arrive.
    """
    import requests

    deadline = time.monotonic() + DOWNLOAD_DEADLINE
    timeout = min(DOWNLOAD_TIMEOUT, DOWNLOAD_DEADLINE)
    got = 0
    with requests.get(url, stream=True, timeout=timeout) as response, open(output_file, "wb") as file:
        response.raise_for_status()
        for chunk in _arriving(response):
            file.write(chunk)
            got += len(chunk)
            bar.update(len(chunk))
            if time.monotonic() > deadline:
                raise DataError(f"download of {filename} from {url} took longer than {DOWNLOAD_DEADLINE:g} s "
                                f"(got {got} bytes so far); the server is too slow. {_retry_hint()}")


def _arriving(response) -> Iterator[bytes]:
    """The body of a streamed ``requests`` response, in pieces as soon as they arrive.

    ``iter_content`` waits for a whole chunk; urllib3's ``read1`` (urllib3 >= 2, a core
    dependency) returns whatever has come. Its errors become the ``requests`` errors that
    ``iter_content`` raises.
    """
    import requests
    import urllib3

    while True:
        try:
            chunk = response.raw.read1(_CHUNK, decode_content=True)
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise requests.exceptions.ConnectionError(exc) from exc
        except urllib3.exceptions.ProtocolError as exc:  # the connection broke off
            raise requests.exceptions.ChunkedEncodingError(exc) from exc
        except urllib3.exceptions.DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(exc) from exc
        if not chunk:
            return
        yield chunk


def _source(mirror: str | None) -> str | Path:
    """Where the files come from: a base URL, or a folder (a mirror folder or ``file://`` URL)."""
    if not mirror:
        return PLANETOID_URL
    scheme = urllib.parse.urlsplit(mirror).scheme.lower()
    if scheme in ("http", "https"):
        return mirror.rstrip("/") + "/"
    if scheme == "file":
        folder = Path(urllib.request.url2pathname(urllib.parse.urlsplit(mirror).path))
    else:
        folder = Path(mirror).expanduser()
    if not folder.is_dir():
        raise DataError(f"{_MIRROR_ENV}={mirror!r} is not a folder, so the Planetoid files cannot "
                        f"be copied from it. Fix or unset {_MIRROR_ENV}; {_mirror_example()}.")
    return folder


def _reason(exc: Exception) -> object:
    """The cause inside a requests error, without urllib3's connection-pool wrapping."""
    inner = exc.args[0] if exc.args else exc
    inner = getattr(inner, "reason", inner)
    text = getattr(inner, "args", None)
    return text[0] if text and isinstance(text[0], str) else inner


def _mismatch(got: int, expected: tuple[int, str], digest: str | None = None) -> str | None:
    """Describe how a file differs from its pinned (size, sha256), if it does; without
    ``digest``, compare the size only."""
    size, sha = expected
    if got < size:
        return f"the file is truncated (got {got} of {size} bytes)"
    if got > size:
        return f"the file is too long (expected {size} bytes, got {got})"
    if digest is not None and digest != sha:
        return (f"checksum mismatch (expected sha256 {sha}, got {digest}); "
                "the file may be corrupt or tampered with")
    return None


def _retry_hint() -> str:
    return (f"Try again; if this keeps happening, download the file by hand and point "
            f"{_MIRROR_ENV} at the folder holding it.")


def _mirror_example() -> str:
    return (f"e.g. `export {_MIRROR_ENV}=/path/to/planetoid` (a folder holding the "
            f"ind.* files) or `export {_MIRROR_ENV}=http://host:8000/`")


def _where_hint(mirror: str | None) -> str:
    if mirror is None:
        return (f"Without internet access, set {_MIRROR_ENV} to a copy of the Planetoid "
                f"files, {_mirror_example()}.")
    return (f"Check that the mirror {_MIRROR_ENV}={mirror!r} is up and holds the file, or "
            f"unset {_MIRROR_ENV} to use {PLANETOID_URL}; {_mirror_example()}.")


# --------------------------------------------------------------------------
# Reading the cached files
# --------------------------------------------------------------------------


def _read_part(name: str, part: str, folder: Path) -> object:
    """Read, verify and parse one cached file."""
    filename = f"ind.{name}.{part}"
    path = folder / filename
    data = _read_verified(path, CHECKSUMS[name][filename])
    if part == "test.index":
        return _parse_index(data, filename)
    return safe_unpickle(data, filename=filename)


def _read_verified(path: Path, expected: tuple[int, str]) -> bytes:
    # Hashing ~1 MB per dataset costs milliseconds, so the cache is checked on
    # every load rather than trusted: disks and students both edit files.
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read the cached file {path} ({exc}).") from exc
    problem = _mismatch(len(data), expected, hashlib.sha256(data).hexdigest())
    if problem:
        raise DataError(
            f"the cached file {path} is bad: {problem}. Delete it, or load with "
            "force_download=True, to download it again."
        )
    return data


def _parse_index(data: bytes, filename: str) -> np.ndarray:
    try:
        return np.array([int(line) for line in data.decode("ascii").split()], dtype=np.int64)
    except (UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{filename} is not a list of integers ({exc}); delete it "
                        "and download it again.") from exc


def _as_csr(obj: object, filename: str) -> sp.csr_matrix:
    # Rebuild from the three arrays: the unpickled object carries the
    # attribute layout of a 2016 SciPy, which newer SciPy may not expect.
    if not isinstance(obj, sp.csr_matrix):
        raise DataError(f"{filename} holds a {type(obj).__name__}, expected a sparse matrix.")
    return sp.csr_matrix((obj.data, obj.indices, obj.indptr), shape=obj.shape)


def _as_labels(obj: object, filename: str) -> np.ndarray:
    if not (isinstance(obj, np.ndarray) and obj.ndim == 2):
        raise DataError(f"{filename} holds a {type(obj).__name__}, expected a 2-D array.")
    return obj


def _as_graph(obj: object, filename: str) -> dict:
    if not isinstance(obj, dict):
        raise DataError(f"{filename} holds a {type(obj).__name__}, expected a dict of lists.")
    return obj


# --------------------------------------------------------------------------
# Assembling the dataset
# --------------------------------------------------------------------------


def _assemble(name: str, raw: dict[str, object]) -> Planetoid:
    """Turn the eight parsed files into a :class:`Planetoid`."""
    allx, tx = (_as_csr(raw[p], f"ind.{name}.{p}") for p in ("allx", "tx"))
    ally, ty, y = (_as_labels(raw[p], f"ind.{name}.{p}") for p in ("ally", "ty", "y"))
    test_order = raw["test.index"]
    _check_shapes(name, allx, tx, ally, ty, test_order)

    rows, missing = _node_rows(len(ally), len(ty), test_order)
    features = _take_rows(sp.vstack([allx, tx], format="csr"), rows)
    labels = np.vstack([ally, ty, np.zeros((1, ally.shape[1]), ally.dtype)])[rows]
    num_nodes = len(rows)

    edge_index = _edge_index(_as_graph(raw["graph"], f"ind.{name}.graph"), num_nodes, name)
    splits = _splits(len(y), test_order)
    x_raw = _to_torch_csr(features)
    return Planetoid(
        name=name,
        x_raw=x_raw,
        x=row_normalise(x_raw),
        # argmax of an all-zero row is 0: filler nodes get class 0 (GCN/PyG).
        y=torch.from_numpy(labels.argmax(axis=1).astype(np.int64)),
        edge_index=edge_index,
        edge_index_with_self_loops=edges.add_self_loops(edge_index, num_nodes),
        train_idx=splits[0],
        val_idx=splits[1],
        test_idx=splits[2],
        class_names=CLASS_NAMES[name],
        missing_test_nodes=torch.from_numpy(missing),
        checksum=_dataset_checksum(name),
    )


def _check_shapes(name: str, allx, tx, ally, ty, test_order: np.ndarray) -> None:
    # These hold for the genuine files; checking them turns a silent
    # mis-assembly (e.g. a file from another dataset) into a clear error.
    ok = (
        allx.shape[0] == ally.shape[0]
        and tx.shape[0] == ty.shape[0] == len(test_order)
        and allx.shape[1] == tx.shape[1]
        and ally.shape[1] == ty.shape[1] == len(CLASS_NAMES[name])
        and len(np.unique(test_order)) == len(test_order)
        and test_order.min() >= len(ally)
    )
    if not ok:
        raise DataError(
            f"the files of {name!r} do not fit together (allx {allx.shape}, ally {ally.shape}, "
            f"tx {tx.shape}, ty {ty.shape}, {len(test_order)} test ids); delete "
            f"ind.{name}.* from the cache and download again."
        )


def _node_rows(num_all: int, num_test: int, test_order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each node, its row in ``vstack(all*, t*, zero row)``.

    Nodes ``0 .. num_all-1`` are the rows of allx/ally. The i-th row of
    tx/ty belongs to node ``test_order[i]`` (the file order of test.index).
    This is what the GCN code's ``features[test_idx_reorder, :] =
    features[test_idx_range, :]`` achieves, written as a single gather.

    Citeseer's test ids leave 15 gaps in ``min..max``; like the GCN code we
    keep those nodes (so node ids match the graph file) with all-zero
    features and labels, pointing them at an extra zero row.

    Returns
    -------
    rows : numpy.ndarray
        ``(N,)`` row index per node, ``N = max(test_order) + 1``.
    missing : numpy.ndarray
        Sorted ids of the filler nodes.
    """
    num_nodes = int(test_order.max()) + 1
    filler_row = num_all + num_test
    rows = np.full(num_nodes, filler_row, dtype=np.int64)
    rows[:num_all] = np.arange(num_all)
    rows[test_order] = num_all + np.arange(num_test)
    missing = np.flatnonzero(rows == filler_row).astype(np.int64)
    return rows, missing


def _take_rows(matrix: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    # Index into the matrix with one empty row appended, for filler nodes.
    padded = sp.vstack([matrix, sp.csr_matrix((1, matrix.shape[1]), dtype=matrix.dtype)],
                       format="csr")
    out = padded[rows]
    out.sort_indices()
    return out


def _to_torch_csr(features: sp.csr_matrix) -> torch.Tensor:
    return torch.sparse_csr_tensor(
        torch.from_numpy(features.indptr.astype(np.int64)),
        torch.from_numpy(features.indices.astype(np.int64)),
        torch.from_numpy(features.data.astype(np.float32)),
        size=features.shape,
        check_invariants=True,  # cheap at this size; catches a malformed matrix early
    )


def _edge_index(graph: dict, num_nodes: int, name: str) -> torch.Tensor:
    """The cleaned (2, E) edge list of a ``graph`` file (see :mod:`gatkit.edges`).

    The raw lists repeat neighbours (Cora: 302 extra entries) and, in Citeseer, 124 nodes list
    themselves; ``edge_index_from_adjacency`` drops both.
    """
    try:
        return edges.edge_index_from_adjacency(graph, num_nodes)
    except (ValueError, TypeError) as exc:
        raise DataError(f"ind.{name}.graph is not a valid adjacency dict ({exc}); delete it "
                        "and download it again.") from exc


def _splits(num_train: int, test_order: np.ndarray) -> tuple[torch.Tensor, ...]:
    # The Planetoid/GCN convention: train = the labelled nodes of ind.*.y
    # (the first rows of allx), val = the next 500, test = test.index sorted.
    train = np.arange(num_train, dtype=np.int64)
    val = np.arange(num_train, num_train + _NUM_VAL, dtype=np.int64)
    test = np.sort(test_order)
    return tuple(torch.from_numpy(a) for a in (train, val, test))


def _dataset_checksum(name: str) -> str:
    """sha256 over the dataset's pinned file checksums.

    The hashed text is the dataset's lines in ``sha256sum`` format
    (``<sha256>  <file>\\n``) sorted by file name, so
    ``grep 'ind\\.cora\\.' SHA256SUMS | sha256sum`` gives the same value.
    """
    lines = "".join(f"{sha}  {f}\n" for f, (_, sha) in sorted(CHECKSUMS[name].items()))
    return hashlib.sha256(lines.encode("ascii")).hexdigest()
