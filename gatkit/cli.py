"""The ``gatkit`` command.

::

    gatkit visualise dataset --out-dir figures [--dataset cora]
    gatkit visualise {attention,entropy,embedding} --out-dir figures [--model models/binaries/RUN.pt]
    gatkit train [--should-test] [--should-visualise] [--enable-tensorboard] [--seeds N] [--splits K] ...
    gatkit profile [--sizes 250 500 1000] [--implementations 1 2 3 pyg] [--out-dir DIR]

Subcommands are grouped by verb. ``gatkit visualise WHAT`` looks ``WHAT`` up in
:data:`VISUALISERS`, so a new picture is one function plus one :func:`add_visualiser` call
(``dataset``, ``attention``, ``entropy``, ``embedding``); a new verb
such as ``gatkit train`` is one function that adds its subparser in :func:`build_parser`.

Exit codes: 0 success, 1 a failure while working (e.g. the dataset cannot be downloaded),
2 bad usage, including an output folder or dataset cache folder that cannot be created or written,
a model file that is damaged or malformed, and ``gatkit visualise`` without the ``gatkit[plot]``
extra. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from gatkit.extras import MissingExtraError, require
from gatkit.train import DATASETS, PAPER_RESULTS, ConfigError, TrainConfig, model_input, recipe_config, score_key

__all__ = ["VISUALISERS", "CliError", "Visualiser", "add_visualiser", "build_parser", "main",
           "prepare_out_dir", "visualise_attention", "visualise_dataset", "visualise_embedding",
           "visualise_entropy"]


class CliError(Exception):
    """A problem the user can fix; ``main`` prints the message and exits with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Visualiser:
    """One ``gatkit visualise NAME`` target.

    ``add_arguments`` adds the target's own options to its subparser; ``run`` gets the parsed
    arguments and the (existing, writable) output folder and returns the paths it wrote.
    """

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Path], list[Path]]


#: ``gatkit visualise`` targets by name, in the order ``--help`` lists them.
VISUALISERS: dict[str, Visualiser] = {}


def add_visualiser(visualiser: Visualiser) -> Visualiser:
    """Register a ``gatkit visualise`` target (names are unique)."""
    if visualiser.name in VISUALISERS:
        raise ValueError(f"gatkit visualise {visualiser.name} is registered twice")
    VISUALISERS[visualiser.name] = visualiser
    return visualiser


# --------------------------------------------------------------------------
# Output folder
# --------------------------------------------------------------------------


