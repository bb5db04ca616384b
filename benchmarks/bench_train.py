"""Training speed on Cora: gatkit's implementation 3 against PyTorch Geometric's GATConv.

Both models have the paper's architecture (GAT [1433 -> 8 x 8 heads -> 7], ELU, dropout 0.6 on
the inputs of both layers and on the attention coefficients, Adam lr 0.005, weight decay 5e-4),
see the same row-normalised Cora features and the same graph (self-loops included once), and
are measured in one process, one after the other:

- the median training step: forward in train mode, loss on the 140 training nodes, backward,
  optimiser step;
- the median evaluation forward (eval mode, no gradients);
- the wall time of a full training run to early stopping (patience 100, the official rule),
  with one evaluation per epoch, as ``gatkit train`` does it.

gatkit feeds the features as a sparse CSR tensor (dropout and projection skip the 98.7% zeros);
PyG gets the dense tensor, as its GAT example does.

Run: ``python benchmarks/bench_train.py [--repeats 50] [--seed 0] [--json results.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from gatkit.data import load_planetoid
from gatkit.train import EarlyStopping, build_model, paper_config, train


class PygGAT(torch.nn.Module):
    """The same architecture built from PyTorch Geometric's GATConv."""

    def __init__(self, num_features: int, num_classes: int, dropout: float = 0.6):
        super().__init__()
        from torch_geometric.nn import GATConv

        self.dropout = dropout
        # add_self_loops=False: the edge_index passed in already has one self-loop per node.
        self.conv1 = GATConv(num_features, 8, heads=8, dropout=dropout, add_self_loops=False)
        self.conv2 = GATConv(8 * 8, num_classes, heads=1, concat=False, dropout=dropout,
                             add_self_loops=False)

    def forward(self, x, edge_index):
        x = F.dropout(x, p=self.dropout, training=self.training)
        x = F.elu(self.conv1(x, edge_index))
        x = F.dropout(x, p=self.dropout, training=self.training)
        return self.conv2(x, edge_index)


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    return {"cpu": model, "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "torch": torch.__version__, "threads": torch.get_num_threads(), "python": platform.python_version()}


def median_ms(function, repeats: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def step_and_eval(model, features, edge_index, dataset, repeats: int) -> tuple[float, float]:
    optimizer = torch.optim.Adam(model.parameters(), lr=0.005, weight_decay=5e-4)
    train_idx, labels = dataset.train_idx, dataset.y[dataset.train_idx]

    def step():
        model.train()
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(features, edge_index)[train_idx], labels).backward()
        optimizer.step()

    def evaluate():
        model.eval()
        with torch.no_grad():
            model(features, edge_index)

    return median_ms(step, repeats), median_ms(evaluate, repeats)


def run_to_early_stopping(model, features, edge_index, dataset, patience: int = 100) -> tuple[float, int]:
    """Train until the official early-stopping rule stops; return (seconds, epochs)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.005, weight_decay=5e-4)
    stopper = EarlyStopping(patience)
    start = time.perf_counter()
    for epoch in range(10_000):
        model.train()
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(features, edge_index)[dataset.train_idx], dataset.y[dataset.train_idx])
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            logits = model(features, edge_index)
        val_loss = F.cross_entropy(logits[dataset.val_idx], dataset.y[dataset.val_idx]).item()
        val_acc = (logits[dataset.val_idx].argmax(1) == dataset.y[dataset.val_idx]).float().mean().item()
        if stopper.step(epoch, val_acc, val_loss):
            break
    return time.perf_counter() - start, epoch + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=50, help="timed steps per measurement")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args()

    cora = load_planetoid("cora", progress=False)
    edge_index = cora.edge_index_with_self_loops
    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, torch {info['torch']}, {info['threads']} threads")
    print(f"cora: N={cora.num_nodes}, E={edge_index.shape[1]} (self-loops included), F={cora.num_features}")

    torch.manual_seed(args.seed)
    ours = build_model(paper_config("cora"), cora.num_features, cora.num_classes)
    torch.manual_seed(args.seed)
    pyg = PygGAT(cora.num_features, cora.num_classes)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in pyg.parameters())

    results = {"machine": info}
    results["gatkit_step_ms"], results["gatkit_eval_ms"] = step_and_eval(ours, cora.x_sparse, edge_index, cora, args.repeats)
    results["pyg_step_ms"], results["pyg_eval_ms"] = step_and_eval(pyg, cora.x, edge_index, cora, args.repeats)

    torch.manual_seed(args.seed)
    ours = build_model(paper_config("cora"), cora.num_features, cora.num_classes)
    results["gatkit_run_s"], results["gatkit_run_epochs"] = run_to_early_stopping(ours, cora.x_sparse, edge_index, cora)
    torch.manual_seed(args.seed)
    pyg = PygGAT(cora.num_features, cora.num_classes)
    results["pyg_run_s"], results["pyg_run_epochs"] = run_to_early_stopping(pyg, cora.x, edge_index, cora)
    product = train(paper_config("cora", seed=args.seed), dataset=cora, out_dir=None, progress=False)
    results["gatkit_train_s"], results["gatkit_train_epochs"] = product.seconds, product.epochs_run

    rows = [
        ("training step (median ms)", results["gatkit_step_ms"], results["pyg_step_ms"]),
        ("eval forward (median ms)", results["gatkit_eval_ms"], results["pyg_eval_ms"]),
        ("full run to early stopping (s)", results["gatkit_run_s"], results["pyg_run_s"]),
        ("  per epoch, step + eval (ms)", 1000 * results["gatkit_run_s"] / results["gatkit_run_epochs"],
         1000 * results["pyg_run_s"] / results["pyg_run_epochs"]),
    ]
    print(f"\n{'':34s}{'gatkit imp. 3':>14s}{'PyG GATConv':>14s}{'gatkit / PyG':>14s}")
    for name, ours_value, theirs in rows:
        print(f"{name:34s}{ours_value:14.2f}{theirs:14.2f}{ours_value / theirs:14.3f}")
    print(f"\nepochs to early stopping: gatkit {results['gatkit_run_epochs']}, PyG {results['pyg_run_epochs']}")
    print(f"`gatkit.train.train` (the product, with history and best-weight snapshots): "
          f"{results['gatkit_train_s']:.2f} s for {results['gatkit_train_epochs']} epochs")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
