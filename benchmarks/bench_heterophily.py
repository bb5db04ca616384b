"""Where attention matters: four models on every mirrored graph, homophilous and heterophilous.

For each graph, GAT, GATv2, the same network with attention fixed to uniform weights (a mean over
each neighbourhood, GCN-like) and the same network without the graph (an MLP) are trained on
every split, and scored as the graph's benchmark scores it (ROC AUC on minesweeper and tolokers,
accuracy elsewhere; test score of the weights chosen on validation). The heterophilous graphs
(Platonov et al., ICLR 2023) come with ten splits and use ``gatkit.train.HETEROPHILY_RECIPE``;
Cora and Citeseer have one split, so their runs are ten seeds of the GAT paper's recipe. Each
model's runs on a graph are trained together as one batch (``gatkit.train.train_runs``).

Next to every graph: its edge homophily and adjusted homophily, and the entropy gap of the
learned GAT attention (chapter 08's measure: how far below uniform the attention's entropy lies,
as a share of the uniform entropy, averaged over layers, heads and runs). The figure puts
homophily on x and the gain of attention over uniform weights on y.

Run: ``python benchmarks/bench_heterophily.py [--datasets ...] [--splits 10] [--json F] [--figure F]``
(defaults write ``benchmarks/results/heterophily.json`` and ``.png``).
"""

from __future__ import annotations

import argparse
import dataclasses
import fcntl
import json
import statistics
import time
from pathlib import Path

import torch

from gatkit import attention, graph
from gatkit.data import DATASET_NAMES, load_dataset
from gatkit.train import HETEROPHILY_RESULTS, model_input, recipe_config, score_key, train_runs

RESULTS = Path(__file__).resolve().parent / "results"
MODELS = {"GAT": "gat", "GATv2": "gatv2", "uniform": "uniform", "MLP": "none"}


def run_model(dataset, model: str, runs: int, max_epochs: int | None) -> dict:
    """Train ``model`` on ``dataset`` (``runs`` splits, or seeds on a one-split graph) as one batch."""
    config = recipe_config(dataset.name, attention=MODELS[model])
    if len(dataset.splits) == 1:  # Cora, Citeseer: seeds
        results = train_runs(config, range(runs), dataset=dataset, out_dir=None, progress=False, test=True)
    else:
        if max_epochs is not None:
            config = dataclasses.replace(config, epochs=min(config.epochs, max_epochs))
        results = train_runs(config, [0], splits=dataset.splits[:runs], dataset=dataset, out_dir=None,
                             progress=False, test=True)
    scores = [100 * result.metrics[score_key(dataset.metric, "test")] for result in results]
    entry = {"scores": scores, "mean": statistics.mean(scores), "std": statistics.stdev(scores),
             "seconds": results[0].seconds, "epochs": [result.epochs_run for result in results],
             "max_epochs": config.epochs}
    if MODELS[model] in ("gat", "gatv2"):
        entry["entropy_gap"] = statistics.mean(relative_entropy_gap(result.model, dataset) for result in results)
    return entry


@torch.no_grad()
def relative_entropy_gap(model, dataset) -> float:
    """The mean over layers and heads of the learned attention's entropy gap, as a share of the
    uniform entropy (0: uniform attention; 1: every node attends to one neighbour)."""
    edge_index = dataset.edge_index_with_self_loops
    _, alphas = model.eval()(model_input(dataset), edge_index, return_attention=True)
    gaps = [attention.entropy_gap(alpha, edge_index, dataset.num_nodes, relative=True) for alpha in alphas]
    return float(torch.cat(gaps).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASET_NAMES), choices=DATASET_NAMES)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--splits", type=int, default=10,
                        help="splits per heterophilous graph (seeds on Cora and Citeseer); at least 2")
    parser.add_argument("--max-epochs", type=int, default=None,
                        help="cap the recipe's epochs (for the largest graphs on a small machine; recorded)")
    parser.add_argument("--json", type=Path, default=RESULTS / "heterophily.json")
    parser.add_argument("--plot-only", action="store_true", help="train nothing: print the table and draw the figure")
    parser.add_argument("--figure", type=Path, default=RESULTS / "heterophily.png")
    args = parser.parse_args()
    if args.splits < 2:
        parser.error("--splits must be at least 2 (a standard deviation needs two runs)")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.splits} runs per model and graph")

    table = json.loads(args.json.read_text()) if args.json.exists() else {}
    for name in [] if args.plot_only else args.datasets:
        dataset = load_dataset(name, progress=False)
        row = {"metric": dataset.metric, "nodes": dataset.num_nodes, "edges": dataset.num_edges // 2,
               "edge_homophily": graph.edge_homophily(dataset.edge_index, dataset.y),
               "adjusted_homophily": graph.adjusted_homophily(dataset.edge_index, dataset.y),
               "published": HETEROPHILY_RESULTS.get(name, {}), "models": {}}
        for model in args.models:
            started = time.perf_counter()
            entry = run_model(dataset, model, args.splits, args.max_epochs)
            row["models"][model] = entry
            gap = f", entropy gap {entry['entropy_gap']:.3f}" if "entropy_gap" in entry else ""
            print(f"{name:19s} {model:8s} {entry['mean']:6.2f} +/- {entry['std']:5.2f}  "
                  f"({time.perf_counter() - started:6.1f} s{gap})", flush=True)
        table = record(args.json, name, row)  # after every graph: a long run keeps what it has

    print_table(table)
    if all(model in row["models"] for row in table.values() for model in ("GAT", "uniform", "MLP")):
        import matplotlib

        matplotlib.use("Agg")
        from gatkit.viz import plot_attention_gain

        plot_attention_gain(table).savefig(args.figure, dpi=130)
        print(f"figure: {args.figure}")


def record(path: Path, name: str, row: dict) -> dict:
    """Put ``row`` (its models replacing theirs) into the table at ``path``, keeping the other graphs'
    rows; locked, so that runs for different graphs may share one file. Returns the whole table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        file.seek(0)
        text = file.read()
        table = json.loads(text) if text.strip() else {}
        models = {**table.get(name, {}).get("models", {}), **row["models"]}
        table[name] = {**row, "models": models}
        file.seek(0)
        file.truncate()
        file.write(json.dumps(table, indent=1) + "\n")
    return table


def print_table(table: dict) -> None:
    print(f"\n{'graph':19s}{'h_edge':>7s}{'h_adj':>7s}  " + "".join(f"{m:>15s}" for m in MODELS)
          + f"{'gap':>7s}{'time':>8s}  published")
    for name, row in table.items():
        models = row["models"]
        cells = "".join(f"{models[m]['mean']:8.2f} +/-{models[m]['std']:5.2f}" if m in models else f"{'':15s}"
                        for m in MODELS)
        gap = models.get("GAT", {}).get("entropy_gap", float("nan"))
        seconds = sum(entry["seconds"] for entry in models.values())
        published = ", ".join(f"{m} {mean:.2f} +/- {std:.2f}" for m, (mean, std) in row["published"].items())
        print(f"{name:19s}{row['edge_homophily']:7.3f}{row['adjusted_homophily']:7.3f}  {cells}{gap:7.3f}"
              f"{seconds:7.0f}s  {published}")


if __name__ == "__main__":
    main()
