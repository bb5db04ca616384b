"""gatkit.functional: each equation against a loop over nodes written straight from the paper."""

import math

import pytest
import torch
import torch.nn.functional as F

from course.checks.cases import random_graph
from gatkit import functional
from gatkit.edges import to_dense_adjacency


def loop_softmax(e, edge_index, num_nodes):
    """Softmax over each target's incoming edges, one target at a time, in float64."""
    alpha = torch.zeros_like(e, dtype=torch.float64)
    for i in range(num_nodes):
        incoming = edge_index[1] == i
        if incoming.any():
            alpha[incoming] = torch.softmax(e[incoming].double(), dim=0)
    return alpha


def inputs(seed, num_nodes=12, num_edges=40, heads=3, features=4, self_loops=True):
    edge_index = random_graph(num_nodes, num_edges, seed, self_loops=self_loops)
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(num_nodes, heads, features, generator=generator)  # (N, H, F')
    a_src, a_dst = torch.randn(2, heads, features, generator=generator)  # (H, F') each
    return edge_index, z, a_src, a_dst


@pytest.mark.parametrize("seed", range(5))
def test_edge_scores_follow_the_paper(seed):
    edge_index, z, a_src, a_dst = inputs(seed)
    e = functional.edge_scores(functional.node_scores(z, a_src), functional.node_scores(z, a_dst), edge_index)
    for k, (j, i) in enumerate(edge_index.T.tolist()):
        for h in range(z.shape[1]):
            expected = F.leaky_relu(a_dst[h] @ z[i, h] + a_src[h] @ z[j, h], 0.2)
            torch.testing.assert_close(e[k, h], expected)


@pytest.mark.parametrize("seed", range(5))
def test_neighbourhood_softmax_equals_one_softmax_per_target(seed):
    edge_index, *_ = inputs(seed, self_loops=seed % 2 == 0)  # odd seeds: nodes without incoming edges
    e = 3 * torch.randn(edge_index.shape[1], 2, generator=torch.Generator().manual_seed(seed))
    alpha = functional.neighbourhood_softmax(e, edge_index, 12)
    torch.testing.assert_close(alpha.double(), loop_softmax(e, edge_index, 12))


def test_neighbourhood_softmax_survives_neighbourhoods_hundreds_apart_and_minus_infinity():
    edge_index = torch.tensor([[0, 1, 2, 3, 0, 1], [0, 0, 0, 1, 1, 1]])
    e = torch.tensor([[500.0], [499.0], [-math.inf], [-300.0], [-301.0], [-302.0]])
    alpha = functional.neighbourhood_softmax(e, edge_index, 2)
    assert bool(torch.isfinite(alpha).all())
    torch.testing.assert_close(alpha.double(), loop_softmax(e, edge_index, 2))
    assert alpha[2, 0] == 0.0  # -inf gets weight exactly 0


@pytest.mark.parametrize("seed", range(3))
def test_dense_forms_equal_the_edge_list_forms(seed):
    edge_index, z, a_src, a_dst = inputs(seed, self_loops=seed != 1)
    n = z.shape[0]
    s_src, s_dst = functional.node_scores(z, a_src), functional.node_scores(z, a_dst)
    e = functional.edge_scores(s_src, s_dst, edge_index)  # (E, H)
    alpha = functional.neighbourhood_softmax(e, edge_index, n)  # (E, H)
    scores = functional.dense_scores(s_src, s_dst)  # (H, N, N)
    torch.testing.assert_close(scores[:, edge_index[1], edge_index[0]].T, e)
    dense = functional.dense_softmax(scores, to_dense_adjacency(edge_index, n))
    masked = functional.masked_softmax(scores, functional.connectivity_mask(edge_index, n))
    for alpha_dense in (dense, masked):
        assert bool(torch.isfinite(alpha_dense).all())  # rows without neighbours are zeros, not nan
        torch.testing.assert_close(alpha_dense[:, edge_index[1], edge_index[0]].T, alpha)
        out = torch.bmm(alpha_dense, z.transpose(0, 1)).transpose(0, 1)  # (N, H, F')
        torch.testing.assert_close(out, functional.aggregate(alpha, z, edge_index))


def test_aggregate_sums_weighted_sources_into_targets_and_leaves_inputs_alone():
    edge_index = torch.tensor([[1, 2, 2], [0, 0, 1]])  # 1 -> 0, 2 -> 0, 2 -> 1; node 2 receives nothing
    z = torch.arange(6.0).view(3, 1, 2)  # (N, H=1, F'=2)
    alpha = torch.tensor([[0.25], [0.75], [1.0]])
    before = z.clone()
    out = functional.aggregate(alpha, z, edge_index)
    expected = torch.tensor([[[0.25 * 2 + 0.75 * 4, 0.25 * 3 + 0.75 * 5]], [[4.0, 5.0]], [[0.0, 0.0]]])
    torch.testing.assert_close(out, expected)
    assert torch.equal(z, before)


def test_project_heads_gives_each_head_its_own_rows_of_w():
    x = torch.randn(5, 3)
    weight = torch.randn(2 * 4, 3)  # H = 2 heads of F' = 4
    z = functional.project_heads(x, weight, 2)  # (H, N, F')
    torch.testing.assert_close(z[1], x @ weight[4:].T)
    torch.testing.assert_close(functional.combine_heads(z.transpose(0, 1), concat=True), x @ weight.T)
    torch.testing.assert_close(functional.combine_heads(z.transpose(0, 1), concat=False), z.mean(dim=0))
