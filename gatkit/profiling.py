"""Measuring the GAT implementations honestly: training-step time and peak memory against graph size.

Every measured point (one implementation on one graph) runs in a **fresh Python process**
(``python -m gatkit.profiling '<point as JSON>'``), so one point's warmed-up caches and allocator
pools cannot flatter the next, and the child's peak resident memory is that point's peak memory.
Inside a point: a few untimed warm-up steps, then the median of timed training steps (forward
in train mode, loss on the training nodes, backward, Adam step: :func:`gatkit.train.train_step`),
timed by :func:`time_calls`, the one timing loop of gatkit, its benchmarks and chapter 10.

A dense implementation (1 or 2) holds several ``(H, N, N)`` tensors at once; a point whose
estimated peak exceeds the memory this machine has free is **refused before anything is
allocated**, with the estimate in the record, instead of being killed by the system. A point
whose first step takes longer than ``time_limit`` seconds is recorded as too slow after that
step. A sweep stops growing an implementation once it failed at a smaller size.

The graphs are stochastic block models (:func:`synthetic_graph`): ``C`` classes, average degree
about 4, 128 dense features whose mean depends on the class, so the task is learnable and the
work per edge is what it would be on real data.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Sequence

import torch
import torch.nn.functional as F
from torch.utils import benchmark

from gatkit.train import TrainConfig, build_model, train_step

__all__ = ["IMPLEMENTATIONS", "Graph", "PygGAT", "TimeLimitExceeded", "available_bytes", "dense_bytes",
           "estimated_peak_bytes", "machine", "measure", "measure_in_fresh_process", "plot_scaling", "sweep",
           "synthetic_graph", "time_calls", "training_step"]

#: What can be measured: gatkit's three layer types and PyTorch Geometric's GATConv.
IMPLEMENTATIONS = {"1": "imp. 1 dense, per head", "2": "imp. 2 dense, masked", "3": "imp. 3 edge list",
                   "pyg": "PyG GATConv"}
_RECIPE = TrainConfig()  # the paper's model and optimiser
HEADS, HIDDEN = _RECIPE.heads[0], _RECIPE.hidden_features  # the paper's first layer: 8 heads of 8 features
#: (H, N, N) float32 tensors alive at the peak of a dense training step, from chapter 04's count
#: of what autograd keeps (5) plus the forward's temporaries (imp. 1 measured about 10.6 at N = 2000);
#: used only to refuse hopeless sizes.
DENSE_COPIES = 12


@dataclass(frozen=True)
class Graph:
    """A node-classification problem: features, edges (self-loops included), labels, training nodes."""

    x: torch.Tensor  # (N, F)
    edge_index: torch.Tensor  # (2, E)
    y: torch.Tensor  # (N,)
    train_idx: torch.Tensor  # (n_train,)

    @property
    def num_nodes(self) -> int:
        return self.x.shape[0]


def synthetic_graph(num_nodes: int, *, avg_degree: float = 4.0, num_features: int = 128, num_classes: int = 7,
                    same_class: float = 0.8, seed: int = 0) -> Graph:
    """A stochastic block model: ``same_class`` of the edges join two nodes of one class.

    Undirected (each edge stored both ways), no repeated edges, one self-loop per node; 5% of
    the nodes (at least 20) are training nodes.
    """
    if num_nodes < 2 * num_classes:
        raise ValueError(f"num_nodes must be at least {2 * num_classes} for {num_classes} classes, got {num_nodes}")
    generator = torch.Generator().manual_seed(seed)
    y = torch.randint(num_classes, (num_nodes,), generator=generator)  # (N,)
    by_class = torch.argsort(y)  # node ids grouped by class
    starts = torch.searchsorted(y[by_class], torch.arange(num_classes))  # first position of each class
    counts = torch.bincount(y, minlength=num_classes)  # (C,)
    pairs = round(num_nodes * avg_degree / 2)
    source = torch.randint(num_nodes, (pairs,), generator=generator)  # (P,)
    # same-class partner: a random member of the source's class; otherwise any node
    offset = (torch.rand(pairs, generator=generator) * counts[y[source]]).long()
    partner = by_class[starts[y[source]] + offset]
    anyone = torch.randint(num_nodes, (pairs,), generator=generator)
    target = torch.where(torch.rand(pairs, generator=generator) < same_class, partner, anyone)
    edges = torch.stack([torch.cat([source, target]), torch.cat([target, source])])  # (2, 2P) both ways
    edges = edges[:, edges[0] != edges[1]]  # self-loops come once, below
    edges = _unique_by_target(torch.cat([edges, torch.arange(num_nodes).repeat(2, 1)], dim=1), num_nodes)
    means = torch.randn(num_classes, num_features, generator=generator)  # (C, F)
    x = torch.randn(num_nodes, num_features, generator=generator).mul_(2.0)  # (N, F) the noise, in place
    for block in range(0, num_nodes, 2**16):  # + the class means, a block of rows at a time: no (N, F) temporary
        x[block:block + 2**16].add_(means[y[block:block + 2**16]])
    train = torch.randperm(num_nodes, generator=generator)[:max(20, num_nodes // 20)]
    return Graph(x=x, edge_index=edges, y=y, train_idx=torch.sort(train).values)


def _unique_by_target(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """The distinct columns of ``edge_index`` (2, E), sorted by target, then source.

    One int64 key per edge, ``target * N + source``, sorted and deduplicated: the same result as
    ``torch.unique(edge_index, dim=1)`` re-sorted by that key, many times faster on millions of
    edges (``unique`` with ``dim`` sorts the columns as tuples). Needs ``N**2 < 2**63``.
    """
    key = torch.unique(edge_index[1] * num_nodes + edge_index[0])  # (E',) sorted, distinct
    return torch.stack([key % num_nodes, key // num_nodes])  # (2, E') source, target


def dense_bytes(num_nodes: int, heads: int = HEADS, itemsize: int = 4) -> int:
    """Bytes of one ``(H, N, N)`` tensor: ``H * N * N * itemsize``."""
    return heads * num_nodes * num_nodes * itemsize


def estimated_peak_bytes(implementation: str, num_nodes: int, num_edges: int, num_features: int = 128) -> int:
    """A rough upper estimate of a training step's peak memory (beyond the Python process itself)."""
    per_node = num_nodes * (num_features + 4 * HEADS * HIDDEN) * 4
    per_edge = num_edges * HEADS * (HIDDEN + 8) * 4 * 3  # messages and coefficients, forward and backward
    if implementation in ("1", "2"):
        return per_node + DENSE_COPIES * dense_bytes(num_nodes) + 2 * num_nodes * num_nodes * 4
    return per_node + per_edge


