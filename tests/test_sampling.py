"""gatkit.sampling.sample_incoming and gatkit.edges.receptive_field_sizes, on their own.

(NeighbourSampler, which uses both, is tested in test_minibatch.py.)
"""

import itertools
from collections import Counter

import pytest
import torch

from course.checks import ch13
from gatkit.edges import receptive_field, receptive_field_sizes
from gatkit.sampling import ALL, sample_incoming


def draw(indptr, nodes, fanout, seed):
    return sample_incoming(indptr, nodes, fanout, torch.Generator().manual_seed(seed))


def random_pointer(num_nodes=50, seed=0):
    degrees = torch.randint(0, 12, (num_nodes,), generator=torch.Generator().manual_seed(seed))  # (N,)
    return torch.cat([torch.zeros(1, dtype=torch.long), degrees.cumsum(0)])  # (N + 1,)


@pytest.mark.parametrize("fanout", [0, 1, 2, 3, 100, ALL])
def test_each_node_keeps_min_degree_fanout_distinct_edges_of_its_own(fanout):
    indptr = random_pointer()
    nodes = torch.tensor([17, 3, 40, 8, 29, 0])  # unsorted
    for seed in range(5):
        ids = draw(indptr, nodes, fanout, seed)  # (m,)
        assert ids.dtype == torch.int64 and ids.dim() == 1 and len(torch.unique(ids)) == len(ids)
        owner = torch.searchsorted(indptr, ids, right=True) - 1  # (m,) the node each edge enters
        degree = indptr[nodes + 1] - indptr[nodes]  # (n,)
        wanted = degree if fanout == ALL else degree.clamp(max=fanout)
        assert [int((owner == v).sum()) for v in nodes] == wanted.tolist()
        # grouped by node, in the order of nodes
        assert torch.equal(torch.unique_consecutive(owner), nodes[wanted > 0])


def test_the_toy_of_exercise_13_1():
    ids = draw(ch13.TOY_INDPTR, ch13.TOY_NODES, 2, seed=0)
    assert set(ids[:2].tolist()) < {4, 5, 6, 7} and set(ids[2:].tolist()) < {0, 1, 2} and len(ids) == 4
    assert draw(ch13.TOY_INDPTR, ch13.TOY_NODES, ALL, seed=0).tolist() == [4, 5, 6, 7, 0, 1, 2]
    assert draw(ch13.TOY_INDPTR, ch13.TOY_NODES, 0, seed=0).tolist() == []
    assert draw(ch13.TOY_INDPTR, torch.tensor([], dtype=torch.long), 2, seed=0).tolist() == []


def test_the_generator_decides_the_draw():
    indptr, nodes = random_pointer(), torch.arange(50)
    assert torch.equal(draw(indptr, nodes, 2, seed=3), draw(indptr, nodes, 2, seed=3))
    assert not torch.equal(draw(indptr, nodes, 2, seed=3), draw(indptr, nodes, 2, seed=4))


def test_every_subset_of_a_nodes_edges_is_equally_likely_and_nodes_are_independent():
    # node 3 has 4 edges (6 pairs), node 0 has 3 (3 pairs): 18 joint outcomes of 1/18 each
    calls = 3600
    counts = Counter()
    for seed in range(calls):
        ids = draw(ch13.TOY_INDPTR, ch13.TOY_NODES, 2, seed).tolist()
        counts[tuple(sorted(ids[:2])), tuple(sorted(ids[2:]))] += 1
    outcomes = list(itertools.product(itertools.combinations(range(4, 8), 2), itertools.combinations(range(3), 2)))
    assert set(counts) == set(outcomes)
    expected = calls / len(outcomes)  # 200
    chi_square = sum((counts[o] - expected) ** 2 / expected for o in outcomes)
    assert chi_square < 50  # 17 degrees of freedom: P(chi2 > 50) < 1e-4


def test_receptive_field_sizes_on_the_toy_of_exercise_13_2():
    sizes = receptive_field_sizes(ch13.FIELD_EDGES, ch13.FIELD_NUM_NODES, torch.tensor([0]), 3)
    assert sizes.dtype == torch.int64 and torch.equal(sizes, ch13.FIELD_ANSWER)
    for targets, hops, answer in (([5, 0, 5], 2, [2, 4, 5]), ([0], 6, [1, 3, 4, 5, 5, 5, 5]), ([2, 0], 0, [2])):
        sizes = receptive_field_sizes(ch13.FIELD_EDGES, ch13.FIELD_NUM_NODES, torch.tensor(targets), hops)
        assert sizes.tolist() == answer


def test_receptive_field_sizes_count_the_nodes_of_receptive_field():
    generator = torch.Generator().manual_seed(0)
    edge_index = torch.randint(80, (2, 150), generator=generator)  # (2, E) directed, repeats and loops
    targets = torch.tensor([7, 3, 7, 60])
    sizes = receptive_field_sizes(edge_index, 90, targets, 5)  # nodes 80 .. 89 have no edge
    assert sizes.tolist() == [len(receptive_field(edge_index, 90, targets, hops)[0]) for hops in range(6)]
    assert (sizes.diff() >= 0).all()
