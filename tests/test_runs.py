"""Many runs as one batched model (gatkit.runs, gatkit.train.train_runs) and the sparse aggregation.

The central test trains runs batched and one at a time, with dropout off (the only randomness
a batch cannot share with lone runs is its dropout masks), and compares every run's curves,
stopping epoch, kept epoch and final weights.
"""

import dataclasses

import pytest
import torch

from gatkit.data import load_planetoid
from gatkit.functional import aggregate as plain_aggregate
from gatkit.layers import GAT
from gatkit.ops import aggregate
from gatkit.runs import GATRuns
from gatkit.data import Split
from gatkit.train import METRICS, Subgraph, build_model, paper_config, train, train_runs


@pytest.fixture(scope="module")
def cora():
    return load_planetoid("cora", progress=False)


def models(config, dataset, seeds):
    built = []
    for seed in seeds:
        torch.manual_seed(seed)
        built.append(build_model(config, dataset.num_features, dataset.num_classes))
    return built


# --- the batched model ------------------------------------------------------------------------

@pytest.mark.parametrize("attention, norm", [("gat", False), ("gatv2", False), ("uniform", True), ("none", True)])
@pytest.mark.parametrize("sparse", [True, False])
def test_each_run_of_the_batch_computes_its_own_model(cora, attention, norm, sparse):
    config = paper_config("cora", attention=attention, residual=True, norm=norm, heads=(4, 2, 1))
    singles = models(config, cora, [0, 1, 2])
    runs = GATRuns(singles).eval()
    x = cora.x_sparse if sparse else cora.x
    with torch.no_grad():
        logits = runs(x, cora.edge_index_with_self_loops)  # (N, R, C)
        assert logits.shape == (cora.num_nodes, 3, cora.num_classes)
        for r, single in enumerate(singles):
            torch.testing.assert_close(logits[:, r], single.eval()(x, cora.edge_index_with_self_loops),
                                       rtol=1e-5, atol=1e-6)
    assert not torch.allclose(logits[:, 0], logits[:, 1]), "runs with different seeds must differ"
    if norm:  # trained normalisations, not their initial 1 and 0, must come back per run
        for single in singles:
            for norm_layer in single.norms:
                torch.nn.init.normal_(norm_layer.weight), torch.nn.init.normal_(norm_layer.bias)
        back = GATRuns(singles).model(2)
        for name, value in singles[2].state_dict().items():
            assert torch.equal(back.state_dict()[name], value), name


def test_a_run_comes_back_as_a_gat_of_the_layer_type_it_was_built_with(cora):
    config = paper_config("cora", layer_type=2)
    singles = models(config, cora, [4, 5])
    runs = GATRuns(singles)
    back = runs.model(1)
    assert isinstance(back, GAT) and back.layer_type == 2 and not back.training
    for name, value in singles[1].state_dict().items():
        assert torch.equal(back.state_dict()[name], value), name
    assert set(runs.state_dict_of(0)) == set(singles[0].state_dict())


def test_in_train_mode_every_run_draws_its_own_dropout_masks(cora):
    config = paper_config("cora")
    same = models(config, cora, [7, 7])  # identical weights: only the masks can tell them apart
    runs = GATRuns(same).train()
    for x in (cora.x_sparse, cora.x):
        logits = runs(x, cora.edge_index_with_self_loops)  # (N, 2, C)
        assert not torch.allclose(logits[:, 0], logits[:, 1])
    runs.eval()
    logits = runs(cora.x_sparse, cora.edge_index_with_self_loops)
    torch.testing.assert_close(logits[:, 0], logits[:, 1])