def _proc_field(path: str, field: str) -> str | None:
    """The value after ``field:`` in a Linux /proc file, or None (no such file or field)."""
    try:
        with open(path) as lines:
            pairs = (line.split(":", 1) for line in lines if ":" in line)
            return next((value.strip() for key, value in pairs if key.strip() == field), None)  # "model name\t: ..."
    except OSError:
        return None


def _physical_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def available_bytes() -> int:
    """Memory the system can give this process now (``MemAvailable``), or the physical total."""
    available = _proc_field("/proc/meminfo", "MemAvailable")  # "22712345 kB"
    return int(available.split()[0]) * 1024 if available else _physical_bytes()


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = _proc_field("/proc/cpuinfo", "model name") or platform.processor() or platform.machine()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()  # usable ones
    return {"cpu": cpu, "cores": cores, "memory_gib": round(_physical_bytes() / 2**30, 1),
            "torch": torch.__version__, "threads": torch.get_num_threads(), "python": platform.python_version(),
            "device": "cpu"}


class PygGAT(torch.nn.Module):
    """The paper's two-layer GAT built from PyTorch Geometric's ``GATConv`` (for comparisons).

    ``forward`` takes one ``edge_index`` or one per layer, like :class:`gatkit.layers.GAT`; the
    edges must already hold their self-loops (``add_self_loops=False``).
    """

    def __init__(self, num_features: int, num_classes: int, dropout: float = _RECIPE.dropout):
        super().__init__()
        from torch_geometric.nn import GATConv  # imported only when a PyG model is asked for

        self.dropout = dropout
        self.conv1 = GATConv(num_features, HIDDEN, heads=HEADS, dropout=dropout, add_self_loops=False)
        self.conv2 = GATConv(HEADS * HIDDEN, num_classes, heads=1, concat=False, dropout=dropout,
                             add_self_loops=False)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        first, second = (edge_index, edge_index) if isinstance(edge_index, torch.Tensor) else edge_index
        x = F.elu(self.conv1(F.dropout(x, self.dropout, self.training), first))
        return self.conv2(F.dropout(x, self.dropout, self.training), second)


