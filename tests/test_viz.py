"""gatkit.viz figures and the gatkit.explorer callback: what they draw, not just that they run;
and the clear error when the plot extra is missing."""

import random
import subprocess
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from gatkit import edges, explorer, graph, viz  # noqa: E402
from gatkit.data import load_planetoid  # noqa: E402

NAMES = ("Red", "Green", "Blue")


@pytest.fixture(scope="module")
def cora():
    return load_planetoid("cora", progress=False)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def small():
    """Two components (a 12-node ring with chords, a triangle) and two isolated nodes: 17 nodes."""
    ring = [(i, (i + 1) % 12) for i in range(12)] + [(0, 6), (3, 9)]
    triangle = [(12, 13), (13, 14), (14, 12)]
    pairs = torch.tensor(ring + triangle).T  # (2, M)
    edge_index = torch.cat([pairs, pairs.flip(0)], dim=1)  # (2, 2M)
    y = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 1, 2, 2, 2, 0, 1])
    return edge_index, y


def _collections(ax, kind):
    return [c for c in ax.collections if isinstance(c, kind)]


def test_class_colours_are_distinct_rgb_tuples():
    colours = viz.class_colours(7)
    assert len(set(colours)) == 7
    assert all(len(c) == 3 and all(isinstance(v, float) and 0 <= v <= 1 for v in c) for c in colours)
    assert len(set(viz.class_colours(12))) == 12
    with pytest.raises(ValueError):
        viz.class_colours(0)


def test_the_package_offers_every_figure_and_the_shared_style_helpers():
    from gatkit.viz import attention, embeddings, graphs, heterophily, style, training

    for module in (attention, embeddings, graphs, heterophily, style, training):
        for name in module.__all__:
            if name != "LAYOUTS":  # attention's layouts; graphs has others: kept under their module
                assert getattr(viz, name) is getattr(module, name), name
    offered = {name for module in (attention, embeddings, graphs, heterophily, style, training)
               for name in module.__all__}
    assert set(viz.__all__) == offered - {"LAYOUTS"}
    fig, ax = viz.figure_and_axes(None, figsize=(3, 2))
    assert viz.figure_and_axes(ax, figsize=(9, 9)) == (fig, ax)
    colours = np.array(viz.class_colours(3))
    viz.class_legend(ax, ["a", "b", "c"], colours, np.array([0, 0, 2]), title="classes")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a (2)", "c (1)"]


