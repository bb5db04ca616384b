"""Mini-batch training against graph size: memory bounded by the batch, not the graph.

For each size N, one fresh Python process (so no point inherits another's memory) on a fixed
number of threads builds a stochastic block model (``gatkit.profiling.synthetic_graph``: 128
features, average degree ``--avg-degree``) and its ``gatkit.sampling.NeighbourSampler``, then
trains the paper's GAT (``gatkit.train.build_model``, Adam) with ``gatkit.train.train_epoch`` on
the same number of target nodes at every N (``--targets``, drawn at random from all nodes, in
batches of ``--batch-size``, fanouts ``--fanout``). Recorded per point:

- the graph's storage (features, edges, labels; the sampler's grouped copy of the edges) and the
  seconds to build the graph and the sampler: they grow with N;
- the resident memory after building (RSS), the peak RSS while training (the high-water mark is
  reset after building, where Linux allows it), and their difference, what training adds;
- the median seconds per epoch over ``--epochs`` epochs after one warm-up epoch, per batch, and
  the sampled nodes and edges per batch; the seconds of sampling among them;
- for contrast, the working memory a full-graph training step would need at that N, counted with
  ``gatkit.profiling.estimated_peak_bytes`` (chapter 10's count; not run).

What training adds is measured, not modelled: besides the tensors of a batch it holds the kernel
code that the first steps page in and the memory the C allocator keeps for reuse between batches
(it grows over the first epoch or two, then stays), so it is a few times the count of
``estimated_peak_bytes`` for one batch (``batch_step_bytes``); what matters is that it does not
grow with N. ``other_cores_busy`` says how many cores other programs kept busy while the epochs
ran: timings on a shared machine are only as good as that number is small.

The committed results came from ``python benchmarks/bench_minibatch.py`` (average degree 4, as
chapter 10's graphs; N = 125k .. 4M) and ``python benchmarks/bench_minibatch.py --avg-degree 29
--sizes 500000 1000000 2000000``: ogbn-papers100M's mean in-degree, where fanouts of 10 do cap
a batch (at degree 4 nearly every edge is kept), and the series the papers100M estimate reads.

Records go into ``--json`` (one per size and average degree; a rerun replaces only the records it
measures), the figure into ``--figure``, and the ogbn-papers100M estimate of
``gatkit.viz.scale.papers100m_estimate`` is printed. ``--plot-only`` measures nothing.

Run: ``python benchmarks/bench_minibatch.py [--sizes 125000 250000 ...] [--avg-degree 4]
[--targets 10240] [--batch-size 1024] [--fanout 10 10] [--epochs 3] [--threads 1] [--json F]
[--figure F] [--plot-only]`` (defaults write ``benchmarks/results/minibatch.json`` and ``.png``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

from gatkit.profiling import (_peak_rss_bytes, _proc_field, available_bytes, estimated_peak_bytes, machine,
                              synthetic_graph, time_calls)
from gatkit.sampling import NeighbourSampler
from gatkit.train import TrainConfig, build_model, train_epoch

RESULTS = Path(__file__).resolve().parent / "results"
SIZES = [125_000, 250_000, 500_000, 1_000_000, 2_000_000, 4_000_000]
FEATURES = 128  # synthetic_graph's default, as ogbn-papers100M's


class CountingSampler:
    """A :class:`NeighbourSampler` that also counts what it hands out: nodes, edges, seconds."""

    def __init__(self, sampler: NeighbourSampler):
        self.sampler, self.nodes, self.edges, self.messages, self.seconds = sampler, [], [], [], 0.0

    def sample(self, targets: torch.Tensor):
        started = time.perf_counter()
        sample = self.sampler.sample(targets)
        self.seconds += time.perf_counter() - started
        self.nodes.append(len(sample.nodes))
        self.edges.append(sample.edge_index[0].shape[1])  # the first layer's: every edge drawn, self-loops included
        self.messages.append(sum(edges.shape[1] for edges in sample.edge_index))  # over all layers
        return sample


def rss_bytes() -> int:
    """This process's resident memory now (Linux's ``VmRSS``), or its peak where that is unknown."""
    resident = _proc_field("/proc/self/status", "VmRSS")  # "345272 kB"
    return int(resident.split()[0]) * 1024 if resident else _peak_rss_bytes()


def reset_peak() -> bool:
    """Start the peak-RSS count afresh from the current RSS (Linux >= 4.0); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


