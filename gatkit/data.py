"""Node-classification datasets: download, verify, load.

Two collections, one set of download machinery:

* The GAT paper evaluates on the *Planetoid* splits of Cora and Citeseer
  (Yang, Cohen and Salakhutdinov, 2016). Those splits ship as eight files per
  dataset, ``ind.<name>.{x,y,tx,ty,allx,ally,graph,test.index}``: Python-2
  pickles of SciPy/NumPy objects plus one text file. :func:`load_planetoid`
  unpickles them with a restricted unpickler (a pickle can run arbitrary code,
  and these files come from the internet) and assembles them the way the
  reference GCN/GAT code does into a :class:`Planetoid`.
* Platonov et al. (ICLR 2023) published cleaned *heterophilous* graphs
  (minesweeper, tolokers, the filtered chameleon and squirrel, ...) as one
  ``.npz`` file each, with ten train/val/test splits. :func:`load_heterophilous`
  reads them without unpickling anything, checks their content and returns a
  :class:`Heterophilous`.

:func:`load_dataset` loads any of :data:`DATASET_NAMES`. Files are fetched into
a local cache (once) with the ``pooch`` library, which checks every byte against
the checksums pinned below before a file may enter the cache; cached files are
checked again on every load. Both dataset classes share the interface of
:class:`NodeDataset`.

Every failure a user can meet is a :class:`DataError` whose message names the
file involved and says what to do about it.

Examples
--------
>>> from gatkit.data import load_dataset
>>> load_dataset("cora")                                   # doctest: +SKIP
Planetoid(cora: 2708 nodes, 1433 features, 7 classes, 10556 edges; train/val/test = 140/500/1000)
>>> load_dataset("minesweeper", split=3)                   # doctest: +SKIP
Heterophilous(minesweeper: 10000 nodes, 7 features, 2 classes, 78804 edges; split 3 of 10, train/val/test = 5000/2500/2500)
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import logging
import operator
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
    "DATASET_NAMES",
    "DOWNLOAD_DEADLINE",
    "DOWNLOAD_TIMEOUT",
    "DataCacheError",
    "DataError",
    "HETEROPHILOUS_URL",
    "Heterophilous",
    "NodeDataset",
    "PLANETOID_URL",
    "Planetoid",
    "SCORED_BY",
    "Split",
    "default_root",
    "fetch_planetoid",
    "load_dataset",
    "load_heterophilous",
    "load_planetoid",
    "read_raw_file",
    "row_normalise",
    "safe_unpickle",
]

#: Where the Planetoid authors publish the files; append a file name.
PLANETOID_URL = "https://github.com/kimiyoung/planetoid/raw/master/data/"

#: Where Platonov et al. publish the heterophilous graphs, pinned to the commit whose files the
#: checksums below describe; append a file name.
HETEROPHILOUS_URL = ("https://github.com/yandex-research/heterophilous-graphs/raw/"
                     "a431395582e929d88271309716bea4fe24ce6318/data/")

#: Seconds to wait for a server before giving up (per connect / per read).
DOWNLOAD_TIMEOUT = 30.0

#: Seconds one file's download may take in all, however steadily the bytes arrive (checked as
#: they arrive; a server that sends nothing at all is stopped by :data:`DOWNLOAD_TIMEOUT`).
#: The largest file is 1.3 MB (tolokers.npz), so this allows a connection of about 2.2 kB/s.
DOWNLOAD_DEADLINE = 600.0

_CHUNK = 1 << 16
_PARTS = ("x", "y", "tx", "ty", "allx", "ally", "graph", "test.index")
_NUM_VAL = 500  # the Planetoid/GCN validation split: the 500 nodes after train
_NUM_SPLITS = 10  # every heterophilous-graphs file holds ten standard splits
_NPZ_KEYS = ("node_features", "node_labels", "edges", "train_masks", "val_masks", "test_masks")
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
    # The heterophilous graphs: Platonov et al.'s two binary ones, then filtered and original versions of
    # older benchmarks.
    "minesweeper": {"minesweeper.npz": (135045, "e664c8dacf1e8ac466c2c09ed4b237bd2c5541f47a6eae9c6092cb87f16412b3")},
    "tolokers": {"tolokers.npz": (1329769, "dacf3ac94cec53d03cd2adb5255c08b33dee1656c33ca8164a464bd9450a1667")},
    "chameleon_filtered": {
        "chameleon_filtered.npz": (58924, "bf46f07e1fb5249280447e5fe3100f3e82fc4b93ad1e13ffcfdec924b6ac0bb5")},
    "squirrel_filtered": {
        "squirrel_filtered.npz": (208215, "f06370ffb3116c5de8b7a600005400b2293c025e0ce2f6916d8201a825505ac7")},
    "chameleon": {"chameleon.npz": (177840, "4c640bd2877fc4f9f101531e2f977bc16445a54e09a5cb01178df608e552f3fd")},
    "squirrel": {"squirrel.npz": (704277, "d436e3b42c0546b105241c0ab0766097074e68e55f67b133eeb9b0162e55cbd9")},
    "actor": {"actor.npz": (252956, "c350eef06b2c2a9bf8218be2b57cac6d4003d0922eb597a039e9123f75817816")},
    "texas": {"texas.npz": (28586, "b164b99e6c3d43e4ab07488ec59bd8c815f90cbc1bd4cf425ce587d2b534d844")},
    "cornell": {"cornell.npz": (30515, "684c54ba3daa13b0ba1f04a3d6dd1b1175c1ae9bdeb982851fd4ff96d3aac298")},
    "wisconsin": {"wisconsin.npz": (41672, "2543c89838cfc75f737f7c4664cc1d097f8268602c20b2d1bd4f21407df9c074")},
}

#: Every name :func:`load_dataset` accepts: the Planetoid datasets first, then the heterophilous graphs.
DATASET_NAMES: tuple[str, ...] = tuple(CHECKSUMS)

# The files store class ids only. The names were matched by class size against
# the original datasets (Cora: McCallum et al.; CiteSeer: Giles et al. / LINQS);
# tests/test_data.py re-checks the sizes, so a wrong name would fail there.
# Minesweeper: 1 = mine (20% of the cells are mines, and a revealed cell's features count its
# label-1 neighbours, as tests/test_heterophilous.py checks); tolokers: 1 = banned (the `banned`
# column, 0 = no, 1 = yes, of Toloka's TolokerGraph, the same 11758 annotators and 519000 edges,
# and the minority class, as a ban should be). The other files
# publish no names for their class ids (chameleon and squirrel: bins of monthly page traffic;
# actor and the WebKB pages texas, cornell, wisconsin: no mapping ships with the files), so they
# are numbered.
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
    "minesweeper": ("safe", "mine"),      # 8000, 2000 nodes
    "tolokers": ("not banned", "banned"),  # 9192, 2566
    **dict.fromkeys(("chameleon_filtered", "squirrel_filtered", "chameleon", "squirrel", "actor", "texas",
                     "cornell", "wisconsin"), tuple(f"class {c}" for c in range(5))),
}

#: How each dataset is scored, as in its paper: ROC AUC for the two binary heterophilous graphs
#: (their positive class is the minority: 20% and 22% of the nodes), accuracy for the others.
SCORED_BY: dict[str, str] = {name: "roc_auc" if name in ("minesweeper", "tolokers") else "accuracy"
                             for name in DATASET_NAMES}


@dataclass(frozen=True)
class _Collection:
    """A family of datasets: where its files come from and where they live in the cache."""

    title: str               # how messages name it
    folder: str              # its subfolder of the cache (and, optionally, of a mirror folder)
    url: str                 # the canonical base URL; append a file name
    names: tuple[str, ...]
    files: str               # how messages name a dataset's files; {name} is filled in
    loader: str              # the function that loads its datasets


_PLANETOID = _Collection("Planetoid", "planetoid", PLANETOID_URL, ("cora", "citeseer"),
                         "the ind.{name}.* files", "load_planetoid")
_HETEROPHILOUS = _Collection("heterophilous-graphs", "heterophilous", HETEROPHILOUS_URL,
                             tuple(name for name in DATASET_NAMES if name not in _PLANETOID.names),
                             "{name}.npz", "load_heterophilous")


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
# The dataset objects
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Split:
    """Which nodes a run trains on, stops on (validation) and is tested on: sorted int64 ids, disjoint.

    A dataset's ``splits`` lists those it comes with (:attr:`Planetoid.splits`: one, the public
    split; :attr:`Heterophilous.splits`: ten); :func:`gatkit.train.train_runs` trains a run on
    each split it is given.
    """

    train_idx: torch.Tensor
    val_idx: torch.Tensor
    test_idx: torch.Tensor


@dataclass(frozen=True, repr=False, eq=False)
class NodeDataset:
    """What every dataset gatkit loads offers, so that code can treat them alike.

    :class:`Planetoid` and :class:`Heterophilous` are frozen dataclasses that add their own
    fields to these; this base class is the one home of what follows from them. Besides these,
    each has ``splits`` (the splits it comes with), ``split`` (which of them ``train_idx``,
    ``val_idx`` and ``test_idx`` are) and ``with_split(k)``.
    """

    name: str
    x: torch.Tensor                           # (N, F) float32
    y: torch.Tensor                           # (N,) int64
    edge_index: torch.Tensor                  # (2, E) int64, both directions, sorted by (target, source)
    edge_index_with_self_loops: torch.Tensor  # (2, E + N)
    train_idx: torch.Tensor                   # sorted int64 node ids
    val_idx: torch.Tensor
    test_idx: torch.Tensor
    class_names: tuple[str, ...]
    checksum: str

    @cached_property
    def x_sparse(self) -> torch.Tensor:
        """``x`` as a sparse CSR tensor (N, F): the same values without the zeros.

        GAT layers accept it in place of ``x``; on sparse features (Cora: 98.7% of the entries
        are zero) their input dropout and projection then skip the zeros, which makes training
        several times faster.
        """
        return self.x.to_sparse_csr()

    @property
    def metric(self) -> str:
        """How the dataset is scored: ``"roc_auc"`` or ``"accuracy"`` (see :data:`SCORED_BY`)."""
        return SCORED_BY[self.name]

    @property
    def num_nodes(self) -> int:
        """Number of nodes ``N``."""
        return int(self.x.shape[0])

    @property
    def num_features(self) -> int:
        """Number of input features ``F``."""
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
        mask = torch.zeros(self.num_nodes, dtype=torch.bool, device=idx.device)  # (N,)
        mask[idx] = True
        return mask

    def _sizes(self) -> str:
        return (f"{self.num_nodes} nodes, {self.num_features} features, {self.num_classes} classes, "
                f"{self.num_edges} edges")


@dataclass(frozen=True, repr=False, eq=False)
class Planetoid(NodeDataset):
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

    x_raw: torch.Tensor
    missing_test_nodes: torch.Tensor

    @property
    def splits(self) -> list[Split]:
        """The splits this dataset comes with: one, the public Planetoid split."""
        return [Split(self.train_idx, self.val_idx, self.test_idx)]

    @property
    def split(self) -> int:
        """Which of ``splits`` ``train_idx``, ``val_idx`` and ``test_idx`` are: always 0, the only one."""
        return 0

    def with_split(self, k: int) -> Planetoid:
        """This dataset with split ``k``'s nodes: itself for ``k = 0`` (it has one split); else ``DataError``."""
        _check_split(self.name, k, 1)
        return self

    def __repr__(self) -> str:
        filler = len(self.missing_test_nodes)
        extra = f", {filler} filler nodes" if filler else ""
        return (
            f"Planetoid({self.name}: {self._sizes()}{extra}; "
            f"train/val/test = {len(self.train_idx)}/{len(self.val_idx)}/{len(self.test_idx)})"
        )


