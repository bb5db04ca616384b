"""Mutation suites for chapter 02, Looking at the graph: 2.1 the degree vector, 2.2 connected
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


# --- 2.1 the degree vector ------------------------------------------------------------------------

def _counts(row: torch.Tensor, num_nodes: int) -> torch.Tensor:
    return torch.bincount(row, minlength=num_nodes)


@mutant("2.1", "direction")
def in_plus_out_degree(edge_index, num_nodes):
    return _counts(edge_index[0], num_nodes) + _counts(edge_index[1], num_nodes)


@mutant("2.1", "direction")
def half_of_in_plus_out(edge_index, num_nodes):
    return (_counts(edge_index[0], num_nodes) + _counts(edge_index[1], num_nodes)) // 2


@mutant("2.1", "direction")
def maximum_of_in_and_out(edge_index, num_nodes):
    return torch.maximum(_counts(edge_index[0], num_nodes), _counts(edge_index[1], num_nodes))


@mutant("2.1", "direction")
def dense_adjacency_summed_over_rows(edge_index, num_nodes):
    adj = torch.zeros(num_nodes, num_nodes, dtype=torch.long)
    adj[edge_index[1], edge_index[0]] = 1
    return adj.sum(dim=0)  # out-degree


@mutant("2.1", "repeats")
def distinct_sources_only(edge_index, num_nodes):
    return _counts(torch.unique(edge_index, dim=1)[1], num_nodes)


@mutant("2.1", "repeats")
def dense_adjacency_row_sums(edge_index, num_nodes):
    adj = torch.zeros(num_nodes, num_nodes, dtype=torch.long)
    adj[edge_index[1], edge_index[0]] = 1
    return adj.sum(dim=1)


@mutant("2.1", "repeats")
def presence_not_count(edge_index, num_nodes):
    return torch.zeros(num_nodes, dtype=torch.long).scatter_(0, edge_index[1], 1)


@mutant("2.1", "self-loops")
def self_loops_not_counted(edge_index, num_nodes):
    return _counts(edge_index[1, edge_index[0] != edge_index[1]], num_nodes)


@mutant("2.1", "self-loops")
def self_loops_counted_twice(edge_index, num_nodes):
    return _counts(edge_index[1], num_nodes) + _counts(edge_index[1, edge_index[0] == edge_index[1]], num_nodes)


@mutant("2.1", "self-loops")
def one_self_loop_added_per_node(edge_index, num_nodes):
    return _counts(edge_index[1], num_nodes) + 1


@mutant("2.1", "sorted")
def searchsorted_assumes_sorted_targets(edge_index, num_nodes):
    bounds = torch.searchsorted(edge_index[1].contiguous(), torch.arange(num_nodes + 1))
    return (bounds[1:] - bounds[:-1]).clamp(min=0)


@mutant("2.1", "sorted")
def run_lengths_of_the_targets(edge_index, num_nodes):
    values, counts = torch.unique_consecutive(edge_index[1], return_counts=True)
    degree = torch.zeros(num_nodes, dtype=torch.long)
    degree[values] = counts  # a later run of the same target overwrites an earlier one
    return degree


@mutant("2.1", "loop")
def python_loop_skips_the_last_node(edge_index, num_nodes):
    counted = [int((edge_index[1] == i).sum()) for i in range(num_nodes - 1)]
    return torch.tensor(counted + [0], dtype=torch.long)


@mutant("2.1", "loop")
def python_loop_over_columns_skips_the_last(edge_index, num_nodes):
    degree = torch.zeros(num_nodes, dtype=torch.long)
    for target in edge_index[1, :-1].tolist():
        degree[target] += 1
    return degree


@mutant("2.1", "dtype")
def int32_degrees(edge_index, num_nodes):
    return _counts(edge_index[1], num_nodes).int()


@alternative("2.1")
def scatter_add_of_ones(edge_index, num_nodes):
    return torch.zeros(num_nodes, dtype=torch.long).scatter_add_(0, edge_index[1], torch.ones_like(edge_index[1]))


@alternative("2.1")
def python_counter(edge_index, num_nodes):
    degree = [0] * num_nodes
    for target in edge_index[1].tolist():
        degree[target] += 1
    return torch.tensor(degree)


@alternative("2.1")
def numpy_add_at(edge_index, num_nodes):
    degree = np.zeros(num_nodes, dtype=np.int64)
    np.add.at(degree, edge_index[1].numpy(), 1)
    return torch.from_numpy(degree)


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
