"""Test accuracy over seeds on Cora and Citeseer, next to the GAT paper's figures.

Each run is ``gatkit.train.train`` with the paper's recipe and the official early stopping, the
best weights restored before testing; only the seed changes. The paper reports the mean and
standard deviation of 100 runs (``gatkit.train.PAPER_RESULTS``: Cora 83.0 +/- 0.7, Citeseer 72.5 +/- 0.7).

Run: ``python benchmarks/bench_accuracy.py [--seeds 10] [--datasets cora citeseer] [--layer-type 3]``
(the same numbers as ``gatkit train --seeds 10 --should-test`` per dataset).
"""

from __future__ import annotations

import argparse
import statistics

import torch

from gatkit.data import load_planetoid
from gatkit.layers import LAYER_TYPES
from gatkit.train import KEEP_RULES, PAPER_RESULTS, TrainConfig, paper_config, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--datasets", nargs="+", default=list(PAPER_RESULTS), choices=list(PAPER_RESULTS))
    parser.add_argument("--layer-type", type=int, default=TrainConfig.layer_type, choices=tuple(LAYER_TYPES))
    parser.add_argument("--keep", default=TrainConfig.keep, choices=KEEP_RULES,
                        help="which epoch's weights early stopping keeps (see gatkit.train.EarlyStopping)")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; GAT implementation {args.layer_type}; "
          f"seeds 0..{args.seeds - 1}; weights kept: {args.keep}")

    table = []
    for name in args.datasets:
        dataset = load_planetoid(name, progress=False)
        accuracies, seconds, epochs = [], [], []
        for seed in range(args.seeds):
            config = paper_config(name, seed=seed, layer_type=args.layer_type, keep=args.keep)
            result = train(config, dataset=dataset,
                           out_dir=None, progress=False, test=True)
            accuracies.append(100 * result.metrics["test_acc"])
            seconds.append(result.seconds)
            epochs.append(result.epochs_run)
            print(f"  {name} seed {seed}: test {accuracies[-1]:.1f}%  (val {100 * result.metrics['val_acc']:.1f}%, "
                  f"weights of epoch {result.best_epoch}, {result.epochs_run} epochs, {result.seconds:.1f} s)",
                  flush=True)
        table.append((name, statistics.mean(accuracies), statistics.stdev(accuracies), min(accuracies),
                      max(accuracies), statistics.median(seconds), statistics.median(epochs)))

    print(f"\n{'dataset':10s}{'gatkit (test %)':>20s}{'min':>7s}{'max':>7s}{'paper':>14s}"
          f"{'median run':>12s}{'epochs':>8s}")
    for name, mean, std, low, high, run_s, run_epochs in table:
        paper_mean, paper_std = PAPER_RESULTS[name]
        print(f"{name:10s}{mean:13.1f} +/- {std:3.1f}{low:7.1f}{high:7.1f}{paper_mean:8.1f} +/- {paper_std}"
              f"{run_s:10.1f} s{run_epochs:8.0f}")


if __name__ == "__main__":
    main()
