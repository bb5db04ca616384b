"""Checks for chapter 02, Looking at the graph."""

from __future__ import annotations


import torch

from gatkit import edges, graph
from course.checks.cases import directed_graph, load_cora, seeded_generator
from course.checks.core import Case, Check, as_float64, register


# --- 2.1 the clustering coefficient ----------------------------------------------------------

# The undirected simple graph: triangles 0-1-2 and 2-3-4, the tail 4-5, node 6 alone (the last
# id). Listed with quirks: 0-2, 2-3, 2-4 and 4-5 one way only, 2-3 a second time, self-loops on
# 2 and 5. Degrees 2, 2, 4, 2, 3, 1, 0; triangles 1, 1, 2, 1, 1, 0, 0; so
# c = 1, 1, 2/6, 1, 1/3, 0, 0 (node 5 has one neighbour and node 6 none: 0 by convention).
# Kept self-loops would give node 2 extra "triangles"; an unsymmetrised A misses the one-way
# edges; the global transitivity is 3 * 2 / 12 = 0.5, not one value per node.
CLUSTERING_TOY = torch.tensor([[0, 1, 2, 1, 2, 3, 2, 3, 4, 5, 2, 5, 3],
                               [1, 0, 0, 2, 1, 2, 4, 4, 3, 4, 2, 5, 2]])
CLUSTERING_TOY_ANSWER = torch.tensor([1, 1, 1 / 3, 1, 1 / 3, 0, 0], dtype=torch.float64)


def _clustering_cases() -> list[Case]:
    cora = load_cora()
    return [Case("toy graph (7 nodes: triangles 0-1-2 and 2-3-4, tail 4-5, node 6 alone; some edges "
                 "listed one way, self-loops on 2 and 5)", (CLUSTERING_TOY, 7)),
            Case("directed graph (42 nodes, many edges without their reverse, 4 columns listed twice, "
                 "self-loops on nodes 3, 17 and 38, nodes 40 and 41 isolated)",
                 directed_graph(40, 160, seed=20, loops=(3, 17, 38), repeated=4, isolated=2)),
            Case("Cora with self-loops", (cora.edge_index_with_self_loops, cora.num_nodes))]


def _clustering_reference(edge_index, num_nodes):
    return graph.local_clustering(edge_index, num_nodes)


def _dense(edge_index, num_nodes, *, symmetric=True, loops=False):
    """The (N, N) 0/1 adjacency the mistakes build, A[i, j] = 1 for j -> i."""
    adj = torch.zeros(num_nodes, num_nodes, dtype=torch.float64)
    adj[edge_index[1], edge_index[0]] = 1.0
    if symmetric:
        adj = torch.maximum(adj, adj.T)
    if not loops:
        adj.fill_diagonal_(0.0)
    return adj


def _coefficients(triangles, neighbours):
    pairs = neighbours * (neighbours - 1) / 2
    return torch.where(pairs > 0, triangles / pairs.clamp(min=1), torch.zeros_like(pairs))


def _loops_kept(edge_index, num_nodes):
    adj = _dense(edge_index, num_nodes, loops=True)
    return _coefficients((adj @ adj * adj).sum(dim=1) / 2, adj.sum(dim=1))


def _degree_with_loops(edge_index, num_nodes):
    adj = _dense(edge_index, num_nodes)
    return _coefficients((adj @ adj * adj).sum(dim=1) / 2, _dense(edge_index, num_nodes, loops=True).sum(dim=1))


def _not_symmetrised(edge_index, num_nodes):
    adj = _dense(edge_index, num_nodes, symmetric=False)
    return _coefficients((adj @ adj * adj).sum(dim=1) / 2, adj.sum(dim=1))


def _not_halved(edge_index, num_nodes):
    adj = _dense(edge_index, num_nodes)
    return _coefficients((adj @ adj * adj).sum(dim=1), adj.sum(dim=1))


def _square_not_cube(edge_index, num_nodes):
    adj = _dense(edge_index, num_nodes)
    return _coefficients((adj @ adj).diagonal() / 2, adj.sum(dim=1))


def _nan_for_small_degrees(edge_index, num_nodes):
    adj = _dense(edge_index, num_nodes)
    neighbours = adj.sum(dim=1)
    return (adj @ adj * adj).sum(dim=1) / 2 / (neighbours * (neighbours - 1) / 2)


def _global_transitivity(edge_index, num_nodes):
    adj = _dense(edge_index, num_nodes)
    neighbours = adj.sum(dim=1)
    return (adj @ adj * adj).sum() / 2 / (neighbours * (neighbours - 1) / 2).sum()  # 0-dim


