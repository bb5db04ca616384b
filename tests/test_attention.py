"""gatkit.attention, its pictures (gatkit.viz.attention) and the attention explorer: the numbers
against independent references, and what the pictures draw (widths on one absolute scale), not
just that they run."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402

from gatkit import attention, explorer, viz  # noqa: E402
from course.checks.cases import random_attention, random_graph  # noqa: E402
from gatkit.data import load_planetoid  # noqa: E402

LN2 = math.log(2)


@pytest.fixture(scope="module")
def cora():
    return load_planetoid("cora", progress=False)


@pytest.fixture(scope="module")
def cora_alphas(cora):
    """Attention on Cora's edges with self-loops: 8 heads, then 1, far from uniform."""
    edges = cora.edge_index_with_self_loops
    return [random_attention(edges, cora.num_nodes, 8, seed=1), random_attention(edges, cora.num_nodes, 1, seed=2)]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _star(weights):
    """Node 0 attends over len(weights) incoming edges from 0, 1, 2, ...: (edge_index, alpha (E, 1))."""
    k = len(weights)
    edge_index = torch.stack([torch.arange(k), torch.zeros(k, dtype=torch.long)])  # (2, k)
    return edge_index, torch.tensor(weights, dtype=torch.float64).unsqueeze(1)  # (k, 1)


def _dense(edge_index, alpha, num_nodes):
    """(H, N, N) with [h, i, j] = alpha of the edge j -> i: an independent layout to compare with."""
    dense = torch.zeros(alpha.shape[1], num_nodes, num_nodes, dtype=alpha.dtype)
    for k, (j, i) in enumerate(edge_index.T.tolist()):
        dense[:, i, j] += alpha[k]
    return dense


# --- numbers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("weights, expected", [
    ([0.25] * 4, math.log(4)),
    ([1.0, 0.0, 0.0], 0.0),  # one-hot: 0 ln 0 counts as 0, not nan
    ([0.5, 0.25, 0.25], 1.5 * LN2),
    ([1.0], 0.0),
    ([0.5, 0.5, 0.0], LN2),
])
def test_entropy_by_hand(weights, expected):
    edge_index, alpha = _star(weights)
    entropy = attention.attention_entropy(alpha, edge_index, len(weights))  # (N, 1)
    assert entropy.shape == (len(weights), 1) and entropy.dtype == torch.float64
    assert entropy[0, 0].item() == pytest.approx(expected, abs=1e-12)
    flat = attention.attention_entropy(alpha[:, 0], edge_index, len(weights))  # (E,) in, (N,) out
    assert flat.shape == (len(weights),) and flat[0].item() == pytest.approx(expected, abs=1e-12)


def test_entropy_is_nan_without_incoming_edges_and_in_nats_per_target():
    edge_index = torch.tensor([[0, 1, 1], [1, 1, 0]])  # node 2 receives nothing, node 1 two edges
    alpha = torch.tensor([[0.5, 0.9], [0.5, 0.1], [1.0, 1.0]])  # (E, H=2)
    entropy = attention.attention_entropy(alpha, edge_index, 3)
    assert torch.isnan(entropy[2]).all() and not torch.isnan(entropy[:2]).any()
    torch.testing.assert_close(entropy[1], torch.tensor([LN2, -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))]))
    torch.testing.assert_close(entropy[0], torch.zeros(2))


def test_entropy_matches_a_dense_per_row_computation(cora, cora_alphas):
    edges, alpha = cora.edge_index_with_self_loops, cora_alphas[0]
    sub = edges[:, edges[1] < 300]  # the neighbourhoods of nodes 0 .. 299 (sources may be any node)
    dense = _dense(sub, alpha[edges[1] < 300].double(), cora.num_nodes)[:, :300]  # (H, 300, N)
    expected = -torch.xlogy(dense, dense).sum(dim=2).T  # (300, H)
    got = attention.attention_entropy(alpha.double(), edges, cora.num_nodes)[:300]
    torch.testing.assert_close(got, expected)


