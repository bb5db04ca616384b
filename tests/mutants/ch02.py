"""Mutation suites for chapter 02, Looking at the graph: 2.1 the clustering coefficient, 2.2 connected
components, 2.3 edge homophily, 2.4 the receptive field.

Each family is a kind of slip a learner who gets the exercise almost right could make; the loops
generate its members. Every mutant runs on every case of its check (a crash would not be a
plausible accepted answer) and computes something else on at least one of them.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse import csgraph

from mutants import EQUIVALENT, add_mutant, alternative, mutant

# The clustering coefficient is one of the undirected simple graph: the answer symmetrises the
# adjacency and zeroes its diagonal, so reading every edge target -> source, leaving the
# self-loops out or listing them twice changes nothing.
EQUIVALENT.add(("2.1", "direction"))
EQUIVALENT.add(("2.1", "self-loops"))
# Connected components ignore the direction of the edges (weak connectivity), so reading every
# edge target -> source gives the same components.
EQUIVALENT.add(("2.2", "direction"))
# Edge homophily compares y at the two ends of each edge, (y[j] == y[i]) == (y[i] == y[j]), so the
# direction cannot change it; and it removes the self-loops first, so leaving them out or
# listing them twice beforehand changes nothing either.
EQUIVALENT.add(("2.3", "direction"))
EQUIVALENT.add(("2.3", "self-loops"))
# A self-loop j -> j only leads from j back to j, which is already at its distance, so hop
# distances do not depend on the self-loops: leaving them out or listing them twice changes
# nothing. (The shortcut toy of 2.4 has one, to catch answers that mark the centre too late.)
EQUIVALENT.add(("2.4", "self-loops"))


# --- 2.1 the clustering coefficient ------------------------------------------------------------

def _adjacency(edge_index, num_nodes, *, symmetric=True, loops=False, accumulate=False):
    """Dense (N, N) adjacency, adj[i, j] = 1 for j -> i, made symmetric and loop-free unless told."""
    adj = torch.zeros(num_nodes, num_nodes, dtype=torch.float64)
    adj.index_put_((edge_index[1], edge_index[0]), torch.ones(edge_index.shape[1], dtype=torch.float64),
                   accumulate=accumulate)
    if symmetric:
        adj = torch.maximum(adj, adj.T)
    if not loops:
        adj.fill_diagonal_(0.0)
    return adj


def _triangles(adj):
    return (adj @ adj * adj).sum(dim=1) / 2  # (N,)


def _share(triangles, neighbours, *, small=0.0):
    pairs = neighbours * (neighbours - 1) / 2
    return torch.where(pairs > 0, triangles / pairs.clamp(min=1), torch.full_like(pairs, small))


def _clustering(edge_index, num_nodes, **options):
    adj = _adjacency(edge_index, num_nodes, **options)
    return _share(_triangles(adj), adj.sum(dim=1))


@mutant("2.1", "self-loops")
def self_loops_kept_in_the_adjacency(edge_index, num_nodes):
    return _clustering(edge_index, num_nodes, loops=True)


@mutant("2.1", "self-loops")
def degree_counts_the_self_loops(edge_index, num_nodes):
    adj = _adjacency(edge_index, num_nodes)
    return _share(_triangles(adj), _adjacency(edge_index, num_nodes, loops=True).sum(dim=1))


@mutant("2.1", "self-loops")
def degree_from_bincount_of_the_targets(edge_index, num_nodes):
    adj = _adjacency(edge_index, num_nodes)
    return _share(_triangles(adj), torch.bincount(edge_index[1], minlength=num_nodes).double())


@mutant("2.1", "self-loops")
def loops_removed_by_subtracting_the_identity(edge_index, num_nodes):
    adj = _adjacency(edge_index, num_nodes, loops=True) - torch.eye(num_nodes, dtype=torch.float64)
    return _share(_triangles(adj), adj.sum(dim=1))  # -1 on the diagonal of nodes without a loop


@mutant("2.1", "direction")
def adjacency_not_symmetrised(edge_index, num_nodes):
    return _clustering(edge_index, num_nodes, symmetric=False)


@mutant("2.1", "direction")
def symmetrised_by_adding_the_transpose(edge_index, num_nodes):
    adj = _adjacency(edge_index, num_nodes, symmetric=False)
    adj = adj + adj.T  # an edge stored both ways becomes 2
    return _share(_triangles(adj), adj.sum(dim=1))


@mutant("2.1", "direction")
def only_columns_with_source_below_target_symmetrised(edge_index, num_nodes):
    return _clustering(edge_index[:, edge_index[0] < edge_index[1]], num_nodes)


@mutant("2.1", "direction")
def out_degree_from_the_one_way_adjacency(edge_index, num_nodes):
    adj = _adjacency(edge_index, num_nodes)
    return _share(_triangles(adj), _adjacency(edge_index, num_nodes, symmetric=False).sum(dim=0))


@mutant("2.1", "repeats")
def repeated_columns_accumulated(edge_index, num_nodes):
    return _clustering(edge_index, num_nodes, accumulate=True)


@mutant("2.1", "repeats")
def sparse_coo_to_dense_sums_repeats(edge_index, num_nodes):
    values = torch.ones(edge_index.shape[1], dtype=torch.float64)
    adj = torch.sparse_coo_tensor(edge_index.flip(0), values, (num_nodes, num_nodes),
                                  check_invariants=True).to_dense()
    adj = torch.maximum(adj, adj.T)
    adj.fill_diagonal_(0.0)
    return _share(_triangles(adj), adj.sum(dim=1))


@mutant("2.1", "triangles")
def triangles_not_halved(edge_index, num_nodes):
    adj = _adjacency(edge_index, num_nodes)
    return _share(2 * _triangles(adj), adj.sum(dim=1))


@mutant("2.1", "triangles")
def triangles_divided_by_six(edge_index, num_nodes):
    adj = _adjacency(edge_index, num_nodes)
    return _share(_triangles(adj) / 3, adj.sum(dim=1))


@mutant("2.1", "triangles")
def diagonal_of_a_squared(edge_index, num_nodes):
    adj = _adjacency(edge_index, num_nodes)
    return _share((adj @ adj).diagonal() / 2, adj.sum(dim=1))


@mutant("2.1", "triangles")
def paths_of_length_two_not_closed(edge_index, num_nodes):
    adj = _adjacency(edge_index, num_nodes)
    return _share((adj @ adj).fill_diagonal_(0).sum(dim=1) / 2, adj.sum(dim=1))


@mutant("2.1", "triangles")
def common_neighbours_of_all_pairs_not_only_linked(edge_index, num_nodes):
    adj = _adjacency(edge_index, num_nodes)
    common = (adj @ adj).fill_diagonal_(0)  # (N, N) paths i - j - k, k linked to i or not
    return _share((common > 0).double().sum(dim=1) / 2, adj.sum(dim=1))


@mutant("2.1", "denominator")
def pairs_counted_as_d_squared_over_2(edge_index, num_nodes):
    adj = _adjacency(edge_index, num_nodes)
    d = adj.sum(dim=1)
    return torch.where(d > 1, _triangles(adj) / (d * d / 2).clamp(min=1), torch.zeros_like(d))


@mutant("2.1", "denominator")
def pairs_counted_as_d_d_plus_1_over_2(edge_index, num_nodes):
    adj = _adjacency(edge_index, num_nodes)
    d = adj.sum(dim=1)
    return torch.where(d > 1, _triangles(adj) / (d * (d + 1) / 2), torch.zeros_like(d))


@mutant("2.1", "denominator")
def ordered_pairs_with_halved_triangles(edge_index, num_nodes):
    adj = _adjacency(edge_index, num_nodes)
    d = adj.sum(dim=1)
    return torch.where(d > 1, _triangles(adj) / (d * (d - 1)).clamp(min=1), torch.zeros_like(d))


@mutant("2.1", "small degrees")
def nan_for_fewer_than_two_neighbours(edge_index, num_nodes):
    adj = _adjacency(edge_index, num_nodes)
    d = adj.sum(dim=1)
    return _triangles(adj) / (d * (d - 1) / 2)


@mutant("2.1", "small degrees")
def one_for_fewer_than_two_neighbours(edge_index, num_nodes):
    adj = _adjacency(edge_index, num_nodes)
    return _share(_triangles(adj), adj.sum(dim=1), small=1.0)


@mutant("2.1", "small degrees")
def only_isolated_nodes_guarded(edge_index, num_nodes):
    adj = _adjacency(edge_index, num_nodes)
    d = adj.sum(dim=1)
    return torch.where(d > 0, _triangles(adj) / (d * (d - 1) / 2), torch.zeros_like(d))  # degree 1: 0 / 0


@mutant("2.1", "global")
def global_transitivity(edge_index, num_nodes):
    adj = _adjacency(edge_index, num_nodes)
    d = adj.sum(dim=1)
    return _triangles(adj).sum() / (d * (d - 1) / 2).sum()


@mutant("2.1", "global")
def global_transitivity_for_every_node(edge_index, num_nodes):
    return global_transitivity(edge_index, num_nodes).expand(num_nodes).clone()


@mutant("2.1", "global")
def average_clustering_for_every_node(edge_index, num_nodes):
    return _clustering(edge_index, num_nodes).mean().expand(num_nodes).clone()


@mutant("2.1", "global")
def average_clustering_as_a_number(edge_index, num_nodes):
    return _clustering(edge_index, num_nodes).mean()


@mutant("2.1", "nodes")
def trailing_isolated_nodes_dropped(edge_index, num_nodes):
    return _clustering(edge_index, int(edge_index.max()) + 1)


@mutant("2.1", "dtype")
def integer_division_of_the_counts(edge_index, num_nodes):
    adj = _adjacency(edge_index, num_nodes).long()
    d = adj.sum(dim=1)
    pairs = d * (d - 1) // 2
    return torch.where(pairs > 0, (adj @ adj * adj).sum(dim=1) // 2 // pairs.clamp(min=1), torch.zeros_like(d))


@alternative("2.1")
def cube_diagonal_over_ordered_pairs(edge_index, num_nodes):
    adj = torch.zeros(num_nodes, num_nodes)
    adj[edge_index[0], edge_index[1]] = 1.0
    adj[edge_index[1], edge_index[0]] = 1.0
    adj *= 1 - torch.eye(num_nodes)
    closed = torch.linalg.matrix_power(adj, 3).diagonal()  # (N,) 2 T_i
    d = adj.sum(dim=1)
    return torch.nan_to_num(closed / (d * (d - 1)), nan=0.0)


@alternative("2.1")
def python_sets_of_neighbours(edge_index, num_nodes):
    neighbours = [set() for _ in range(num_nodes)]
    for j, i in edge_index.T.tolist():
        if i != j:
            neighbours[i].add(j)
            neighbours[j].add(i)
    out = []
    for mine in neighbours:
        linked = sum(len(neighbours[a] & mine) for a in mine) / 2
        pairs = len(mine) * (len(mine) - 1) / 2
        out.append(linked / pairs if pairs else 0.0)
    return torch.tensor(out, dtype=torch.float64)


@alternative("2.1")
def networkx_clustering(edge_index, num_nodes):
    import networkx as nx
    g = nx.Graph()
    g.add_nodes_from(range(num_nodes))
    g.add_edges_from((j, i) for j, i in edge_index.T.tolist() if j != i)
    found = nx.clustering(g)
    return torch.tensor([found[i] for i in range(num_nodes)])


@alternative("2.1")
def torch_sparse_products(edge_index, num_nodes):
    both = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    both = torch.unique(both[:, both[0] != both[1]], dim=1)  # (2, M) each direction once, no loops
    adj = torch.sparse_coo_tensor(both, torch.ones(both.shape[1], dtype=torch.float64),
                                  (num_nodes, num_nodes), check_invariants=True).coalesce()
    triangles = torch.sparse.sum(torch.sparse.mm(adj, adj) * adj, dim=1).to_dense() / 2  # (N,)
    d = torch.bincount(both[0], minlength=num_nodes).double()
    pairs = d * (d - 1) / 2
    return torch.where(pairs > 0, triangles / pairs.clamp(min=1), torch.zeros_like(pairs))


# --- 2.2 connected components ------------------------------------------------------------------

def _propagate(edge_index, num_nodes, *, rounds=None, both_ways=True, include_self=True, reduce="amin"):
    labels = torch.arange(num_nodes)
    src, dst = edge_index
    limit = rounds if rounds is not None else 3 * num_nodes + 3
    for _ in range(limit):
        new = labels.scatter_reduce(0, dst, labels[src], reduce=reduce, include_self=include_self)
        if both_ways:
            new = new.scatter_reduce(0, src, labels[dst], reduce=reduce, include_self=include_self)
        if torch.equal(new, labels):
            break
        labels = new
    return labels


for _rounds in (2, 10, 20, 50, 100, 1000):
    add_mutant("2.2", "rounds", f"fixed_{_rounds}_rounds",
              (lambda r: lambda edge_index, num_nodes: _propagate(edge_index, num_nodes, rounds=r))(_rounds))


@mutant("2.2", "rounds")
def num_nodes_over_2_rounds(edge_index, num_nodes):
    return _propagate(edge_index, num_nodes, rounds=num_nodes // 2)


@mutant("2.2", "rounds")
def stops_after_a_round_with_few_changes(edge_index, num_nodes):
    labels = torch.arange(num_nodes)
    src, dst = edge_index
    while True:
        new = labels.scatter_reduce(0, dst, labels[src], reduce="amin")
        new = new.scatter_reduce(0, src, labels[dst], reduce="amin")
        changed = int((new != labels).sum())
        labels = new
        if changed <= 1:  # "close enough"
            return labels


@mutant("2.2", "propagation")
def own_label_left_out_of_the_minimum(edge_index, num_nodes):
    return _propagate(edge_index, num_nodes, include_self=False, rounds=num_nodes + 1)


@mutant("2.2", "propagation")
def along_the_edges_only(edge_index, num_nodes):
    return _propagate(edge_index, num_nodes, both_ways=False)


@mutant("2.2", "propagation")
def largest_label(edge_index, num_nodes):
    return _propagate(edge_index, num_nodes, reduce="amax")


@mutant("2.2", "labels")
def components_numbered_from_0(edge_index, num_nodes):
    return torch.unique(_propagate(edge_index, num_nodes), return_inverse=True)[1]


@mutant("2.2", "labels")
def scipy_component_numbers(edge_index, num_nodes):
    m = sp.coo_matrix((np.ones(edge_index.shape[1]), edge_index.numpy()), shape=(num_nodes, num_nodes))
    return torch.from_numpy(csgraph.connected_components(m, directed=False)[1].astype(np.int64))


@mutant("2.2", "labels")
def largest_member_of_each_component(edge_index, num_nodes):
    labels = _propagate(edge_index, num_nodes)
    largest = torch.zeros(num_nodes, dtype=torch.long).scatter_reduce(0, labels, torch.arange(num_nodes), reduce="amax")
    return largest[labels]


@mutant("2.2", "union-find")
def union_find_returns_parents_not_roots(edge_index, num_nodes):
    parent = list(range(num_nodes))

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in edge_index.T.tolist():
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return torch.tensor(parent)


@mutant("2.2", "union-find")
def union_find_links_by_node_not_root(edge_index, num_nodes):
    parent = list(range(num_nodes))

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in edge_index.T.tolist():
        low, high = min(a, b), max(a, b)
        parent[high] = min(parent[high], low)  # forgets high's earlier component
    return torch.tensor([find(i) for i in range(num_nodes)])


@mutant("2.2", "nodes")
def nodes_after_the_largest_id_dropped(edge_index, num_nodes):
    n = int(edge_index.max()) + 1
    labels = _propagate(edge_index, n)
    return torch.cat([labels, torch.zeros(num_nodes - n, dtype=torch.long)])


@mutant("2.2", "nodes")
def isolated_nodes_labelled_minus_one(edge_index, num_nodes):
    labels = _propagate(edge_index, num_nodes)
    touched = torch.zeros(num_nodes, dtype=torch.bool)
    touched[edge_index.flatten()] = True
    return torch.where(touched, labels, torch.full_like(labels, -1))


@alternative("2.2")
def breadth_first_search_from_each_unlabelled_node(edge_index, num_nodes):
    neighbours = [[] for _ in range(num_nodes)]
    for a, b in edge_index.T.tolist():
        neighbours[a].append(b)
        neighbours[b].append(a)
    labels = [-1] * num_nodes
    for start in range(num_nodes):
        if labels[start] >= 0:
            continue
        labels[start] = start
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for other in neighbours[node]:
                if labels[other] < 0:
                    labels[other] = start
                    queue.append(other)
    return torch.tensor(labels)


@alternative("2.2")
def union_find_with_path_compression(edge_index, num_nodes):
    parent = list(range(num_nodes))

    def find(x):
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for a, b in edge_index.T.tolist():
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return torch.tensor([find(i) for i in range(num_nodes)])


@alternative("2.2")
def scipy_then_smallest_member(edge_index, num_nodes):
    m = sp.coo_matrix((np.ones(edge_index.shape[1]), edge_index.numpy()), shape=(num_nodes, num_nodes))
    found = torch.from_numpy(csgraph.connected_components(m, directed=False)[1].astype(np.int64))
    smallest = torch.full((num_nodes,), num_nodes).scatter_reduce(0, found, torch.arange(num_nodes), reduce="amin")
    return smallest[found]


@alternative("2.2")
def gauss_seidel_propagation(edge_index, num_nodes):
    labels = torch.arange(num_nodes)
    src, dst = edge_index
    while True:
        old = labels.clone()
        labels = labels.scatter_reduce(0, dst, labels[src], reduce="amin")
        labels = labels.scatter_reduce(0, src, labels[dst], reduce="amin")
        if torch.equal(old, labels):
            return labels


# --- 2.3 edge homophily -----------------------------------------------------------------------------

def _no_loops(edge_index):
    return edge_index[:, edge_index[0] != edge_index[1]]


def _same(edge_index, y):
    return (y[edge_index[0]] == y[edge_index[1]]).double()


@mutant("2.3", "self-loops")
def one_self_loop_per_node_assumed(edge_index, y):
    return (_same(edge_index, y).sum() - len(y)) / (edge_index.shape[1] - len(y))


@mutant("2.3", "self-loops")
def last_n_columns_taken_as_the_loops(edge_index, y):
    return _same(edge_index[:, :-len(y)], y).mean()


@mutant("2.3", "self-loops")
def hits_without_loops_over_all_columns(edge_index, y):
    return _same(_no_loops(edge_index), y).sum() / edge_index.shape[1]


@mutant("2.3", "self-loops")
def loops_counted_as_different_classes(edge_index, y):
    same = _same(edge_index, y)
    same[edge_index[0] == edge_index[1]] = 0.0
    return same.mean()


@mutant("2.3", "undirected")
def only_columns_with_source_below_target(edge_index, y):
    return _same(edge_index[:, edge_index[0] < edge_index[1]], y).mean()


@mutant("2.3", "undirected")
def symmetrised_and_deduplicated(edge_index, y):
    both = torch.unique(torch.cat([edge_index, edge_index.flip(0)], dim=1), dim=1)
    return _same(_no_loops(both), y).mean()


@mutant("2.3", "undirected")
def divided_by_half_the_edges(edge_index, y):
    kept = _no_loops(edge_index)
    return _same(kept, y).sum() / (kept.shape[1] // 2)


@mutant("2.3", "averaging")
def mean_of_the_class_shares(edge_index, y):
    kept = _no_loops(edge_index)
    same = _same(kept, y)
    classes = y[kept[1]]
    share = torch.zeros(int(y.max()) + 1, dtype=torch.float64).index_add_(0, classes, same)
    total = torch.bincount(classes, minlength=int(y.max()) + 1).double()
    return (share[total > 0] / total[total > 0]).mean()


@mutant("2.3", "averaging")
def median_over_nodes_of_the_local_share(edge_index, y):
    kept = _no_loops(edge_index)
    hits = torch.zeros(len(y), dtype=torch.float64).index_add_(0, kept[1], _same(kept, y))
    total = torch.bincount(kept[1], minlength=len(y)).double()
    return (hits[total > 0] / total[total > 0]).median()


@mutant("2.3", "comparison")
def source_compared_with_itself(edge_index, y):
    kept = _no_loops(edge_index)
    return (y[kept[0]] == y[kept[0]]).double().mean()


@mutant("2.3", "comparison")
def classes_at_most_one_apart(edge_index, y):
    kept = _no_loops(edge_index)
    return ((y[kept[0]] - y[kept[1]]).abs() <= 1).double().mean()


@mutant("2.3", "comparison")
def node_ids_compared_instead_of_classes(edge_index, y):
    kept = _no_loops(edge_index)
    return (kept[0] == kept[1]).double().mean()


@mutant("2.3", "dtype")
def integer_division(edge_index, y):
    kept = _no_loops(edge_index)
    return (y[kept[0]] == y[kept[1]]).sum() // kept.shape[1]


@alternative("2.3")
def python_float(edge_index, y):
    pairs = [(a, b) for a, b in edge_index.T.tolist() if a != b]
    return sum(int(y[a]) == int(y[b]) for a, b in pairs) / len(pairs)


@alternative("2.3")
def float32_mean(edge_index, y):
    kept = _no_loops(edge_index)
    return (y[kept[0]] == y[kept[1]]).float().mean()


@alternative("2.3")
def count_over_count(edge_index, y):
    loops = edge_index[0] == edge_index[1]
    hits = ((y[edge_index[0]] == y[edge_index[1]]) & ~loops).sum()
    return hits.item() / (~loops).sum().item()


# --- 2.4 the receptive field ----------------------------------------------------------------------------

def _bfs(edge_index, num_nodes, node, hops, *, step=None, remember=True, centre=True, unreached=-1):
    distance = torch.full((num_nodes,), unreached)
    if centre:
        distance[node] = 0
    frontier = torch.zeros(num_nodes, dtype=torch.bool)
    frontier[node] = True
    step = step or (lambda e, f: e[0, f[e[1]]])
    for hop in range(1, hops + 1):
        reached = torch.zeros(num_nodes, dtype=torch.bool)
        reached[step(edge_index, frontier)] = True
        if remember:
            seen = distance != unreached
            if not centre:
                seen[node] = False
            frontier = reached & ~seen
        else:
            frontier = reached
        distance[frontier] = hop
    return distance


for _name, _hops in {"one_hop_too_few": lambda h: h - 1, "one_hop_too_many": lambda h: h + 1,
                     "twice_the_hops": lambda h: 2 * h, "no_limit": lambda h: 50}.items():
    add_mutant("2.4", "hops", _name,
              (lambda f: lambda edge_index, num_nodes, node, hops: _bfs(edge_index, num_nodes, node, f(hops)))(_hops))


@mutant("2.4", "hops")
def beyond_the_limit_clamped_to_hops(edge_index, num_nodes, node, hops):
    distance = _bfs(edge_index, num_nodes, node, 50)
    return torch.where(distance > hops, torch.full_like(distance, hops), distance)


@mutant("2.4", "direction")
def both_directions(edge_index, num_nodes, node, hops):
    return _bfs(edge_index, num_nodes, node, hops,
                step=lambda e, f: torch.cat([e[0, f[e[1]]], e[1, f[e[0]]]]))


@mutant("2.4", "direction")
def forwards_along_the_edges(edge_index, num_nodes, node, hops):
    return _bfs(edge_index, num_nodes, node, hops, step=lambda e, f: e[1, f[e[0]]])


@mutant("2.4", "direction")
def first_hop_backwards_then_forwards(edge_index, num_nodes, node, hops):
    state = {"hop": 0}

    def step(e, f):
        state["hop"] += 1
        return e[0, f[e[1]]] if state["hop"] == 1 else e[1, f[e[0]]]
    return _bfs(edge_index, num_nodes, node, hops, step=step)


@mutant("2.4", "visited")
def centre_not_marked_visited(edge_index, num_nodes, node, hops):
    return _bfs(edge_index, num_nodes, node, hops, centre=False)


@mutant("2.4", "visited")
def visited_forgotten(edge_index, num_nodes, node, hops):
    return _bfs(edge_index, num_nodes, node, hops, remember=False)


@mutant("2.4", "visited")
def frontier_never_advances(edge_index, num_nodes, node, hops):
    distance = torch.full((num_nodes,), -1)
    distance[node] = 0
    centre = distance == 0
    for hop in range(1, hops + 1):
        reached = torch.zeros(num_nodes, dtype=torch.bool)
        reached[edge_index[0, centre[edge_index[1]]]] = True
        new = reached & (distance < 0)
        distance[new] = hop
    return distance


@mutant("2.4", "visited")
def frontier_keeps_every_reached_node_and_rewrites(edge_index, num_nodes, node, hops):
    distance = torch.full((num_nodes,), -1)
    distance[node] = 0
    frontier = distance == 0
    for hop in range(1, hops + 1):
        reached = frontier.clone()
        reached[edge_index[0, frontier[edge_index[1]]]] = True
        distance[reached & (distance != 0)] = hop
        frontier = reached
    return distance


@mutant("2.4", "search order")
def depth_first_with_a_visited_set(edge_index, num_nodes, node, hops):
    distance = torch.full((num_nodes,), -1)
    sources = [[] for _ in range(num_nodes)]
    for j, i in edge_index.T.tolist():
        sources[i].append(j)
    seen = {node}
    distance[node] = 0

    def visit(current, depth):
        if depth == hops:
            return
        for j in sources[current]:
            if j not in seen:
                seen.add(j)
                distance[j] = depth + 1
                visit(j, depth + 1)
    visit(node, 0)
    return distance


@mutant("2.4", "values")
def unreached_marked_0(edge_index, num_nodes, node, hops):
    distance = _bfs(edge_index, num_nodes, node, hops)
    return distance.clamp(min=0)


@mutant("2.4", "values")
def hops_counted_from_1(edge_index, num_nodes, node, hops):
    distance = _bfs(edge_index, num_nodes, node, hops)
    return torch.where(distance >= 0, distance + 1, distance)


@mutant("2.4", "values")
def unreached_marked_hops_plus_1(edge_index, num_nodes, node, hops):
    distance = _bfs(edge_index, num_nodes, node, hops)
    return torch.where(distance < 0, torch.full_like(distance, hops + 1), distance)


@mutant("2.4", "dtype")
def float_distances(edge_index, num_nodes, node, hops):
    return _bfs(edge_index, num_nodes, node, hops).float()


@alternative("2.4")
def queue_based_breadth_first_search(edge_index, num_nodes, node, hops):
    sources = [[] for _ in range(num_nodes)]
    for j, i in edge_index.T.tolist():
        sources[i].append(j)
    distance = [-1] * num_nodes
    distance[node] = 0
    queue = deque([node])
    while queue:
        current = queue.popleft()
        if distance[current] == hops:
            continue
        for j in sources[current]:
            if distance[j] < 0:
                distance[j] = distance[current] + 1
                queue.append(j)
    return torch.tensor(distance)


@alternative("2.4")
def sparse_matrix_vector_products(edge_index, num_nodes, node, hops):
    # reach[j] > 0 after k products iff j reaches node in at most k hops: multiply by A^T, A[i, j] = 1 iff j -> i
    a_t = torch.sparse_coo_tensor(edge_index, torch.ones(edge_index.shape[1]), (num_nodes, num_nodes),
                                  check_invariants=True)
    distance = torch.full((num_nodes,), -1)
    distance[node] = 0
    reach = torch.zeros(num_nodes, 1)
    reach[node] = 1.0
    for hop in range(1, hops + 1):
        reach = (reach + torch.sparse.mm(a_t, reach)).clamp(max=1.0)
        distance[(reach[:, 0] > 0) & (distance < 0)] = hop
    return distance


@alternative("2.4")
def bellman_ford_relaxation(edge_index, num_nodes, node, hops):
    big = hops + 1
    distance = torch.full((num_nodes,), big)
    distance[node] = 0
    for _ in range(hops):
        candidate = distance[edge_index[1]] + 1  # through each edge j -> i, j is one further than i
        distance = distance.scatter_reduce(0, edge_index[0], candidate, reduce="amin")
    return torch.where(distance > hops, torch.full_like(distance, -1), distance)
