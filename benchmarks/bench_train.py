"""Training speed on Cora: gatkit's implementation 3 against PyTorch Geometric's GATConv.

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
- the wall time of a full training run to early stopping (patience 100, the official rule),
  with one evaluation per epoch, both models in the same loop on the same subgraphs;
- ``gatkit.train.train`` itself (the product: history, best-weight snapshots, progress off) for
  ``--seeds`` seeds: the time of each run to early stopping.

gatkit feeds the features as a sparse CSR tensor (dropout and projection skip the 98.7% zeros);
PyG gets the dense tensor, as its GAT example does. Times are medians of
:func:`gatkit.profiling.time_calls` (warm-up steps first, each step timed on its own).

Run: ``python benchmarks/bench_train.py [--repeats 50] [--seed 0] [--seeds 5] [--json results.json]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.nn.functional as F

from gatkit.data import load_planetoid
from gatkit.profiling import PygGAT, machine, time_calls
from gatkit.train import EarlyStopping, Subgraph, accuracy, build_model, paper_config, train, train_step

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
    """Train until the official early-stopping rule stops; return (seconds, epochs)."""
    optimizer = adam(model)
    stopper = EarlyStopping(RECIPE.patience)
    start = time.perf_counter()
    for epoch in range(RECIPE.epochs):
        step(model, optimizer, train_data)
        if stopper.step(epoch, *validation(model, eval_data)):
            break
    return time.perf_counter() - start, epoch + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=50, help="timed steps per measurement")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=5, help="gatkit.train runs to time, seeds --seed, --seed + 1, ...")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args()

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
                            train_idx=cora.train_idx, val_idx=cora.val_idx)
    graphs = {
        "whole": (whole, whole),
        "subgraph": (Subgraph.around(cora, cora.x_sparse, edge_index, ("train",), layers),
                     Subgraph.around(cora, cora.x_sparse, edge_index, ("train", "val"), layers)),
    }
    models = {"gatkit": lambda: build_model(RECIPE, cora.num_features, cora.num_classes),
              "pyg": lambda: PygGAT(cora.num_features, cora.num_classes)}

    def dense_for_pyg(data):  # PyG's GATConv gets dense features
        return SimpleNamespace(x=data.x.to_dense(), edge_index=data.edge_index, y=data.y,
                               train_idx=data.train_idx, val_idx=data.val_idx)

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

    runs = [train(paper_config("cora", seed=seed), dataset=cora, out_dir=None, progress=False)
            for seed in range(args.seed, args.seed + args.seeds)]
    results["gatkit_train"] = [{"seed": run.config.seed, "seconds": run.seconds, "epochs": run.epochs_run}
                               for run in runs]

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
          f"{1000 * results['pyg_run_s'] / results['pyg_run_epochs']:14.2f}")
    seconds = [run["seconds"] for run in results["gatkit_train"]]
    print(f"\n`gatkit.train.train` (the product: history, best-weight snapshots), {len(runs)} seeds:")
    for run in results["gatkit_train"]:
        print(f"  seed {run['seed']}: {run['seconds']:.2f} s, {run['epochs']} epochs "
              f"({1000 * run['seconds'] / run['epochs']:.2f} ms per epoch)")
    print(f"  median {statistics.median(seconds):.2f} s, slowest {max(seconds):.2f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
