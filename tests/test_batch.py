"""gatkit.batch: many graphs as one disconnected graph, and a GAT that cannot tell the difference."""

from __future__ import annotations

import pytest
import torch

from gatkit.batch import Graph, GraphBatch, collate
from gatkit.layers import GAT, LAYER_TYPES


def random_graph(num_nodes: int, num_edges: int, seed: int, features: int = 3) -> Graph:
    """Random features, distinct random directed edges in random order, one label per node."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(num_nodes, features, generator=generator)  # (N, F)
    codes = torch.randperm(num_nodes * num_nodes, generator=generator)[:num_edges]  # distinct pairs
    edge_index = torch.stack([codes // num_nodes, codes % num_nodes])  # (2, E)
    y = torch.randint(4, (num_nodes,), generator=generator)  # (N,)
    return Graph(x, edge_index, y)


def sizes_and_edges():
    """Graphs of different sizes: one node alone, one without edges, dense, sparse."""
    return [(1, 0), (4, 6), (3, 0), (6, 20), (2, 4), (5, 3)]


@pytest.fixture
def graphs() -> list[Graph]:
    return [random_graph(n, e, seed) for seed, (n, e) in enumerate(sizes_and_edges())]


# --------------------------------------------------------------------------
# Offsets and the batch vector
# --------------------------------------------------------------------------

def test_two_hand_checkable_graphs():
    a = Graph(torch.tensor([[1.0], [2.0]]), torch.tensor([[0, 1], [1, 0]]), y=torch.tensor([0, 1]))
    b = Graph(torch.tensor([[3.0], [4.0], [5.0]]), torch.tensor([[2, 0], [1, 1]]), y=torch.tensor([1, 1, 0]))
    batch = collate([a, b])
    assert isinstance(batch, GraphBatch)
    assert batch.x.flatten().tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert batch.edge_index.tolist() == [[0, 1, 4, 2], [1, 0, 3, 3]]  # b's edges shifted by 2
    assert batch.y.tolist() == [0, 1, 1, 1, 0]
    assert batch.batch.tolist() == [0, 0, 1, 1, 1]
    assert batch.ptr.tolist() == [0, 2, 5]
    assert batch.num_graphs == 2 and batch.num_nodes == 5 and batch.num_edges == 4
    assert batch.graph_sizes.tolist() == [2, 3] and batch.label_mask is None


def test_each_graph_keeps_its_rows_and_its_edges_shifted_by_the_nodes_before_it(graphs):
    batch = collate(graphs)
    offset, column = 0, 0
    for g, graph in enumerate(graphs):
        rows = slice(offset, offset + graph.num_nodes)
        assert torch.equal(batch.x[rows], graph.x) and torch.equal(batch.y[rows], graph.y)
        assert batch.batch[rows].eq(g).all() and batch.ptr[g] == offset
        assert torch.equal(batch.edge_index[:, column:column + graph.num_edges], graph.edge_index + offset)
        offset, column = offset + graph.num_nodes, column + graph.num_edges
    assert batch.ptr[-1] == offset == batch.num_nodes and column == batch.num_edges


def test_no_edge_joins_two_graphs(graphs):
    batch = collate(graphs)
    assert torch.equal(batch.batch[batch.edge_index[0]], batch.batch[batch.edge_index[1]])


def test_graphs_without_edges():
    alone = Graph(torch.zeros(2, 1), torch.empty(2, 0, dtype=torch.long))
    batch = collate([alone, alone])
    assert batch.edge_index.shape == (2, 0) and batch.edge_index.dtype == torch.long
    batch = collate([alone, Graph(torch.zeros(2, 1), torch.tensor([[0], [1]]))])
    assert batch.edge_index.tolist() == [[2], [3]]


def test_one_graph_is_its_own_batch(graphs):
    batch = collate(graphs[1:2])
    assert torch.equal(batch.edge_index, graphs[1].edge_index) and batch.batch.eq(0).all()


def test_label_masks_are_concatenated_and_a_missing_one_means_every_node():
    masked = Graph(torch.zeros(3, 2), torch.tensor([[0], [1]]), y=torch.tensor([7]),
                   label_mask=torch.tensor([False, True, False]))
    plain = Graph(torch.zeros(2, 2), torch.tensor([[1], [0]]), y=torch.tensor([8, 9]))
    batch = collate([masked, plain, masked])
    assert batch.label_mask.tolist() == [False, True, False, True, True, False, True, False]
    assert batch.y.tolist() == [7, 8, 9, 7]
    assert batch.batch[batch.label_mask].tolist() == [0, 1, 1, 2]


def test_graphs_without_labels_give_a_batch_without_labels(graphs):
    unlabelled = [Graph(g.x, g.edge_index) for g in graphs]
    assert collate(unlabelled).y is None


def test_integer_token_features_are_stacked_too():
    tokens = Graph(torch.tensor([[0, 3], [1, 2]]), torch.tensor([[1], [0]]))
    assert collate([tokens, tokens]).x.tolist() == [[0, 3], [1, 2], [0, 3], [1, 2]]


def test_to_is_a_no_op_where_the_tensors_already_are(graphs):
    batch = collate(graphs)
    assert batch.to("cpu") is batch and graphs[0].to(torch.device("cpu")) is graphs[0]


# --------------------------------------------------------------------------
# A GAT on the batch computes what it computes on each graph
# --------------------------------------------------------------------------

MODELS = [dict(layer_type=t) for t in sorted(LAYER_TYPES)] + [dict(attention="gatv2")]


@pytest.mark.parametrize("options", MODELS, ids=lambda o: "-".join(map(str, o.values())))
def test_gat_gives_the_same_outputs_on_the_batch_as_on_each_graph(graphs, options):
    torch.manual_seed(0)
    model = GAT([3, 4, 5], [2, 1], **options).eval()
    batch = collate(graphs)
    with torch.no_grad():
        together = model(batch.x, batch.edge_index)  # (N, C)
        alone = [model(g.x, g.edge_index) for g in graphs]  # G of (N_g, C)
    for got, expected in zip(together.split(batch.graph_sizes.tolist()), alone):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_attention_coefficients_stay_inside_each_graph(graphs):
    torch.manual_seed(0)
    model = GAT([3, 4, 5], [2, 1]).eval()
    batch = collate(graphs)
    with torch.no_grad():
        _, alphas = model(batch.x, batch.edge_index, return_attention=True)  # each (E, H)
        alone = [model(g.x, g.edge_index, return_attention=True)[1] for g in graphs]
    for layer, alpha in enumerate(alphas):
        expected = torch.cat([per_graph[layer] for per_graph in alone])  # (E, H), same column order
        torch.testing.assert_close(alpha, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("attention", ["gat", "gatv2"])
def test_messages_never_cross_graphs(graphs, attention):
    torch.manual_seed(0)
    model = GAT([3, 4, 5], [2, 1], attention=attention).eval()
    batch = collate(graphs)
    x = batch.x.clone().requires_grad_(True)  # (N, F)
    out = model(x, batch.edge_index)  # (N, C)
    for g in range(batch.num_graphs):
        nodes = batch.batch == g  # (N,)
        (grad,) = torch.autograd.grad(out[nodes].sum(), x, retain_graph=True)  # (N, F)
        assert grad[~nodes].eq(0).all(), f"graph {g}'s outputs depend on another graph's features"


def test_changing_one_graph_changes_no_other_graphs_outputs(graphs):
    torch.manual_seed(0)
    model = GAT([3, 4, 5], [2, 1]).eval()
    batch = collate(graphs)
    changed = [graphs[0], Graph(graphs[1].x + 10.0, graphs[1].edge_index, graphs[1].y)] + graphs[2:]
    with torch.no_grad():
        before = model(batch.x, batch.edge_index)  # (N, C)
        after = model(collate(changed).x, batch.edge_index)  # (N, C)
    others = batch.batch != 1  # (N,)
    torch.testing.assert_close(after[others], before[others])
    assert not torch.allclose(after[batch.batch == 1], before[batch.batch == 1])


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------

def test_collate_refuses_what_cannot_be_stacked(graphs):
    cases = [
        ([], "collate needs at least one graph"),
        ([graphs[0], "graph"], "graphs[1] is a str, not a gatkit.batch.Graph"),
        ([graphs[0], Graph(torch.zeros(2, 4), torch.empty(2, 0, dtype=torch.long))],
         "graph 1 has x of shape (2, 4)"),
        ([graphs[0], Graph(torch.zeros(2, 3, dtype=torch.float64), torch.empty(2, 0, dtype=torch.long))],
         "only the first dimension may differ"),
        ([graphs[0], Graph(graphs[1].x, graphs[1].edge_index)], "graph 1 has no y but graph 0 has"),
        ([graphs[0], Graph(graphs[1].x, graphs[1].edge_index, graphs[1].y.float())], "graph 1 has y"),
    ]
    for given, words in cases:
        with pytest.raises(ValueError, match=r"^[^\n]*$") as error:
            collate(given)
        assert words in str(error.value)


@pytest.mark.parametrize("kwargs, words", [
    (dict(x=torch.tensor(1.0)), "x must be a tensor with one row per node"),
    (dict(x=torch.zeros(0, 2)), "a graph needs at least one node"),
    (dict(edge_index=torch.tensor([[0], [3]])), "valid ids are 0 .. 2"),
    (dict(edge_index=torch.tensor([[0, 1]])), "edge_index must have shape (2, E)"),
    (dict(y=torch.zeros(2)), "y must have one row per node, 3 rows"),
    (dict(label_mask=torch.tensor([1, 0, 1])), "label_mask must be a bool tensor of shape (3,)"),
    (dict(label_mask=torch.tensor([True, False])), "label_mask must be a bool tensor of shape (3,)"),
    (dict(y=torch.zeros(3), label_mask=torch.tensor([True, False, False])),
     "y must have one row per labelled node (True in label_mask), 1 rows"),
])
def test_a_graph_checks_itself_when_built(kwargs, words):
    fields = dict(x=torch.zeros(3, 2), edge_index=torch.tensor([[0], [1]])) | kwargs
    with pytest.raises(ValueError, match=r"^[^\n]*$") as error:
        Graph(**fields)
    assert words in str(error.value)