@dataclass(frozen=True, repr=False, eq=False)
class Heterophilous(NodeDataset):
    """One heterophilous graph of Platonov et al. (ICLR 2023), as tensors, with its ten splits.

    Attributes
    ----------
    name : str
        One of the heterophilous names in :data:`DATASET_NAMES`, e.g. ``"minesweeper"``.
    x : torch.Tensor
        ``(N, F)`` float32 dense features exactly as published (no normalisation).
    y : torch.Tensor
        ``(N,)`` int64 class ids.
    edge_index : torch.Tensor
        ``(2, E)`` int64, row 0 the source ``j``, row 1 the target ``i``. The files store each
        undirected edge once; here it appears in both directions; no duplicates, no self-loops;
        sorted by (target, source), as in :class:`Planetoid`.
    edge_index_with_self_loops : torch.Tensor
        ``(2, E + N)``: ``edge_index`` plus ``(i, i)`` for every node, in the same order.
    train_idx, val_idx, test_idx : torch.Tensor
        Sorted int64 node ids of split number ``split`` (disjoint).
    class_names : tuple of str
        Name of each class id (see :data:`CLASS_NAMES`).
    checksum : str
        sha256 identifying the exact file the dataset was built from.
    split : int
        Which of ``splits`` ``train_idx``, ``val_idx`` and ``test_idx`` are.
    splits : tuple of Split
        The ten standard splits that ship with the file.
    """

    split: int
    splits: tuple[Split, ...]

    def with_split(self, k: int) -> Heterophilous:
        """A copy whose ``train_idx``, ``val_idx`` and ``test_idx`` are those of split ``k``.

        Raises ``DataError`` unless ``0 <= k < len(splits)``.
        """
        k = _check_split(self.name, k, len(self.splits))
        chosen = self.splits[k]
        return dataclasses.replace(self, train_idx=chosen.train_idx, val_idx=chosen.val_idx,
                                   test_idx=chosen.test_idx, split=k)

    def __repr__(self) -> str:
        return (
            f"Heterophilous({self.name}: {self._sizes()}; split {self.split} of {len(self.splits)}, "
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


def load_dataset(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    split: int = 0,
    progress: bool = True,
    force_download: bool = False,
) -> Planetoid | Heterophilous:
    """Load any dataset of :data:`DATASET_NAMES`, downloading if needed.

    Planetoid names go to :func:`load_planetoid` (they have one split, number 0), the others to
    :func:`load_heterophilous`. Arguments, errors and notes as there.

    Returns
    -------
    Planetoid or Heterophilous
        Both offer the interface of :class:`NodeDataset`, plus ``splits``, ``split`` and
        ``with_split``.
    """
    key = _check_name(name)
    if key in _PLANETOID.names:
        _check_split(key, split, 1)
        return load_planetoid(key, root, progress=progress, force_download=force_download)
    return load_heterophilous(key, root, split=split, progress=progress, force_download=force_download)


def load_heterophilous(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    split: int = 0,
    progress: bool = True,
    force_download: bool = False,
) -> Heterophilous:
    """Load one of Platonov et al.'s heterophilous graphs, downloading it if needed.

    Parameters
    ----------
    name : str
        ``"minesweeper"``, ``"tolokers"``, ``"chameleon_filtered"``, ``"squirrel_filtered"``,
        ``"chameleon"``, ``"squirrel"``, ``"actor"``, ``"texas"``, ``"cornell"`` or
        ``"wisconsin"`` (case-insensitive).
    root : str or os.PathLike, optional
        Cache folder; the file lives in ``<root>/heterophilous/``. Defaults to
        :func:`default_root`.
    split : int, default 0
        Which of the ten standard splits ``train_idx``, ``val_idx`` and ``test_idx`` hold
        (``with_split`` switches later).
    progress : bool, default True
        Show a progress bar while downloading.
    force_download : bool, default False
        Fetch the file again even if it is cached (repairs a damaged cache); without it, a
        damaged file raises ``DataError``.

    Returns
    -------
    Heterophilous

    Raises
    ------
    DataCacheError
        The cache folder cannot be created or written, and the file has to be downloaded.
    DataError
        Unknown name or split, no network and no mirror, a download slower than
        :data:`DOWNLOAD_DEADLINE`, a file that fails its size or checksum test, or one whose
        content is not what the paper's files hold (not an ``.npz`` archive, a pickled array,
        a missing array, wrong shapes or dtypes, labels or edge ends out of range, overlapping
        train/val/test masks).

    Notes
    -----
    The file comes from ``$GATKIT_DATA_MIRROR`` when set (as for :func:`load_planetoid`),
    else from :data:`HETEROPHILOUS_URL`. It is read with ``numpy.load(..., allow_pickle=False)``
    from the verified bytes, so nothing in it can run code.
    """
    key = _check_name(name, _HETEROPHILOUS)
    split = _check_split(key, split, _NUM_SPLITS)
    folder = _cache_folder(root, _HETEROPHILOUS)
    _ensure_cached(key, folder, progress=progress, force=force_download)
    (filename,) = CHECKSUMS[key]
    return _assemble_heterophilous(key, _read_npz(key, folder / filename), split)


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
        Fetch the files again even if they are cached (repairs a damaged cache); without it,
        a damaged file raises ``DataError``.

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
    or ``http(s)://`` URL), else from :data:`PLANETOID_URL`. A mirror folder may hold
    them at its top or in its ``planetoid/`` subfolder. Cached files
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
    key = _check_name(name, _PLANETOID)
    folder = _cache_folder(root, _PLANETOID)
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


def _check_name(name: str, collection: _Collection | None = None) -> str:
    """The dataset's key (lower case); ``DataError`` if unknown, or not of ``collection``."""
    key = str(name).strip().lower()
    if key not in DATASET_NAMES:
        known = ", ".join(repr(k) for k in DATASET_NAMES)
        raise DataError(f"unknown dataset {name!r}: gatkit knows {known}.")
    if collection is not None and key not in collection.names:
        other = _collection_of(key)
        raise DataError(f"{name!r} is not a {collection.title} dataset but a {other.title} one: load it "
                        f"with {other.loader}({key!r}) or load_dataset({key!r}).")
    return key


def _collection_of(name: str) -> _Collection:
    return _PLANETOID if name in _PLANETOID.names else _HETEROPHILOUS


def _check_split(name: str, k: object, count: int) -> int:
    """``k`` as an int if ``name`` has a split number ``k`` (of ``count``); else ``DataError``."""
    try:
        k = operator.index(k)
    except TypeError:
        raise DataError(f"split must be a whole number, got {k!r}.") from None
    if not 0 <= k < count:
        which = ("one split (the public Planetoid split), number 0" if count == 1
                 else f"{count} splits, numbered 0 to {count - 1}")
        raise DataError(f"{name} has no split {k}: it comes with {which}.")
    return k


def _cache_folder(root: str | os.PathLike | None, collection: _Collection) -> Path:
    return Path(root if root is not None else default_root()).expanduser() / collection.folder


def _ensure_cached(name: str, folder: Path, *, progress: bool, force: bool) -> None:
    """Download the files of ``name`` that are not in ``folder`` yet (with ``force``: all of them)."""
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
    source = _source(mirror, _collection_of(name))
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)  # pooch's own "Downloading file ..." lines would be noise
    try:
        with _sigterm_cleans_up():
            for number, filename in enumerate(todo, 1):
                # One bar per file, cleared when complete.
                with tqdm(total=files[filename][0], unit="B", unit_scale=True, unit_divisor=1024, leave=False,
                          desc=f"Downloading {name} ({number}/{len(todo)})", disable=not progress) as bar:
                    _retrieve(name, filename, folder, mirror, source, bar)
    finally:
        logger.setLevel(level)


