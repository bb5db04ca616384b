"""Training speed on Cora: gatkit's implementation 3 against PyTorch Geometric's GATConv, one run and many.

Both models have the paper's architecture (GAT [1433 -> 8 x 8 heads -> 7], ELU, dropout 0.6 on
the inputs of both layers and on the attention coefficients, Adam lr 0.005, weight decay 5e-4,
PyTorch's fused Adam for both), see the same row-normalised Cora features and the same graph
(self-loops included once), and are measured in one process, one after the other:

- the median training step (:func:`gatkit.train.train_step`: forward in train mode, loss on the
  140 training nodes, backward, optimiser step); on the whole graph, and on the part of it the loss reads
  (:class:`gatkit.train.Subgraph`: 1664 nodes, 4478 and 778 edges for the two layers), which
  gives the same loss and gradients for less work and which both models are given the same way;
- the median evaluation forward (eval mode, no gradients), whole graph and the part that the
  training and validation metrics read;
- the wall time of a full training run to early stopping (patience 100, the official rule, the
  weights of lowest validation loss kept), with one evaluation per epoch, both models in the
  same loop on the same subgraphs.

Many runs: ``--runs`` seeds (``--seed``, ``--seed`` + 1, ...) of the paper's recipe, each
trained to early stopping with its best weights restored and then tested on the whole graph,

- (a) batched: one :func:`gatkit.train.train_runs` call for all of them;
- (b) one at a time with :func:`gatkit.train.train` (the product: history, best-weight snapshots);
- (c) one at a time with PyG's GATConv, in the loop above (``torch.manual_seed(seed)`` before
  building each model), on the same subgraphs;

and the paper's protocol: ``--protocol-runs`` seeds batched, next to its 83.0 +/- 0.7 (100 runs).
For each: the total wall time, the epochs run (mean, min-max) and the test accuracy, mean +/-
sample standard deviation (n - 1). Each batched configuration runs in a fresh child process
(this script again, with a hidden option) that does nothing else, so its peak resident memory
(Linux's ``VmHWM``, which unlike ``ru_maxrss`` does not inherit the parent's peak) is that
configuration's own; a child that only loads Cora gives the baseline that the batch adds to.
The batched wall time is the ``train_runs`` call alone, timed in the child; (b) and (c) run in
this process, their peak memory is not reported.

gatkit feeds the features as a sparse CSR tensor (dropout and projection skip the 98.7% zeros);
PyG gets the dense tensor, as its GAT example does. Times are medians of
:func:`gatkit.profiling.time_calls` (warm-up steps first, each step timed on its own).

Run: ``python benchmarks/bench_train.py [--repeats 50] [--seed 0] [--runs 10] [--protocol-runs 100]
[--skip-protocol] [--skip-pyg-runs] [--json results.json]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.nn.functional as F

from gatkit.data import load_planetoid
from gatkit.profiling import PygGAT, _peak_rss_bytes, machine, time_calls
from gatkit.train import (PAPER_RESULTS, EarlyStopping, Subgraph, accuracy, build_model, evaluate, paper_config,
                          train, train_runs, train_step)

RECIPE = paper_config("cora")


def median_ms(function, repeats: int, warmup: int = 5) -> float:
    return 1000 * time_calls(function, repeats=repeats, warmup=warmup).median


def adam(model):
    return torch.optim.Adam(model.parameters(), lr=RECIPE.lr, weight_decay=RECIPE.weight_decay, fused=True)


def step(model, optimizer, data) -> torch.Tensor:
    """One training step on ``data``'s training nodes (gatkit's own, for both models)."""
    return train_step(model, optimizer, data.x, data.edge_index, data.y, data.train_idx)


@torch.no_grad()
def validation(model, data) -> tuple[float, float]:
    model.eval()
    logits = model(data.x, data.edge_index)[data.val_idx]  # (500, C)
    labels = data.y[data.val_idx]
    return accuracy(logits, labels).item(), F.cross_entropy(logits, labels).item()


def run_to_early_stopping(model, train_data, eval_data):
    """Train until the official early-stopping rule stops, then restore the weights of the
    lowest validation loss (as :func:`gatkit.train.train` does); return (seconds, epochs)."""
    optimizer = adam(model)
    stopper = EarlyStopping(RECIPE.patience, RECIPE.keep)
    start = time.perf_counter()
    best = {name: value.clone() for name, value in model.state_dict().items()}
    for epoch in range(RECIPE.epochs):
        step(model, optimizer, train_data)
        stop = stopper.step(epoch, *validation(model, eval_data))
        if stopper.best_epoch == epoch:
            best = {name: value.clone() for name, value in model.state_dict().items()}
        if stop:
            break
    model.load_state_dict(best)
    return time.perf_counter() - start, epoch + 1


def many(method: str, seconds: float, seeds, epochs, test_acc, **extra) -> dict:
    """One row of the many-runs table: per-run lists (test accuracy in %) and the total wall time."""
    return {"method": method, "runs": len(seeds), "seconds": seconds, "seeds": list(seeds), "epochs": list(epochs),
            "test_acc": [100 * acc for acc in test_acc], **extra}


def of_results(method: str, seconds: float, results, **extra) -> dict:
    return many(method, seconds, [r.config.seed for r in results], [r.epochs_run for r in results],
                [r.metrics["test_acc"] for r in results], **extra)


def child_batch(runs: int, first_seed: int) -> None:
    """(In a fresh process.) Train ``runs`` seeds with one train_runs call (0: only load Cora);
    print the row as one JSON line, with this process's peak RSS."""
    cora = load_planetoid("cora", progress=False)
    seeds = range(first_seed, first_seed + runs)
    row = many("data only (baseline)", 0.0, [], [], [])
    if runs:
        start = time.perf_counter()
        results = train_runs(RECIPE, seeds, dataset=cora, out_dir=None, progress=False, test=True)
        row = of_results("gatkit train_runs", time.perf_counter() - start, results)
    print(json.dumps({**row, "threads": torch.get_num_threads(), "peak_rss_mib": _peak_rss_bytes() / 2**20}))


