"""Data-parallel training on ``torch.distributed``, launched the standard way with ``torchrun``.

``torchrun --nproc-per-node N gatkit train --batch-size B ...`` starts N processes with the
environment that :func:`torch.distributed.init_process_group` reads (``RANK``, ``WORLD_SIZE``,
``MASTER_ADDR``...). Each holds a copy of the model and of the graph, trains on its share of every
epoch's mini-batches (:func:`gatkit.train.train_epoch`), and ``DistributedDataParallel`` averages
the gradients after every backward pass, so all copies take the same step: the step that one
process would take on the union of their batches. The gloo backend runs on CPUs (over loopback on
one machine), NCCL between GPUs.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import socket
import sys
import time
import traceback
from typing import Any, Callable

import torch
import torch.distributed as dist


def launched() -> bool:
    """Whether this process was started by ``torchrun`` (or another launcher of the same kind)."""
    return dist.is_available() and dist.is_torchelastic_launched()


def start(device: str | None = None) -> torch.device:
    """Join the process group that ``torchrun`` set up, and return this process's device: its own
    GPU (``LOCAL_RANK``) with the NCCL backend where there are GPUs, else the CPU with gloo."""
    if device is None:
        device = f"cuda:{os.environ.get('LOCAL_RANK', 0)}" if torch.cuda.is_available() else "cpu"
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def stop() -> None:
    """Leave the process group (after the last collective operation)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def rank_and_world() -> tuple[int, int]:
    """This process's rank and the number of processes; ``(0, 1)`` outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def spawn(worker: Callable[..., Any], world: int, *args: Any, timeout: float = 120.0,
          threads: int = 1) -> list[Any]:
    """Run ``worker(rank, world, *args)`` in ``world`` fresh processes that form one gloo process
    group over loopback (127.0.0.1), and return what each returned, by rank.

    The in-process way to try distributed code on one machine (tests, a notebook); ``torchrun``
    is the way to launch real jobs. ``worker`` must be importable (defined in a module, not in a
    notebook cell), as must its arguments; each process uses ``threads`` threads, so that
    ``world`` processes share the cores instead of fighting over them. Raises ``TimeoutError``
    (after stopping them all) if the processes are not done within ``timeout`` seconds, and
    ``RuntimeError`` with the failing process's traceback if one fails.
    """
    with socket.socket() as probe:  # a free port for the group's rendezvous
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    context = multiprocessing.get_context("spawn")
    results = context.SimpleQueue()
    processes = [context.Process(target=_run_worker, args=(rank, world, port, threads, worker, args, results))
                 for rank in range(world)]
    with _main_script_hidden():
        for process in processes:
            process.start()
    deadline, returned = time.monotonic() + timeout, {}
    try:
        while len(returned) < world:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{world} processes were not done within {timeout:g} s")
            if results.empty():
                if any(p.exitcode not in (None, 0) for p in processes) and results.empty():
                    raise RuntimeError(f"a process died (exit codes {[p.exitcode for p in processes]})")
                time.sleep(0.01)
                continue
            rank, ok, payload = results.get()
            if not ok:
                raise RuntimeError(f"process {rank} failed:\n{payload}")
            returned[rank] = torch.load(io.BytesIO(payload), weights_only=False)
    finally:
        for process in processes:
            process.join(timeout=5 if len(returned) == world else 0)
            if process.is_alive():
                process.kill()
                process.join()
    return [returned[rank] for rank in range(world)]


@contextlib.contextmanager
def _main_script_hidden():
    """Start processes without re-running the main script in them.

    A "spawn" child imports the parent's ``__main__`` module (by file or by module name) before
    it runs anything; for a script without an ``if __name__ == "__main__"`` guard, such as a
    chapter run with ``python``, that would run the whole script again in every child. The
    workers are importable from their modules, so the children need nothing from ``__main__``.
    """
    main = sys.modules["__main__"]
    spec, saved_file = getattr(main, "__spec__", None), main.__dict__.pop("__file__", None)
    main.__spec__ = None  # neither a module name nor a file to import
    try:
        yield
    finally:
        main.__spec__ = spec
        if saved_file is not None:
            main.__file__ = saved_file


def _run_worker(rank: int, world: int, port: int, threads: int, worker: Callable[..., Any], args: tuple,
                results) -> None:
    torch.set_num_threads(threads)
    try:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
        value = worker(rank, world, *args)
        buffer = io.BytesIO()
        torch.save(value, buffer)
        results.put((rank, True, buffer.getvalue()))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises it
        results.put((rank, False, traceback.format_exc()))
    finally:
        stop()


def train_worker(rank: int, world: int, config: dict, device: str = "cpu") -> dict[str, Any]:
    """:func:`spawn` worker: ``gatkit.train.train`` of the config ``config`` (a
    ``TrainConfig.to_dict()``, with a ``batch_size``) in this process's share of the group.

    Returns the run's final metrics (train, val and test), ``epochs_run``, ``best_epoch``,
    ``history`` (the metrics of every epoch) and ``seconds``. DDP keeps the processes' weights
    equal, so all evaluated metrics are equal in every process; ``train_acc_dropout`` (the
    train-mode accuracy on the process's own batches) and the seconds are its own.
    """
    from gatkit.train import TrainConfig, train

    result = train(TrainConfig.from_dict(config), out_dir=None, progress=False, test=True, device=device)
    return {**result.metrics, "epochs_run": result.epochs_run, "best_epoch": result.best_epoch,
            "history": result.history, "seconds": result.seconds}


def gradient_worker(rank: int, world: int, config: dict, batches: list[torch.Tensor]) -> dict[str, torch.Tensor]:
    """:func:`spawn` worker: the gradients DDP leaves in this process after one backward pass of
    the model ``config`` describes (initialised from its seed) on the batch ``batches[rank]`` (its
    neighbourhood drawn with the config's fanouts, seeded by rank). With batches of equal size
    they are the gradients of the mean loss over all the batches together."""
    from gatkit.data import load_dataset
    from gatkit.sampling import NeighbourSampler
    from gatkit.train import TrainConfig, build_model, node_loss

    config = TrainConfig.from_dict(config)
    dataset = load_dataset(config.dataset, progress=False)
    torch.manual_seed(config.seed)
    model = build_model(config, dataset.num_features, dataset.num_classes)
    net = torch.nn.parallel.DistributedDataParallel(model)
    sampler = NeighbourSampler(dataset.edge_index, dataset.num_nodes, config.fanouts,
                               torch.Generator().manual_seed(rank))
    sample = sampler.sample(batches[rank])
    logits = net(dataset.x[sample.nodes], sample.edge_index)  # (n, C)
    node_loss(logits, dataset.y[sample.nodes], torch.arange(sample.num_targets)).backward()
    return {name: parameter.grad for name, parameter in model.named_parameters()}
