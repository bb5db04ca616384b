"""DictionaryLookup: GAT with 1 and 8 heads against GATv2 with 1 head, next to figure 3 of Brody et al.

The task (:mod:`gatkit.lookup`): ``k`` key nodes ``(key j, value perm[j])`` send to ``k`` query
nodes ``(key i, no value)``; query ``i`` must output ``perm[i]``. The test examples hold (key,
value) pairs never seen in training. The model is the official one of the GATv2 repository
(``tech-srl/how_attentive_are_gats``, ``dictionary_lookup/``): embeddings of the key and of the
value, summed, ReLU; one attention layer whose heads of ``dim / H`` features are concatenated
(``gatkit.layers.GATLayerEdge`` or ``GATv2LayerEdge`` with ``share_weights=True``, as the
official GATv2 run; ``gatkit.layers.GAT`` would average the heads of its single, output layer);
a linear readout of the query nodes. Training: Adam, gradient norm clipped at 1, mini-batches of
graphs made by ``gatkit.batch.collate``, stopped once train and test accuracy are both 100%.

Differences from the official runs, on purpose: no self-loops for either model (the official
GAT run kept PyTorch Geometric's default self-loops, its GATv2 run had none), no dropout (the
official model applies ``F.dropout(x)``, p = 0.5, after the layer, in evaluation too), a fixed
learning rate and far fewer epochs (it trains for up to 50,000 epochs, halving the learning
rate on plateaus). Accuracy is per query node, measured in eval mode.

The paper's figure 3 is a plot whose values are not available here, so the comparison is
qualitative: static attention keeps GAT from even fitting the training set as ``k`` grows (the
abstract), while GATv2 with a single head reaches 100% train and test accuracy (the caption of
figure 3: even for k = 100). Small ``k`` is within GAT's reach with several heads.

Run: ``python benchmarks/bench_dictionary_lookup.py [--sizes 4 8 10 20] [--epochs 200]
[--models gat-1h gat-8h gatv2-1h] [--dim 128] [--batch-size 1024] [--lr 1e-3] [--seed 0]
[--device cuda] [--out benchmarks/results/dictionary_lookup.json]``; ``--quick`` for a check of
under a minute (k = 4 and 5, dim 64, lr 5e-3, up to 300 epochs; it overrides those options). The full run takes long on a CPU.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gatkit.batch import Graph, GraphBatch, collate
from gatkit.layers import GATLayerEdge, GATv2LayerEdge
from gatkit.lookup import dictionary_lookup
from gatkit.profiling import machine

#: name -> (attention layer, heads): the three models of the paper's figure 3.
MODELS = {"gat-1h": ("gat", 1), "gat-8h": ("gat", 8), "gatv2-1h": ("gatv2", 1)}
#: What the paper reports for each model (qualitative: figure 3's values are not available here).
PAPER = {"gat-1h": "GAT: train < 100 as k grows", "gat-8h": "GAT: train < 100 as k grows",
         "gatv2-1h": "100 train, 100 test"}
QUICK = dict(sizes=[4, 5], epochs=300, dim=64, lr=5e-3, eval_every=20)


class LookupModel(nn.Module):
    """Token embeddings -> one attention layer over the key -> query edges -> linear readout of the queries."""

    def __init__(self, k: int, dim: int, heads: int, attention: str) -> None:
        super().__init__()
        self.keys = nn.Embedding(k + 1, dim)  # token k ("no value") only occurs as a value
        self.values = nn.Embedding(k + 1, dim)
        if attention == "gatv2":
            self.attend = GATv2LayerEdge(dim, dim // heads, heads, share_weights=True)
        else:
            self.attend = GATLayerEdge(dim, dim // heads, heads)
        self.readout = nn.Linear(dim, k, bias=False)

    def forward(self, batch: GraphBatch) -> Tensor:
        h = F.relu(self.keys(batch.x[:, 0]) + self.values(batch.x[:, 1]))  # (N, dim)
        h = self.attend(h, batch.edge_index)  # (N, dim): H heads of dim / H, concatenated
        return self.readout(h[batch.label_mask])  # (Q, k): one row per query node


def batches(graphs: list[Graph], size: int, device: torch.device, order: Tensor | None = None) -> list[GraphBatch]:
    """The graphs in mini-batches of ``size`` (in ``order`` if given), each collated and moved to ``device``."""
    order = torch.arange(len(graphs)) if order is None else order
    return [collate([graphs[i] for i in order[start:start + size].tolist()]).to(device)
            for start in range(0, len(graphs), size)]


@torch.no_grad()
def accuracy(model: nn.Module, data: list[GraphBatch]) -> float:
    """Fraction of query nodes answered right, in eval mode."""
    model.eval()
    correct = sum(int((model(batch).argmax(dim=1) == batch.y).sum()) for batch in data)
    return correct / sum(batch.y.numel() for batch in data)


def run(k: int, name: str, args: argparse.Namespace, device: torch.device) -> dict:
    """Train one model on DictionaryLookup of size ``k``; its accuracies, epochs and seconds."""
    data = dictionary_lookup(k, max_examples=args.max_examples, seed=args.seed)
    attention, heads = MODELS[name]
    torch.manual_seed(args.seed)
    model = LookupModel(k, args.dim, heads, attention).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=args.lr)
    train_eval, test_eval = batches(data.train, args.batch_size, device), batches(data.test, args.batch_size, device)
    shuffler = torch.Generator().manual_seed(args.seed)
    started = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        for batch in batches(data.train, args.batch_size, device, torch.randperm(len(data.train), generator=shuffler)):
            optimiser.zero_grad(set_to_none=True)
            F.cross_entropy(model(batch), batch.y).backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
        if epoch % args.eval_every == 0 or epoch == args.epochs:
            train_acc, test_acc = accuracy(model, train_eval), accuracy(model, test_eval)
            if train_acc == test_acc == 1.0:
                break
    return {"model": name, "k": k, "attention": attention, "heads": heads, "train_examples": len(data.train),
            "test_examples": len(data.test), "train_acc": train_acc, "test_acc": test_acc, "epochs": epoch,
            "seconds": time.perf_counter() - started}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[4, 8, 10, 20], help="dictionary sizes k")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--epochs", type=int, default=200, help="at most this many passes over the training set")
    parser.add_argument("--eval-every", type=int, default=10, help="epochs between accuracy checks")
    parser.add_argument("--dim", type=int, default=128, help="embedding width = heads x features per head")
    parser.add_argument("--batch-size", type=int, default=1024, help="graphs per mini-batch")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--max-examples", type=int, default=32_000, help="examples when k! is larger")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true", help="k = 4, 5, dim 64, lr 5e-3, 300 epochs (< 1 min)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results .json (default benchmarks/results/dictionary_lookup[_quick].json)")
    args = parser.parse_args(argv)
    if args.quick:
        vars(args).update(QUICK)
    if min(args.sizes) < 2 or args.epochs < 1 or args.eval_every < 1 or args.batch_size < 1:
        parser.error("--sizes must be >= 2 and --epochs, --eval-every, --batch-size >= 1")
    if any(args.dim % MODELS[name][1] for name in args.models):
        parser.error(f"--dim {args.dim} must be divisible by every model's number of heads")
    args.out = args.out or Path(f"benchmarks/results/dictionary_lookup{'_quick' if args.quick else ''}.json")
    device = torch.device(args.device)

    info = machine()
    info["device"] = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"machine: {info['cpu']}, {info['cores']} cores, torch {info['torch']}, {info['threads']} threads, "
          f"device {info['device']}")
    print(f"dim {args.dim}, batch {args.batch_size} graphs, Adam lr {args.lr:g}, up to {args.epochs} epochs "
          f"(accuracy every {args.eval_every}), seed {args.seed}\n")
    records = []
    for k in args.sizes:
        for name in args.models:
            records.append(run(k, name, args, device))
            r = records[-1]
            print(f"  k={k:<3} {name:9s} train {100 * r['train_acc']:5.1f}%  test {100 * r['test_acc']:5.1f}%  "
                  f"({r['epochs']} epochs, {r['seconds']:.1f} s)", flush=True)

    print(f"\n{'model':10s}{'k':>4s}{'train %':>9s}{'test %':>8s}{'epochs':>8s}{'seconds':>9s}   paper (figure 3)")
    for r in records:
        print(f"{r['model']:10s}{r['k']:4d}{100 * r['train_acc']:9.1f}{100 * r['test_acc']:8.1f}{r['epochs']:8d}"
              f"{r['seconds']:9.1f}   {PAPER[r['model']]}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    settings = {key: (str(value) if isinstance(value, Path) else value) for key, value in vars(args).items()}
    args.out.write_text(json.dumps({"machine": info, "settings": settings, "paper": PAPER, "records": records},
                                   indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