register(Check(
    id="2.1",
    title="the clustering coefficient",
    reference=_clustering_reference,
    cases=_clustering_cases,
    normalise=as_float64,
    hint="Build adj = torch.zeros(N, N), set adj[edge_index[1], edge_index[0]] = 1, make it symmetric "
         "(torch.maximum(adj, adj.T)) and zero its diagonal (fill_diagonal_(0)). Then the triangles "
         "are (adj @ adj * adj).sum(1) / 2, the degrees adj.sum(1), and c = triangles / (d (d - 1) / 2) "
         "where d >= 2, else 0.",
    mistakes={
        "Self-loops stayed in A: a loop i -> i is not a neighbour, but on the diagonal it adds walks "
        "i -> i -> k that look like triangles. Zero the diagonal, adj.fill_diagonal_(0), before "
        "counting anything.": _loops_kept,
        "Your triangles are right, but your degrees count the self-loops: d is the number of "
        "*other* nodes linked to i. Take it from the adjacency after zeroing its diagonal.":
            _degree_with_loops,
        "A is not symmetric: an edge listed one way only (the toy has several) must link both "
        "nodes. Clustering is a property of the undirected graph: adj = torch.maximum(adj, adj.T).":
            _not_symmetrised,
        "Each triangle through i was counted twice: (A @ A * A).sum(1) walks it from both of its "
        "other corners, i -> j -> k -> i and i -> k -> j -> i. Divide by 2.": _not_halved,
        "diag(A @ A) counts walks i -> j -> i, i.e. the degree, not triangles. A triangle is a "
        "closed walk of three steps: diag(A @ A @ A) / 2, or (A @ A * A).sum(1) / 2.": _square_not_cube,
        "Nodes with fewer than two neighbours give 0 / 0 = nan: they have no pairs of neighbours "
        "and count as 0. Use torch.where(pairs > 0, triangles / pairs.clamp(min=1), 0).":
            _nan_for_small_degrees,
        "That is the global clustering (transitivity, 3 x triangles / connected triples), one number "
        "for the whole graph. The exercise asks for c_i for every node, an (N,) tensor.":
            _global_transitivity,
    },
))


# --- 2.2 connected components ----------------------------------------------------------------

# 7 nodes, each edge listed once and pointing to the smaller id: the path 3 -> 2 -> 1 -> 0, the
# pair 5 -> 4, and node 6 alone. Components {0, 1, 2, 3}, {4, 5}, {6}.
ONE_WAY_TOY = torch.tensor([[1, 2, 3, 5], [0, 1, 2, 4]])


def long_path(num_nodes: int, seed: int) -> torch.Tensor:
    """A path through all ``num_nodes`` nodes, node 0 at one end and the others in random order.

    Each edge is listed once, in a random direction, and the columns are shuffled: label 0
    needs num_nodes - 1 rounds of propagation to reach the far end, so a fixed number of
    rounds falls short.
    """
    generator = seeded_generator(seed)
    order = torch.cat([torch.zeros(1, dtype=torch.long), 1 + torch.randperm(num_nodes - 1, generator=generator)])
    pairs = torch.stack([order[:-1], order[1:]])  # (2, N - 1) consecutive nodes of the path
    flip = torch.rand(num_nodes - 1, generator=generator) < 0.5
    pairs = torch.where(flip, pairs.flip(0), pairs)
    return pairs[:, torch.randperm(num_nodes - 1, generator=generator)]


def _component_cases() -> list[Case]:
    return [Case("one-way toy graph (7 nodes: path 0-1-2-3, pair 4-5, node 6 alone)", (ONE_WAY_TOY, 7)),
            Case("a path through 1500 nodes, node 0 at one end, ids in random order", (long_path(1500, 22), 1500)),
            Case("Cora", (load_cora().edge_index, load_cora().num_nodes))]


def _components_reference(edge_index, num_nodes):
    return graph.connected_components(edge_index, num_nodes)


def _propagate(edge_index, num_nodes, *, both_ways=True, reduce="amin", max_rounds=None):
    labels = torch.arange(num_nodes)
    src, dst = edge_index
    rounds = 0
    while max_rounds is None or rounds < max_rounds:
        new = labels.scatter_reduce(0, dst, labels[src], reduce=reduce)
        if both_ways:
            new = new.scatter_reduce(0, src, labels[dst], reduce=reduce)
        rounds += 1
        if torch.equal(new, labels):
            break
        labels = new
    return labels


def _one_round(edge_index, num_nodes):
    return _propagate(edge_index, num_nodes, max_rounds=1)


def _hundred_rounds(edge_index, num_nodes):
    return _propagate(edge_index, num_nodes, max_rounds=100)


