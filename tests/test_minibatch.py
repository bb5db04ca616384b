"""Mini-batch training: NeighbourSampler's samples, the config's rules, train() and gatkit train."""

import contextlib
import io
import re

import pytest
import torch

from gatkit import cli
from gatkit.data import load_dataset
from gatkit.edges import receptive_field_sizes
from gatkit.layers import GAT
from gatkit.sampling import ALL, NeighbourSampler
from gatkit.train import ConfigError, TrainConfig, build_model, paper_config, train, train_runs


@pytest.fixture(scope="module")
def cora():
    return load_dataset("cora", progress=False)


def random_graph(num_nodes=60, num_edges=400, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(num_nodes, (2, num_edges), generator=generator)  # (2, E) directed, repeats and loops


@pytest.mark.parametrize("layer_type, heads, residual, norm", [(3, (8, 1), False, False), (1, (8, 1), False, False),
                                                               (3, (4, 4, 1), True, True)])
def test_with_every_neighbour_a_batch_gets_the_full_graph_logits(cora, layer_type, heads, residual, norm):
    torch.manual_seed(0)
    model = GAT([cora.num_features] + [8] * (len(heads) - 1) + [cora.num_classes], list(heads),
                layer_type=layer_type, residual=residual, norm=norm).eval()
    for layer in model.layers:
        torch.nn.init.normal_(layer.bias)
    targets = torch.tensor([2000, 5, 1700, 3, 999])  # unsorted, the order kept
    sample = NeighbourSampler(cora.edge_index, cora.num_nodes, [ALL] * len(heads)).sample(targets)
    with torch.no_grad():
        full = model(cora.x, cora.edge_index_with_self_loops)[targets]  # (B, C)
        batch = model(cora.x[sample.nodes], sample.edge_index)[:len(targets)]  # (B, C)
    torch.testing.assert_close(batch, full, atol=1e-5, rtol=1e-4)
    assert torch.equal(sample.nodes[:len(targets)], targets)
    assert len(sample.nodes) == receptive_field_sizes(cora.edge_index_with_self_loops, cora.num_nodes, targets,
                                                      len(heads))[-1]


def test_a_sample_keeps_at_most_fanout_edges_per_node_and_only_real_ones():
    edge_index = random_graph()
    real = set(map(tuple, edge_index.T.tolist()))
    fanouts = [3, 2]
    sample = NeighbourSampler(edge_index, 60, fanouts, torch.Generator().manual_seed(1)).sample(torch.tensor([7, 3]))
    nodes, distance = sample.nodes, sample.distance
    assert len(set(nodes.tolist())) == len(nodes) and distance.tolist() == sorted(distance.tolist())
    assert len(nodes) <= 2 * (1 + 3 + 3 * 2)  # B (1 + k1 + k1 k2)
    for layer, edges in enumerate(sample.edge_index):
        source, target = nodes[edges[0]], nodes[edges[1]]
        loops = source == target
        assert loops.sum() == (distance <= 1 - layer).sum()  # one self-loop per node the layer computes
        assert set(map(tuple, torch.stack([source[~loops], target[~loops]]).T.tolist())) <= real
        assert distance[edges[1]].max() <= 1 - layer  # layer l computes the nodes within L - 1 - l hops
        for node in torch.unique(edges[1][~loops]):
            hop = int(distance[node])
            assert (edges[1][~loops] == node).sum() <= fanouts[hop]
    # the last layer reads only edges into the targets; the first also those into hop-1 nodes
    assert sample.edge_index[0].shape[1] >= sample.edge_index[1].shape[1]


def test_a_node_with_fewer_neighbours_than_the_fanout_keeps_them_all_and_self_loops_are_not_doubled():
    edge_index = torch.tensor([[1, 2, 3, 0, 0], [0, 0, 0, 0, 1]])  # a self-loop 0 -> 0 in the input
    sample = NeighbourSampler(edge_index, 4, [5]).sample(torch.tensor([0]))
    (edges,) = sample.edge_index
    assert sorted(sample.nodes[edges[0]].tolist()) == [0, 1, 2, 3] and (edges[1] == 0).all()


def test_samples_are_reproducible_from_the_generator_and_differ_between_seeds(cora):
    def draw(seed):
        sampler = NeighbourSampler(cora.edge_index, cora.num_nodes, [2, 2], torch.Generator().manual_seed(seed))
        return sampler.sample(torch.arange(0, 300, 7))

    first, again, other = draw(0), draw(0), draw(1)
    assert torch.equal(first.nodes, again.nodes)
    assert all(torch.equal(a, b) for a, b in zip(first.edge_index, again.edge_index))
    assert not torch.equal(first.nodes, other.nodes) or not torch.equal(first.edge_index[0], other.edge_index[0])


@pytest.mark.parametrize("targets, message", [(torch.tensor([1, 1]), "distinct"), (torch.tensor([2708]), "node ids"),
                                              (torch.tensor([], dtype=torch.long), "non-empty")])
def test_bad_targets_are_refused(cora, targets, message):
    with pytest.raises(ValueError, match=message):
        NeighbourSampler(cora.edge_index, cora.num_nodes, [2]).sample(targets)


def test_bad_fanouts_are_refused(cora):
    for fanouts in ([], [2, -2]):
        with pytest.raises(ValueError, match="fanouts"):
            NeighbourSampler(cora.edge_index, cora.num_nodes, fanouts)


def test_the_config_checks_fanout_and_batch_size():
    assert TrainConfig(batch_size=32, fanout=(10,)).fanouts == (10, 10)
    assert TrainConfig(batch_size=32, fanout=(10, 5)).fanouts == (10, 5)
    with pytest.raises(ConfigError, match="one number per layer"):
        TrainConfig(batch_size=32, fanout=(10, 10, 10))
    with pytest.raises(ConfigError, match="set batch_size"):
        TrainConfig(fanout=(10, 10))
    with pytest.raises(ConfigError, match="at least -1"):
        TrainConfig(batch_size=32, fanout=(-2,))
    config = TrainConfig(batch_size=16, fanout=(4, 3))
    assert TrainConfig.from_dict(config.to_dict()) == config
    older = {key: value for key, value in TrainConfig().to_dict().items() if key not in ("batch_size", "fanout")}
    assert TrainConfig.from_dict(older) == TrainConfig()  # a model file from before mini-batches


def test_one_batch_of_every_training_node_with_every_neighbour_trains_like_the_full_graph(cora):
    exact = dict(dropout=0.0, epochs=4, patience=10)
    full = train(paper_config(**exact), dataset=cora, out_dir=None, progress=False)
    batched = train(paper_config(batch_size=len(cora.train_idx), **exact), dataset=cora, out_dir=None,
                    progress=False)
    for name, value in full.model.state_dict().items():
        torch.testing.assert_close(batched.model.state_dict()[name], value, atol=2e-5, rtol=1e-4)
    assert full.history["train_loss"] == pytest.approx(batched.history["train_loss"], abs=1e-5)


def test_mini_batch_training_learns_cora(cora):
    seen = []
    result = train(paper_config(batch_size=32, fanout=(10, 10), epochs=40), dataset=cora, out_dir=None,
                   progress=False, on_epoch=lambda epoch, metrics: seen.append(epoch))
    assert seen == list(range(40)) and result.metrics["val_acc"] > 0.7
    untrained = build_model(paper_config(), cora.num_features, cora.num_classes)
    assert result.model.state_dict().keys() == untrained.state_dict().keys()  # no DDP "module." prefix


def test_train_runs_refuses_mini_batches(cora):
    with pytest.raises(ValueError, match="one run at a time"):
        train_runs(paper_config(batch_size=32), [0, 1], dataset=cora, out_dir=None, progress=False)


def run(*argv):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.main(["train", "--quiet", *argv])
    return code, stdout.getvalue(), stderr.getvalue()


def test_gatkit_train_trains_in_mini_batches(tmp_path):
    code, out, _ = run("--batch-size", "64", "--fanout", "5", "5", "--epochs", "3", "--should-test",
                       "--out-dir", str(tmp_path))
    assert code == 0 and re.search(r"seed 0: stopped after 3 epochs .* test acc \d+\.\d%", out)


@pytest.mark.parametrize("argv, message", [
    (["--fanout", "10", "10"], "--fanout samples the neighbourhoods of mini-batches; set batch_size too"),
    (["--batch-size", "32", "--fanout", "10", "10", "10"], "--fanout needs one number per layer (2)"),
    (["--batch-size", "32", "--seeds", "3"], "--batch-size trains one run in mini-batches"),
])
def test_gatkit_train_refuses_what_mini_batches_cannot_do(tmp_path, argv, message):
    code, out, err = run(*argv, "--epochs", "1", "--out-dir", str(tmp_path))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