@pytest.mark.parametrize("attention", ["gat", "gatv2", "uniform", "none"])
def test_nearest_first_rows_give_the_splits_outputs_for_less_work(cora, attention):
    # (the gradients: train_runs trains this way, and equals runs trained alone, below)
    config = paper_config("cora", attention=attention)
    singles = models(config, cora, [0, 1])
    edge_index = cora.edge_index_with_self_loops
    part = Subgraph.around(cora, cora.x_sparse, edge_index, ("train", "val"), layers=2)
    near, rows = part.nearest_first()
    assert rows == [int((part.distance <= 1).sum()), len(part.val_idx) + len(part.train_idx)]
    assert rows[0] < len(part.nodes) and sorted(near.nodes.tolist()) == part.nodes.tolist()
    assert torch.equal(near.nodes[near.train_idx], cora.train_idx) and torch.equal(near.y, cora.y[near.nodes])
    runs = GATRuns(singles).eval()
    whole = runs(cora.x_sparse, edge_index)  # (N, R, C)
    cut = runs(near.x, near.edge_index, rows)  # (rows[-1], R, C)
    assert cut.shape == (rows[-1], 2, cora.num_classes)
    for name in ("train", "val"):
        torch.testing.assert_close(cut[getattr(near, f"{name}_idx")], whole[getattr(cora, f"{name}_idx")],
                                   rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"rows\[0\] = "):  # layer 1 has edges into nodes it would skip
        runs(near.x, near.edge_index, [rows[0] - 1, rows[1]])
    with pytest.raises(ValueError, match="valid ids are 0 .. "):  # layer 2 reads rows layer 1 skipped
        runs(near.x, [near.edge_index[0], near.edge_index[0]], rows)


def test_runs_of_different_architectures_are_refused(cora):
    a = build_model(paper_config("cora"), cora.num_features, cora.num_classes)
    b = build_model(paper_config("cora", hidden_features=16), cora.num_features, cora.num_classes)
    with pytest.raises(ValueError, match="another architecture"):
        GATRuns([a, b])
    with pytest.raises(ValueError, match="non-empty list"):
        GATRuns([])


def test_dropping_finished_runs_keeps_the_others_and_their_adam_state(cora):
    config = paper_config("cora")
    runs = GATRuns(models(config, cora, [0, 1, 2]))
    optimizer = torch.optim.Adam(runs.parameters(), lr=0.01)
    runs(cora.x_sparse, cora.edge_index_with_self_loops).sum().backward()
    optimizer.step()
    before = {name: value.clone() for name, value in runs.state_dict().items()}
    moments = {name: optimizer.state[p]["exp_avg"].clone() for name, p in runs.named_parameters()}
    runs.keep_runs([2, 0], optimizer)
    assert runs.runs == 2
    for name, p in runs.named_parameters():
        assert torch.equal(p.detach(), before[name][[2, 0]])
        assert torch.equal(optimizer.state[p]["exp_avg"], moments[name][[2, 0]])
    assert {id(p) for group in optimizer.param_groups for p in group["params"]} == {id(p) for p in runs.parameters()}
    runs(cora.x_sparse, cora.edge_index_with_self_loops).sum().backward()
    optimizer.step()  # the optimiser works on the smaller batch


# --- batched training equals training one run at a time --------------------------------------

def assert_same_runs(batched, alone):
    for together, single in zip(batched, alone, strict=True):
        assert together.epochs_run == single.epochs_run
        assert together.best_epoch == single.best_epoch
        for key in METRICS:
            torch.testing.assert_close(torch.tensor(together.history[key]), torch.tensor(single.history[key]),
                                       rtol=1e-4, atol=1e-5, msg=lambda m: f"{key}: {m}")
        for key, value in single.metrics.items():
            assert together.metrics[key] == pytest.approx(value, rel=1e-4, abs=1e-5), key
        # Adam divides by the root of its second moment, so where a gradient is almost zero a
        # rounding difference (the batch sums in another order) becomes part of a step: a few
        # weights drift apart by a fraction of the learning rate over the epochs.
        single_state = single.model.state_dict()
        for name, value in together.model.state_dict().items():
            torch.testing.assert_close(value, single_state[name], rtol=0, atol=0.05 * together.config.lr,
                                       msg=lambda m: f"{name}: {m}")