def _along_edges_only(edge_index, num_nodes):
    return _propagate(edge_index, num_nodes, both_ways=False)


def _largest_id(edge_index, num_nodes):
    return _propagate(edge_index, num_nodes, reduce="amax")


def _numbered_components(edge_index, num_nodes):
    return torch.unique(_propagate(edge_index, num_nodes), return_inverse=True)[1]


def _nodes_with_edges_only(edge_index, num_nodes):
    return _propagate(edge_index, int(edge_index.max()) + 1)


register(Check(
    id="2.2",
    title="connected components by label propagation",
    reference=_components_reference,
    cases=_component_cases,
    hint="Start with labels = torch.arange(num_nodes). Repeat: every node takes the smallest "
         "label among itself and its neighbours, over both ends of every edge "
         "(scatter_reduce with reduce='amin'); stop when nothing changes.",
    mistakes={
        "One round of propagation is not enough: a label moves one hop per round, so node 3 of "
        "the path 0-1-2-3 needs three rounds to learn label 0. Repeat until the labels stop "
        "changing.": _one_round,
        "A fixed number of rounds is not enough: a label moves one hop per round, and the long "
        "path needs 1499. Repeat until the labels stop changing (while True ... if "
        "torch.equal(new, labels): break).": _hundred_rounds,
        "Labels travelled only from source to target. Components ignore direction: send labels "
        "both ways (scatter into edge_index[1] from edge_index[0] and into edge_index[0] from "
        "edge_index[1]); the toy lists each edge once.": _along_edges_only,
        "Each component must be labelled by its *smallest* node id (reduce='amin'), not the "
        "largest.": _largest_id,
        "You numbered the components 0, 1, 2, ...; the exercise asks for each component's "
        "smallest node id as its label, so that every correct method gives the same answer.":
            _numbered_components,
        "Your labels stop at the largest id in edge_index: nodes without edges (node 6) are "
        "components of their own. Start from torch.arange(num_nodes).": _nodes_with_edges_only,
    },
))


# --- 2.3 edge homophily ----------------------------------------------------------------------

# The path 0 - 1 - 2 - 3 in both directions plus a self-loop on every node, classes 0, 0, 1, 1:
# without the loops 4 of 6 edges join same-class nodes.
_PATH = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
TOY_WITH_LOOPS = torch.cat([_PATH, torch.arange(4).repeat(2, 1)], dim=1)
TOY_CLASSES = torch.tensor([0, 0, 1, 1])


def _homophily_cases() -> list[Case]:
    cora = load_cora()
    directed, num_nodes = directed_graph(12, 40, seed=23, loops=(1, 4, 7))
    classes = torch.randint(0, 3, (num_nodes,), generator=seeded_generator(24))
    return [Case("path 0-1-2-3 with self-loops, classes 0 0 1 1", (TOY_WITH_LOOPS, TOY_CLASSES)),
            Case("directed graph (12 nodes, 3 classes, columns in random order, self-loops on "
                 "nodes 1, 4 and 7 only)", (directed, classes)),
            Case("Cora with self-loops", (cora.edge_index_with_self_loops, cora.y))]


def _homophily_reference(edge_index, y):
    return torch.tensor(graph.edge_homophily(edge_index, y), dtype=torch.float64)


def _counts_self_loops(edge_index, y):
    return (y[edge_index[0]] == y[edge_index[1]]).double().mean()


def _node_average(edge_index, y):
    return torch.nanmean(graph.local_homophily(edge_index, y))


def _heterophily(edge_index, y):
    keep = edge_index[0] != edge_index[1]
    return (y[edge_index[0, keep]] != y[edge_index[1, keep]]).double().mean()


def _one_loop_per_node_assumed(edge_index, y):
    same = (y[edge_index[0]] == y[edge_index[1]]).double()
    return (same.sum() - len(y)) / (edge_index.shape[1] - len(y))


def _per_node_denominator(edge_index, y):
    keep = edge_index[0] != edge_index[1]
    return (y[edge_index[0, keep]] == y[edge_index[1, keep]]).double().sum() / len(y)