def busy_cpu_seconds() -> tuple[float, float]:
    """CPU seconds used so far by the whole machine (all cores) and by this process (``/proc/stat``)."""
    own = os.times()
    try:
        with open("/proc/stat") as stat:
            ticks = [int(v) for v in stat.readline().split()[1:]]  # user nice system idle iowait irq softirq steal
        machine_seconds = (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    except OSError:
        machine_seconds = float("nan")
    return machine_seconds, own.user + own.system


def nbytes(*tensors: torch.Tensor) -> int:
    return sum(t.untyped_storage().nbytes() for t in tensors)


def measure_point(num_nodes: int, *, avg_degree: float = 4.0, targets: int = 10_240, batch_size: int = 1024,
                  fanouts: tuple[int, ...] = (10, 10), epochs: int = 3, seed: int = 0) -> dict[str, Any]:
    """Build, sample and train at one size in this process (which should do nothing else; see module doc)."""
    record: dict[str, Any] = {"num_nodes": num_nodes, "avg_degree": avg_degree, "targets": targets,
                              "batch_size": batch_size, "fanouts": list(fanouts), "epochs": epochs, "seed": seed,
                              "threads": torch.get_num_threads(), "rss_start_bytes": rss_bytes()}
    started = time.perf_counter()
    graph = synthetic_graph(num_nodes, avg_degree=avg_degree, num_features=FEATURES, seed=seed)
    record["graph_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    sampler = NeighbourSampler(graph.edge_index, num_nodes, fanouts, torch.Generator().manual_seed(seed))
    record["sampler_seconds"] = time.perf_counter() - started
    num_edges = graph.edge_index.shape[1]
    record.update(num_edges=num_edges, feature_bytes=nbytes(graph.x), edge_bytes=nbytes(graph.edge_index),
                  label_bytes=nbytes(graph.y), sampler_bytes=nbytes(sampler.indptr, sampler.sources),
                  rss_built_bytes=rss_bytes(), peak_rss_build_bytes=_peak_rss_bytes(), peak_reset=reset_peak(),
                  full_graph_step_bytes=estimated_peak_bytes("3", num_nodes, num_edges, FEATURES))

    config = TrainConfig(batch_size=batch_size, fanout=tuple(fanouts))
    torch.manual_seed(seed)
    model = build_model(config, FEATURES, int(graph.y.max()) + 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=True)
    chosen = torch.randperm(num_nodes, generator=torch.Generator().manual_seed(seed))[:targets]  # (T,) all labelled
    counting, order = CountingSampler(sampler), torch.Generator().manual_seed(seed)
    before, started = busy_cpu_seconds(), time.perf_counter()
    timed = time_calls(lambda: train_epoch(model, optimizer, counting, graph.x, graph.y, chosen, batch_size, order),
                       repeats=epochs, warmup=1, label="epoch")
    after, seconds = busy_cpu_seconds(), time.perf_counter() - started
    # cores kept busy by other programs while this one trained: was the machine quiet?
    record["other_cores_busy"] = ((after[0] - before[0]) - (after[1] - before[1])) / seconds
    batches = -(-len(chosen) // batch_size)
    peak = _peak_rss_bytes()
    record.update(
        epoch_seconds=timed.median, epoch_times=timed.times, batches_per_epoch=batches,
        batch_seconds=timed.median / batches, sample_seconds_per_batch=counting.seconds / len(counting.nodes),
        nodes_per_batch=sum(counting.nodes) / len(counting.nodes), max_nodes_per_batch=max(counting.nodes),
        edges_per_batch=sum(counting.edges) / len(counting.edges),
        messages_per_batch=sum(counting.messages) / len(counting.messages),
        peak_rss_training_bytes=peak, training_added_bytes=peak - record["rss_built_bytes"],
        peak_rss_bytes=max(peak, record["peak_rss_build_bytes"]), status="ok")
    record["batch_step_bytes"] = estimated_peak_bytes("3", round(record["nodes_per_batch"]),
                                                      round(record["edges_per_batch"]), FEATURES)  # the same count
    return record


def graph_bytes_needed(num_nodes: int, avg_degree: float) -> int:
    """Features, edges (with self-loops) and labels of ``synthetic_graph``, plus the sampler's copy of the edges."""
    return num_nodes * (FEATURES * 4 + 8) + round(num_nodes * (avg_degree + 1)) * (16 + 16)


def measure_in_fresh_process(point: dict[str, Any], threads: int, timeout: float) -> dict[str, Any]:
    """:func:`measure_point` in a new Python process on ``threads`` threads; a refusal (the graph could
    not fit in the free memory), a crash, a kill or a timeout becomes the record's status."""
    base = {"num_nodes": point["num_nodes"], "avg_degree": point["avg_degree"], "threads": threads}
    needed, free = 2 * graph_bytes_needed(point["num_nodes"], point["avg_degree"]), available_bytes()
    if needed > 0.8 * free:  # building takes about twice the graph's storage at its peak
        return {**base, "status": "refused", "reason": f"needs about {needed / 2**30:.1f} GiB, "
                                                       f"{free / 2**30:.1f} GiB free"}
    environment = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    try:
        done = subprocess.run([sys.executable, __file__, "--point", json.dumps(point), "--threads", str(threads)],
                              capture_output=True, text=True, timeout=timeout, env=environment)
    except subprocess.TimeoutExpired:
        return {**base, "status": "timeout", "reason": f"no result within {timeout:.0f} s"}
    if done.returncode != 0:
        why = f"killed by signal {-done.returncode}" if done.returncode < 0 else \
            (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return {**base, "status": "failed", "reason": why}
    return json.loads(done.stdout.strip().splitlines()[-1])


def merge(path: Path, records: list[dict[str, Any]], info: dict[str, Any]) -> dict[str, Any]:
    """The results at ``path`` with ``records`` replacing those of the same size and average degree."""
    result = json.loads(path.read_text()) if path.exists() else {"records": []}
    fresh = {(r["num_nodes"], r["avg_degree"]) for r in records}
    kept = [r for r in result["records"] if (r["num_nodes"], r["avg_degree"]) not in fresh]
    result.update(machine=info, records=sorted(kept + records, key=lambda r: (r["avg_degree"], r["num_nodes"])))
    return result


def describe(record: dict[str, Any]) -> str:
    where = f"N={record['num_nodes']:>9,} d={record['avg_degree']:g}"
    if record["status"] != "ok":
        return f"{where}  {record['status']}: {record.get('reason', '')}"
    mib = 2**20
    graph = (record["feature_bytes"] + record["edge_bytes"]) / mib
    return (f"{where} E={record['num_edges']:>11,}  graph {graph:7.0f} MiB"
            f" (built in {record['graph_seconds']:5.1f} s)  RSS built {record['rss_built_bytes'] / mib:6.0f} MiB"
            f"  peak {record['peak_rss_bytes'] / mib:6.0f} MiB"
            f"  training adds {record['training_added_bytes'] / mib:5.0f} MiB"
            f"  epoch {record['epoch_seconds']:5.2f} s  batch {1000 * record['batch_seconds']:5.0f} ms"
            f"  {record['nodes_per_batch']:7.0f} nodes {record['edges_per_batch']:7.0f} edges/batch"
            f"  (others busy {record['other_cores_busy']:.1f} cores)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=SIZES, help="graph sizes N, measured in this order")
    parser.add_argument("--avg-degree", type=float, default=4.0, help="average degree of the synthetic graphs")
    parser.add_argument("--targets", type=int, default=10_240, help="target nodes per epoch, the same at every N")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--fanout", nargs="+", type=int, default=[10, 10],
                        help="one per layer, the first for the edges into the batch")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs after one warm-up epoch (median)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds one point may take")
    parser.add_argument("--json", type=Path, default=RESULTS / "minibatch.json")
    parser.add_argument("--figure", type=Path, default=RESULTS / "minibatch.png")
    parser.add_argument("--plot-only", action="store_true", help="measure nothing: print the table and draw the figure")
    parser.add_argument("--point", help=argparse.SUPPRESS)  # one point, in this (fresh) process
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.point:
        print(json.dumps(measure_point(**json.loads(args.point))))
        return

    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, torch {info['torch']}; "
          f"{args.threads} thread(s), load average {os.getloadavg()[0]:.1f}")
    records = []
    for size in [] if args.plot_only else args.sizes:
        point = {"num_nodes": size, "avg_degree": args.avg_degree, "targets": args.targets,
                 "batch_size": args.batch_size, "fanouts": args.fanout, "epochs": args.epochs}
        records.append(measure_in_fresh_process(point, args.threads, args.timeout))
        print(describe(records[-1]), flush=True)
        if records[-1]["status"] != "ok":
            break  # a larger graph would fail too
    result = merge(args.json, records, info)
    if records:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {args.json}")
    else:
        for record in result["records"]:
            print(describe(record))

    import matplotlib

    matplotlib.use("Agg")
    from gatkit.viz.scale import describe_estimate, papers100m_estimate, plot_minibatch_scaling

    busy = [r["other_cores_busy"] for r in result["records"] if r["status"] == "ok"]
    title = (f"Mini-batch training of the paper's GAT on stochastic block models: {info['cpu']}, {info['cores']} cores"
             + (f" (other programs kept {min(busy):.1f}-{max(busy):.1f} cores busy)" if busy else ""))
    plot_minibatch_scaling(result["records"], memory_bytes=info["memory_gib"] * 2**30,
                           title=title).savefig(args.figure, dpi=130)
    print(f"figure: {args.figure}")
    if any(r["status"] == "ok" for r in result["records"]):
        print("\n" + describe_estimate(papers100m_estimate(result["records"])))


if __name__ == "__main__":
    main()