def training_step(implementation: str, graph: Graph, *, seed: int = 0) -> Callable[[], torch.Tensor]:
    """A function that runs one training step of the paper's model on ``graph``, as ``measure`` times it.

    The model (built after ``torch.manual_seed(seed)``) is the paper's network of
    :class:`gatkit.train.TrainConfig` with ``implementation``'s layers ("1", "2", "3": gatkit's layer
    types; "pyg": :class:`PygGAT`), trained with Adam at the paper's learning rate and weight
    decay. Each call is :func:`gatkit.train.train_step` on the whole graph, the loss on
    ``graph.train_idx``, and returns that step's (detached) training-node logits.
    """
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"implementation must be one of {sorted(IMPLEMENTATIONS)}, got {implementation!r}")
    torch.manual_seed(seed)
    num_features, num_classes = graph.x.shape[1], int(graph.y.max()) + 1
    model = PygGAT(num_features, num_classes) if implementation == "pyg" else \
        build_model(replace(_RECIPE, layer_type=int(implementation)), num_features, num_classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=_RECIPE.lr, weight_decay=_RECIPE.weight_decay)

    def step() -> torch.Tensor:
        return train_step(model, optimizer, graph.x, graph.edge_index, graph.y, graph.train_idx)

    return step


class TimeLimitExceeded(RuntimeError):
    """A call timed by :func:`time_calls` took longer than its ``time_limit`` (``seconds`` it took)."""

    def __init__(self, seconds: float, limit: float):
        super().__init__(f"one call took {seconds:.3g} s (limit {limit:g} s)")
        self.seconds, self.limit = seconds, limit


def time_calls(function: Callable[[], object], *, repeats: int = 5, warmup: int = 2, min_repeats: int = 1,
               budget: float | None = None, time_limit: float | None = None, threads: int | None = None,
               label: str | None = None) -> benchmark.Measurement:
    """Time ``function()``: ``warmup`` untimed calls, then up to ``repeats`` calls timed one by one.

    The rules of chapter 10 in one place. Warm-up calls first (the first calls create
    optimiser state, map fresh memory pages, fill caches). Each call read with
    ``torch.utils.benchmark.timer``: ``time.perf_counter``, after synchronising the accelerator
    when there is one, so queued GPU work is counted. A fixed number of threads while timing:
    ``threads``, by default the number set now. The median and the quartiles of the timed calls,
    not their mean.

    ``budget`` stops the timing once the timed calls add up to that many seconds, but not before
    ``min_repeats`` of them. ``time_limit`` raises :class:`TimeLimitExceeded` as soon as one call
    (a warm-up call included) takes longer than that many seconds, so a hopeless case runs once,
    not ``warmup + repeats`` times.

    Returns a ``torch.utils.benchmark.Measurement`` of one call per measurement: ``times`` (the
    seconds of each timed call, in order), ``median``, ``iqr`` and ``mean``; it prints as a short
    summary, and ``torch.utils.benchmark.Compare`` tabulates several. For statements of
    microseconds, ``torch.utils.benchmark.Timer(...).blocked_autorange()`` is the better tool (it
    times blocks of many calls, so reading the clock costs nothing); a training step takes
    milliseconds, where one reading per call is precise and the count and the limit matter more.
    """
    if repeats < 1 or warmup < 0 or min_repeats < 1:
        raise ValueError(f"need repeats >= 1, min_repeats >= 1 and warmup >= 0, got {repeats}, {min_repeats}, {warmup}")
    threads = threads or torch.get_num_threads()
    times: list[float] = []
    with benchmark.set_torch_threads(threads):
        for call in range(warmup + repeats):
            if budget is not None and len(times) >= min_repeats and sum(times) > budget:
                break
            started = benchmark.timer()
            function()
            seconds = benchmark.timer() - started
            if time_limit is not None and seconds > time_limit:
                raise TimeLimitExceeded(seconds, time_limit)
            if call >= warmup:
                times.append(seconds)
    name = label or getattr(function, "__qualname__", "function")
    return benchmark.Measurement(number_per_run=1, raw_times=times, task_spec=benchmark.TaskSpec(
        stmt=f"{name}()", setup="", label=label, num_threads=threads))