def test_node_attention_is_row_node_of_the_dense_matrix():
    num_nodes = 25
    edge_index = random_graph(num_nodes, 90, seed=5)  # directed: in- and out-neighbours differ
    alpha = random_attention(edge_index, num_nodes, 3, seed=6)  # (E, 3)
    dense = _dense(edge_index, alpha, num_nodes)  # (H, N, N)
    torch.testing.assert_close(dense.sum(dim=2), torch.ones(3, num_nodes))  # rows are distributions
    for node in range(num_nodes):
        sources, weights = attention.node_attention(edge_index, alpha, node)
        assert node in sources.tolist(), "the self-loop is one of the incoming edges"
        torch.testing.assert_close(weights, dense[:, node, sources].T)
        others = torch.ones(num_nodes, dtype=torch.bool)
        others[sources] = False
        assert (dense[:, node, others] == 0).all(), "every neighbour with a weight is returned"


def test_node_attention_on_cora_hub(cora, cora_alphas):
    edges = cora.edge_index_with_self_loops
    sources, weights = attention.node_attention(edges, cora_alphas[0], 1358, num_nodes=cora.num_nodes)
    assert weights.shape == (169, 8) and len(sources) == 169
    assert set(sources.tolist()) == set(cora.edge_index[0, cora.edge_index[1] == 1358].tolist()) | {1358}
    torch.testing.assert_close(weights.sum(dim=0), torch.ones(8))


def test_uniform_entropy_is_log_in_degree_like_networkx():
    num_nodes = 30
    edge_index = random_graph(num_nodes, 100, seed=7)
    g = nx.DiGraph()
    g.add_nodes_from(range(num_nodes))
    g.add_edges_from(edge_index.T.tolist())  # source -> target
    in_degree = torch.tensor([g.in_degree(n) for n in range(num_nodes)], dtype=torch.float32)
    out_degree = torch.tensor([g.out_degree(n) for n in range(num_nodes)], dtype=torch.float32)
    assert not torch.equal(in_degree, out_degree), "the test graph must tell the two apart"
    uniform = attention.uniform_entropy(edge_index, num_nodes)
    assert uniform.dtype == torch.float32
    torch.testing.assert_close(uniform, in_degree.log())
    torch.testing.assert_close(uniform, torch.bincount(edge_index[1], minlength=num_nodes).float().log())
    lonely = attention.uniform_entropy(torch.tensor([[0], [0]]), 2)  # node 1 has no incoming edge
    assert lonely[0] == 0 and torch.isnan(lonely[1])


def test_uniform_attention_has_zero_gap_and_ratio_one(cora):
    edges = cora.edge_index_with_self_loops
    in_degree = torch.bincount(edges[1], minlength=cora.num_nodes).float()
    uniform_alpha = (1 / in_degree[edges[1]]).unsqueeze(1).repeat(1, 2)  # (E, 2)
    gap = attention.entropy_gap(uniform_alpha, edges, cora.num_nodes)
    assert gap.shape == (2,) and gap.dtype == torch.float64 and gap.abs().max() < 1e-6
    torch.testing.assert_close(attention.attention_ratio(uniform_alpha, edges, cora.num_nodes),
                               torch.ones_like(uniform_alpha))


def test_entropy_gap_is_the_mean_kl_divergence_from_uniform(cora, cora_alphas):
    edges, alpha = cora.edge_index_with_self_loops, cora_alphas[0].double()
    in_degree = torch.bincount(edges[1], minlength=cora.num_nodes).double()
    kl_terms = alpha * torch.log(alpha * in_degree[edges[1], None])  # (E, H)
    kl = torch.zeros(cora.num_nodes, 8, dtype=torch.float64).index_add_(0, edges[1], kl_terms)  # (N, H)
    assert (kl > -1e-6).all()  # float32 coefficients summing to 1 up to rounding
    gap = attention.entropy_gap(cora_alphas[0], edges, cora.num_nodes)
    torch.testing.assert_close(gap, kl.mean(dim=0), rtol=1e-5, atol=1e-6)
    assert (gap > 0.1).all(), "random attention is far from uniform"
    relative = attention.entropy_gap(cora_alphas[0], edges, cora.num_nodes, relative=True)
    torch.testing.assert_close(relative, gap / in_degree.log().mean())
    assert attention.entropy_gap(cora_alphas[1][:, 0], edges, cora.num_nodes).dim() == 0


