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


# --- message passing without attention (chapter 00) ----------------------------------------------

@pytest.mark.parametrize("seed", range(3))
def test_mean_aggregate_is_each_targets_mean_of_its_sources(seed):
    edge_index = random_graph(10, 25, seed, self_loops=False)  # directed; some nodes receive nothing
    h = torch.randn(10, 3, generator=torch.Generator().manual_seed(seed))  # (N, F)
    before = h.clone()
    out = functional.mean_aggregate(h, edge_index)
    for i in range(10):
        sources = edge_index[0, edge_index[1] == i]
        expected = h[sources].mean(dim=0) if len(sources) else torch.zeros(3)
        torch.testing.assert_close(out[i], expected)
    assert torch.equal(h, before)


def test_gcn_coefficients_on_the_toy_graph_by_hand():
    # 0-1, 1-2, 1-3, 2-3 both ways plus self-loops: in-degrees 2, 4, 3, 3.
    edge_index = torch.tensor([[0, 1, 0, 1, 2, 3, 1, 2, 3, 1, 2, 3],
                               [0, 0, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3]])
    degree = torch.tensor([2.0, 4.0, 3.0, 3.0])
    expected = 1 / torch.sqrt(degree[edge_index[0]] * degree[edge_index[1]])
    torch.testing.assert_close(functional.gcn_coefficients(edge_index, 4), expected)
    assert torch.isclose(functional.gcn_coefficients(edge_index, 4)[0], torch.tensor(0.5))  # loop 0 -> 0: 1 / sqrt(2 * 2)


@pytest.mark.parametrize("seed", range(3))
def test_gcn_layer_equals_the_dense_symmetric_normalisation(seed):
    edge_index = random_graph(9, 20, seed)  # directed, one self-loop per node
    generator = torch.Generator().manual_seed(seed)
    x, weight = torch.randn(9, 4, generator=generator), torch.randn(4, 3, generator=generator)
    adj = to_dense_adjacency(edge_index, 9)  # (N, N), adj[i, j] = 1 iff j -> i
    d_inv_sqrt = adj.sum(dim=1).rsqrt()  # (N,) row sums = in-degrees
    normalised = d_inv_sqrt[:, None] * adj * d_inv_sqrt[None, :]  # D^-1/2 (A + I) D^-1/2
    torch.testing.assert_close(functional.gcn_coefficients(edge_index, 9),
                               normalised[edge_index[1], edge_index[0]])
    torch.testing.assert_close(functional.gcn_layer(x, edge_index, weight), normalised @ x @ weight)
    torch.testing.assert_close(functional.gcn_layer(x.double(), edge_index, weight.double()),
                               (normalised.double() @ x.double()) @ weight.double())


def test_gcn_coefficients_give_a_node_without_incoming_edges_no_infinite_weight():
    edge_index = torch.tensor([[0, 1], [1, 1]])  # node 0 sends but receives nothing
    coefficients = functional.gcn_coefficients(edge_index, 2)
    assert bool(torch.isfinite(coefficients).all()) and coefficients[0] == 0.0


def test_edge_coefficients_read_row_target_column_source_in_column_order():
    edge_index = random_graph(6, 14, seed=7)  # (2, E): directed, columns shuffled
    heads, n = 3, 6
    h, i, j = torch.meshgrid(torch.arange(heads), torch.arange(n), torch.arange(n), indexing="ij")
    dense = (100 * h + 10 * i + j).float()  # (H, N, N): every entry names its own [h, i, j]
    per_edge = functional.edge_coefficients(dense, edge_index)  # (E, H)
    assert per_edge.shape == (edge_index.shape[1], heads)
    for k, (source, target) in enumerate(edge_index.T.tolist()):
        assert per_edge[k].tolist() == [100.0 * head + 10 * target + source for head in range(heads)]


@pytest.mark.parametrize("seed", range(3))
def test_masked_attention_is_the_edge_list_computation_in_the_dense_layout(seed):
    edge_index, _, a_src, a_dst = inputs(seed, self_loops=seed != 1)  # seed 1: rows without neighbours
    generator = torch.Generator().manual_seed(seed + 100)
    x = torch.randn(12, 5, generator=generator)  # (N, F)
    weight = torch.randn(3 * 4, 5, generator=generator)  # (H*F', F)
    mask = functional.connectivity_mask(edge_index, 12)  # (N, N)
    out, alpha_dense = functional.masked_attention(x, weight, a_src, a_dst, mask)  # (N, H, F'), (H, N, N)

    z = (x @ weight.T).view(12, 3, 4)  # (N, H, F')
    e = functional.edge_scores(functional.node_scores(z, a_src), functional.node_scores(z, a_dst), edge_index)
    alpha = functional.neighbourhood_softmax(e, edge_index, 12)  # (E, H)
    torch.testing.assert_close(functional.edge_coefficients(alpha_dense, edge_index), alpha)
    torch.testing.assert_close(out, functional.aggregate(alpha, z, edge_index))
    assert bool(torch.isfinite(alpha_dense).all()) and (alpha_dense != 0).sum() == edge_index.shape[1] * 3
    sparse_out, _ = functional.masked_attention(x.to_sparse_csr(), weight, a_src, a_dst, mask)
    torch.testing.assert_close(sparse_out, out)