def _cache_error(folder: Path, name: str, exc: OSError) -> DataCacheError:
    """The one-line error for a cache folder that cannot be created or written."""
    blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    reason = f"{blocker} is a file, not a folder" if blocker else (exc.strerror or str(exc))
    collection = _collection_of(name)
    return DataCacheError(
        f"cannot write to the dataset cache folder {folder} ({reason}), so the {name} files cannot be "
        f"downloaded into it. Set {_ROOT_ENV} to a writable folder (e.g. `export {_ROOT_ENV}=~/gatkit-data`), "
        f"or to a folder whose {collection.folder}/ subfolder already holds {_files(name)} (it is then only "
        f"read); {collection.loader} also takes root=.")


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


def _retrieve(name: str, filename: str, folder: Path, mirror: str | None, source: str | Path,
              bar: tqdm) -> None:
    """Fetch one file of dataset ``name`` into ``folder`` with ``pooch.retrieve``; raise a one-line ``DataError``.

    pooch writes the file to a temporary file in ``folder``, checks the pinned sha256 and only
    then moves it into place; whatever goes wrong, Ctrl-C and SIGTERM included (see
    :func:`_sigterm_cleans_up`), it deletes the temporary file, so the cache never holds a
    partial or unverified file. Around it: the mirror folder, the download with its deadline, a
    size check (it says *how* a download went wrong, which a checksum cannot) and messages.
    """
    import pooch
    import requests

    collection = _collection_of(name)
    expected = CHECKSUMS[name][filename]
    size, sha = expected
    where = _in_mirror(source, collection.folder, filename) if isinstance(source, Path) else source + filename

    def download(url: str, output_file: str, caller: object) -> None:
        if not isinstance(where, Path):
            _http_download(url, output_file, bar, filename)
        elif where.is_file():
            try:
                data = where.read_bytes()
            except OSError as exc:
                raise DataError(f"cannot read {where} in the mirror folder ({_MIRROR_ENV}): "
                                f"{exc.strerror or exc}. Fix its permissions, or unset {_MIRROR_ENV} to "
                                f"download from {collection.url}.") from exc
            Path(output_file).write_bytes(data)
            bar.update(size)
        else:
            raise DataError(f"the mirror folder {source} ({_MIRROR_ENV}) has no file {filename}, neither at "
                            f"its top nor in {collection.folder}/. Copy it there, or unset {_MIRROR_ENV} to "
                            f"download from {collection.url}.")
        problem = _mismatch(os.path.getsize(output_file), expected)
        if problem:
            raise DataError(f"download of {filename} from {where} failed: {problem}. {_retry_hint()}")
        os.chmod(output_file, 0o644)  # pooch's temporary file is private; the data is public

    url = where.absolute().as_uri() if isinstance(where, Path) else where  # pooch wants a URL
    try:
        pooch.retrieve(url, f"sha256:{sha}", fname=filename, path=folder, downloader=download)
    except requests.HTTPError as exc:
        raise DataError(f"cannot download {filename}: {where} answered HTTP {exc.response.status_code} "
                        f"{exc.response.reason}. " + _where_hint(mirror, name)) from exc
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
        raise DataError(f"download of {filename} from {where} broke off ({_reason(exc)}). "
                        f"{_retry_hint()}") from exc
    except requests.RequestException as exc:  # refused, unknown host, timed out
        raise DataError(f"cannot download {filename} from {where} ({_reason(exc)}). "
                        + _where_hint(mirror, name)) from exc
    except OSError as exc:  # after the requests errors, which are OSErrors too: writing the cache failed
        raise _cache_error(folder, name, exc) from exc
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