def test_bad_inputs_are_refused_with_clear_messages(cora, cora_alphas):
    edges, alpha, y = cora.edge_index_with_self_loops, cora_alphas[0], cora.y
    with pytest.raises(ValueError, match="rows.*columns"):
        attention.node_attention(edges, alpha[:-1], 0)
    with pytest.raises(ValueError, match="transposed"):
        attention.attention_entropy(alpha.T.contiguous(), edges, cora.num_nodes)
    with pytest.raises(ValueError, match="node id"):
        attention.node_attention(edges, alpha, cora.num_nodes)
    with pytest.raises(ValueError, match="node id"):
        attention.node_attention(edges, alpha, -1)
    with pytest.raises(ValueError, match="integer node id"):
        attention.node_attention(edges, alpha, 2.0)
    with pytest.raises(ValueError, match="negative"):
        attention.attention_entropy(-alpha, edges, cora.num_nodes)
    with pytest.raises(ValueError, match="floating"):
        attention.attention_entropy(torch.ones(edges.shape[1], 1, dtype=torch.long), edges, cora.num_nodes)
    with pytest.raises(ValueError, match="shape"):
        attention.uniform_entropy(edges.T, cora.num_nodes)
    with pytest.raises(ValueError, match="valid ids"):
        attention.uniform_entropy(edges, 100)
    with pytest.raises(ValueError, match="layout"):
        viz.draw_attention(edges, alpha, y, 0, layout="circle")
    with pytest.raises(ValueError, match="head"):
        viz.draw_attention(edges, alpha, y, 0, head=8)
    with pytest.raises(ValueError, match="max_width"):
        viz.draw_attention(edges, alpha, y, 0, max_width=0)
    with pytest.raises(ValueError, match="no incoming edges"):
        viz.draw_attention(cora.edge_index[:, cora.edge_index[1] != 0],
                           alpha[: cora.edge_index.shape[1]][cora.edge_index[1] != 0], y, 0)
    with pytest.raises(ValueError, match="same layers and heads"):
        viz.plot_entropy_histograms(cora_alphas, edges, cora.num_nodes, baseline_alphas=cora_alphas[:1])


def test_the_shared_input_helpers_are_public_and_check_what_they_promise():
    edge_index = torch.tensor([[0, 1, 2, 1], [0, 0, 0, 1]])
    alpha = torch.tensor([[0.5, 0.2], [0.25, 0.3], [0.25, 0.5], [1.0, 1.0]])  # (E, H=2)
    assert attention.check_alpha(alpha, edge_index) is alpha
    assert attention.check_alpha(alpha[:, 0], edge_index).shape == (4, 1)
    with pytest.raises(ValueError, match="transposed"):
        attention.check_alpha(torch.rand(2, 4), edge_index)
    assert attention.check_node(torch.tensor(2), 3) == 2 and isinstance(attention.check_node(torch.tensor(2), 3), int)
    for bad in (3, -1, True, 1.0):
        with pytest.raises(ValueError, match="node"):
            attention.check_node(bad, 3)
    torch.testing.assert_close(attention.head_weights(alpha, 1), alpha[:, 1])
    torch.testing.assert_close(attention.head_weights(alpha, "mean"), alpha.mean(dim=1))
    for bad in (2, -1, "max", True):
        with pytest.raises(ValueError, match="head"):
            attention.head_weights(alpha, bad)


# --- pictures ----------------------------------------------------------------------------------

def _attention_lines(fig):
    (lines,) = [c for c in fig.axes[0].collections if isinstance(c, LineCollection) and c.get_gid() == "attention"]
    (ring,) = [c for c in fig.axes[0].collections if c.get_gid() == "self-attention"]
    return lines, ring


