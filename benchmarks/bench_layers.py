"""Forward + backward time of the three GAT layer implementations on Cora, the paper's architecture.

Each implementation runs one training step's worth of work (forward in train mode with the
paper's dropout 0.6, cross-entropy on the 140 training nodes, backward) ``--warmup`` times
untimed, then timed steps until it has ``--repeats`` of them or has spent ``--budget`` seconds
(but at least ``--min-repeats``), so the slow dense implementations do not take minutes
(:func:`gatkit.profiling.time_calls` does the timing). The table gives the median and the
interquartile range.

Run from the repository root::

    .venv/bin/python benchmarks/bench_layers.py [--repeats 50] [--budget 15] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path

import torch
import torch.nn.functional as F

from gatkit.data import load_planetoid
from gatkit.layers import LAYER_TYPES
from gatkit.profiling import machine, time_calls
from gatkit.train import DATASETS, build_model, paper_config

NAMES = {1: "1 dense, per head", 2: "2 dense, masked", 3: "3 edge list"}


def forward_backward(model, x, edge_index, y, train_idx) -> None:
    """The work of a training step without the optimiser: forward in train mode, loss, backward."""
    model.train()
    model.zero_grad(set_to_none=True)
    logits = model(x, edge_index)  # (N, C)
    F.cross_entropy(logits[train_idx], y[train_idx]).backward()


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """First quartile, median and third quartile."""
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, median, q3


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50, help="timed steps per implementation")
    parser.add_argument("--min-repeats", type=int, default=5, help="timed steps even past the budget")
    parser.add_argument("--budget", type=float, default=15.0, help="seconds of timed steps per implementation")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--dataset", default="cora", choices=DATASETS)
    args = parser.parse_args(argv)
    if min(args.repeats, args.min_repeats) < 2:
        parser.error("--repeats and --min-repeats must be at least 2 to give quartiles")
    device = torch.device(args.device)

    # Offline development machines keep a Planetoid mirror beside the checkout (as conftest.py uses).
    mirror = Path(__file__).resolve().parents[2] / "shared" / "data" / "planetoid"
    if "GATKIT_DATA_MIRROR" not in os.environ and mirror.is_dir():
        os.environ["GATKIT_DATA_MIRROR"] = str(mirror)
    data = load_planetoid(args.dataset, progress=False)
    x = data.x.to(device)  # (N, F)
    edge_index = data.edge_index_with_self_loops.to(device)  # (2, E)
    y, train_idx = data.y.to(device), data.train_idx.to(device)  # (N,), (140,)

    info = machine()
    described = f"{info['cpu']}, {info['cores']} cores usable, torch {info['torch']}, {info['threads']} threads"
    if device.type == "cuda":
        described += f", {torch.cuda.get_device_name(device)}"
    recipe = paper_config(args.dataset)
    print(f"{args.dataset}: N = {data.num_nodes}, E = {edge_index.shape[1]} (with self-loops), "
          f"F = {data.num_features}; GAT([{data.num_features}, {recipe.hidden_features}, {data.num_classes}], "
          f"heads {list(recipe.heads)}), dropout {recipe.dropout:g}, train mode")
    print(f"machine: {described}; device {device}")
    print(f"forward + backward; {args.warmup} warm-up steps, then up to {args.repeats} timed steps "
          f"or {args.budget:g} s (at least {args.min_repeats})\n")

    rows = {}
    for layer_type in LAYER_TYPES:
        torch.manual_seed(0)
        model = build_model(paper_config(args.dataset, layer_type=layer_type), data.num_features,
                            data.num_classes).to(device)
        times = time_calls(lambda: forward_backward(model, x, edge_index, y, train_idx), warmup=args.warmup,
                           repeats=args.repeats, min_repeats=args.min_repeats, budget=args.budget).times
        rows[layer_type] = (len(times), *quartiles(times))
    print(f"{'implementation':<20} {'steps':>5} {'median ms':>10} {'IQR ms':>17} {'vs edge list':>13}")
    for layer_type, (steps, q1, median, q3) in rows.items():
        ratio = median / rows[3][2]
        print(f"{NAMES[layer_type]:<20} {steps:>5} {median * 1e3:>10.1f} {q1 * 1e3:>8.1f} - {q3 * 1e3:<6.1f} "
              f"{ratio:>12.1f}x")


if __name__ == "__main__":
    main()