def _source(mirror: str | None, collection: _Collection) -> str | Path:
    """Where the files come from: a base URL, or a folder (a mirror folder or ``file://`` URL)."""
    if not mirror:
        return collection.url
    scheme = urllib.parse.urlsplit(mirror).scheme.lower()
    if scheme in ("http", "https"):
        return mirror.rstrip("/") + "/"
    if scheme == "file":
        folder = Path(urllib.request.url2pathname(urllib.parse.urlsplit(mirror).path))
    else:
        folder = Path(mirror).expanduser()
    if not folder.is_dir():
        raise DataError(f"{_MIRROR_ENV}={mirror!r} is not a folder, so the {collection.title} files cannot "
                        f"be copied from it. Fix or unset {_MIRROR_ENV}; {_mirror_example(collection)}.")
    return folder


def _in_mirror(folder: Path, subfolder: str, filename: str) -> Path:
    """The file in a mirror folder: at its top, else in the collection's subfolder (so that one
    folder serves every collection); the top one when neither exists."""
    nested = folder / subfolder / filename
    return nested if nested.is_file() and not (folder / filename).is_file() else folder / filename


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


def _files(name: str) -> str:
    """How messages name the files of dataset ``name``."""
    return _collection_of(name).files.format(name=name)


def _mirror_example(collection: _Collection) -> str:
    files = collection.files.format(name="<name>")
    return (f"e.g. `export {_MIRROR_ENV}=/path/to/data` (a folder holding {files}, at its top or in "
            f"its {collection.folder}/ subfolder) or `export {_MIRROR_ENV}=http://host:8000/`")


