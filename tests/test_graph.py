"""gatkit.graph: conversions and statistics, each checked against an independent computation."""

import math
from collections import Counter
from pathlib import Path

import igraph as ig
import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gatkit import edges, graph
from gatkit.data import load_planetoid

# 0->1, 0->2, 1->2, 3->2 on 5 nodes; node 4 has no edges.
DIRECTED = torch.tensor([[0, 0, 1, 3], [1, 2, 2, 2]])


@pytest.fixture(scope="module")
def cora():
    return load_planetoid("cora", progress=False)


def random_edge_index(num_nodes: int, num_edges: int, seed: int, symmetric: bool = True) -> torch.Tensor:
    """A random edge list, possibly with repeats and self-loops (the functions must cope)."""
    generator = torch.Generator().manual_seed(seed)
    pairs = torch.randint(num_nodes, (2, num_edges), generator=generator)  # (2, E)
    return torch.cat([pairs, pairs.flip(0)], dim=1) if symmetric else pairs


def partition(labels) -> set:
    """Components as a set of frozensets, whatever the labelling."""
    groups = {}
    for node, label in enumerate(labels):
        groups.setdefault(int(label), set()).add(node)
    return {frozenset(g) for g in groups.values()}


edge_lists = st.builds(random_edge_index, num_nodes=st.integers(1, 25), num_edges=st.integers(0, 40),
                       seed=st.integers(0, 10_000), symmetric=st.booleans())


# --- conversions ------------------------------------------------------------------------------

def test_conversions_keep_every_node_and_give_a_simple_undirected_graph(cora):
    nxg = graph.to_networkx(cora.edge_index_with_self_loops, cora.num_nodes)
    igg = graph.to_igraph(cora.edge_index_with_self_loops, cora.num_nodes)
    assert nxg.number_of_nodes() == igg.vcount() == cora.num_nodes
    # each undirected edge once, and the self-loops of edge_index_with_self_loops dropped
    assert nxg.number_of_edges() == igg.ecount() == cora.num_edges // 2
    assert nx.number_of_selfloops(nxg) == 0 and igg.is_simple()
    assert not nxg.is_directed() and not igg.is_directed()


def test_isolated_nodes_survive_conversion():
    nxg = graph.to_networkx(DIRECTED, 5)
    igg = graph.to_igraph(DIRECTED, 5)
    assert nxg.degree(4) == 0 and igg.degree(4) == 0 and igg.vcount() == 5


def test_flags_keep_direction_and_self_loops():
    edge_index = torch.tensor([[0, 1, 1, 2, 2], [1, 0, 1, 0, 0]])  # 2->0 twice, a loop on 1
    digraph = graph.to_networkx(edge_index, 3, directed=True, self_loops=True)
    assert isinstance(digraph, nx.DiGraph)
    assert set(digraph.edges()) == {(0, 1), (1, 0), (1, 1), (2, 0)}
    igraph_directed = graph.to_igraph(edge_index, 3, directed=True, self_loops=True)
    assert igraph_directed.is_directed()
    assert sorted(igraph_directed.get_edgelist()) == sorted(digraph.edges())
    assert graph.to_networkx(edge_index, 3, self_loops=True).number_of_edges() == 3  # {0,1}, {1,1}, {0,2}


@given(edge_lists)
@settings(max_examples=40, deadline=None)
def test_undirected_pairs_hold_each_edge_once(edge_index):
    num_nodes = int(edge_index.max()) + 1 if edge_index.numel() else 1
    pairs = graph.undirected_pairs(edge_index, num_nodes)
    expected = {tuple(sorted(p)) for p in edge_index.T.tolist() if p[0] != p[1]}
    assert [tuple(p) for p in pairs.T.tolist()] == sorted(expected)


# --- degrees ----------------------------------------------------------------------------------

def test_degree_agrees_with_networkx_and_igraph_on_cora(cora):
    degrees = graph.degree(cora.edge_index, cora.num_nodes)
    nx_degrees = dict(graph.to_networkx(cora.edge_index, cora.num_nodes).degree())
    ig_degrees = graph.to_igraph(cora.edge_index, cora.num_nodes).degree()
    assert degrees.tolist() == [nx_degrees[i] for i in range(cora.num_nodes)] == ig_degrees
    assert degrees.dtype == torch.long