register(Check(
    id="2.3",
    title="edge homophily",
    reference=_homophily_reference,
    cases=_homophily_cases,
    normalise=as_float64,
    hint="Drop the self-loops (columns with source == target), compare y[edge_index[0]] with "
         "y[edge_index[1]], and return the mean of that boolean as a float tensor.",
    mistakes={
        "Self-loops are counted: a node always has its own class, so each loop adds a "
        "free 'same class' edge. Keep only the columns with edge_index[0] != edge_index[1] first.":
            _counts_self_loops,
        "You averaged a per-node share over nodes (that is *node* homophily). Edge homophily "
        "weighs every edge equally: the mean over the edges of (y[source] == y[target]).": _node_average,
        "You measured the share of edges between *different* classes: use ==, not !=.": _heterophily,
        "You divided by the number of nodes; homophily is a share of edges, so divide by the "
        "number of (non-loop) edges, or simply take .mean().": _per_node_denominator,
        "You assumed exactly one self-loop per node and subtracted N: on the directed graph only "
        "three nodes have a loop. Remove the columns with edge_index[0] == edge_index[1], "
        "however many there are.": _one_loop_per_node_assumed,
    },
))


# --- 2.4 the receptive field -----------------------------------------------------------------

# 8 nodes, directed: 1->2, 4->2, 5<->2, 0->1, 3->4, 2->3, 6->0; node 7 alone. Around node 2 with
# 2 hops, following edges backwards: {1, 4, 5} at 1 hop, {0, 3} at 2 hops; 6 would be 3 hops.
RECEPTIVE_TOY = torch.tensor([[1, 4, 5, 2, 0, 3, 2, 6], [2, 2, 2, 5, 1, 4, 3, 0]])


# 8 nodes, columns in this order: 1->0, 2->1, 2->0, 3->2, 4->3, 0->0, 5->0, 0->5, 0->6. Around node 0
# with 2 hops: 1, 2 and 5 at 1 hop, 3 at 2 hops, 4 at 3 hops (too far), 6 only receives from 0
# (-1), 7 isolated. A depth-first walk that takes 1 -> 0 first reaches 2 through 1 and would
# say 2 hops for node 2; node 0 has a self-loop and a 2-cycle with 5.
SHORTCUT_TOY = torch.tensor([[1, 2, 2, 3, 4, 0, 5, 0, 0], [0, 1, 0, 2, 3, 0, 0, 5, 6]])


def _hop_cases() -> list[Case]:
    cora = load_cora()
    return [Case("directed toy graph (8 nodes), node 2, 2 hops", (RECEPTIVE_TOY, 8, 2, 2)),
            Case("directed toy graph with a shortcut (8 nodes: 2 -> 0 and 2 -> 1 -> 0), node 0, 2 hops",
                 (SHORTCUT_TOY, 8, 0, 2)),
            Case("the same graph, node 0, 1 hop", (SHORTCUT_TOY, 8, 0, 1)),
            Case("Cora, node 1358, 2 hops", (cora.edge_index, cora.num_nodes, 1358, 2)),
            Case("Cora, node 0, 3 hops", (cora.edge_index, cora.num_nodes, 0, 3))]


def _hops_reference(edge_index, num_nodes, node, hops):
    return edges.hop_distances(edge_index, num_nodes, node, hops)


def _bfs(edge_index, num_nodes, node, hops, *, forward=False, remember=True):
    distance = torch.full((num_nodes,), -1)
    distance[node] = 0
    frontier = torch.zeros(num_nodes, dtype=torch.bool)
    frontier[node] = True
    src, dst = (edge_index[1], edge_index[0]) if forward else (edge_index[0], edge_index[1])
    for hop in range(1, hops + 1):
        reached = torch.zeros(num_nodes, dtype=torch.bool)
        reached[src[frontier[dst]]] = True
        frontier = reached & (distance < 0) if remember else reached
        distance[frontier] = hop
    return distance


def _forward_edges(edge_index, num_nodes, node, hops):
    return _bfs(edge_index, num_nodes, node, hops, forward=True)


def _forgets_visited(edge_index, num_nodes, node, hops):
    return _bfs(edge_index, num_nodes, node, hops, remember=False)


def _one_hop_too_many(edge_index, num_nodes, node, hops):
    return _bfs(edge_index, num_nodes, node, hops + 1)


register(Check(
    id="2.4",
    title="the receptive field",
    reference=_hops_reference,
    cases=_hop_cases,
    hint="Keep a distance vector (-1 = not reached, 0 for the centre) and a boolean frontier. "
         "Each hop, the new frontier is the sources of the edges whose target is in the "
         "frontier, minus the nodes that already have a distance.",
    mistakes={
        "You followed the edges forwards. Messages flow j -> i, so what reaches node i comes "
        "from the *sources* of its incoming edges: step from edge_index[1] (target) back to "
        "edge_index[0] (source).": _forward_edges,
        "A node's distance was overwritten by a later hop (the centre itself got a distance > 0). "
        "Only nodes that have no distance yet may join the new frontier.": _forgets_visited,
        "You went one hop too far: with hops=2 nothing should be 3 hops away. Loop over "
        "range(1, hops + 1).": _one_hop_too_many,
    },
))