def _peak_rss_bytes() -> int:
    """This program's peak resident memory.

    Linux's ``VmHWM`` starts afresh in every new program; ``ru_maxrss`` would also count the
    peak of the parent that forked it (kilobytes on Linux, bytes on macOS).
    """
    high_water = _proc_field("/proc/self/status", "VmHWM")  # "345272 kB"
    if high_water:
        return int(high_water.split()[0]) * 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def measure(implementation: str, size: int | str, *, repeats: int = 5, warmup: int = 2,
            time_limit: float = 30.0, seed: int = 0) -> dict[str, Any]:
    """Measure one point in this process: ``size`` nodes of :func:`synthetic_graph`, or ``"cora"``.

    Returns a record with ``status`` ``"ok"`` (and ``step_ms`` the median, ``peak_mb``),
    ``"refused"`` (estimated memory above what is free; nothing allocated) or ``"too slow"``
    (the first step took longer than ``time_limit`` seconds). ``peak_mb`` and ``baseline_mb``
    are this process's high-water mark so far: they describe one point only when the point is
    the process's only work, as in :func:`measure_in_fresh_process`.
    """
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"implementation must be one of {sorted(IMPLEMENTATIONS)}, got {implementation!r}")
    if size == "cora":
        from gatkit.data import load_planetoid

        cora = load_planetoid("cora", progress=False)
        graph = Graph(cora.x, cora.edge_index_with_self_loops, cora.y, cora.train_idx)
    else:
        graph = synthetic_graph(int(size), seed=seed)
    n, e = graph.num_nodes, graph.edge_index.shape[1]
    record: dict[str, Any] = {"implementation": implementation, "size": size, "num_nodes": n, "num_edges": e,
                              "estimated_mb": estimated_peak_bytes(implementation, n, e, graph.x.shape[1]) / 2**20}
    free = available_bytes()
    if record["estimated_mb"] * 2**20 > 0.8 * free:
        record.update(status="refused", reason=f"needs about {record['estimated_mb'] / 1024:.1f} GiB, "
                                                f"{free / 2**30:.1f} GiB free")
        return record
    step = training_step(implementation, graph, seed=seed)
    record["baseline_mb"] = _peak_rss_bytes() / 2**20
    try:
        timed = time_calls(step, repeats=repeats, warmup=warmup, time_limit=time_limit)
    except TimeLimitExceeded as slow:
        record.update(status="too slow", reason=f"one step took {slow.seconds:.0f} s (limit {time_limit:.0f} s)",
                      step_ms=1000 * slow.seconds, peak_mb=_peak_rss_bytes() / 2**20)
        return record
    record.update(status="ok", step_ms=1000 * timed.median, repeats=repeats, peak_mb=_peak_rss_bytes() / 2**20)
    return record