def test_in_and_out_degree_follow_the_edge_direction():
    digraph = graph.to_networkx(DIRECTED, 5, directed=True)
    assert graph.degree(DIRECTED, 5).tolist() == [digraph.in_degree(i) for i in range(5)] == [0, 1, 3, 0, 0]
    assert graph.degree(DIRECTED, 5, direction="out").tolist() == [digraph.out_degree(i) for i in range(5)]
    with pytest.raises(ValueError, match="direction"):
        graph.degree(DIRECTED, 5, direction="both")


def test_degree_distribution_and_top_nodes(cora):
    degrees = graph.degree(cora.edge_index, cora.num_nodes)
    counts = graph.degree_distribution(degrees)
    assert int(counts.sum()) == cora.num_nodes
    assert counts.tolist() == [Counter(degrees.tolist())[k] for k in range(len(counts))]
    nodes, values = graph.top_degree_nodes(degrees, k=3)
    ranked = sorted(range(cora.num_nodes), key=lambda i: (-int(degrees[i]), i))[:3]
    assert nodes.tolist() == ranked and values.tolist() == [int(degrees[i]) for i in ranked]


def test_top_degree_ties_go_to_the_smaller_id():
    nodes, values = graph.top_degree_nodes(torch.tensor([1, 3, 2, 3, 3]), k=4)
    assert nodes.tolist() == [1, 3, 4, 2] and values.tolist() == [3, 3, 3, 2]


def test_bad_edge_index_is_rejected_with_a_reason():
    with pytest.raises(ValueError, match="int64"):
        graph.degree(DIRECTED.float(), 5)
    with pytest.raises(ValueError, match="0 .. 2"):
        graph.degree(DIRECTED, 3)


# --- connectivity -----------------------------------------------------------------------------

def test_components_agree_with_networkx_and_igraph_on_cora(cora):
    labels = graph.connected_components(cora.edge_index, cora.num_nodes)
    nx_parts = {frozenset(c) for c in nx.connected_components(graph.to_networkx(cora.edge_index, cora.num_nodes))}
    ig_parts = partition(graph.to_igraph(cora.edge_index, cora.num_nodes).connected_components().membership)
    assert partition(labels.tolist()) == nx_parts == ig_parts
    sizes = graph.component_sizes(labels)
    assert sizes.tolist() == sorted((len(c) for c in nx_parts), reverse=True)
    largest = graph.largest_component(cora.edge_index, cora.num_nodes)
    assert set(largest.tolist()) == max(nx_parts, key=len)


@given(edge_lists)
@settings(max_examples=40, deadline=None)
def test_components_are_labelled_by_their_smallest_node(edge_index):
    num_nodes = 30  # ids beyond the edges are isolated nodes
    labels = graph.connected_components(edge_index, num_nodes)
    parts = partition(labels.tolist())
    undirected = nx.Graph(edge_index.T.tolist())
    undirected.add_nodes_from(range(num_nodes))
    assert parts == {frozenset(c) for c in nx.connected_components(undirected)}
    for part in parts:
        assert {int(labels[i]) for i in part} == {min(part)}


def test_hop_distances_match_networkx_shortest_paths(cora):
    nxg = graph.to_networkx(cora.edge_index, cora.num_nodes)
    for node, hops in [(1358, 2), (0, 3), (2000, 1)]:
        distance = edges.hop_distances(cora.edge_index, cora.num_nodes, node, hops)
        lengths = nx.single_source_shortest_path_length(nxg, node, cutoff=hops)
        assert {i: int(d) for i, d in enumerate(distance) if d >= 0} == lengths


def test_hop_distances_walk_edges_backwards_on_a_directed_graph():
    # reaching node 2 means following edges j -> i from target back to source
    reverse = graph.to_networkx(DIRECTED, 5, directed=True).reverse()
    distance = edges.hop_distances(DIRECTED, 5, 2, 2)
    assert {i: int(d) for i, d in enumerate(distance) if d >= 0} == \
        nx.single_source_shortest_path_length(reverse, 2, cutoff=2)
    assert distance.tolist() == [1, 1, 0, 1, -1]
    with pytest.raises(ValueError, match="node"):
        edges.hop_distances(DIRECTED, 5, 5, 1)


