"""Tests for gatkit.partition: the partition, the local graphs and the halo exchange.

The partitioned forward pass runs in real processes (gatkit.distributed.spawn, gloo over
loopback) and must equal the single-process forward at every node. Each spawn costs seconds,
so one spawn checks several models and partitions.
"""

from __future__ import annotations

import pytest
import torch

from gatkit.distributed import spawn
from gatkit.layers import GAT
from gatkit.partition import (PARTITION_METHODS, assemble_logits, forward_worker, halo, local_graph,
                              partition_nodes)

ATOL = 1e-5


def random_graph(num_nodes: int, num_edges: int, seed: int) -> torch.Tensor:
    """(2, E + N) random directed edges in shuffled order, repeats allowed, plus a self-loop per node."""
    generator = torch.Generator().manual_seed(seed)
    edges = torch.randint(num_nodes, (2, num_edges), generator=generator)  # (2, E)
    loops = torch.arange(num_nodes).repeat(2, 1)  # (2, N)
    both = torch.cat([edges, loops], dim=1)  # (2, E + N)
    return both[:, torch.randperm(both.shape[1], generator=generator)]  # (2, E + N) shuffled


def random_model(features: list[int], heads: list[int], seed: int, **options) -> GAT:
    """A GAT in eval mode with random weights and non-zero biases and layer-norm parameters."""
    torch.manual_seed(seed)
    model = GAT(features, heads, **options).eval()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "bias" in name or "norms" in name:
                parameter.add_(0.3 * torch.randn_like(parameter))
    return model


@pytest.fixture(scope="module")
def cora():
    from gatkit.data import load_dataset

    return load_dataset("cora", progress=False)  # the root conftest points the loader at the shared mirror


# --------------------------------------------------------------------------
# halo and partition_nodes
# --------------------------------------------------------------------------

def test_halo_is_the_sorted_outside_sources_of_edges_into_the_part():
    #                      0->1  2->1  4->1  4->0  3->3  1->2  0->3  2->0  4->0
    edge_index = torch.tensor([[0, 2, 4, 4, 3, 1, 0, 2, 4],
                               [1, 1, 1, 0, 3, 2, 3, 0, 0]])
    parts = torch.tensor([0, 0, 1, 1, 2])
    assert halo(edge_index, parts, 0).tolist() == [2, 4]  # 4 twice, 0 -> 1 is inside
    assert halo(edge_index, parts, 1).tolist() == [0, 1]  # 3 -> 3 is inside; 0 -> 3, 1 -> 2
    assert halo(edge_index, parts, 2).tolist() == []  # nothing enters node 4


@pytest.mark.parametrize("method", PARTITION_METHODS)
@pytest.mark.parametrize("num_nodes, num_parts", [(10, 3), (7, 7), (50, 4), (5, 1)])
def test_parts_have_equal_sizes_within_one(method, num_nodes, num_parts):
    edge_index = random_graph(num_nodes, 3 * num_nodes, seed=num_nodes)
    parts = partition_nodes(edge_index, num_nodes, num_parts, method)  # (N,)
    assert parts.shape == (num_nodes,) and parts.dtype == torch.long
    sizes = torch.bincount(parts, minlength=num_parts)  # (P,)
    assert len(sizes) == num_parts and int(sizes.max() - sizes.min()) <= 1


def test_random_partition_depends_on_its_seed_only():
    edge_index = random_graph(40, 100, seed=0)
    first = partition_nodes(edge_index, 40, 4, "random", seed=1)
    assert torch.equal(first, partition_nodes(edge_index, 40, 4, "random", seed=1))
    assert not torch.equal(first, partition_nodes(edge_index, 40, 4, "random", seed=2))


@pytest.mark.parametrize("num_parts", [0, -1, 11])
def test_bad_num_parts_is_refused(num_parts):
    with pytest.raises(ValueError, match="num_parts"):
        partition_nodes(random_graph(10, 20, seed=0), 10, num_parts)


def test_bad_method_is_refused():
    with pytest.raises(ValueError, match="method must be one of 'random', 'locality'"):
        partition_nodes(random_graph(10, 20, seed=0), 10, 2, method="metis")