@pytest.mark.parametrize("attention, norm", [("gat", False), ("gatv2", False), ("uniform", True)])
def test_batched_runs_are_the_runs_trained_alone(cora, attention, norm):
    # Dropout off: then nothing random is left but the initial weights, which each run draws from
    # its seed. A high learning rate and patience 5 make the runs stop at different epochs (within
    # 40), so finished runs leave the batch while others go on.
    config = paper_config("cora", attention=attention, norm=norm, dropout=0.0, lr=0.02, epochs=80, patience=5)
    seeds = [0, 1, 2]
    batched = train_runs(config, seeds, dataset=cora, out_dir=None, progress=False, test=True)
    alone = [train(dataclasses.replace(config, seed=seed), dataset=cora, out_dir=None, progress=False, test=True)
             for seed in seeds]
    assert len({run.epochs_run for run in alone}) > 1, "the runs should stop at different epochs"
    assert [run.config.seed for run in batched] == seeds
    assert_same_runs(batched, alone)
    if attention == "gat":  # more runs than fit one batch: consecutive batches, the same runs
        assert_same_runs(train_runs(config, seeds, dataset=cora, out_dir=None, progress=False, test=True,
                                    batch_size=2), alone)


def test_each_run_trains_and_is_scored_on_its_own_split(cora):
    config = paper_config("cora", dropout=0.0, lr=0.02, epochs=60, patience=5)
    generator = torch.Generator().manual_seed(0)
    splits = []
    for _ in range(2):
        order = torch.randperm(cora.num_nodes, generator=generator)
        splits.append(Split(*(ids.sort().values for ids in (order[:200], order[200:700], order[700:1700]))))
    batched = train_runs(config, [3], splits=splits, dataset=cora, out_dir=None, progress=False, test=True)
    alone = [train(dataclasses.replace(config, seed=3),
                   dataset=dataclasses.replace(cora, train_idx=s.train_idx, val_idx=s.val_idx, test_idx=s.test_idx),
                   out_dir=None, progress=False, test=True) for s in splits]
    assert [run.split for run in batched] == [0, 1]
    assert_same_runs(batched, alone)


def test_seeds_times_splits_and_repeatable_with_dropout(cora):
    config = paper_config("cora", epochs=15)
    split = cora.splits[0]
    first = train_runs(config, [0, 0], splits=[split, split], dataset=cora, out_dir=None, progress=False)
    assert [(run.split, run.config.seed) for run in first] == [(0, 0), (0, 0), (1, 0), (1, 0)]
    assert first[0].history["train_loss"] != first[1].history["train_loss"], "each run has its own dropout masks"
    again = train_runs(config, [0, 0], splits=[split, split], dataset=cora, out_dir=None, progress=False)
    assert [run.history for run in again] == [run.history for run in first]


def test_every_run_gets_its_own_model_file(cora, tmp_path):
    config = paper_config("cora", epochs=3)
    results = train_runs(config, [0, 1], dataset=cora, out_dir=tmp_path, progress=False)
    paths = [run.binary_path for run in results]
    assert len(set(paths)) == 2 and all(path.exists() for path in paths)
    assert all(f"seed{seed}" in path.name for seed, path in zip([0, 1], paths))
    with pytest.raises(ValueError, match="at least one seed"):
        train_runs(config, [], dataset=cora, out_dir=None, progress=False)


# --- the sparse aggregation equals the plain one ------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("nodes, edges, heads, width", [(5, 9, 2, 3), (40, 300, 4, 8), (6, 4, 1, 1), (7, 0, 2, 3)])
def test_the_sparse_aggregation_is_the_plain_one_forward_and_backward(dtype, nodes, edges, heads, width):
    generator = torch.Generator().manual_seed(nodes + edges)
    edge_index = torch.randint(0, nodes, (2, edges), generator=generator)  # unsorted, some nodes without edges
    if edges:
        edge_index[:, -1] = edge_index[:, 0]  # a repeated edge counts twice
    alpha = torch.rand(edges, heads, dtype=dtype, generator=generator, requires_grad=True)
    z = torch.randn(nodes, heads, width, dtype=dtype, generator=generator, requires_grad=True)
    grad = torch.randn(nodes, heads, width, dtype=dtype, generator=generator)
    fast, plain = aggregate(alpha, z, edge_index), plain_aggregate(alpha, z, edge_index)
    torch.testing.assert_close(fast, plain)
    for got, want in zip(torch.autograd.grad(fast, (alpha, z), grad), torch.autograd.grad(plain, (alpha, z), grad)):
        torch.testing.assert_close(got, want)