def test_without_matplotlib_importing_the_figures_says_how_to_install_them():
    code = textwrap.dedent("""
        import sys
        for name in ("matplotlib", "igraph", "networkx", "sklearn"):
            sys.modules[name] = None  # as if not installed
        from gatkit import attention, embeddings, explorer, extras  # the numbers need no extra
        try:
            import gatkit.viz
        except extras.MissingExtraError as error:
            assert isinstance(error, ImportError) and error.extra == "plot"
            print(error)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == ("gatkit.viz (figures) needs matplotlib, which is not installed; "
                             "install the plot extra: pip install 'gatkit[plot]'\n")


def test_require_imports_or_names_the_extra():
    from gatkit import extras

    assert extras.require("numpy", "plot", feature="x") is np
    with pytest.raises(extras.MissingExtraError,
                       match=r"t-SNE needs scikit-learn.*pip install 'gatkit\[plot\]'") as caught:
        extras.require("sklearn.not_a_module", "plot", feature="t-SNE")
    assert isinstance(caught.value, ImportError) and caught.value.extra == "plot"
    assert extras.install_command("widgets") == "pip install 'gatkit[widgets]'"
    with pytest.raises(ValueError, match="extra"):
        extras.install_command("everything")


def test_layout_is_seeded_and_packs_small_components_below(small):
    edge_index, y = small
    first = viz.graph_layout(edge_index, len(y), seed=3)
    state = random.getstate()
    assert np.array_equal(first, viz.graph_layout(edge_index, len(y), seed=3))
    assert random.getstate() == state, "the layout must not consume Python's global random state"
    assert not np.array_equal(first, viz.graph_layout(edge_index, len(y), seed=4))
    assert first.shape == (17, 2) and np.isfinite(first).all()
    giant, rest = first[:12], first[12:]
    assert giant.min() >= -1e-9 and giant.max() <= 1 + 1e-9
    assert (rest[:, 1] < 0).all(), "other components sit below the giant one"
    for method in ("drl", "kk"):
        assert viz.graph_layout(edge_index, len(y), method=method).shape == (17, 2)
    with pytest.raises(ValueError, match="method"):
        viz.graph_layout(edge_index, len(y), method="circle")


@pytest.mark.parametrize("backend", ["matplotlib", "igraph"])
def test_draw_graph_draws_every_node_and_edge_with_a_named_legend(small, backend):
    edge_index, y = small
    fig = viz.draw_graph(edge_index, y, class_names=NAMES, backend=backend)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    for c, name in enumerate(NAMES):
        assert f"{name} ({int((y == c).sum())})" in legend
    assert "17 nodes, 17 edges, 4 connected components" in ax.get_title()
    if backend == "matplotlib":
        (edges,) = _collections(ax, LineCollection)
        (nodes,) = _collections(ax, PathCollection)
        assert len(edges.get_segments()) == 17 and len(nodes.get_offsets()) == 17
        # node area grows with degree: the two degree-3 nodes are the largest
        sizes = nodes.get_sizes()
        assert sizes.max() > sizes.min()
    fig.canvas.draw()


def test_draw_graph_edge_width_follows_betweenness(small):
    edge_index, y = small
    fig = viz.draw_graph(edge_index, y, class_names=NAMES)
    (edges,) = _collections(fig.axes[0], LineCollection)
    widths = np.asarray(edges.get_linewidths())
    betweenness = np.array(graph.to_igraph(edge_index, len(y)).edge_betweenness())
    assert np.array_equal(np.argsort(widths, kind="stable"), np.argsort(betweenness, kind="stable"))


def test_draw_graph_rejects_bad_arguments(small):
    edge_index, y = small
    with pytest.raises(ValueError, match="shape"):
        viz.draw_graph(edge_index, y, layout=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="backend"):
        viz.draw_graph(edge_index, y, backend="cairo")


def test_neighbourhood_layout_puts_each_hop_on_its_ring(cora):
    nodes, distance, sub = edges.k_hop_subgraph(cora.edge_index, cora.num_nodes, 1358, 2)
    xy = viz.neighbourhood_layout(sub, distance, cora.y[nodes])
    assert np.allclose(np.hypot(xy[:, 0], xy[:, 1]), distance.numpy())
    # no two nodes share a position
    assert len(np.unique(np.round(xy, 9), axis=0)) == len(nodes)
    # the first ring is grouped by class: along the angle, each class is one run
    ring = np.flatnonzero(distance.numpy() == 1)
    angles = np.mod(np.arctan2(xy[ring, 1], xy[ring, 0]), 2 * np.pi)
    classes = cora.y[nodes][ring].numpy()[np.argsort(angles)]
    assert (np.diff(classes) != 0).sum() == len(set(classes)) - 1


@pytest.mark.parametrize("backend", ["matplotlib", "igraph"])
def test_draw_neighbourhood_highlights_the_centre(cora, backend):
    fig = viz.draw_neighbourhood(cora.edge_index, cora.y, 0, hops=2, class_names=cora.class_names,
                                 backend=backend)
    ax = fig.axes[0]
    within = edges.hop_distances(cora.edge_index, cora.num_nodes, 0, 2)
    assert f"{int((within > 0).sum())} nodes within 2 hops" in ax.get_title()
    assert "Neural_Networks" in ax.get_title()
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "node 0 (centre)" in texts
    if backend == "matplotlib":
        rest, centre = _collections(ax, PathCollection)
        assert len(rest.get_offsets()) == int((within > 0).sum())
        assert np.allclose(centre.get_offsets(), [[0, 0]])
    fig.canvas.draw()


def test_plot_degrees_shows_the_degrees(cora):
    fig = viz.plot_degrees(cora.edge_index, cora.num_nodes, name="cora")
    assert len(fig.axes) == 3
    degrees = graph.degree(cora.edge_index, cora.num_nodes).numpy()
    (dots,) = _collections(fig.axes[0], PathCollection)
    assert np.array_equal(dots.get_offsets()[:, 1], degrees)
    assert "node 1358: 168" in [t.get_text() for t in fig.axes[0].texts]
    k, counts = fig.axes[2].lines[0].get_data()
    assert dict(zip(k.tolist(), counts.tolist())) == {
        d: n for d, n in enumerate(graph.degree_distribution(torch.from_numpy(degrees)).tolist()) if n and d}


def test_class_balance_and_homophily_bars(cora):
    splits = {"train": cora.train_idx, "test": cora.test_idx}
    fig = viz.plot_class_balance(cora.y, splits, cora.class_names)
    heights = [p.get_height() for p in fig.axes[0].patches]
    test_share = torch.bincount(cora.y[cora.test_idx], minlength=7).double() / 1000
    assert heights[:7] == pytest.approx([1 / 7] * 7) and heights[7:] == pytest.approx(test_share.tolist())

    fig = viz.plot_homophily(cora.edge_index, cora.y, cora.class_names)
    bars = [p.get_height() for p in fig.axes[0].patches][:7]
    assert bars == pytest.approx(graph.class_homophily(cora.edge_index, cora.y, 7).tolist())


# --- the explorer ---------------------------------------------------------------------------------

def test_explore_returns_a_figure_and_correct_stats(cora):
    fig, stats = explorer.explore(cora, 1701, hops=2)
    assert isinstance(fig, Figure)
    nxg = graph.to_networkx(cora.edge_index, cora.num_nodes)
    neighbours = list(nxg.neighbors(1701))
    lengths = nx.single_source_shortest_path_length(nxg, 1701, cutoff=2)
    names = cora.class_names
    assert stats["node"] == 1701 and stats["class"] == names[int(cora.y[1701])]
    assert stats["degree"] == len(neighbours) and stats["hops"] == 2
    assert stats["nodes_per_hop"] == {k: sum(d == k for d in lengths.values()) for k in (1, 2)}
    mix = {}
    for m in neighbours:
        mix[names[int(cora.y[m])]] = mix.get(names[int(cora.y[m])], 0) + 1
    assert stats["neighbour_classes"] == mix
    assert list(stats["neighbour_classes"].values()) == sorted(mix.values(), reverse=True)
    same = sum(int(cora.y[m] == cora.y[1701]) for m in neighbours) / len(neighbours)
    assert stats["local_homophily"] == pytest.approx(same)
    around = [m for m, d in lengths.items() if d > 0]
    assert stats["same_class_within_hops"] == pytest.approx(
        sum(int(cora.y[m] == cora.y[1701]) for m in around) / len(around))
    assert stats["component_size"] == len(nx.node_connected_component(nxg, 1701))
    assert stats["split"] == "none"
    assert "node 1701" in explorer.format_stats(stats)


def test_explore_in_a_small_component_and_splits(cora):
    labels = graph.connected_components(cora.edge_index, cora.num_nodes)
    pair = int(torch.nonzero(torch.bincount(labels, minlength=cora.num_nodes) == 2)[0])
    _, stats = explorer.explore(cora, pair, hops=3)
    assert stats["component_size"] == 2 and stats["degree"] == 1
    assert stats["nodes_per_hop"] == {1: 1, 2: 0, 3: 0}
    assert explorer.neighbourhood_stats(cora, int(cora.train_idx[0]), 1)["split"] == "train"
    assert explorer.neighbourhood_stats(cora, int(cora.test_idx[0]), 1)["split"] == "test"


def test_pick_node_choices(cora):
    degrees = dict(graph.to_networkx(cora.edge_index, cora.num_nodes).degree())
    assert explorer.pick_node(cora, "highest degree") == max(degrees, key=degrees.get)
    before = torch.get_rng_state()
    draws = {explorer.pick_node(cora, "random", seed=s) for s in range(5)}
    assert torch.equal(before, torch.get_rng_state()), "random choice must not touch the global RNG"
    assert len(draws) > 1 and all(0 <= n < cora.num_nodes for n in draws)
    assert explorer.pick_node(cora, "random", seed=7) == explorer.pick_node(cora, "random", seed=7)
    assert explorer.pick_node(cora, torch.tensor(5)) == 5 and explorer.pick_node(cora, np.int64(6)) == 6
    for bad in (-1, cora.num_nodes, "biggest", 2.5, True):
        with pytest.raises(ValueError):
            explorer.pick_node(cora, bad)
    with pytest.raises(ValueError, match="hops"):
        explorer.explore(cora, 0, hops=0)


def test_the_widget_wires_controls_to_explore(cora, capsys):
    panel = explorer.explorer(cora)
    controls, output = panel.children
    (left, right) = controls.children
    how, hops = left.children
    node_id, _seed = right.children
    how.value = "node id"
    node_id.value = 42
    hops.value = 1
    assert "node 42" in capsys.readouterr().out
    assert plt.get_fignums() == [], "the widget closes the figures it shows"


# --- chapter 12: attention's gain over uniform weights across graphs -----------------------------

def heterophily_row(homophily, gat, gatv2, uniform, mlp, gap):
    models = {name: {"scores": scores, "mean": float(np.mean(scores))}
              for name, scores in (("GAT", gat), ("GATv2", gatv2), ("uniform", uniform), ("MLP", mlp))}
    models["GAT"]["entropy_gap"] = gap
    return {"adjusted_homophily": homophily, "models": models}


def test_the_gain_is_paired_run_by_run():
    row = heterophily_row(0.5, [80, 70, 90], [81, 71, 91], [79, 72, 85], [60, 60, 60], 0.1)
    assert viz.attention_gain(row["models"]) == [1, -2, 5]  # not mean(GAT) - mean(uniform) alone
    assert viz.attention_gain(row["models"], "GATv2") == [2, -1, 6]


def test_the_attention_gain_figure_places_every_graph_and_marks_where_the_mlp_wins():
    table = {"cora": heterophily_row(0.77, [83, 84], [82, 83], [81, 82], [58, 59], 0.02),
             "texas": heterophily_row(-0.29, [60, 62], [61, 63], [61, 61], [75, 77], 0.15),
             "actor": heterophily_row(0.003, [34, 35], [34, 34], [35, 35], [36, 36], 0.002),
             "squirrel": heterophily_row(0.007, [45, 45], [45, 45], [44, 44], [33, 33], 0.009)}
    fig = viz.plot_attention_gain(table)
    ax = fig.axes[0]
    labels = {text.get_text(): (round(text.xy[0] + 0.007, 3), text.xy[1]) for text in ax.texts}
    assert labels == {"cora": (0.77, 2.0), "texas *": (-0.29, 0.0), "actor *": (0.003, -0.5),
                      "squirrel": (0.007, 1.0)}, "each name points at GAT's mean gain; a star where the MLP wins"
    placed = {text.get_text(): text.get_position() for text in ax.texts}
    assert abs(placed["squirrel"][1] - placed["actor *"][1]) >= 0.7, "close graphs get their names apart"
    points = sorted((round(line.get_xdata()[0], 3), round(line.get_ydata()[0], 3))
                    for line in ax.lines if line.get_marker() in ("o", "s"))
    assert points[:2] == [(-0.297, 0.0), (-0.283, 1.0)] and points[-2:] == [(0.763, 2.0), (0.777, 1.0)]
    assert fig.axes[1].get_ylabel().startswith("learned GAT attention: entropy gap")
    plt.close(fig)