def prepare_out_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` if needed and make sure files can be written in it.

    Raises
    ------
    CliError
        With exit code 2 when the folder cannot be created (a file is in the way, no
        permission) or a test file cannot be written in it.
    """
    folder = Path(path).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise CliError(f"--out-dir {folder} exists and is not a folder; choose another path.", 2)
    except OSError as error:
        raise CliError(f"cannot create the output folder {folder}: {error.strerror or error}. "
                       "Choose a folder you can write to.", 2)
    try:  # permission bits do not tell the whole story (read-only mounts, root): try it
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise CliError(f"cannot write into the output folder {folder}: {error.strerror or error}. "
                       "Choose a folder you can write to.", 2)
    return folder


def _data_error(error: Exception) -> CliError:
    """A dataset that cannot be loaded: exit code 2 when its cache folder is unusable (the set-up), else 1."""
    from gatkit.data import DataCacheError

    return CliError(str(error), 2 if isinstance(error, DataCacheError) else 1)


# --------------------------------------------------------------------------
# gatkit visualise dataset
# --------------------------------------------------------------------------


def _dataset_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", choices=DATASETS, default="cora",
                        help="which dataset to draw (default: cora)")
    parser.add_argument("--node", default="highest degree",
                        help="centre of the neighbourhood drawing: a node id, 'highest degree' "
                             "(default) or 'random'")
    parser.add_argument("--hops", type=int, default=2, choices=range(1, 5), metavar="{1..4}",
                        help="rings of the neighbourhood drawing (default: 2)")
    parser.add_argument("--layout", choices=("fr", "drl", "kk"), default="fr",
                        help="layout of the whole-graph drawing (default: fr, Fruchterman-Reingold)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the layout and of --node random (default: 0)")
    parser.add_argument("--dpi", type=int, default=120, help="resolution of the PNGs (default: 120)")


def visualise_dataset(args: argparse.Namespace, out_dir: Path) -> list[Path]:
    """Write the dataset figures of chapter 02 as PNGs into ``out_dir``; return their paths.

    Files: ``<name>_degrees.png``, ``<name>_class_balance.png``, ``<name>_homophily.png``,
    ``<name>_graph.png`` (the whole graph) and ``<name>_node<id>_<k>hop.png`` (a neighbourhood).
    """
    from gatkit import data, explorer, viz

    try:
        dataset = data.load_dataset(args.dataset, progress=sys.stderr.isatty())
    except data.DataError as error:
        raise _data_error(error)
    choice: int | str = int(args.node) if str(args.node).lstrip("-").isdigit() else args.node
    try:
        node = explorer.pick_node(dataset, choice, seed=args.seed)
    except ValueError as error:
        raise CliError(f"--node: {error}", 2)
    name = dataset.name
    splits = {"train": dataset.train_idx, "val": dataset.val_idx, "test": dataset.test_idx}
    figures = [
        (f"{name}_degrees.png", lambda: viz.plot_degrees(dataset.edge_index, dataset.num_nodes, name=name)),
        (f"{name}_class_balance.png",
         lambda: viz.plot_class_balance(dataset.y, splits, dataset.class_names)),
        (f"{name}_homophily.png",
         lambda: viz.plot_homophily(dataset.edge_index, dataset.y, dataset.class_names)),
        (f"{name}_graph.png",
         lambda: viz.draw_graph(dataset.edge_index, dataset.y, class_names=dataset.class_names,
                                method=args.layout, seed=args.seed)),
        (f"{name}_node{node}_{args.hops}hop.png",
         lambda: viz.draw_neighbourhood(dataset.edge_index, dataset.y, node, args.hops,
                                        class_names=dataset.class_names)),
    ]
    return _save_figures(figures, out_dir, args.dpi)


def _save_figures(figures: list[tuple[str, Callable]], out_dir: Path, dpi: int) -> list[Path]:
    """Draw each ``(filename, draw)`` and save it as ``out_dir/filename``, one at a time; return the paths."""
    matplotlib = require("matplotlib", "plot", feature="gatkit's figures")
    matplotlib.use("Agg")  # files only; never open a window
    import matplotlib.pyplot as plt

    written = []
    for filename, draw in figures:
        figure = draw()
        path = out_dir / filename
        try:
            figure.savefig(path, dpi=dpi, bbox_inches="tight")
        except OSError as error:
            raise CliError(f"cannot write {path}: {error.strerror or error}", 2)
        finally:
            plt.close(figure)
        print(path, flush=True)
        written.append(path)
    return written


add_visualiser(Visualiser(
    name="dataset",
    help="degree plots, class balance, homophily, the whole graph and one neighbourhood",
    add_arguments=_dataset_arguments,
    run=visualise_dataset,
))


# --------------------------------------------------------------------------
# gatkit visualise attention | entropy | embedding: what a trained model learned
# --------------------------------------------------------------------------


def _model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, metavar="PATH",
                        help="a model file written by `gatkit train` (models/binaries/*.pt); without "
                             "it, a model is trained first with the paper's recipe (about 10 s on Cora)")
    parser.add_argument("--dataset", choices=DATASETS, default="cora",
                        help="dataset to train on when no --model is given (a model file names its own)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the training run without --model, of the untrained model shown "
                             "for comparison and of random choices (default: 0)")
    parser.add_argument("--epochs", type=int, default=10_000,
                        help="upper bound on the epochs of the training run without --model (default: "
                             "10000; early stopping usually ends it after 600-1300)")
    parser.add_argument("--dpi", type=int, default=120, help="resolution of the PNGs (default: 120)")


@dataclass
class _Models:
    """A trained model, an untrained one of the same architecture, their dataset and a name."""

    trained: Any
    untrained: Any
    dataset: Any
    name: str


def _load_models(args: argparse.Namespace) -> _Models:
    import torch

    from gatkit import data
    from gatkit.checkpoints import CheckpointError, load_checkpoint
    from gatkit.train import build_model, checkpoint_config, model_from_checkpoint, train

    if args.model is None and args.epochs < 1:
        raise CliError("--epochs must be at least 1.", 2)
    try:
        if args.model is not None:
            config = checkpoint_config(load_checkpoint(args.model), args.model)  # which dataset to load
            dataset = data.load_dataset(config.dataset, split=config.split, progress=sys.stderr.isatty())
            trained, _ = model_from_checkpoint(args.model, dataset)
            name = args.model.stem
        else:
            config = recipe_config(args.dataset, seed=args.seed, epochs=args.epochs)
            dataset = data.load_dataset(config.dataset, progress=sys.stderr.isatty())
            which = "the paper's recipe" if args.dataset in PAPER_RESULTS else "gatkit's heterophily recipe"
            print(f"no --model given: training a GAT on {config.dataset} with {which}, seed "
                  f"{config.seed} (pass --model FILE to draw a model from `gatkit train`)", file=sys.stderr)
            trained = train(config, dataset=dataset, out_dir=None, progress=sys.stderr.isatty()).model
            name = f"{config.dataset}_seed{config.seed}"
    except CheckpointError as error:
        raise CliError(str(error), 2)
    except data.DataError as error:
        raise _data_error(error)
    torch.manual_seed(args.seed)
    untrained = build_model(config, dataset.num_features, dataset.num_classes)
    return _Models(trained.eval(), untrained.eval(), dataset, name)


def _attention(model, dataset):
    import torch

    with torch.no_grad():
        _, alphas = model(model_input(dataset), dataset.edge_index_with_self_loops, return_attention=True)
    return alphas  # one (E, H_l) per layer


def _attention_arguments(parser: argparse.ArgumentParser) -> None:
    _model_arguments(parser)
    parser.add_argument("--nodes", nargs="+", default=["highest degree", "random"], metavar="NODE",
                        help="node ids, 'highest degree' (the 3 largest hubs) and/or 'random' (3 seeded "
                             "picks); default: both")
    parser.add_argument("--layer", type=int, default=None, metavar="L",
                        help="draw only layer L (1 = the first); default: every layer")
    parser.add_argument("--head", default="0",
                        help="attention head to draw, or 'mean' for the average over heads (default: 0; "
                             "a layer with fewer heads uses its last one)")
    parser.add_argument("--layout", choices=("tree", "kk"), default="tree",
                        help="tree: Reingold-Tilford circular around the node; kk: Kamada-Kawai (default: tree)")


def _chosen_nodes(args: argparse.Namespace, dataset) -> list[int]:
    import torch

    from gatkit.graph import degree, top_degree_nodes

    nodes: list[int] = []
    for choice in args.nodes:
        if choice == "highest degree":
            nodes += top_degree_nodes(degree(dataset.edge_index, dataset.num_nodes), 3)[0].tolist()
        elif choice == "random":
            generator = torch.Generator().manual_seed(args.seed)
            nodes += torch.randperm(dataset.num_nodes, generator=generator)[:3].tolist()
        elif choice.isdigit() and int(choice) < dataset.num_nodes:
            nodes.append(int(choice))
        else:
            raise CliError(f"--nodes: {choice!r} is not a node id in 0 .. {dataset.num_nodes - 1}, "
                           "'highest degree' or 'random'", 2)
    return list(dict.fromkeys(nodes))  # in order, without repeats


def visualise_attention(args: argparse.Namespace, out_dir: Path) -> list[Path]:
    """Neighbourhood attention drawings: ``<model>_node<id>_layer<l>_head<h>.png`` per node and layer."""
    from gatkit.viz import draw_attention

    models = _load_models(args)
    dataset, alphas = models.dataset, _attention(models.trained, models.dataset)
    layers = range(1, len(alphas) + 1)
    if args.layer is not None and args.layer not in layers:
        raise CliError(f"--layer must be one of {list(layers)}, got {args.layer}", 2)
    if args.head != "mean" and not args.head.isdigit():
        raise CliError(f"--head must be a head number or 'mean', got {args.head!r}", 2)
    figures = []
    for node in _chosen_nodes(args, dataset):
        for layer in [args.layer] if args.layer else layers:
            alpha = alphas[layer - 1]  # (E, H)
            head = "mean" if args.head == "mean" else min(int(args.head), alpha.shape[1] - 1)
            figures.append((f"{models.name}_node{node}_layer{layer}_head{head}.png",
                            lambda node=node, alpha=alpha, head=head, layer=layer: draw_attention(
                                dataset.edge_index_with_self_loops, alpha, dataset.y, node, head=head,
                                layout=args.layout, class_names=dataset.class_names, layer=layer)))
    return _save_figures(figures, out_dir, args.dpi)


def visualise_entropy(args: argparse.Namespace, out_dir: Path) -> list[Path]:
    """Attention entropy per layer and head against uniform attention, trained and untrained."""
    from gatkit.viz import plot_attention_ratios, plot_entropy_histograms

    models = _load_models(args)
    dataset = models.dataset
    trained, untrained = _attention(models.trained, dataset), _attention(models.untrained, dataset)
    edge_index, n = dataset.edge_index_with_self_loops, dataset.num_nodes
    return _save_figures([
        (f"{models.name}_attention_entropy.png",
         lambda: plot_entropy_histograms(trained, edge_index, n, baseline_alphas=untrained)),
        (f"{models.name}_attention_ratios.png",
         lambda: plot_attention_ratios(trained, edge_index, n, baseline_alphas=untrained)),
    ], out_dir, args.dpi)


def _embedding_arguments(parser: argparse.ArgumentParser) -> None:
    _model_arguments(parser)
    parser.add_argument("--perplexity", type=float, default=30.0, help="t-SNE perplexity (default: 30)")


def visualise_embedding(args: argparse.Namespace, out_dir: Path) -> list[Path]:
    """t-SNE of the hidden layer and the logits, trained and untrained, with k-NN and silhouette scores."""
    from gatkit.embeddings import embedding_scores, tsne
    from gatkit.viz import plot_embedding_panels

    models = _load_models(args)
    dataset = models.dataset
    panels, scores = {}, {}
    for label, model in (("trained", models.trained), ("untrained", models.untrained)):
        hidden, logits = model.hidden(model_input(dataset), dataset.edge_index_with_self_loops)
        for what, values in (("hidden layer", hidden), ("logits", logits)):
            key = f"{label}: {what}"
            panels[key] = tsne(values, seed=args.seed, perplexity=args.perplexity)
            scores[key] = embedding_scores(values, dataset.y, train_index=dataset.train_idx,
                                           test_index=dataset.test_idx)
    return _save_figures([
        (f"{models.name}_embeddings_tsne.png",
         lambda: plot_embedding_panels(panels, dataset.y, test_index=dataset.test_idx,
                                       train_index=dataset.train_idx, class_names=dataset.class_names,
                                       scores=scores, ncols=2, suptitle=f"t-SNE of {models.name}")),
    ], out_dir, args.dpi)


for _visualiser in (
    Visualiser("attention", "neighbourhood attention of chosen nodes, per layer and head (a trained model)",
               _attention_arguments, visualise_attention),
    Visualiser("entropy", "attention entropy per layer and head against uniform attention, trained and untrained",
               _model_arguments, visualise_entropy),
    Visualiser("embedding", "t-SNE of the hidden layer and the logits with k-NN and silhouette scores, "
               "trained and untrained", _embedding_arguments, visualise_embedding),
):
    add_visualiser(_visualiser)


# --------------------------------------------------------------------------
# gatkit train
# --------------------------------------------------------------------------


#: Names shown for the values of ``gatkit train``'s options in ``--help``, where the field's
#: name would not say it. Everything else comes from the fields of :class:`gatkit.train.TrainConfig`:
#: the flag (``--layer-type``, also spelt ``--layer_type`` as in the original project), the type,
#: the default (the paper's recipe), the help, the choices and the number of values.
METAVARS = {"hidden_features": "F", "heads": "H", "batch_size": "B", "fanout": "K"}


def _flags(name: str) -> list[str]:
    """``--layer-type`` and the original project's ``--layer_type`` for the field ``layer_type``."""
    return [f"--{name.replace('_', '-')}"] + ([f"--{name}"] if "_" in name else [])


def _add_config_arguments(group) -> None:
    """One option per field of :class:`TrainConfig`, from the field's type, default and metadata.

    An option not given is absent from the parsed arguments (``argparse.SUPPRESS``): the dataset's
    recipe (:func:`gatkit.train.recipe_config`) fills it in.
    """
    import dataclasses
    import typing

    defaults, types = TrainConfig(), typing.get_type_hints(TrainConfig)
    for field in dataclasses.fields(TrainConfig):
        default = getattr(defaults, field.name)
        shown = " ".join(map(str, default)) if isinstance(default, tuple) else default
        settings = {"help": f"{field.metadata['help']} (default: {shown})", "choices": field.metadata["choices"]}
        kind = types[field.name]
        if kind is bool:
            settings["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(kind) is tuple:  # tuple[int, ...]: several values of one type
            settings.update(nargs="+", type=typing.get_args(kind)[0])
        else:
            settings["type"] = kind
        if field.name in METAVARS:
            settings["metavar"] = METAVARS[field.name]
        group.add_argument(*_flags(field.name), dest=field.name, default=argparse.SUPPRESS, **settings)


class _NoteGiven(argparse.Action):
    """Store the value and note that it was given (``args.given_DEST``): a batch of runs refuses
    an option it cannot honour only when the user asked for it, not for its default."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        setattr(namespace, f"given_{self.dest}", True)


def _add_train_parser(verbs) -> None:
    import inspect

    from gatkit.train import train as train_function

    recipe, run_defaults = TrainConfig(), inspect.signature(train_function).parameters
    names = " or ".join(name.capitalize() for name in PAPER_RESULTS)
    train = verbs.add_parser(
        "train", help="train GAT with the paper's recipe (or the heterophily recipe)",
        description=f"Train a GAT on {names} with the GAT paper's recipe ({len(recipe.heads)} layers, "
                    f"{recipe.heads[0]} heads x {recipe.hidden_features} features, dropout {recipe.dropout:g}, "
                    f"Adam lr {recipe.lr:g}, weight decay {recipe.weight_decay:g}) and the official code's "
                    f"early stopping (patience {recipe.patience} on validation accuracy and loss; the best weights "
                    "are restored before testing). The final model goes to OUT_DIR/models/binaries/ under a "
                    "new name per run; checkpoints to OUT_DIR/models/checkpoints/. Several runs (--seeds N, "
                    "--splits K) are trained together as one batch (gatkit.train.train_runs), which writes the "
                    "models but no checkpoints and no TensorBoard logs. On the heterophilous graphs (--dataset "
                    "minesweeper, tolokers, ...: ten splits each, --split K picks one) the options not given come "
                    "from gatkit's heterophily recipe (gatkit.train.HETEROPHILY_RECIPE) instead, and minesweeper and "
                    "tolokers are scored by ROC AUC.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    _add_config_arguments(train.add_argument_group(
        "training configuration", "the fields of gatkit.train.TrainConfig; the defaults are the paper's recipe "
                                  "(on the heterophilous graphs: gatkit.train.HETEROPHILY_RECIPE's)"))
    flag = train.add_argument_group("the run").add_argument
    flag("--seeds", type=int, default=1, metavar="N",
         help="train N runs with seeds SEED .. SEED+N-1, as one batch, and print the mean and standard deviation")
    flag("--splits", type=int, default=1, metavar="K",
         help="train every seed on each of the dataset's first K splits, all as one batch (a Planetoid "
              "dataset has one split, its public one)")
    flag("--device", default=None, help="torch device; default: cuda when available, else cpu")
    flag("--out-dir", "--out_dir", type=Path, default=Path(run_defaults["out_dir"].default), dest="out_dir",
         help="folder that receives models/ and runs/ (and figures/ with --should-visualise)")
    flag("--resume", type=Path, default=None, metavar="CHECKPOINT",
         help="continue a single run from its checkpoint")
    flag("--checkpoint-every", "--checkpoint_every", type=int, default=run_defaults["checkpoint_every"].default,
         dest="checkpoint_every", metavar="EPOCHS", action=_NoteGiven,
         help="write the run's checkpoint every this many epochs (0: never); single runs only, a batch "
              "(--seeds N, --splits K) writes none")
    flag("--should-test", "--should_test", action="store_true", dest="should_test",
         help="report the test accuracy of the restored best weights")
    flag("--should-visualise", "--should_visualize", "--should-visualize", action="store_true", dest="should_visualise",
         help="write learning-curve plots to OUT_DIR/figures/ (one per run)")
    flag("--enable-tensorboard", "--enable_tensorboard", action="store_true", dest="enable_tensorboard",
         help="log loss and accuracy per epoch under OUT_DIR/runs/ (view with `tensorboard --logdir runs`); "
              "single runs only")
    flag("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(handler=run_train)


def run_train(args: argparse.Namespace) -> int:
    """``gatkit train``: one run, or ``--seeds N`` runs (on ``--splits K`` splits) as one batch,
    with a mean and standard deviation."""
    import dataclasses

    import torch

    from gatkit import distributed

    for option in ("seeds", "splits"):
        if getattr(args, option) < 1:
            raise CliError(f"--{option} must be at least 1.", 2)
    given = {field.name: getattr(args, field.name) for field in dataclasses.fields(TrainConfig)
             if hasattr(args, field.name)}
    try:
        config = recipe_config(given.pop("dataset", TrainConfig.dataset), **given)
    except ConfigError as error:  # the same rules a checkpoint's config is held to
        raise CliError(f"{_flags(error.field)[0]} {error.problem}.", 2)
    batch = " ".join(f"--{option} {getattr(args, option)}" for option in ("seeds", "splits")
                     if getattr(args, option) > 1)  # e.g. "--seeds 10", empty for a single run
    if batch:
        _refuse_single_run_options(args, batch, config)
    if distributed.launched() and not config.batch_size:
        raise CliError("torchrun starts data-parallel training, which shares out mini-batches: give --batch-size B "
                       "(B training nodes per process and step) and --fanout.", 2)
    if distributed.launched() and batch:
        raise CliError(f"{batch} trains several runs in one process; under torchrun train one run.", 2)
    if args.should_visualise:  # say so before training, not after
        require("matplotlib", "plot", feature="--should-visualise")
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError) as error:
        raise CliError(f"--device {device} is not usable here ({str(error).splitlines()[0]}); "
                       "use --device cpu.", 2)
    if distributed.launched():  # one process of torchrun's: join the group, on this process's own GPU if any
        device = distributed.start(args.device)
        try:
            return _train_and_report(args, config, batch, device)
        finally:
            distributed.stop()
    return _train_and_report(args, config, batch, device)


def _train_and_report(args: argparse.Namespace, config: TrainConfig, batch: str, device) -> int:
    """Train as ``run_train`` decided and print one line per run (only the first process prints,
    under torchrun), then the batch's summary."""
    from gatkit import data, distributed

    rank, world = distributed.rank_and_world()
    out_dir = prepare_out_dir(args.out_dir)
    if args.splits > 1 and config.split != 0:
        raise CliError(f"--split {config.split} trains on one split, --splits {args.splits} on the first "
                       f"{args.splits}; give one of them.", 2)
    try:
        dataset = data.load_dataset(config.dataset, progress=not args.quiet)
    except data.DataError as error:
        raise _data_error(error)
    if config.split >= len(dataset.splits):
        raise CliError(f"--split {config.split}: {dataset.name} has {len(dataset.splits)} split"
                       f"{'s' if len(dataset.splits) != 1 else ''} (0 to {len(dataset.splits) - 1}).", 2)

    if batch:
        results = _train_batch(args, config, dataset, out_dir, device)
    else:
        results = [_train_one(args, config, dataset, out_dir, device)]
    if rank != 0:
        return 0
    for result in results:
        metrics = result.metrics
        label = f"seed {result.config.seed}"
        if result.split is not None:
            label = f"split {result.split}, {label}"
        took = "" if batch else f" ({result.seconds:.1f} s)"  # a batch has one time for all its runs
        if world > 1:
            label += f", {world} processes x batches of {config.batch_size}"
        line = (f"{label}: stopped after {result.epochs_run} epochs{took}, "
                f"weights of epoch {result.best_epoch}: val {_score(metrics, 'val', dataset)}")
        if args.should_test:
            line += f", test {_score(metrics, 'test', dataset)}"
        print(f"{line} -> {result.binary_path}", flush=True)
        if args.should_visualise:
            _write_learning_curves(result, out_dir / "figures")
    if batch:
        _print_summary(args, results, dataset.metric)
    return 0


def _refuse_single_run_options(args: argparse.Namespace, batch: str, config: TrainConfig) -> None:
    """One line for the first option that a batch of runs (``batch``, e.g. "--seeds 10") cannot honour."""
    what = f"{batch} trains its runs as one batch, which"
    if config.batch_size:
        raise CliError(f"--batch-size trains one run in mini-batches; {what} takes full-graph steps. "
                       f"Drop --batch-size, or train one run (without {batch}).", 2)
    if args.resume is not None:
        raise CliError(f"--resume continues one run; do not combine it with {batch}.", 2)
    if args.enable_tensorboard:
        raise CliError(f"--enable-tensorboard logs a single run; {what} writes no TensorBoard logs. "
                       f"Drop --enable-tensorboard, or train one run (without {batch}).", 2)
    if getattr(args, "given_checkpoint_every", False) and args.checkpoint_every != 0:
        raise CliError(f"--checkpoint-every checkpoints a single run; {what} writes no checkpoints. "
                       f"Drop --checkpoint-every, or train one run (without {batch}).", 2)


def _train_batch(args: argparse.Namespace, config: TrainConfig, dataset, out_dir: Path, device: str) -> list:
    """Every seed on each of the first ``--splits`` splits, as one :func:`gatkit.train.train_runs` batch."""
    from gatkit import data
    from gatkit.checkpoints import CheckpointError
    from gatkit.train import train_runs

    available = dataset.splits
    if args.splits > len(available):
        which = " (the public Planetoid split)" if isinstance(dataset, data.Planetoid) and len(available) == 1 else ""
        raise CliError(f"--splits {args.splits}: {dataset.name} comes with {len(available)} "
                       f"split{'s' if len(available) != 1 else ''}{which}; use --splits {len(available)} or fewer.", 2)
    seeds = range(config.seed, config.seed + args.seeds)
    splits = available[:args.splits] if args.splits > 1 else None  # one split: the dataset's own, as `train` uses
    try:
        return train_runs(config, seeds, splits=splits, dataset=dataset, out_dir=out_dir,
                          progress=not args.quiet, device=device, test=args.should_test)
    except CheckpointError as error:  # a model file that cannot be written
        raise CliError(str(error), 1)


def _train_one(args: argparse.Namespace, config: TrainConfig, dataset, out_dir: Path, device: str):
    """A single run with :func:`gatkit.train.train`: checkpoints, ``--resume`` and TensorBoard."""
    from gatkit.checkpoints import CheckpointError
    from gatkit.train import train

    try:
        return train(config, dataset=dataset, out_dir=out_dir, tensorboard=args.enable_tensorboard,
                     progress=not args.quiet, checkpoint_every=args.checkpoint_every,
                     resume=args.resume, device=device, test=args.should_test)
    except CheckpointError as error:
        raise CliError(str(error), 2 if args.resume else 1)


def _score(metrics: dict, part: str, dataset) -> str:
    """``part``'s score as the dataset is scored: "acc 83.1%" or "ROC AUC 92.0%"."""
    return f"{'ROC AUC' if dataset.metric == 'roc_auc' else 'acc'} {metrics[score_key(dataset.metric, part)]:.1%}"


def _print_summary(args: argparse.Namespace, results: list, metric: str) -> None:
    """Mean, spread and range over every run of the batch, the paper's figure and the batch's time."""
    import statistics

    part = "test" if args.should_test else "val"
    what = "ROC AUC" if metric == "roc_auc" else "accuracy"
    values = [100 * result.metrics[score_key(metric, part)] for result in results]
    runs = f"{args.seeds} seed{'s' if args.seeds != 1 else ''}"
    if args.splits > 1:
        runs = f"{len(values)} runs ({runs} x {args.splits} splits)"
    line = (f"{part} {what} over {runs}: {statistics.mean(values):.1f} +/- "
            f"{statistics.stdev(values):.1f} (min {min(values):.1f}, max {max(values):.1f})")
    if results[0].config.dataset in PAPER_RESULTS:
        paper_mean, paper_std = PAPER_RESULTS[results[0].config.dataset]
        line += f"; the paper reports {paper_mean:.1f} +/- {paper_std:.1f} (test)"
    print(f"{line}; {len(values)} runs trained as one batch in {results[0].seconds:.1f} s", flush=True)


def _write_learning_curves(result, folder: Path) -> None:
    from gatkit import viz

    _save_figures([(f"{result.run_name}_learning_curves.png",
                    lambda: viz.plot_learning_curves(result.history, result.best_epoch, title=result.run_name))],
                  prepare_out_dir(folder), 120)


# --------------------------------------------------------------------------
# gatkit profile
# --------------------------------------------------------------------------


def _add_profile_parser(verbs) -> None:
    profile = verbs.add_parser(
        "profile", help="time and memory of a training step against graph size (a quick sweep)",
        description="Measure the median training step and the peak memory of the GAT implementations "
                    "(1 dense per head, 2 dense masked, 3 edge list, pyg = PyTorch Geometric's GATConv) "
                    "on synthetic graphs of growing size (average degree about 4, 128 features), each "
                    "point in a fresh process. The defaults finish in about a minute; "
                    "benchmarks/bench_scaling.py runs the full sweep up to 200k nodes.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    profile.add_argument("--sizes", nargs="+", type=int, default=[250, 500, 1000], metavar="N",
                         help="numbers of nodes, in increasing order")
    profile.add_argument("--implementations", nargs="+", choices=("1", "2", "3", "pyg"),
                         default=["1", "2", "3", "pyg"])
    profile.add_argument("--repeats", type=int, default=3, help="timed steps per point (after 2 warm-up steps)")
    profile.add_argument("--time-limit", type=float, default=10.0, help="seconds one step may take")
    profile.add_argument("--out-dir", type=Path, metavar="DIR",
                         help="also write profile.json and profile.png into DIR")
    profile.set_defaults(handler=run_profile)


def run_profile(args: argparse.Namespace) -> int:
    """``gatkit profile``: a small scaling sweep printed as a table (and optionally saved)."""
    import json

    from gatkit.profiling import IMPLEMENTATIONS, machine, plot_scaling, sweep

    if args.repeats < 1 or any(n < 14 for n in args.sizes):
        raise CliError("--repeats must be at least 1 and every size at least 14 nodes.", 2)
    out_dir = prepare_out_dir(args.out_dir) if args.out_dir is not None else None
    info = machine()
    print(f"{info['cpu']}, {info['cores']} cores, torch {info['torch']}; median of {args.repeats} steps, "
          "each point in a fresh process", flush=True)
    print(f"{'implementation':26s}{'N':>8s}{'E':>9s}{'ms / step':>12s}{'peak MB':>10s}", flush=True)

    def show(record: dict) -> None:
        head = f"{IMPLEMENTATIONS[record['implementation']]:26s}{record.get('num_nodes', record['size']):>8}"
        if record["status"] == "ok":
            print(f"{head}{record['num_edges']:>9}{record['step_ms']:12.1f}{record['peak_mb']:10.0f}", flush=True)
        else:
            print(f"{head}  {record['status']}: {record.get('reason', '')}", flush=True)

    records = sweep(args.implementations, sorted(args.sizes), repeats=args.repeats, warmup=2,
                    time_limit=args.time_limit, on_record=show)
    if out_dir is not None:
        (out_dir / "profile.json").write_text(json.dumps({"machine": info, "records": records}, indent=2))
        _save_figures([("profile.png", lambda: plot_scaling(records, title="gatkit profile"))], out_dir, 120)
    return 0


# --------------------------------------------------------------------------
# Parser and entry point
# --------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The ``gatkit`` argument parser: one subparser per verb, ``visualise`` one per target."""
    from gatkit import __version__

    parser = argparse.ArgumentParser(
        prog="gatkit", description="Graph Attention Networks from scratch: the course's command line.")
    parser.add_argument("--version", action="version", version=f"gatkit {__version__}")
    verbs = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    # "visualize": the original project's (and American) spelling, kept as an alias.
    visualise = verbs.add_parser("visualise", aliases=["visualize"], help="write figures as PNG files",
                                 description="Write figures as PNG files into --out-dir.")
    targets = visualise.add_subparsers(dest="target", metavar="WHAT", required=True)
    for visualiser in VISUALISERS.values():
        sub = targets.add_parser(visualiser.name, help=visualiser.help, description=visualiser.help)
        sub.add_argument("--out-dir", required=True, type=Path, metavar="DIR",
                         help="folder for the PNG files (created if missing)")
        visualiser.add_arguments(sub)
        sub.set_defaults(handler=_run_visualiser(visualiser))
    _add_train_parser(verbs)
    _add_profile_parser(verbs)
    return parser


def _run_visualiser(visualiser: Visualiser) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        out_dir = prepare_out_dir(args.out_dir)
        written = visualiser.run(args, out_dir)
        print(f"wrote {len(written)} file{'s' if len(written) != 1 else ''} to {out_dir}",
              file=sys.stderr)
        return 0

    return handler


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``gatkit`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    Usage errors exit through argparse with code 2 and its usage message.
    """
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except CliError as error:
        print(f"gatkit: error: {error}", file=sys.stderr)
        return error.exit_code
    except MissingExtraError as error:  # e.g. figures without gatkit[plot]: the message says how to get it
        print(f"gatkit: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gatkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
