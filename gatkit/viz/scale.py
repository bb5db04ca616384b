"""The scale figure and estimate (chapter 13): mini-batch training against graph size, and what
ogbn-papers100M would need.

Both read the records of ``benchmarks/bench_minibatch.py`` (``benchmarks/results/minibatch.json``,
key ``records``): one per graph size ``num_nodes`` and average degree ``avg_degree``, with the
graph's storage (``feature_bytes``, ``edge_bytes``), the resident memory after building the graph
and its sampler (``rss_built_bytes``), the peak while training (``peak_rss_training_bytes``) and
their difference (``training_added_bytes``), the seconds per epoch and per batch, the sampled
nodes and edges per batch, and the counted (not run) memory of a full-graph step
(``full_graph_step_bytes``).
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = ["PAPERS100M", "describe_estimate", "papers100m_estimate", "plot_minibatch_scaling"]

#: ogbn-papers100M as OGB describes it: nodes, (directed) citation edges, features, training nodes.
PAPERS100M = {"num_nodes": 111_059_956, "num_edges": 1_615_685_872, "num_features": 128, "train_nodes": 1_207_179}
GIB = 2**30


def _measured(records: Iterable[dict[str, Any]], avg_degree: float | None = None) -> list[dict[str, Any]]:
    """The records measured (status ok), of one average degree if given, by increasing N."""
    ok = [r for r in records if r.get("status") == "ok" and (avg_degree is None or r["avg_degree"] == avg_degree)]
    return sorted(ok, key=lambda r: r["num_nodes"])


def plot_minibatch_scaling(records: Iterable[dict[str, Any]], *, memory_bytes: float | None = None,
                           title: str | None = None) -> Figure:
    """Memory (left) and time (right) against the number of nodes N, log-log.

    Left: the graph's storage (features and edges), the process's resident memory once the graph
    and the sampler are built, its peak while training, what training adds to the built state,
    and, dashed, the memory a full-graph training step would need (counted, not run); a grey line
    at ``memory_bytes`` (this machine's memory) if given. Right: the seconds per epoch (the same
    number of targets at every N) and the sampling part of them, next to the seconds to build the
    graph. Each average degree measured gets its own marker; the most common one is drawn with
    lines, the others with hollow markers and dotted lines, their degree in the legend.
    """
    records = list(records)
    degrees = sorted({r["avg_degree"] for r in _measured(records)},
                     key=lambda d: -len(_measured(records, d)))  # the main series first
    figure, (ax_memory, ax_time) = plt.subplots(1, 2, figsize=(13, 5.2), constrained_layout=True)
    memory_lines = [  # (label, bytes of a record, colour, line style)
        ("graph storage (features + edges)", lambda r: r["feature_bytes"] + r["edge_bytes"], "C0", "-"),
        ("RSS with graph and sampler built", lambda r: r["rss_built_bytes"], "C2", "-"),
        ("peak RSS while training", lambda r: r["peak_rss_training_bytes"], "C3", "-"),
        ("what training adds (peak − built)", lambda r: r["training_added_bytes"], "C1", "-"),
        ("full-graph step (counted, not run)", lambda r: r["full_graph_step_bytes"], "0.35", "--"),
    ]
    time_lines = [
        ("one epoch (median)", lambda r: r["epoch_seconds"], "C3", "-"),
        ("sampling part of an epoch", lambda r: r["sample_seconds_per_batch"] * r["batches_per_epoch"], "C1", "-"),
        ("building the graph", lambda r: r["graph_seconds"], "C0", "--"),
    ]
    markers = "osD^v"
    for index, degree in enumerate(degrees):
        series, main = _measured(records, degree), index == 0
        nodes = [r["num_nodes"] for r in series]
        for ax, lines, scale in ((ax_memory, memory_lines, GIB), (ax_time, time_lines, 1)):
            for label, value, colour, style in lines:
                ax.plot(nodes, [value(r) / scale for r in series], marker=markers[index % len(markers)],
                        linestyle=style if main else ":", linewidth=1.6 if main else 0.9, color=colour,
                        markersize=5 if main else 6, markerfacecolor=colour if main else "white",
                        label=label if main else None)
        if not main:
            for ax in (ax_memory, ax_time):
                ax.plot([], [], markers[index % len(markers)] + ":", color="0.3", markerfacecolor="white",
                        linewidth=0.9, label=f"hollow: the same, average degree {degree:g}")
    if memory_bytes:
        ax_memory.axhline(memory_bytes / GIB, color="grey", linewidth=1, linestyle=":")
        ax_memory.annotate(f"this machine's memory ({memory_bytes / GIB:.0f} GiB)", (0.02, memory_bytes / GIB),
                           xycoords=("axes fraction", "data"), xytext=(0, 3), textcoords="offset points",
                           fontsize=8, color="grey")
    ax_memory.set_title("memory: the graph grows with N, a batch does not", fontsize=9)
    for ax, what in ((ax_memory, "memory (GiB)"), (ax_time, "seconds")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"nodes N (average degree {degrees[0]:g})" if degrees else "nodes N")
        ax.set_ylabel(what)
        ax.grid(True, which="both", alpha=0.25)
        ax.margins(x=0.15)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8, frameon=False)
    main_series = _measured(records, degrees[0]) if degrees else []
    if main_series:  # the largest graph's values at the right ends of its lines
        last = main_series[-1]
        for ax, lines, scale, unit in ((ax_memory, memory_lines, GIB, "GiB"), (ax_time, time_lines, 1, "s")):
            ends = [(value(last) / scale, unit, colour) for _, value, colour, _ in lines]
            _label_line_ends(ax, last["num_nodes"], ends)
        ax_time.set_title(f"time: {last['targets']:,} targets per epoch in batches of {last['batch_size']:,}, "
                          f"fanouts {tuple(last['fanouts'])}, {last['threads']} thread(s)", fontsize=9)
    if title:
        figure.suptitle(title, fontsize=11)
    return figure


def _label_line_ends(ax, x: float, ends: list[tuple[float, str, str]], gap: float = 0.045) -> None:
    """Write each line's last value (value, unit, colour) right of ``x`` on a log y axis, nudged
    upwards where two labels would overlap (``gap``: the least distance, as a share of the axis's
    decades)."""
    low, high = ax.get_ylim()
    step = gap * math.log10(high / low)
    placed = -math.inf
    for value, unit, colour in sorted(ends):
        placed = max(math.log10(value), placed + step)
        ax.annotate(f"{value:.3g} {unit}", (x, value), xytext=(x * 1.1, 10**placed), textcoords="data",
                    va="center", fontsize=8, color=colour)


def papers100m_estimate(records: Iterable[dict[str, Any]], *, machine_bytes: float = 256 * GIB,
                        usable: float = 0.8, bandwidth_bits: float = 10e9, spread: Iterable[int] = (1, 4, 16, 64),
                        facts: dict[str, int] = PAPERS100M) -> dict[str, Any]:
    """What training the paper's GAT in mini-batches on ogbn-papers100M would need, from the records.

    Assumptions (each a parameter or stated here):

    - The graph is used undirected, as OGB's examples do: each of the ``num_edges`` citations is
      stored both ways, ``2 E`` directed edges (mean in-degree ``2 E / N``, about 29).
    - Storage: features ``N x 128`` float32 (or float16); labels int64; edges as gatkit holds them
      (``edge_index`` int64 COO, 16 bytes an edge, plus the sampler's grouped int64 copy and CSR
      pointer) or as a lean CSR: an (N + 1,) int64 pointer (``2 E`` exceeds 2**31) and one index
      per edge, int64 or int32 (``N`` is below 2**31).
    - Machines: the graph's storage (float32 features, gatkit's edges, labels) is split evenly over
      ``P`` machines of ``machine_bytes``, each also holding one training process (its resident
      memory with no graph, ``rss_start_bytes``, plus ``training_added_bytes``, measured); ``P`` is
      the least such that this fits in ``usable`` of a machine (the rest: the system, buffers).
    - Time: the measured seconds per batch (this machine, the record's threads) times the batches
      of an epoch, ``ceil(train_nodes / batch_size)``; with ``P`` machines in data-parallel
      training each runs ``1 / P`` of them (gradient exchange and fetching features not counted).
    - Network: nodes are placed on machines at random, so a sampled node is remote with
      probability ``(P - 1) / P``; each remote node's 128 float32 features are fetched once per
      batch; the measured sampled nodes per batch is used as is (a bigger graph has fewer
      repeats among the sampled nodes, so this is a slight underestimate). Seconds at
      ``bandwidth_bits`` per second per machine.

    The record used is the largest graph among those whose average degree is nearest to
    papers100M's, since the fanouts cap a batch only where nodes have more neighbours than the
    fanout. All byte counts are bytes, seconds are seconds; ``describe_estimate`` prints them.
    """
    n, e, f, train = (facts[k] for k in ("num_nodes", "num_edges", "num_features", "train_nodes"))
    degree = 2 * e / n
    measured = _measured(records)
    if not measured:
        raise ValueError("no measured record (status 'ok') to estimate from")
    nearest = min(abs(r["avg_degree"] - degree) for r in measured)
    record = max((r for r in measured if abs(r["avg_degree"] - degree) == nearest), key=lambda r: r["num_nodes"])
    feature_bytes, feature_half_bytes, label_bytes = n * f * 4, n * f * 2, n * 8
    coo_bytes = 2 * e * 2 * 8  # (2, 2E) int64
    pointer_bytes = (n + 1) * 8
    sampler_bytes = 2 * e * 8 + pointer_bytes  # gatkit's NeighbourSampler: the sources grouped by target, indptr
    storage_bytes = feature_bytes + label_bytes + coo_bytes + sampler_bytes
    process_bytes = record["rss_start_bytes"] + record["training_added_bytes"]
    machines = max(1, math.ceil(storage_bytes / (usable * machine_bytes - process_bytes)))
    batches = math.ceil(train / record["batch_size"])

    def spread_over(parts: int) -> dict[str, float]:  # data-parallel on ``parts`` machines, nodes placed at random
        remote = record["nodes_per_batch"] * (parts - 1) / parts  # sampled nodes on another machine, per batch
        steps = math.ceil(batches / parts)  # batches each machine runs per epoch
        return {"epoch_seconds": steps * record["batch_seconds"], "remote_nodes_per_batch": remote,
                "network_bytes_per_batch": remote * f * 4, "network_bytes_per_epoch": batches * remote * f * 4,
                "network_seconds_per_epoch": steps * remote * f * 4 * 8 / bandwidth_bits}

    return {
        "measured_on": {k: record[k] for k in ("num_nodes", "num_edges", "avg_degree", "batch_size", "fanouts",
                                                 "threads")},
        "mean_in_degree": degree,
        "feature_bytes_float32": feature_bytes,
        "feature_bytes_float16": feature_half_bytes,
        "label_bytes": label_bytes,
        "edge_bytes_coo_int64": coo_bytes,
        "edge_bytes_csr_int64": pointer_bytes + 2 * e * 8,
        "edge_bytes_csr_int32": pointer_bytes + 2 * e * 4,
        "sampler_bytes": sampler_bytes,
        "storage_bytes": storage_bytes,
        "lean_storage_bytes": feature_half_bytes + label_bytes + pointer_bytes + 2 * e * 4,
        "full_graph_step_bytes": _full_graph_step_bytes(n, 2 * e + n, f),
        "machine_bytes": machine_bytes,
        "usable": usable,
        "process_bytes": process_bytes,
        "machines": machines,
        "batches_per_epoch": batches,
        "batch_seconds": record["batch_seconds"],
        "epoch_seconds_one_process": batches * record["batch_seconds"],
        "nodes_per_batch": record["nodes_per_batch"],
        "bandwidth_bits": bandwidth_bits,
        "by_machines": {parts: spread_over(parts) for parts in sorted({machines, *spread})},
    }


def _full_graph_step_bytes(num_nodes: int, num_edges: int, num_features: int) -> int:
    from gatkit.profiling import estimated_peak_bytes  # chapter 10's count

    return estimated_peak_bytes("3", num_nodes, num_edges, num_features)


def describe_estimate(estimate: dict[str, Any]) -> str:
    """The estimate of :func:`papers100m_estimate` as lines of text, with units."""
    g, on = GIB, estimate["measured_on"]
    hours = estimate["epoch_seconds_one_process"] / 3600
    return "\n".join([
        f"ogbn-papers100M: {PAPERS100M['num_nodes']:,} nodes, {PAPERS100M['num_edges']:,} edges "
        f"(mean in-degree {estimate['mean_in_degree']:.1f} both ways), {PAPERS100M['train_nodes']:,} training nodes",
        f"  features: {estimate['feature_bytes_float32'] / g:.1f} GiB float32, "
        f"{estimate['feature_bytes_float16'] / g:.1f} GiB float16; labels {estimate['label_bytes'] / g:.2f} GiB",
        f"  edges: {estimate['edge_bytes_coo_int64'] / g:.1f} GiB COO int64, "
        f"CSR {estimate['edge_bytes_csr_int64'] / g:.1f}"
        f" GiB (int64 indices) or {estimate['edge_bytes_csr_int32'] / g:.1f} GiB (int32); "
        f"gatkit's sampler adds {estimate['sampler_bytes'] / g:.1f} GiB",
        f"  storage as gatkit holds it: {estimate['storage_bytes'] / g:.0f} GiB -> "
        f"{estimate['machines']} machine(s) of "
        f"{estimate['machine_bytes'] / g:.0f} GiB (storage in {estimate['usable']:.0%} of each, less "
        f"{estimate['process_bytes'] / g:.2f} GiB for the training process); lean (float16, CSR int32): "
        f"{estimate['lean_storage_bytes'] / g:.0f} GiB",
        f"  a full-graph training step would need about {estimate['full_graph_step_bytes'] / 2**40:.1f} TiB",
        f"  one epoch: {estimate['batches_per_epoch']:,} batches x {estimate['batch_seconds']:.2f} s measured "
        f"per batch = "
        f"{estimate['epoch_seconds_one_process']:,.0f} s ({hours:.1f} h) on one process",
        f"  {'machines P':>12s}{'epoch (s)':>11s}{'remote nodes':>14s}{'MiB/batch':>11s}{'GiB/epoch':>11s}"
        f"{'network s/epoch':>17s}  (per machine at {estimate['bandwidth_bits'] / 1e9:g} Gbit/s)",
        *(f"  {parts:>12d}{row['epoch_seconds']:>11,.0f}{row['remote_nodes_per_batch']:>14,.0f}"
          f"{row['network_bytes_per_batch'] / 2**20:>11.1f}{row['network_bytes_per_epoch'] / g:>11.1f}"
          f"{row['network_seconds_per_epoch']:>17.1f}" for parts, row in estimate["by_machines"].items()),
        f"  (per-batch numbers measured at N = {on['num_nodes']:,}, average degree {on['avg_degree']:g}, batches of "
        f"{on['batch_size']}, fanouts {tuple(on['fanouts'])}, {on['threads']} thread(s))",
    ])