@pytest.mark.parametrize("layout", viz.attention.LAYOUTS)
def test_edge_widths_are_on_one_absolute_scale(cora, cora_alphas, layout):
    edges, alpha = cora.edge_index_with_self_loops, cora_alphas[0]
    factors = []
    for node, head in ((1358, 0), (0, 3), (1701, "mean")):
        fig = viz.draw_attention(edges, alpha, cora.y, node, head=head, layout=layout,
                                 class_names=cora.class_names)
        sources, weights = attention.node_attention(edges, alpha, node)
        weights = weights.mean(dim=1) if head == "mean" else weights[:, head]  # (k,)
        lines, ring = _attention_lines(fig)
        widths = np.asarray(lines.get_linewidths())
        neighbours = (sources != node).numpy()
        assert len(lines.get_segments()) == neighbours.sum() == len(widths)
        factors.append(widths / weights.numpy()[neighbours])
        self_weight = float(weights[sources == node])
        assert np.asarray(ring.get_linewidths())[0] == pytest.approx(self_weight * viz.WIDTH_PER_UNIT)
        segment_ends = np.array([segment[1] for segment in lines.get_segments()])
        assert np.allclose(segment_ends, 0.0), "every attention edge ends at the node in the middle"
    for factor in factors:  # the same points-per-unit for every node: not rescaled per picture
        np.testing.assert_allclose(factor, viz.WIDTH_PER_UNIT, rtol=1e-5)
    fig = viz.draw_attention(edges, alpha, cora.y, 0, head=3, layout=layout, max_width=4.0)
    lines, _ = _attention_lines(fig)
    _, weights = attention.node_attention(edges, alpha, 0)
    np.testing.assert_allclose(np.asarray(lines.get_linewidths()), 4.0 * weights[1:, 3].numpy(), rtol=1e-5)


def test_draw_attention_colours_legends_and_title(cora, cora_alphas):
    edges, alpha = cora.edge_index_with_self_loops, cora_alphas[0]
    fig = viz.draw_attention(edges, alpha, cora.y, 1358, head=2, layer=1, class_names=cora.class_names)
    ax = fig.axes[0]
    assert "Node 1358 (Genetic_Algorithms)" in ax.get_title() and "layer 1, head 2" in ax.get_title()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    neighbours = cora.edge_index[0, cora.edge_index[1] == 1358]
    counts = torch.bincount(cora.y[neighbours], minlength=cora.num_classes)
    for c, name in enumerate(cora.class_names):
        assert (f"{name} ({int(counts[c])})" in legend) == bool(counts[c] > 0)
    key = [t.get_text() for t in ax.artists[0].get_texts()]
    assert key[:3] == ["weight 0.05", "weight 0.25", "weight 1"] and key[3] == "uniform 1/169 = 0.006"
    key_widths = [h.get_linewidth() for h in ax.artists[0].legend_handles]
    np.testing.assert_allclose(key_widths, np.array([0.05, 0.25, 1.0, 1 / 169]) * viz.WIDTH_PER_UNIT)
    dots = [c for c in ax.collections if isinstance(c, PathCollection) and len(c.get_offsets()) == 168]
    assert len(dots) == 1  # one dot per neighbour
    colours = np.array(dots[0].get_facecolors())[:, :3]
    assert {tuple(np.round(c, 6)) for c in colours} == {
        tuple(np.round(viz.class_colours(cora.num_classes)[c], 6)) for c in cora.y[neighbours].tolist()}


def test_kk_layout_draws_links_between_neighbours_and_tree_does_not(cora, cora_alphas):
    edges = cora.edge_index_with_self_loops
    kk = viz.draw_attention(edges, cora_alphas[0], cora.y, 1358, layout="kk")
    tree = viz.draw_attention(edges, cora_alphas[0], cora.y, 1358, layout="tree")
    assert any(c.get_gid() == "context" for c in kk.axes[0].collections)
    assert not any(c.get_gid() == "context" for c in tree.axes[0].collections)


