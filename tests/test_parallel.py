"""Data-parallel training on torch.distributed: processes on 127.0.0.1 (gloo), bounded in time."""

import os
import re
import subprocess
import sys
import time

import pytest
import torch
import torch.distributed as dist

from gatkit import distributed
from gatkit.data import load_dataset
from gatkit.sampling import NeighbourSampler
from gatkit.train import build_model, node_loss, paper_config, train

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not available")


def summed(rank, world, value):
    tensor = torch.tensor([value + rank])
    dist.all_reduce(tensor)
    return tensor


def fails(rank, world):
    if rank == 1:
        raise KeyError("rank 1 broke")
    return rank


def hangs(rank, world):
    time.sleep(60)


def test_spawn_returns_each_process_result_by_rank():
    assert distributed.spawn(summed, 3, 10.0) == [torch.tensor([33.0])] * 3


def test_spawn_reports_a_failing_process_with_its_traceback():
    with pytest.raises(RuntimeError, match=r"process 1 failed:(.|\n)*KeyError: 'rank 1 broke'"):
        distributed.spawn(fails, 2)


def test_spawn_stops_processes_that_run_too_long():
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="not done within 3 s"):
        distributed.spawn(hangs, 2, timeout=3)
    assert time.monotonic() - started < 20


@pytest.mark.parametrize("fanout", [(-1,), (3, 2)])
def test_one_data_parallel_step_has_the_gradient_of_the_union_of_the_batches(fanout):
    cora = load_dataset("cora", progress=False)
    config = paper_config(dropout=0.0, batch_size=8, fanout=fanout, seed=3)
    batches = [torch.tensor([0, 17, 33, 52, 71, 90, 101, 139]), torch.tensor([5, 12, 40, 64, 77, 88, 120, 131])]
    grads = distributed.spawn(distributed.gradient_worker, 2, config.to_dict(), batches)

    torch.manual_seed(config.seed)
    model = build_model(config, cora.num_features, cora.num_classes)
    losses = []
    for rank, batch in enumerate(batches):  # each process's sample, drawn as it drew it
        sample = NeighbourSampler(cora.edge_index, cora.num_nodes, config.fanouts,
                                  torch.Generator().manual_seed(rank)).sample(batch)
        logits = model(cora.x[sample.nodes], sample.edge_index)  # (n, C)
        losses.append(node_loss(logits, cora.y[sample.nodes], torch.arange(len(batch))))
    torch.stack(losses).mean().backward()  # the mean loss over the 16 nodes
    if fanout == (-1,):  # every neighbour: the union's loss on the whole graph
        union = torch.cat(batches)
        model.zero_grad()
        node_loss(model(cora.x, cora.edge_index_with_self_loops), cora.y, union).backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad.abs().max() > 0
        for rank in range(2):
            torch.testing.assert_close(grads[rank][name], parameter.grad, atol=1e-7, rtol=1e-4)


def test_two_processes_train_cora_to_the_accuracy_of_one():
    cora = load_dataset("cora", progress=False)
    settings = dict(fanout=(10, 10), epochs=150, patience=150)
    (ddp, again) = distributed.spawn(distributed.train_worker, 2, paper_config(batch_size=16, **settings).to_dict(),
                                     timeout=300)
    histories = ddp.pop("history"), again.pop("history")
    for key in ("train_loss", "train_acc", "val_loss", "val_acc"):  # evaluated: equal copies, equal numbers
        assert histories[0][key] == histories[1][key]
    assert histories[0]["train_acc_dropout"] != histories[1]["train_acc_dropout"]  # each on its own batches
    ddp.pop("seconds"), again.pop("seconds")
    assert ddp == again  # DDP keeps the copies equal, so both evaluate alike
    single = train(paper_config(batch_size=32, **settings), dataset=cora, out_dir=None, progress=False, test=True)
    assert ddp["test_acc"] > 0.77 and single.metrics["test_acc"] > 0.77
    assert abs(ddp["test_acc"] - single.metrics["test_acc"]) < 0.025


def test_torchrun_launches_gatkit_train(tmp_path):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
               "-m", "gatkit.cli", "train", "--batch-size", "32", "--fanout", "5", "5", "--epochs", "3",
               "--quiet", "--should-test", "--out-dir", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    lines = re.findall(r"^seed 0, 2 processes x batches of 32: stopped after 3 epochs.*test acc", done.stdout, re.M)
    assert len(lines) == 1  # only the first process reports
    assert len(list((tmp_path / "models" / "binaries").glob("*.pt"))) == 1


def test_torchrun_without_a_batch_size_is_refused(tmp_path):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
               "-m", "gatkit.cli", "train", "--epochs", "1", "--quiet", "--out-dir", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode != 0
    assert "torchrun starts data-parallel training, which shares out mini-batches: give --batch-size B" in done.stderr


def test_spawn_from_a_script_does_not_run_the_script_again(tmp_path):
    (tmp_path / "workers.py").write_text("import torch\nimport torch.distributed as dist\n\n\n"
                                         "def summed(rank, world):\n    t = torch.tensor([rank])\n"
                                         "    dist.all_reduce(t)\n    return int(t)\n")
    (tmp_path / "chapter.py").write_text("from gatkit.distributed import spawn\nimport workers\n\n"
                                         "print('top level')\nprint(spawn(workers.summed, 2))\n")
    done = subprocess.run([sys.executable, "chapter.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["top", "level", "[1,", "1]"]  # the script ran once, in the parent only