def _where_hint(mirror: str | None, name: str) -> str:
    collection = _collection_of(name)
    if mirror is None:
        return (f"Without internet access, set {_MIRROR_ENV} to a copy of the {collection.title} "
                f"files, {_mirror_example(collection)}.")
    return (f"Check that the mirror {_MIRROR_ENV}={mirror!r} is up and holds the file, or "
            f"unset {_MIRROR_ENV} to use {collection.url}; {_mirror_example(collection)}.")


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


def _read_npz(name: str, path: Path) -> dict[str, np.ndarray]:
    """Verify a cached heterophilous-graphs file, unpack its six arrays and check them; refuse pickles.

    The verified bytes themselves are parsed (not the file again, which could have changed
    since), with ``allow_pickle=False``: an object array would need the unpickler.
    """
    data = _read_verified(path, CHECKSUMS[name][path.name])
    if not data.startswith((b"PK\x03\x04", b"PK\x05\x06")):  # an .npz is a zip archive of .npy files
        raise _bad_file(path, "it is not an .npz archive (a zip file of .npy arrays)")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            missing = [key for key in _NPZ_KEYS if key not in archive.files]
            if missing:
                raise _bad_file(path, f"it has no array {missing[0]!r} (it holds {', '.join(archive.files)})")
            arrays = {key: _read_array(archive, key, path) for key in _NPZ_KEYS}
    except DataError:
        raise
    except Exception as exc:  # zipfile, zlib and the .npy parser raise many types for damaged input
        raise _bad_file(path, f"it is not a valid .npz archive ({type(exc).__name__}: {_one_line(exc)})") from exc
    _check_heterophilous(name, arrays, path)
    return arrays