def test_figures_save_to_png(cora, cora_alphas, tmp_path):
    edges, n = cora.edge_index_with_self_loops, cora.num_nodes
    figures = {
        "tree": viz.draw_attention(edges, cora_alphas[0], cora.y, 0, class_names=cora.class_names),
        "kk": viz.draw_attention(edges, cora_alphas[1], cora.y, 1358, layout="kk"),
        "entropy": viz.plot_entropy_histograms(cora_alphas, edges, n, baseline_alphas=cora_alphas),
        "ratios": viz.plot_attention_ratios(cora_alphas, edges, n),
    }
    for name, fig in figures.items():
        path = tmp_path / f"{name}.png"
        fig.savefig(path, dpi=50)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5_000


def test_entropy_histograms_one_panel_per_head_on_shared_bins(cora, cora_alphas):
    edges, n = cora.edge_index_with_self_loops, cora.num_nodes
    fig = viz.plot_entropy_histograms(cora_alphas, edges, n, baseline_alphas=cora_alphas)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 9
    assert [ax.get_title() for ax in panels] == [f"layer 1, head {h}" for h in range(8)] + ["layer 2, head 0"]
    uniform = attention.uniform_entropy(edges, n)
    for ax, (alpha, h) in zip(panels, [(cora_alphas[0], h) for h in range(8)] + [(cora_alphas[1], 0)]):
        counts = [p.get_height() for p in ax.patches if p.get_facecolor()[:3] == pytest.approx((0.82,) * 3)]
        assert sum(counts) == n  # every node's uniform entropy, once
        gap = float(attention.entropy_gap(alpha[:, h], edges, n))
        assert f"{gap:.2g} nats" in ax.texts[0].get_text()
    assert float(uniform.max()) == pytest.approx(math.log(169), rel=1e-6)


# --- the explorer ------------------------------------------------------------------------------

def test_explore_attention_returns_the_drawing_and_a_sorted_table(cora, cora_alphas):
    edges = cora.edge_index_with_self_loops
    fig, table = explorer.explore_attention(cora, cora_alphas, "highest degree", layer=1, head=5)
    assert "Node 1358" in fig.axes[0].get_title() and "layer 1, head 5" in fig.axes[0].get_title()
    sources, weights = attention.node_attention(edges, cora_alphas[0], 1358)
    assert len(table) == 169 and sum(row["self_loop"] for row in table) == 1
    assert sorted(row["source"] for row in table) == sorted(sources.tolist())
    assert [row["weight"] for row in table] == sorted((row["weight"] for row in table), reverse=True)
    by_source = dict(zip(sources.tolist(), weights[:, 5].tolist()))
    for row in table:
        assert row["weight"] == pytest.approx(by_source[row["source"]])
        assert row["ratio"] == pytest.approx(row["weight"] * 169)
        assert row["class"] == cora.class_names[int(cora.y[row["source"]])]
    text = explorer.format_attention_table(table, max_rows=3)
    assert f"{table[0]['source']:>7d}" in text and "166 more" in text


def test_explore_attention_layers_heads_and_errors(cora, cora_alphas):
    mean_table = explorer.attention_table(cora, cora_alphas, 0, layer=1, head="mean")
    _, weights = attention.node_attention(cora.edge_index_with_self_loops, cora_alphas[0], 0)
    assert sorted(row["weight"] for row in mean_table) == pytest.approx(sorted(weights.mean(dim=1).tolist()))
    layer2 = explorer.attention_table(cora, cora_alphas, 0, layer=2, head=0)
    _, weights2 = attention.node_attention(cora.edge_index_with_self_loops, cora_alphas[1], 0)
    assert sorted(row["weight"] for row in layer2) == pytest.approx(sorted(weights2[:, 0].tolist()))
    same = explorer.attention_table(cora, cora_alphas, "random", seed=4)
    assert same == explorer.attention_table(cora, cora_alphas, explorer.pick_node(cora, "random", seed=4))
    for bad in ({"layer": 0}, {"layer": 3}, {"head": 1, "layer": 2}):
        with pytest.raises(ValueError):
            explorer.explore_attention(cora, cora_alphas, 0, **bad)
    with pytest.raises(ValueError):
        explorer.explore_attention(cora, cora_alphas, cora.num_nodes)