def test_k_hop_subgraph_relabels_consistently(cora):
    nodes, distance, sub = edges.k_hop_subgraph(cora.edge_index, cora.num_nodes, 0, 2)
    assert int(nodes[0]) == 0 and int(distance[0]) == 0
    assert distance.tolist() == sorted(distance.tolist())
    original = set(map(tuple, cora.edge_index.T.tolist()))
    inside = set(nodes.tolist())
    expected = {(a, b) for a, b in original if a in inside and b in inside}
    assert {(int(nodes[a]), int(nodes[b])) for a, b in sub.T.tolist()} == expected


@given(edge_index=edge_lists, hops=st.integers(0, 3), data=st.data())
@settings(max_examples=60, deadline=None)
def test_receptive_field_is_the_nodes_within_hops_backwards(edge_index, hops, data):
    num_nodes = int(edge_index.max()) + 1 if edge_index.numel() else 1
    targets = torch.tensor(data.draw(st.lists(st.integers(0, num_nodes - 1), min_size=1, max_size=4)))
    nodes, sub, positions, distance = edges.receptive_field(edge_index, num_nodes, targets, hops)
    reverse = nx.MultiDiGraph()
    reverse.add_nodes_from(range(num_nodes))
    reverse.add_edges_from((int(b), int(a)) for a, b in edge_index.T)  # target -> source
    reach = nx.multi_source_dijkstra_path_length(reverse, set(targets.tolist()), cutoff=hops)
    assert nodes.tolist() == sorted(reach)
    assert distance.tolist() == [reach[n] for n in nodes.tolist()]
    assert nodes[positions].tolist() == targets.tolist()
    inside = set(reach)
    expected = [(int(a), int(b)) for a, b in edge_index.T if int(a) in inside and int(b) in inside]
    assert [(int(nodes[a]), int(nodes[b])) for a, b in sub.T] == expected  # same edges, same order


def test_receptive_field_rejects_bad_targets():
    with pytest.raises(ValueError, match="targets"):
        edges.receptive_field(DIRECTED, 5, torch.tensor([7]), 1)
    with pytest.raises(ValueError, match="hops"):
        edges.receptive_field(DIRECTED, 5, torch.tensor([2]), -1)


# --- clustering -------------------------------------------------------------------------------

def test_clustering_agrees_with_networkx_and_igraph_on_cora(cora):
    local = graph.local_clustering(cora.edge_index, cora.num_nodes)
    nx_local = nx.clustering(graph.to_networkx(cora.edge_index, cora.num_nodes))
    ig_local = graph.to_igraph(cora.edge_index, cora.num_nodes).transitivity_local_undirected(mode="zero")
    assert torch.allclose(local, torch.tensor([nx_local[i] for i in range(cora.num_nodes)], dtype=torch.float64))
    assert torch.allclose(local, torch.tensor(ig_local, dtype=torch.float64))
    assert math.isclose(graph.average_clustering(cora.edge_index, cora.num_nodes),
                        nx.average_clustering(graph.to_networkx(cora.edge_index, cora.num_nodes)))


@given(edge_lists)
@settings(max_examples=40, deadline=None)
def test_clustering_matches_networkx_on_random_graphs(edge_index):
    num_nodes = 26
    nxg = graph.to_networkx(edge_index, num_nodes)
    assert math.isclose(graph.average_clustering(edge_index, num_nodes), nx.average_clustering(nxg),
                        abs_tol=1e-12)


def test_a_triangle_with_a_tail():
    edge_index = torch.tensor([[0, 1, 0, 2, 1, 2, 2, 3], [1, 0, 2, 0, 2, 1, 3, 2]])
    assert graph.local_clustering(edge_index, 4).tolist() == pytest.approx([1, 1, 1 / 3, 0])


# --- labels on the graph ----------------------------------------------------------------------