def test_locality_cuts_fewer_cora_edges_than_random(cora):
    def cut(method: str) -> float:
        parts = partition_nodes(cora.edge_index, cora.num_nodes, 4, method)  # (N,)
        return float((parts[cora.edge_index[0]] != parts[cora.edge_index[1]]).float().mean())

    assert abs(cut("random") - 0.75) < 0.03  # an edge crosses with probability 1 - 1/P
    assert cut("locality") < 0.5


# --------------------------------------------------------------------------
# local_graph
# --------------------------------------------------------------------------

@pytest.mark.parametrize("method", PARTITION_METHODS)
def test_local_graphs_hold_each_part_renumbered(method):
    num_nodes, num_parts = 40, 3
    edge_index = random_graph(num_nodes, 90, seed=5)  # (2, E)
    parts = partition_nodes(edge_index, num_nodes, num_parts, method)  # (N,)
    locals_ = [local_graph(edge_index, parts, k) for k in range(num_parts)]
    for k, local in enumerate(locals_):
        n, h = local.num_own, local.halo.numel()
        assert local.part == k and local.num_parts == num_parts
        assert torch.equal(local.nodes, torch.nonzero(parts == k).flatten())  # own ids, sorted
        assert torch.equal(local.halo, halo(edge_index, parts, k))
        assert torch.equal(local.halo_owners, parts[local.halo]) and bool((local.halo_owners != k).all())
        assert bool((local.edge_index[1] < n).all()) and bool((local.edge_index >= 0).all())
        assert bool((local.edge_index[0] < n + h).all())
        into_part = edge_index[:, parts[edge_index[1]] == k]  # (2, e) the edges into part k, in order
        assert torch.equal(local.global_ids[local.edge_index], into_part)  # renumbering round-trips
        assert local.receive_counts.tolist() == torch.bincount(parts[local.halo], minlength=num_parts).tolist()
    assert sorted(torch.cat([local.nodes for local in locals_]).tolist()) == list(range(num_nodes))
    assert sum(local.edge_index.shape[1] for local in locals_) == edge_index.shape[1]  # each edge once


def test_bad_part_is_refused():
    with pytest.raises(ValueError, match="part must be between 0 and 1"):
        local_graph(random_graph(6, 10, seed=0), torch.tensor([0, 0, 0, 1, 1, 1]), 2)


def test_bytes_received_are_halo_rows_of_each_layer_input():
    edge_index = torch.tensor([[0, 1, 2, 3, 2], [0, 1, 2, 3, 0]])  # self-loops and 2 -> 0
    local = local_graph(edge_index, torch.tensor([0, 0, 1, 1]), 0)
    assert local.halo.tolist() == [2]
    assert local.bytes_received(GAT([5, 3, 2], [4, 1])) == [1 * 5 * 4, 1 * 12 * 4]


@pytest.mark.parametrize("method", PARTITION_METHODS)
def test_each_layer_on_a_local_graph_gives_its_own_rows(method):
    """The partitioned forward without processes: the halo rows taken from the whole-graph pass."""
    num_nodes = 30
    edge_index = random_graph(num_nodes, 70, seed=2)  # (2, E)
    x = torch.randn(num_nodes, 6, generator=torch.Generator().manual_seed(3))  # (N, F)
    model = random_model([6, 4, 4, 3], [2, 2, 1], seed=4, residual=True, norm=True)
    inputs = [x] + model.hidden(x, edge_index)  # inputs[l] (N, D_l); the last, the logits
    parts = partition_nodes(edge_index, num_nodes, 3, method)  # (N,)
    for k in range(3):
        local = local_graph(edge_index, parts, k)
        for l in range(len(model.layers)):
            out, _ = model.apply_layer(l, inputs[l][local.global_ids], local.edge_index)  # (n + h, D_l+1)
            torch.testing.assert_close(out[:local.num_own], inputs[l + 1][local.nodes], atol=ATOL, rtol=0)