def test_the_attention_widget_wires_controls_to_the_callback(cora, cora_alphas, capsys):
    panel = explorer.attention_explorer(cora, cora_alphas)
    controls, _output = panel.children
    (how, layout), (node_id, _seed), (layer, head) = (box.children for box in controls.children)
    assert list(head.options) == [*range(8), "mean"]
    layer.value = 2
    assert list(head.options) == [0, "mean"]
    how.value = "node id"
    node_id.value = 42
    layout.value = "kk"
    out = capsys.readouterr().out
    weights = explorer.attention_table(cora, cora_alphas, 42, layer=2, head=0)
    assert f"{weights[0]['weight']:7.4f}" in out
    assert plt.get_fignums() == [], "the widget closes the figures it shows"


# --- top_source: every target's favourite source (chapter 11) ----------------------------------------

def _top_source_by_loops(scores, edge_index, num_nodes):
    """An independent reference: walk the columns in order, keep the first strict maximum."""
    result = torch.full((num_nodes, scores.shape[1]), -1, dtype=torch.long)
    best = torch.full((num_nodes, scores.shape[1]), -math.inf, dtype=torch.float64)
    for column, (j, i) in enumerate(edge_index.T.tolist()):
        for h in range(scores.shape[1]):
            if result[i, h] == -1 or scores[column, h] > best[i, h]:
                result[i, h], best[i, h] = j, scores[column, h]
    return result


def test_top_source_by_hand_with_a_tie_and_an_isolated_node():
    edge_index = torch.tensor([[2, 0, 1, 0, 3], [0, 0, 0, 1, 1]])  # 2, 0, 1 -> 0; 0, 3 -> 1
    scores = torch.tensor([[1.0, 5.0], [3.0, 0.0], [3.0, -1.0], [0.5, -2.0], [0.25, -1.0]])  # (E, H=2)
    got = attention.top_source(scores, edge_index, 4)  # nodes 2 and 3 receive nothing
    assert got.dtype == torch.long and got.tolist() == [[0, 2], [0, 3], [-1, -1], [-1, -1]]  # tie: first column
    assert attention.top_source(scores[:, 1], edge_index, 4).tolist() == [2, 3, -1, -1]  # (E,) in, (N,) out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_top_source_matches_a_loop_on_shuffled_graphs_with_ties(seed):
    edge_index = random_graph(25, 90, seed=seed)  # shuffled columns, self-loops
    edge_index = edge_index[:, edge_index[1] != 7]  # node 7 receives nothing
    generator = torch.Generator().manual_seed(seed)
    scores = torch.randint(0, 3, (edge_index.shape[1], 4), generator=generator).float()  # (E, 4): many ties
    got = attention.top_source(scores, edge_index, 25)
    assert torch.equal(got, _top_source_by_loops(scores, edge_index, 25))
    assert (got[7] == -1).all()


def test_top_source_is_the_same_for_scores_and_their_softmax():
    edge_index = random_graph(30, 120, seed=5)
    scores = torch.randn(edge_index.shape[1], 3, generator=torch.Generator().manual_seed(5))  # (E, 3)
    alpha = random_attention(edge_index, 30, 3, seed=6)  # unrelated coefficients: a control
    from gatkit.functional import neighbourhood_softmax
    softmaxed = neighbourhood_softmax(scores, edge_index, 30)  # (E, 3)
    assert torch.equal(attention.top_source(scores, edge_index, 30), attention.top_source(softmaxed, edge_index, 30))
    assert not torch.equal(attention.top_source(scores, edge_index, 30), attention.top_source(alpha, edge_index, 30))


def test_top_source_without_edges_and_bad_inputs():
    assert attention.top_source(torch.zeros(0, 2), torch.zeros(2, 0, dtype=torch.long), 3).tolist() == [[-1, -1]] * 3
    with pytest.raises(ValueError):
        attention.top_source(torch.zeros(3, 1), torch.tensor([[0, 1], [1, 0]]), 2)  # 3 rows, 2 edges
