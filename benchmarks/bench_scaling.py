"""Time and memory of a training step against graph size: gatkit's three implementations and PyG.

For each implementation (1 dense per head, 2 dense masked, 3 edge list, PyTorch Geometric's
GATConv) and each size (Cora, then stochastic block models with average degree about 4 and 128
features, N = 1k .. 200k), one point = one fresh Python process (``gatkit.profiling``): a few
warm-up steps, the median of ``--repeats`` training steps (the paper's two-layer model, 8 heads
of 8 features), and the process's peak resident memory. A dense point whose estimated memory
exceeds what the machine has free is refused before anything is allocated; a point whose first
step takes longer than ``--time-limit`` seconds is recorded as too slow; larger sizes of that
implementation are then skipped. Nothing is crashed on.

Run: ``python benchmarks/bench_scaling.py [--sizes cora 1000 2000 ...] [--implementations 1 2 3 pyg]
[--repeats 5] [--time-limit 30] [--out benchmarks/results/scaling]`` (writes ``.json`` and ``.png``).
``gatkit profile`` runs a quick version of the same sweep.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from gatkit.profiling import IMPLEMENTATIONS, machine, plot_scaling, sweep

SIZES = ["cora", 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000, 200_000]


def size(value: str) -> int | str:
    return value if value == "cora" else int(value)


def describe(record: dict) -> str:
    where = f"{IMPLEMENTATIONS[record['implementation']]:24s} N={record.get('num_nodes', record['size'])!s:>7}"
    if record["status"] == "ok":
        return f"{where}  {record['step_ms']:10.1f} ms/step  peak {record['peak_mb']:8.0f} MB"
    return f"{where}  {record['status']}: {record.get('reason', '')}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", type=size, default=SIZES)
    parser.add_argument("--implementations", nargs="+", choices=sorted(IMPLEMENTATIONS), default=["1", "2", "3", "pyg"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds one step may take")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/scaling"),
                        help="path without suffix for the .json and .png results")
    args = parser.parse_args()

    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, torch {info['torch']}")
    started = time.perf_counter()
    records = sweep(args.implementations, args.sizes, repeats=args.repeats, time_limit=args.time_limit,
                    on_record=lambda record: print(describe(record), flush=True))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {"machine": info, "repeats": args.repeats, "time_limit_s": args.time_limit,
              "seconds": time.perf_counter() - started, "records": records}
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    figure = plot_scaling(records, title=f"GAT training step on {info['cpu']} ({info['cores']} cores)")
    figure.savefig(args.out.with_suffix(".png"), dpi=120)
    print(f"wrote {args.out.with_suffix('.json')} and {args.out.with_suffix('.png')} "
          f"({result['seconds']:.0f} s)")
    for implementation in args.implementations:
        reached = [r["num_nodes"] for r in records if r["implementation"] == implementation and r["status"] == "ok"]
        print(f"{IMPLEMENTATIONS[implementation]:24s} largest N measured: {max(reached) if reached else '-'}")


if __name__ == "__main__":
    main()
