"""Test accuracy over seeds on Cora and Citeseer, next to the GAT paper's figures.

Each dataset's seeds are trained together as one batch by ``gatkit.train.train_runs``: every run
is the paper's recipe with the official early stopping (counted per run), its best weights
restored before testing; only the seed changes. The paper reports the mean and standard deviation
of 100 runs (``gatkit.train.PAPER_RESULTS``: Cora 83.0 +/- 0.7, Citeseer 72.5 +/- 0.7). A batch has
one wall time for all its runs, so the table gives the batch's time, not a time per run.

Run: ``python benchmarks/bench_accuracy.py [--seeds 10] [--datasets cora citeseer] [--layer-type 3]``
(the same numbers as ``gatkit train --seeds 10 --should-test`` per dataset). With ``--batch-size B
--fanout K1 K2`` every run trains in mini-batches of B training nodes on sampled neighbourhoods
(``gatkit.sampling``), one run after another with ``gatkit.train.train``, and the time column is the
sum of the runs' times.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics

import torch

from gatkit.data import load_planetoid
from gatkit.layers import LAYER_TYPES
from gatkit.train import KEEP_RULES, PAPER_RESULTS, TrainConfig, paper_config, train, train_runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="runs per dataset, seeds 0 .. N-1 (at least 2)")
    parser.add_argument("--datasets", nargs="+", default=list(PAPER_RESULTS), choices=list(PAPER_RESULTS))
    parser.add_argument("--layer-type", type=int, default=TrainConfig.layer_type, choices=tuple(LAYER_TYPES))
    parser.add_argument("--keep", default=TrainConfig.keep, choices=KEEP_RULES,
                        help="which epoch's weights early stopping keeps (see gatkit.train.EarlyStopping)")
    parser.add_argument("--batch-size", type=int, default=0, help="training nodes per mini-batch (0: full graph)")
    parser.add_argument("--fanout", type=int, nargs="+", default=[-1],
                        help="neighbours sampled per node at each hop out from a mini-batch (-1: all)")
    args = parser.parse_args()
    if args.seeds < 2:
        parser.error("--seeds must be at least 2 (a standard deviation needs two runs)")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; GAT implementation {args.layer_type}; "
          f"seeds 0..{args.seeds - 1}; weights kept: {args.keep}; "
          + (f"mini-batches of {args.batch_size}, fanout {args.fanout}" if args.batch_size else "full graph"))

    table = []
    for name in args.datasets:
        dataset = load_planetoid(name, progress=False)
        config = paper_config(name, layer_type=args.layer_type, keep=args.keep, batch_size=args.batch_size,
                              fanout=tuple(args.fanout))
        if args.batch_size:  # one run after another
            results = [train(dataclasses.replace(config, seed=seed), dataset=dataset, out_dir=None, progress=False,
                             test=True) for seed in range(args.seeds)]
            total = sum(result.seconds for result in results)
            for result in results:
                result.seconds = total
        else:
            results = train_runs(config, range(args.seeds), dataset=dataset, out_dir=None, progress=False,
                                 test=True)
        accuracies = [100 * result.metrics["test_acc"] for result in results]
        for result, accuracy in zip(results, accuracies):
            print(f"  {name} seed {result.config.seed}: test {accuracy:.1f}%  "
                  f"(val {100 * result.metrics['val_acc']:.1f}%, weights of epoch {result.best_epoch}, "
                  f"{result.epochs_run} epochs)", flush=True)
        seconds = results[0].seconds  # the whole batch's wall time, the same in every result
        how = "one after another" if args.batch_size else "as one batch"
        print(f"  {name}: {len(results)} runs trained {how} in {seconds:.1f} s", flush=True)
        table.append((name, statistics.mean(accuracies), statistics.stdev(accuracies), min(accuracies),
                      max(accuracies), seconds, statistics.median([result.epochs_run for result in results])))

    print(f"\n{'dataset':10s}{'gatkit (test %)':>20s}{'min':>7s}{'max':>7s}{'paper':>14s}"
          f"{'batch':>10s}{'median epochs':>15s}")
    for name, mean, std, low, high, batch_s, median_epochs in table:
        paper_mean, paper_std = PAPER_RESULTS[name]
        print(f"{name:10s}{mean:13.1f} +/- {std:3.1f}{low:7.1f}{high:7.1f}{paper_mean:8.1f} +/- {paper_std}"
              f"{batch_s:8.1f} s{median_epochs:15.0f}")


if __name__ == "__main__":
    main()