def batched_in_fresh_process(runs: int, first_seed: int) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--child-batch", str(runs), "--seed", str(first_seed)]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)  # its errors go to stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def mean_std(values) -> str:
    """``mean +/- sample std`` (n - 1; nan for one value)."""
    std = statistics.stdev(values) if len(values) > 1 else float("nan")
    return f"{statistics.mean(values):.1f} +/- {std:.1f}"


def print_many_runs(rows: list[dict]) -> None:
    baseline = next((row["peak_rss_mib"] for row in rows if row["runs"] == 0), None)
    line = "{:>4}   {:20s}{:>7}   {:<21}   {:>21}   {:>12}".format
    print("\n" + line("runs", "method", "wall s", "epochs mean (min-max)", "test acc mean +/- std", "peak RSS MiB"))
    for row in rows:
        epochs = row["epochs"]
        peak = row.get("peak_rss_mib")
        print(line(row["runs"], row["method"], f"{row['seconds']:.1f}" if row["seconds"] else "-",
                   f"{statistics.mean(epochs):.0f} ({min(epochs)}-{max(epochs)})" if epochs else "-",
                   mean_std(row["test_acc"]) if row["test_acc"] else "-",
                   "-" if peak is None else f"{peak:.0f}" + (f" (+{peak - baseline:.0f})" if row["runs"] else "")))
    print(line(100, "paper (GAT, 2018)", "-", "-", "{} +/- {}".format(*PAPER_RESULTS["cora"]), "-"))
    print("test accuracy in %, sample standard deviation (n - 1); peak RSS of the batch's own process "
          "(in brackets: above the baseline of a process that only loads Cora)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=50, help="timed steps per measurement")
    parser.add_argument("--seed", type=int, default=0, help="seed of the single runs, first seed of many")
    parser.add_argument("--runs", "--seeds", type=int, default=10, dest="runs",
                        help="seeds of many runs: batched, one at a time with gatkit.train, and with PyG")
    parser.add_argument("--protocol-runs", type=int, default=100, help="seeds batched for the paper's protocol")
    parser.add_argument("--skip-protocol", action="store_true", help="leave out the --protocol-runs batch")
    parser.add_argument("--skip-pyg-runs", action="store_true", help="leave out the --runs PyG runs")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--child-batch", type=int, help=argparse.SUPPRESS)  # one batch in a fresh process
    args = parser.parse_args()
    if args.child_batch is not None:
        return child_batch(args.child_batch, args.seed)

    cora = load_planetoid("cora", progress=False)
    edge_index = cora.edge_index_with_self_loops
    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, torch {info['torch']}, {info['threads']} threads")
    print(f"cora: N={cora.num_nodes}, E={edge_index.shape[1]} (self-loops included), F={cora.num_features}")

    torch.manual_seed(args.seed)
    ours = build_model(RECIPE, cora.num_features, cora.num_classes)
    torch.manual_seed(args.seed)
    pyg = PygGAT(cora.num_features, cora.num_classes)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in pyg.parameters())

    layers = 2
    whole = SimpleNamespace(x=cora.x_sparse, edge_index=edge_index, y=cora.y,
                            train_idx=cora.train_idx, val_idx=cora.val_idx, test_idx=cora.test_idx)
    graphs = {
        "whole": (whole, whole),
        "subgraph": (Subgraph.around(cora, cora.x_sparse, edge_index, ("train",), layers),
                     Subgraph.around(cora, cora.x_sparse, edge_index, ("train", "val"), layers)),
    }
    models = {"gatkit": lambda: build_model(RECIPE, cora.num_features, cora.num_classes),
              "pyg": lambda: PygGAT(cora.num_features, cora.num_classes)}

    def dense_for_pyg(data):  # PyG's GATConv gets dense features
        return SimpleNamespace(x=data.x.to_dense(), edge_index=data.edge_index, y=data.y,
                               train_idx=data.train_idx, val_idx=data.val_idx, test_idx=data.test_idx)

    results = {"machine": info}
    for name, make in models.items():
        for where, (train_graph, eval_graph) in graphs.items():
            if name == "pyg":
                train_graph, eval_graph = dense_for_pyg(train_graph), dense_for_pyg(eval_graph)
            torch.manual_seed(args.seed)
            model = make()
            optimizer = adam(model)
            results[f"{name}_{where}_step_ms"] = median_ms(lambda: step(model, optimizer, train_graph),
                                                           args.repeats)
            results[f"{name}_{where}_eval_ms"] = median_ms(lambda: validation(model, eval_graph), args.repeats)
        torch.manual_seed(args.seed)
        results[f"{name}_run_s"], results[f"{name}_run_epochs"] = run_to_early_stopping(
            make(), *(map(dense_for_pyg, graphs["subgraph"]) if name == "pyg" else graphs["subgraph"]))

    rows = [
        ("training step, whole graph (ms)", "whole_step_ms"),
        ("training step, loss's subgraph (ms)", "subgraph_step_ms"),
        ("eval forward, whole graph (ms)", "whole_eval_ms"),
        ("eval forward, metrics' subgraph (ms)", "subgraph_eval_ms"),
        ("full run to early stopping (s)", "run_s"),
    ]
    print(f"\n{'':38s}{'gatkit imp. 3':>14s}{'PyG GATConv':>14s}{'gatkit / PyG':>14s}")
    for label, key in rows:
        ours_value, theirs = results[f"gatkit_{key}"], results[f"pyg_{key}"]
        print(f"{label:38s}{ours_value:14.2f}{theirs:14.2f}{ours_value / theirs:14.3f}")
    print(f"{'  epochs to early stopping':38s}{results['gatkit_run_epochs']:14d}{results['pyg_run_epochs']:14d}")
    print(f"{'  per epoch, step + eval (ms)':38s}"
          f"{1000 * results['gatkit_run_s'] / results['gatkit_run_epochs']:14.2f}"
          f"{1000 * results['pyg_run_s'] / results['pyg_run_epochs']:14.2f}", flush=True)

    # Many runs: (b) and (c) here, one at a time; the batches, and the baseline, each in a fresh process.
    seeds = range(args.seed, args.seed + args.runs)
    start = time.perf_counter()
    lone = [train(paper_config("cora", seed=seed), dataset=cora, out_dir=None, progress=False, test=True)
            for seed in seeds]
    sequential = of_results("gatkit train", time.perf_counter() - start, lone,
                            run_seconds=[run.seconds for run in lone])
    print(f"\n`gatkit.train.train` (the product), {len(lone)} seeds one at a time: median "
          f"{statistics.median(sequential['run_seconds']):.2f} s per run, slowest "
          f"{max(sequential['run_seconds']):.2f} s", flush=True)
    table = [batched_in_fresh_process(0, args.seed), batched_in_fresh_process(args.runs, args.seed), sequential]
    if not args.skip_pyg_runs:
        train_graph, eval_graph = map(dense_for_pyg, graphs["subgraph"])
        test_graph = dense_for_pyg(whole)
        start, epochs, test_acc = time.perf_counter(), [], []
        for seed in seeds:
            torch.manual_seed(seed)
            model = models["pyg"]()
            epochs.append(run_to_early_stopping(model, train_graph, eval_graph)[1])
            test_acc.append(evaluate(model, test_graph, test_graph.x, test_graph.edge_index, ("test",))["test_acc"])
        table.append(many("PyG GATConv", time.perf_counter() - start, seeds, epochs, test_acc))
    if not args.skip_protocol:
        table.append(batched_in_fresh_process(args.protocol_runs, args.seed))
    results["many_runs"] = table
    print_many_runs(table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