def _read_array(archive: np.lib.npyio.NpzFile, key: str, path: Path) -> np.ndarray:
    try:
        return archive[key]
    except ValueError as exc:
        if "allow_pickle" not in str(exc):  # NumPy: "Object arrays cannot be loaded when allow_pickle=False"
            raise
        raise _bad_file(path, f"its array {key!r} is pickled (an object array), and gatkit refuses "
                              "pickles in .npz files: they can run code") from exc


def _bad_file(path: Path, problem: str) -> DataError:
    """The one-line error for a cached file whose content is wrong."""
    return DataError(f"the cached file {path} is bad: {problem}. Delete it, or load with force_download=True, "
                     "to download it again.")


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


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


def _assemble_heterophilous(name: str, arrays: dict[str, np.ndarray], split: int) -> Heterophilous:
    """Turn a file's six checked arrays into a :class:`Heterophilous` showing split ``split``."""
    labels = arrays["node_labels"]
    num_nodes = len(labels)
    edge_index = _undirected_edge_index(arrays["edges"], num_nodes)  # (2, E)
    splits = tuple(
        Split(*(torch.from_numpy(np.flatnonzero(arrays[f"{part}_masks"][k]).astype(np.int64))
                for part in ("train", "val", "test")))
        for k in range(_NUM_SPLITS)
    )
    chosen = splits[split]
    return Heterophilous(
        name=name,
        x=torch.from_numpy(arrays["node_features"].astype(np.float32)),  # (N, F), a copy we own
        y=torch.from_numpy(labels.astype(np.int64)),  # (N,)
        edge_index=edge_index,
        edge_index_with_self_loops=edges.add_self_loops(edge_index, num_nodes),  # (2, E + N)
        train_idx=chosen.train_idx,
        val_idx=chosen.val_idx,
        test_idx=chosen.test_idx,
        class_names=CLASS_NAMES[name],
        checksum=_dataset_checksum(name),
        split=split,
        splits=splits,
    )