def measure_in_fresh_process(implementation: str, size: int | str, *, repeats: int = 5, warmup: int = 2,
                             time_limit: float = 30.0, seed: int = 0, timeout: float | None = None,
                             threads: int | None = None) -> dict[str, Any]:
    """:func:`measure` in a new Python process; a crash, a kill or a timeout becomes the record's status."""
    point = {"implementation": implementation, "size": size, "repeats": repeats, "warmup": warmup,
             "time_limit": time_limit, "seed": seed, "threads": threads}
    timeout = timeout if timeout is not None else 60 + time_limit * (warmup + repeats)
    base = {"implementation": implementation, "size": size}
    try:
        done = subprocess.run([sys.executable, "-m", "gatkit.profiling", json.dumps(point)],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {**base, "status": "timeout", "reason": f"no result within {timeout:.0f} s"}
    if done.returncode != 0:
        why = f"killed by signal {-done.returncode}" if done.returncode < 0 else \
            (done.stderr.strip().splitlines() or ["exit code %d" % done.returncode])[-1]
        return {**base, "status": "failed", "reason": why}
    return json.loads(done.stdout.strip().splitlines()[-1])


def sweep(implementations: Sequence[str], sizes: Sequence[int | str], *,
          on_record: Callable[[dict], None] | None = None, **options: Any) -> list[dict[str, Any]]:
    """Measure every implementation at every size, each point in a fresh process.

    Sizes are taken in the given order; once an implementation is refused, too slow or fails,
    its larger sizes are recorded as skipped instead of being tried.
    """
    records = []
    for implementation in implementations:
        stopped = None
        for size in sizes:
            if stopped is not None:
                record = {"implementation": implementation, "size": size, "status": "skipped",
                          "reason": f"{stopped} at a smaller size"}
            else:
                record = measure_in_fresh_process(implementation, size, **options)
                if record["status"] != "ok" and size != "cora":
                    stopped = record["status"]
            records.append(record)
            if on_record is not None:
                on_record(record)
    return records


def plot_scaling(records: Iterable[dict[str, Any]], *, title: str | None = None):
    """Log-log plots of the median step time and the peak memory against N, one line per implementation.

    Refused or too slow points are marked with an ``x`` at their estimate (memory) or at the
    time limit (time) so the reader sees where each implementation stopped.
    """
    import matplotlib.pyplot as plt

    records = list(records)
    figure, (ax_time, ax_memory) = plt.subplots(1, 2, figsize=(12, 4.8), constrained_layout=True)
    for index, (implementation, label) in enumerate(IMPLEMENTATIONS.items()):
        mine = [r for r in records if r["implementation"] == implementation and "num_nodes" in r]
        if not mine:
            continue
        colour = f"C{index}"
        # Cora (1433 sparse features, average degree 3.9) is another kind of graph: a star, not on the line
        ok = sorted((r for r in mine if r["status"] == "ok" and r["size"] != "cora"), key=lambda r: r["num_nodes"])
        cora = [r for r in mine if r["status"] == "ok" and r["size"] == "cora"]
        for ax, key in ((ax_time, "step_ms"), (ax_memory, "peak_mb")):
            if ok:
                ax.plot([r["num_nodes"] for r in ok], [r[key] for r in ok], "o-", color=colour, label=label)
            for r in cora:
                ax.plot(r["num_nodes"], r[key], "*", color=colour, markersize=13, markeredgecolor="black",
                        label=f"{label} on Cora" if ax is ax_time and not ok else None)
        for r in mine:
            if r["status"] == "refused":
                ax_memory.plot(r["num_nodes"], r["estimated_mb"], "x", color=colour, markersize=10, mew=2)
            elif r["status"] == "too slow":
                ax_time.plot(r["num_nodes"], r["step_ms"], "x", color=colour, markersize=10, mew=2)
    memory_gib = _physical_bytes() / 2**30
    ax_memory.axhline(memory_gib * 1024, color="grey", linestyle="--", linewidth=1)
    ax_memory.text(0.02, 0.97, f"this machine's memory ({memory_gib:.0f} GiB)", transform=ax_memory.transAxes,
                   va="top", color="grey", fontsize=8)
    for ax, what in ((ax_time, "median training step (ms)"), (ax_memory, "peak resident memory (MB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("nodes N (average degree about 4)")
        ax.set_ylabel(what)
        ax.grid(True, which="both", alpha=0.3)
    ax_time.legend(loc="upper left", fontsize=8)
    ax_memory.set_title("x: refused, estimated need;  *: Cora", fontsize=9)
    ax_time.set_title("x: one step over the time limit;  *: Cora (1433 features)", fontsize=9)
    if title:
        figure.suptitle(title)
    return figure


def _child(argument: str) -> None:
    point = json.loads(argument)
    threads = point.pop("threads", None)
    if threads:
        torch.set_num_threads(int(threads))
    implementation, size = point.pop("implementation"), point.pop("size")
    print(json.dumps(measure(implementation, size, **point)))


if __name__ == "__main__":
    _child(sys.argv[1])