# --------------------------------------------------------------------------
# The partitioned forward in real processes
# --------------------------------------------------------------------------

def cora_worker(rank: int, world: int, models: list[GAT]) -> dict:
    """Both partitions, every model: one spawn checks them all."""
    return {(method, m): forward_worker(rank, world, "cora", model, method)
            for method in PARTITION_METHODS for m, model in enumerate(models)}


def test_partitioned_forward_equals_the_whole_graph_forward_on_cora(cora):
    models = [random_model([cora.num_features, 8, cora.num_classes], [8, 1], seed=0),  # the paper's
              random_model([cora.num_features, 16, 16, cora.num_classes], [4, 4, 1], seed=1,
                           residual=True, norm=True)]
    edge_index = cora.edge_index_with_self_loops  # (2, E + N)
    with torch.no_grad():
        expected = [model(cora.x, edge_index) for model in models]  # (N, C) each
    per_rank = spawn(cora_worker, 2, models, timeout=120)
    for method in PARTITION_METHODS:
        parts = partition_nodes(edge_index, cora.num_nodes, 2, method)  # (N,)
        for m, model in enumerate(models):
            results = [per_rank[rank][method, m] for rank in range(2)]
            torch.testing.assert_close(assemble_logits(results), expected[m], atol=ATOL, rtol=0)
            for k, result in enumerate(results):
                assert torch.equal(result.nodes, torch.nonzero(parts == k).flatten())
                h = halo(edge_index, parts, k).numel()
                assert result.rows_received == h
                assert list(result.bytes_received) == [h * layer.in_features * 4 for layer in model.layers]
            assert sum(r.rows_sent for r in results) == sum(r.rows_received for r in results)
    # what the chapter will say: locality fetches fewer rows than random
    assert sum(r.rows_received for r in (per_rank[0]["locality", 0], per_rank[1]["locality", 0])) < \
        sum(r.rows_received for r in (per_rank[0]["random", 0], per_rank[1]["random", 0]))


def methods_worker(rank: int, world: int, graph: tuple[torch.Tensor, torch.Tensor], model: GAT) -> dict:
    """Both partitions in one spawn."""
    return {method: forward_worker(rank, world, graph, model, method) for method in PARTITION_METHODS}


def test_partitioned_forward_with_three_processes_on_a_random_graph():
    num_nodes = 50
    edge_index = random_graph(num_nodes, 40, seed=7)  # (2, E + N)
    edge_index = edge_index[:, edge_index[1] >= 2]  # (2, E'): nodes 0 and 1 receive nothing, not even a self-loop
    x = torch.randn(num_nodes, 5, generator=torch.Generator().manual_seed(8))  # (N, F)
    model = random_model([5, 4, 4, 3], [2, 3, 1], seed=9, residual=True, norm=True)
    with torch.no_grad():
        expected = model(x, edge_index)  # (N, C)
    parts = partition_nodes(edge_index, num_nodes, 3, "locality")  # (N,)
    counts = torch.stack([local_graph(edge_index, parts, k).receive_counts for k in range(3)])  # (P, P)
    assert bool((counts.sum(dim=0) == 0).any())  # a part that sends nothing: empty splits must work
    per_rank = spawn(methods_worker, 3, (x, edge_index), model, timeout=120)
    for method in PARTITION_METHODS:
        results = [per_rank[rank][method] for rank in range(3)]
        torch.testing.assert_close(assemble_logits(results), expected, atol=ATOL, rtol=0)
        assert sum(r.rows_sent for r in results) == sum(r.rows_received for r in results)


def test_a_group_that_does_not_match_the_parts_is_refused():
    """Rank k must hold part k, one process per part: 3 parts in 2 processes are refused."""
    with pytest.raises(RuntimeError, match="one process per part"):
        spawn(mismatched_worker, 2, timeout=60)


def mismatched_worker(rank: int, world: int) -> None:
    from gatkit.partition import plan_exchange

    edge_index = random_graph(6, 10, seed=0)  # (2, E + N)
    plan_exchange(local_graph(edge_index, torch.tensor([0, 0, 1, 1, 2, 2]), rank))