def _check_heterophilous(name: str, arrays: dict[str, np.ndarray], path: Path) -> None:
    """Raise a one-line ``DataError`` unless the arrays are what the paper's files hold.

    The genuine files pass (their checksums are pinned); this guards the tensors the rest of
    gatkit builds on against a file damaged in a way no checksum test sees, e.g. one pinned by
    mistake.
    """
    features, labels, pairs = arrays["node_features"], arrays["node_labels"], arrays["edges"]

    def need(key: str, ok: bool, wanted: str) -> None:
        if not ok:
            raise _bad_file(path, f"{key} must be {wanted}, got {arrays[key].dtype} of shape {arrays[key].shape}")

    need("node_features", features.ndim == 2 and features.dtype.kind == "f", "a 2-D float array (N, F)")
    num_nodes, num_classes = len(features), len(CLASS_NAMES[name])
    need("node_labels", labels.shape == (num_nodes,) and labels.dtype.kind in "iu",
         f"a 1-D integer array of length N = {num_nodes} (a label per row of node_features)")
    need("edges", pairs.ndim == 2 and pairs.shape[1] == 2 and pairs.dtype.kind in "iu", "an (E, 2) integer array")
    for key in ("train_masks", "val_masks", "test_masks"):
        need(key, arrays[key].shape == (_NUM_SPLITS, num_nodes) and arrays[key].dtype == np.bool_,
             f"a ({_NUM_SPLITS}, N = {num_nodes}) boolean array")
    if not np.isfinite(features).all():
        raise _bad_file(path, f"node_features holds {int((~np.isfinite(features)).sum())} NaN or infinite values")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise _bad_file(path, f"node_labels run from {labels.min()} to {labels.max()}, but {name} has "
                              f"{num_classes} classes, 0 to {num_classes - 1}")
    if pairs.size and (pairs.min() < 0 or pairs.max() >= num_nodes):
        raise _bad_file(path, f"edges join node ids {pairs.min()} to {pairs.max()}, but the nodes are 0 to "
                              f"{num_nodes - 1}")
    train, val, test = arrays["train_masks"], arrays["val_masks"], arrays["test_masks"]
    shared = (train & val) | (train & test) | (val & test)  # (10, N)
    if shared.any():
        k, node = np.argwhere(shared)[0]
        raise _bad_file(path, f"split {k} puts node {node} in more than one of train_masks, val_masks "
                              "and test_masks")