def test_masked_attention_drops_before_aggregating_and_returns_alpha_undropped():
    edge_index, _, a_src, a_dst = inputs(0)
    x, weight = torch.randn(12, 5), torch.randn(12, 5)  # (N, F), (H*F', F) with H = 3, F' = 4
    mask = functional.connectivity_mask(edge_index, 12)
    out, alpha = functional.masked_attention(x, weight, a_src, a_dst, mask)
    halved, alpha_halved = functional.masked_attention(x, weight, a_src, a_dst, mask,
                                                       drop_attention=lambda a: a / 2)
    zeroed, _ = functional.masked_attention(x, weight, a_src, a_dst, mask, drop_values=torch.zeros_like)
    torch.testing.assert_close(halved, out / 2)
    assert torch.equal(alpha_halved, alpha) and not zeroed.any()


def loop_max(e, edge_index, num_nodes):
    """Each target's largest incoming score, one target at a time; 0 for a node without incoming edges."""
    top = torch.zeros(num_nodes, e.shape[1], dtype=e.dtype)
    for i in range(num_nodes):
        incoming = edge_index[1] == i
        if incoming.any():
            top[i] = e[incoming].amax(dim=0)
    return top


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_neighbourhood_max_equals_a_loop_over_targets(seed, dtype):
    edge_index = random_graph(12, 10, seed, self_loops=False)  # (2, 10): some nodes receive nothing
    assert (torch.bincount(edge_index[1], minlength=12) == 0).any()
    e = 100 * torch.randn(edge_index.shape[1], 3, generator=torch.Generator().manual_seed(seed)).to(dtype)
    given = (e.clone(), edge_index.clone())
    top = functional.neighbourhood_max(e, edge_index, 12)
    assert top.shape == (12, 3) and top.dtype == dtype
    assert torch.equal(top, loop_max(e, edge_index, 12))
    assert torch.equal(e, given[0]) and torch.equal(edge_index, given[1])


def test_neighbourhood_max_keeps_negative_maxima_and_gives_a_node_without_incoming_edges_0():
    edge_index = torch.tensor([[0, 1, 2, 0, 1], [1, 1, 0, 0, 1]])  # node 2 receives nothing
    e = torch.tensor([[-300.0, 2.0], [-301.0, 5.0], [-math.inf, 1.0], [7.0, -math.inf], [-302.0, 3.0]])  # (E, H)
    top = functional.neighbourhood_max(e, edge_index, 3)
    assert top.tolist() == [[7.0, 1.0], [-300.0, 5.0], [0.0, 0.0]]


def test_neighbourhood_max_passes_the_gradient_to_the_edge_holding_each_maximum():
    edge_index = torch.tensor([[0, 1, 2, 2], [2, 2, 2, 0]])
    e = torch.tensor([[1.0], [4.0], [2.0], [-1.0]], requires_grad=True)  # (E, H=1)
    functional.neighbourhood_max(e, edge_index, 3).sum().backward()
    assert e.grad.squeeze(1).tolist() == [0.0, 1.0, 0.0, 1.0]


# --- GATv2 -----------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(3))
def test_gatv2_scores_follow_the_paper(seed):
    edge_index, z_src, a, _ = inputs(seed)
    z_dst = torch.randn(z_src.shape, generator=torch.Generator().manual_seed(seed + 10))  # (N, H, F')
    e = functional.gatv2_scores(z_src, z_dst, a, edge_index, negative_slope=0.1)
    assert e.shape == (edge_index.shape[1], z_src.shape[1])
    for k, (j, i) in enumerate(edge_index.T.tolist()):
        for h in range(z_src.shape[1]):
            expected = a[h] @ F.leaky_relu(z_dst[i, h] + z_src[j, h], 0.1)
            torch.testing.assert_close(e[k, h], expected)


def test_gatv2_scores_apply_a_after_the_nonlinearity_unlike_gat():
    # One head, F' = 2, scalar inputs: a = [1, 1] after LeakyReLU of [u, -u] gives 0.8 |u|, not 0.
    z = torch.tensor([[[1.0, -1.0]], [[-1.0, 1.0]]])  # (N=2, H=1, F'=2)
    a = torch.tensor([[1.0, 1.0]])  # (H, F')
    edge_index = torch.tensor([[0, 1, 0, 1], [0, 0, 1, 1]])
    e = functional.gatv2_scores(z, z, a, edge_index)  # pairs: 0+0, 1+0, 0+1, 1+1
    torch.testing.assert_close(e[:, 0], torch.tensor([1.6, 0.0, 0.0, 1.6]))
    gat = functional.edge_scores(functional.node_scores(z, a), functional.node_scores(z, a), edge_index)
    torch.testing.assert_close(gat[:, 0], torch.zeros(4))  # a . z = 0 for both nodes: GAT sees no difference