def test_edge_homophily_equals_a_count_over_undirected_edges(cora):
    same = sum(int(cora.y[a] == cora.y[b]) for a, b in graph.to_networkx(cora.edge_index, cora.num_nodes).edges())
    expected = same / (cora.num_edges // 2)
    assert math.isclose(graph.edge_homophily(cora.edge_index, cora.y), expected)
    # self-loops never count
    assert math.isclose(graph.edge_homophily(cora.edge_index_with_self_loops, cora.y), expected)


def test_edge_homophily_small_cases():
    path = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    assert graph.edge_homophily(path, torch.tensor([0, 0, 1, 1])) == pytest.approx(2 / 3)
    assert math.isnan(graph.edge_homophily(torch.tensor([[0], [0]]), torch.tensor([0])))
    with pytest.raises(ValueError, match="1-D"):
        graph.edge_homophily(path, torch.zeros(4, 2, dtype=torch.long))


def test_class_and_local_homophily_match_loops(cora):
    y, edge_index = cora.y, cora.edge_index
    per_class = graph.class_homophily(edge_index, y, cora.num_classes)
    for c in range(cora.num_classes):
        into = [(j, i) for j, i in edge_index.T.tolist() if y[i] == c]
        assert per_class[c].item() == pytest.approx(sum(int(y[j] == c) for j, _ in into) / len(into))
    local = graph.local_homophily(edge_index, y)
    nxg = graph.to_networkx(edge_index, cora.num_nodes)
    for node in (0, 1358, 1701, 2707):
        neighbours = list(nxg.neighbors(node))
        assert local[node].item() == pytest.approx(sum(int(y[m] == y[node]) for m in neighbours) / len(neighbours))
    isolated = graph.local_homophily(DIRECTED, torch.tensor([0, 0, 1, 1, 0]))
    assert math.isnan(isolated[4]) and math.isnan(isolated[0])  # no incoming edges


def test_class_balance_counts_each_split(cora):
    splits = {"train": cora.train_idx, "val": cora.val_idx, "test": cora.test_idx}
    balance = graph.class_balance(cora.y, splits, cora.num_classes)
    for name, idx in splits.items():
        counted = Counter(cora.y[idx].tolist())
        assert balance[name].tolist() == [counted[c] for c in range(cora.num_classes)]
    assert balance["train"].tolist() == [20] * 7


def test_igraph_is_the_vertex_numbering_of_the_dataset(cora):
    # per-vertex results index like dataset.y: vertex k is node k
    igg = graph.to_igraph(cora.edge_index, cora.num_nodes)
    assert isinstance(igg, ig.Graph)
    assert sorted(igg.neighbors(1358)) == sorted(cora.edge_index[0, cora.edge_index[1] == 1358].tolist())


# --- the clustering contract of exercise 2.1 ----------------------------------------------------

def test_clustering_is_that_of_the_undirected_simple_graph_whatever_the_listing():
    from course.checks import ch02

    # the check's toy: edges listed one way, one twice, self-loops on 2 and 5, node 6 isolated
    assert torch.equal(graph.local_clustering(ch02.CLUSTERING_TOY, 7), ch02.CLUSTERING_TOY_ANSWER)
    simple = graph.undirected_pairs(ch02.CLUSTERING_TOY, 7)  # (2, 7) each edge once, no loops
    both_ways = torch.cat([simple, simple.flip(0)], dim=1)
    assert torch.equal(graph.local_clustering(both_ways, 7), ch02.CLUSTERING_TOY_ANSWER)


def test_clustering_equals_the_dense_triangle_count_with_self_loops_kept_out(cora):
    edge_index = cora.edge_index_with_self_loops
    adj = torch.zeros(cora.num_nodes, cora.num_nodes, dtype=torch.float64)
    adj[edge_index[1], edge_index[0]] = 1.0
    adj.fill_diagonal_(0.0)  # Cora is stored both ways, so adj is symmetric already
    triangles = torch.linalg.matrix_power(adj, 3).diagonal() / 2  # (N,)
    pairs = adj.sum(dim=1) * (adj.sum(dim=1) - 1) / 2  # (N,)
    expected = torch.where(pairs > 0, triangles / pairs.clamp(min=1), torch.zeros_like(pairs))
    torch.testing.assert_close(graph.local_clustering(edge_index, cora.num_nodes), expected)
    transitivity = float(triangles.sum() / pairs.sum())
    igraph_transitivity = graph.to_igraph(cora.edge_index, cora.num_nodes).transitivity_undirected()
    assert transitivity == pytest.approx(igraph_transitivity, abs=1e-12)


# --- class compatibility and adjusted homophily (chapter 12) -----------------------------------------

HETEROPHILOUS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "heterophilous"


def _mirrored(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(edge_index both ways, y) of a mirrored heterophilous graph, read straight from its npz."""
    if not (HETEROPHILOUS / f"{name}.npz").is_file():
        pytest.skip(f"{name}.npz not found in {HETEROPHILOUS}")
    with np.load(HETEROPHILOUS / f"{name}.npz") as arrays:
        one_way = torch.from_numpy(arrays["edges"]).T  # (2, E) each undirected edge once
        return torch.cat([one_way, one_way.flip(0)], dim=1), torch.from_numpy(arrays["node_labels"])


def _labelled_graph(seed: int, num_nodes: int = 30, num_edges: int = 90, num_classes: int = 4):
    """A random directed graph with repeats and self-loops, and classes 0 .. C-2 (class C-1 absent)."""
    generator = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(num_nodes, (2, num_edges), generator=generator)  # (2, E) loops and repeats
    y = torch.randint(num_classes - 1, (num_nodes,), generator=generator)  # (N,)
    return edge_index, y


@pytest.mark.parametrize("seed", range(5))
def test_class_compatibility_counts_the_sources_of_the_edges_into_each_class(seed):
    edge_index, y = _labelled_graph(seed)
    matrix = graph.class_compatibility(edge_index, y, 4)
    assert matrix.shape == (4, 4) and matrix.dtype == torch.float64
    for k in range(4):
        sources = [int(y[j]) for j, i in edge_index.T.tolist() if y[i] == k and i != j]
        if not sources:
            assert torch.isnan(matrix[k]).all()  # class 3 has no node at all
            continue
        expected = [sources.count(l) / len(sources) for l in range(4)]
        assert matrix[k].tolist() == pytest.approx(expected)
    present = ~torch.isnan(matrix[:, 0])
    assert torch.allclose(matrix[present].sum(dim=1), torch.ones(int(present.sum()), dtype=torch.float64))
    assert torch.allclose(matrix.diagonal(), graph.class_homophily(edge_index, y, 4), equal_nan=True)


def test_class_compatibility_reads_rows_as_targets_and_defaults_to_the_labels_classes(cora):
    # 0 -> 1 only: class 1 (node 1) receives from class 0; class 0 receives nothing
    matrix = graph.class_compatibility(torch.tensor([[0], [1]]), torch.tensor([0, 1]))
    assert torch.isnan(matrix[0]).all() and matrix[1].tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="num_classes=2"):
        graph.class_compatibility(torch.tensor([[0], [1]]), torch.tensor([0, 2]), 2)
    matrix = graph.class_compatibility(cora.edge_index_with_self_loops, cora.y)
    counts = torch.zeros(7, 7, dtype=torch.float64)
    counts.index_put_((cora.y[cora.edge_index[1]], cora.y[cora.edge_index[0]]),
                      torch.ones(cora.num_edges, dtype=torch.float64), accumulate=True)
    torch.testing.assert_close(matrix, counts / counts.sum(dim=1, keepdim=True))
    assert bool((matrix.diagonal() > 0.5).all())  # every Cora class mostly hears from itself


def test_adjusted_homophily_small_cases():
    # 1 -> 0, 2 -> 1, 0 -> 2, 4 -> 3 with classes 0 0 0 0 1: degrees 2 2 2 1 1, so p = (7/8, 1/8),
    # chance 50/64, h_edge 3/4: h_adj = (48/64 - 50/64) / (14/64) = -1/7
    one_way = torch.tensor([[1, 2, 0, 4], [0, 1, 2, 3]])
    y = torch.tensor([0, 0, 0, 0, 1])
    assert graph.adjusted_homophily(one_way, y) == pytest.approx(-1 / 7)
    assert graph.adjusted_homophily(one_way.flip(0), y) == pytest.approx(-1 / 7)  # direction does not count
    both = torch.cat([one_way, one_way.flip(0), torch.arange(5).repeat(2, 1)], dim=1)  # both ways, loops
    assert graph.adjusted_homophily(both, y, num_classes=3) == pytest.approx(-1 / 7)
    two_cliques = torch.tensor([[0, 1, 2, 3], [1, 0, 3, 2]])
    assert graph.adjusted_homophily(two_cliques, torch.tensor([0, 0, 1, 1])) == 1.0
    assert graph.adjusted_homophily(two_cliques, torch.tensor([0, 1, 0, 1])) == -1.0  # bipartite
    assert math.isnan(graph.adjusted_homophily(two_cliques, torch.zeros(4, dtype=torch.long)))  # one class
    assert math.isnan(graph.adjusted_homophily(torch.tensor([[0], [0]]), torch.tensor([0, 1])))  # no edges


@given(edge_lists, st.integers(0, 10_000))
@settings(max_examples=40, deadline=None)
def test_adjusted_homophily_is_networkx_attribute_assortativity(edge_index, seed):
    num_nodes = int(edge_index.max()) + 1 if edge_index.numel() else 1
    y = torch.randint(3, (num_nodes,), generator=torch.Generator().manual_seed(seed))
    simple = graph.undirected_pairs(edge_index, num_nodes)  # (2, M) each edge once
    ours = graph.adjusted_homophily(torch.cat([simple, simple.flip(0)], dim=1), y)
    nxg = graph.to_networkx(edge_index, num_nodes)
    nx.set_node_attributes(nxg, {node: int(y[node]) for node in range(num_nodes)}, "y")
    if simple.shape[1] == 0 or len(set(y[simple.flatten()].tolist())) < 2:
        assert math.isnan(ours)  # no edges, or every end in one class: undefined
        return
    assert ours == pytest.approx(nx.attribute_assortativity_coefficient(nxg, "y"), abs=1e-9)


@pytest.mark.parametrize("name, rounded", [("cora", 0.77), ("citeseer", 0.67)])
def test_adjusted_homophily_of_the_citation_graphs_as_published(name, rounded):
    dataset = load_planetoid(name, progress=False)
    assert round(graph.adjusted_homophily(dataset.edge_index, dataset.y), 2) == rounded


@pytest.mark.parametrize("name, h_edge, h_adj", [("minesweeper", 0.683, 0.01), ("tolokers", 0.595, 0.09)])
def test_adjusted_homophily_of_the_heterophilous_graphs_as_published(name, h_edge, h_adj):
    # Platonov et al. (ICLR 2023), table 1: edge homophily 0.68 and 0.59, adjusted 0.01 and 0.09
    edge_index, y = _mirrored(name)
    assert round(graph.edge_homophily(edge_index, y), 3) == h_edge
    assert round(graph.adjusted_homophily(edge_index, y), 2) == h_adj
    assert graph.adjusted_homophily(edge_index, y) < graph.edge_homophily(edge_index, y) - 0.5


def test_the_hand_worked_toys_of_the_chapter_12_checks():
    from course.checks import ch12

    torch.testing.assert_close(graph.class_compatibility(ch12.COMPAT_EDGES, ch12.COMPAT_CLASSES, 4),
                               ch12.COMPAT_ANSWER, equal_nan=True)
    assert graph.adjusted_homophily(ch12.STAR_EDGES, ch12.STAR_CLASSES) == pytest.approx(ch12.STAR_ANSWER)
    # the star's classes by node count, (3/5, 2/5), would give -1/24 (chapter 12, question 3)
    chance = (3 / 5) ** 2 + (2 / 5) ** 2
    assert (graph.edge_homophily(ch12.STAR_EDGES, ch12.STAR_CLASSES) - chance) / (1 - chance) == pytest.approx(-1 / 24)