def _undirected_edge_index(pairs: np.ndarray, num_nodes: int) -> torch.Tensor:
    """``(2, E)`` edge_index from ``(E0, 2)`` node pairs stored once each, as the Planetoid
    loader builds it (:func:`gatkit.edges.edge_index_from_adjacency`): both directions, no
    duplicates, no self-loops, sorted by (target, source)."""
    one_way = torch.from_numpy(pairs.astype(np.int64)).T  # (2, E0)
    both_ways = torch.cat([one_way, one_way.flip(0)], dim=1)  # (2, 2 E0)
    both_ways = both_ways[:, both_ways[0] != both_ways[1]]  # self-loops are added back explicitly later
    # One int64 key per edge, ordered as edges.sort_edges orders them: unique() both drops the
    # duplicates and sorts, 25 times faster than torch.unique(dim=1) on tolokers' 1M edges.
    key = torch.unique(both_ways[1] * num_nodes + both_ways[0])  # (E,)
    return torch.stack([key % num_nodes, key // num_nodes])  # (2, E): source j, target i


def _dataset_checksum(name: str) -> str:
    """sha256 over the dataset's pinned file checksums.

    The hashed text is the dataset's lines in ``sha256sum`` format
    (``<sha256>  <file>\\n``) sorted by file name, so
    ``grep 'ind\\.cora\\.' SHA256SUMS | sha256sum`` gives the same value.
    """
    lines = "".join(f"{sha}  {f}\n" for f, (_, sha) in sorted(CHECKSUMS[name].items()))
    return hashlib.sha256(lines.encode("ascii")).hexdigest()
