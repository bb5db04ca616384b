"""Mutation suites for chapter 01, Loading Cora: 1.1 row normalisation, 1.2 ``edge_index`` from the
adjacency dict, 1.3 self-loops, 1.4 the dense adjacency matrix.

Each family is a kind of slip a learner who gets the exercise almost right could make; the loops
generate its members. Every mutant runs on every case of its check (a crash would not be a
plausible accepted answer) and computes something else on at least one of them.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from mutants import EQUIVALENT, add_mutant, alternative, mutant

# 1.2 returns an undirected edge list: every correct answer holds each edge in both directions,
# so swapping its two rows (the generic "first and last rows swapped") gives the same set of
# columns, which is all the check compares (any column order is fine).
EQUIVALENT.add(("1.2", "order"))
# 1.4 sets adj[i, j] = 1 once per column: listing a self-loop twice sets the same entry twice, so
# the generic "self-loops counted twice" computes the reference itself. (The family's other
# member, "self-loops left out", is killed: it is kept below as ``self_loops_dropped``.)
EQUIVALENT.add(("1.4", "self-loops"))


def _dense(features: torch.Tensor) -> torch.Tensor:
    return features.to_dense() if features.layout != torch.strided else features.clone()


# --- 1.1 row-normalise the features -----------------------------------------------------------

def _divided_by(denominator):
    def wrong(features):
        dense = _dense(features)
        return dense / denominator(dense)
    return wrong


_DENOMINATORS = {
    "one_sum_over_the_whole_matrix": lambda d: d.sum().clamp(min=1e-12),
    "number_of_non_zero_entries": lambda d: (d != 0).sum(dim=1, keepdim=True).clamp(min=1),
    "row_sums_clamped_at_1": lambda d: d.sum(dim=1, keepdim=True).clamp(min=1),
    "row_sums_clamped_at_0.1": lambda d: d.sum(dim=1, keepdim=True).clamp(min=0.1),
    "row_sums_clamped_at_0.001": lambda d: d.sum(dim=1, keepdim=True).clamp(min=1e-3),
    "row_sums_plus_1e-5": lambda d: d.sum(dim=1, keepdim=True) + 1e-5,
    "row_sums_plus_1": lambda d: d.sum(dim=1, keepdim=True) + 1,
    "row_max": lambda d: d.amax(dim=1, keepdim=True).clamp(min=1e-12),
    "row_l2_norm": lambda d: d.norm(dim=1, keepdim=True).clamp(min=1e-12),
    "row_mean": lambda d: d.mean(dim=1, keepdim=True).clamp(min=1e-12),
    "column_sums_clamped": lambda d: d.sum(dim=0, keepdim=True).clamp(min=1e-12),
    "number_of_columns": lambda d: d.shape[1],
}
for _name, _denominator in _DENOMINATORS.items():
    add_mutant("1.1", "denominator", f"divided_by_{_name}", _divided_by(_denominator))


@mutant("1.1", "empty rows")
def empty_rows_become_uniform(features):
    dense = _dense(features)
    sums = dense.sum(dim=1, keepdim=True)
    return torch.where(sums > 0, dense / sums.clamp(min=1e-12), torch.full_like(dense, 1 / dense.shape[1]))


@mutant("1.1", "empty rows")
def empty_rows_become_nan(features):
    dense = _dense(features)
    return dense / dense.sum(dim=1, keepdim=True)


@mutant("1.1", "empty rows")
def empty_rows_become_ones(features):
    dense = _dense(features)
    sums = dense.sum(dim=1, keepdim=True)
    return torch.where(sums > 0, dense / sums.clamp(min=1e-12), torch.ones_like(dense))


@mutant("1.1", "softmax")
def softmax_over_each_row(features):
    return torch.softmax(_dense(features), dim=1)


@mutant("1.1", "softmax")
def softmax_of_the_nonzero_entries_only(features):
    dense = _dense(features)
    p = torch.exp(dense) * (dense != 0)
    return p / p.sum(dim=1, keepdim=True).clamp(min=1e-12)


@mutant("1.1", "in place")
def divides_a_dense_input_in_place(features):
    dense = features.to_dense()  # a dense tensor's to_dense() is the tensor itself
    dense /= dense.sum(dim=1, keepdim=True).clamp(min=1e-12)
    return dense


@mutant("1.1", "loop")
def python_loop_skips_the_last_row(features):
    dense = _dense(features)
    for i in range(dense.shape[0] - 1):
        total = dense[i].sum()
        if total > 0:
            dense[i] = dense[i] / total
    return dense


@mutant("1.1", "loop")
def python_loop_skips_the_first_row(features):
    dense = _dense(features)
    for i in range(1, dense.shape[0]):
        total = dense[i].sum()
        if total > 0:
            dense[i] = dense[i] / total
    return dense


@mutant("1.1", "dtype")
def float64_result(features):
    dense = _dense(features).double()
    return dense / dense.sum(dim=1, keepdim=True).clamp(min=1e-12)


@mutant("1.1", "dtype")
def rounded_to_integer_counts(features):
    dense = _dense(features)
    return (dense / dense.sum(dim=1, keepdim=True).clamp(min=1e-12)).round()


@mutant("1.1", "layout")
def sparse_result(features):
    dense = _dense(features)
    return (dense / dense.sum(dim=1, keepdim=True).clamp(min=1e-12)).to_sparse_csr()


@mutant("1.1", "layout")
def sparse_coo_result(features):
    dense = _dense(features)
    return (dense / dense.sum(dim=1, keepdim=True).clamp(min=1e-12)).to_sparse()


@mutant("1.1", "layout")
def transposed_result(features):
    dense = _dense(features)
    return (dense / dense.sum(dim=1, keepdim=True).clamp(min=1e-12)).T.contiguous()


@alternative("1.1")
def normalise_p1(features):
    return F.normalize(_dense(features), p=1, dim=1)


@alternative("1.1")
def sparse_csr_values_divided(features):
    if features.layout != torch.sparse_csr:
        features = features.to_sparse_csr()
    crow, col, values = features.crow_indices(), features.col_indices(), features.values()
    counts = crow[1:] - crow[:-1]  # (N,) stored values per row
    row_of_value = torch.repeat_interleave(torch.arange(features.shape[0]), counts)
    sums = torch.zeros(features.shape[0]).index_add_(0, row_of_value, values)
    scaled = values / sums[row_of_value]
    return torch.sparse_csr_tensor(crow, col, scaled, size=features.shape, check_invariants=True).to_dense()


@alternative("1.1")
def with_scipy(features):
    dense = _dense(features).numpy()
    sums = dense.sum(axis=1)
    inverse = np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)
    return torch.from_numpy(np.asarray(sp.diags(inverse) @ sp.csr_matrix(dense).toarray())).float()


@alternative("1.1")
def torch_where_on_the_sums(features):
    dense = _dense(features)
    sums = dense.sum(dim=1, keepdim=True)
    return torch.where(sums > 0, dense / sums, torch.zeros_like(dense))


# --- 1.2 edge_index from the adjacency dict ------------------------------------------------------

def _pairs(adjacency, *, keys=None):
    items = adjacency.items() if keys is None else keys(adjacency)
    return torch.tensor([(int(n), int(m)) for n, ms in items for m in ms], dtype=torch.long).reshape(-1, 2).T


def _finish(both: torch.Tensor) -> torch.Tensor:
    both = both[:, both[0] != both[1]]
    return torch.unique(both, dim=1)


@mutant("1.2", "symmetry")
def raw_pairs_as_listed(adjacency, num_nodes):
    return _pairs(adjacency)


@mutant("1.2", "symmetry")
def only_pairs_with_the_smaller_id_first(adjacency, num_nodes):
    one_way = _pairs(adjacency)
    one_way = one_way[:, one_way[0] < one_way[1]]
    return torch.unique(torch.cat([one_way, one_way.flip(0)], dim=1), dim=1)


@mutant("1.2", "symmetry")
def reverse_taken_with_flip_of_the_columns(adjacency, num_nodes):
    one_way = _pairs(adjacency)
    return _finish(torch.cat([one_way, one_way.flip(1)], dim=1))  # flip(1) reverses column order


@mutant("1.2", "symmetry")
def reverse_only_where_missing_checked_against_keys(adjacency, num_nodes):
    # adds b -> a only when b is not a key at all: every node of the toy is a key
    one_way = _pairs(adjacency)
    missing = torch.tensor([int(b) not in adjacency for b in one_way[1].tolist()], dtype=torch.bool)
    return _finish(torch.cat([one_way, one_way[:, missing].flip(0)], dim=1))


@mutant("1.2", "duplicates")
def unique_before_adding_the_reverse(adjacency, num_nodes):
    one_way = torch.unique(_pairs(adjacency), dim=1)
    both = torch.cat([one_way, one_way.flip(0)], dim=1)
    return both[:, both[0] != both[1]]


@mutant("1.2", "duplicates")
def unique_of_the_flattened_tensor(adjacency, num_nodes):
    one_way = _pairs(adjacency)
    both = torch.cat([one_way, one_way.flip(0)], dim=1)
    return torch.unique(both[:, both[0] != both[1]])


@mutant("1.2", "duplicates")
def unique_along_the_wrong_axis(adjacency, num_nodes):
    one_way = _pairs(adjacency)
    both = torch.cat([one_way, one_way.flip(0)], dim=1)
    return torch.unique(both[:, both[0] != both[1]], dim=0)


@mutant("1.2", "self-loops")
def loops_dropped_before_symmetrising_only_from_listed_side(adjacency, num_nodes):
    one_way = _pairs(adjacency)
    both = torch.cat([one_way, one_way.flip(0)], dim=1)
    return torch.unique(both[:, both[0] <= both[1]], dim=1)  # <= keeps loops, drops one direction


@mutant("1.2", "node ids")
def keys_taken_in_dict_order(adjacency, num_nodes):
    one_way = _pairs(adjacency, keys=lambda a: enumerate(a.values()))
    return _finish(torch.cat([one_way, one_way.flip(0)], dim=1))


@mutant("1.2", "loop")
def python_loop_skips_the_last_node(adjacency, num_nodes):
    one_way = _pairs(adjacency, keys=lambda a: ((n, a.get(n, [])) for n in range(num_nodes - 1)))
    return _finish(torch.cat([one_way, one_way.flip(0)], dim=1))


@mutant("1.2", "loop")
def python_loop_skips_the_first_neighbour(adjacency, num_nodes):
    one_way = _pairs(adjacency, keys=lambda a: ((n, list(ms)[1:]) for n, ms in a.items()))
    return _finish(torch.cat([one_way, one_way.flip(0)], dim=1))


@mutant("1.2", "dtype")
def int32_edge_index(adjacency, num_nodes):
    one_way = _pairs(adjacency)
    return _finish(torch.cat([one_way, one_way.flip(0)], dim=1)).int()


@mutant("1.2", "layout")
def pairs_as_rows(adjacency, num_nodes):
    one_way = _pairs(adjacency)
    return _finish(torch.cat([one_way, one_way.flip(0)], dim=1)).T.contiguous()


@mutant("1.2", "node ids")
def one_based_node_ids(adjacency, num_nodes):
    one_way = _pairs(adjacency)
    return _finish(torch.cat([one_way, one_way.flip(0)], dim=1)) + 1


@alternative("1.2")
def set_of_pairs(adjacency, num_nodes):
    pairs = {(int(a), int(b)) for a, bs in adjacency.items() for b in bs if a != b}
    pairs |= {(b, a) for a, b in pairs}
    return torch.tensor(sorted(pairs), dtype=torch.long).reshape(-1, 2).T


@alternative("1.2")
def symmetric_scipy_matrix(adjacency, num_nodes):
    rows = [int(a) for a, bs in adjacency.items() for _ in bs]
    cols = [int(b) for bs in adjacency.values() for b in bs]
    m = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(num_nodes, num_nodes)).tocsr()
    m = ((m + m.T) > 0).tocoo()
    keep = m.row != m.col
    return torch.from_numpy(np.stack([m.row[keep], m.col[keep]]).astype(np.int64))


@alternative("1.2")
def dense_boolean_matrix(adjacency, num_nodes):
    adj = torch.zeros(num_nodes, num_nodes, dtype=torch.bool)
    for a, bs in adjacency.items():
        for b in bs:
            adj[a, b] = adj[b, a] = True
    adj.fill_diagonal_(False)
    return adj.nonzero().T


# --- 1.3 add self-loops ----------------------------------------------------------------------------

def _with_loops(loops):
    def wrong(edge_index, num_nodes):
        return torch.cat([edge_index, loops(edge_index, num_nodes)], dim=1)
    return wrong


def _diagonal(nodes: torch.Tensor) -> torch.Tensor:
    return torch.stack([nodes, nodes])


_LOOPS = {
    "one_based": lambda e, n: _diagonal(torch.arange(1, n + 1)),
    "for_nodes_0_to_n_minus_2": lambda e, n: _diagonal(torch.arange(n - 1)),
    "for_nodes_1_to_n_minus_1": lambda e, n: _diagonal(torch.arange(1, n)),
    "up_to_the_largest_id_in_edge_index": lambda e, n: _diagonal(torch.arange(int(e.max()) + 1)),
    "for_targets_only": lambda e, n: _diagonal(torch.unique(e[1])),
    "for_sources_only": lambda e, n: _diagonal(torch.unique(e[0])),
    "for_nodes_with_edges_only": lambda e, n: _diagonal(torch.unique(e)),
    "twice_per_node": lambda e, n: _diagonal(torch.arange(n).repeat(2)),
    "repeat_interleave_then_view": lambda e, n: torch.arange(n).repeat_interleave(2).view(2, n),
    "to_the_next_node_instead_of_itself": lambda e, n: torch.stack([torch.arange(n), (torch.arange(n) + 1) % n]),
    "one_per_edge_not_per_node": lambda e, n: _diagonal(torch.arange(e.shape[1]) % n),
}
for _name, _loops in _LOOPS.items():
    add_mutant("1.3", "loops", f"loops_{_name}", _with_loops(_loops))


@mutant("1.3", "columns")
def repeated_columns_merged(edge_index, num_nodes):
    return torch.unique(torch.cat([edge_index, _diagonal(torch.arange(num_nodes))], dim=1), dim=1)


@mutant("1.3", "columns")
def last_column_of_the_input_dropped(edge_index, num_nodes):
    return torch.cat([edge_index[:, :-1], _diagonal(torch.arange(num_nodes))], dim=1)


@mutant("1.3", "columns")
def input_made_undirected(edge_index, num_nodes):
    both = torch.unique(torch.cat([edge_index, edge_index.flip(0)], dim=1), dim=1)
    return torch.cat([both, _diagonal(torch.arange(num_nodes))], dim=1)


@mutant("1.3", "columns")
def loops_only_with_the_input_dropped(edge_index, num_nodes):
    return torch.cat([edge_index[:, :0], _diagonal(torch.arange(num_nodes))], dim=1)


@mutant("1.3", "direction")
def input_rows_swapped(edge_index, num_nodes):
    return torch.cat([edge_index[[1, 0]], _diagonal(torch.arange(num_nodes))], dim=1)


@mutant("1.3", "dtype")
def float_result(edge_index, num_nodes):
    return torch.cat([edge_index.float(), _diagonal(torch.arange(num_nodes)).float()], dim=1)


@alternative("1.3")
def eye_nonzero(edge_index, num_nodes):
    return torch.cat([torch.eye(num_nodes).nonzero().T, edge_index], dim=1)


@alternative("1.3")
def expand_then_sort(edge_index, num_nodes):
    loops = torch.arange(num_nodes).expand(2, num_nodes)
    both = torch.cat([edge_index, loops], dim=1)
    return both[:, torch.argsort(both[0] * num_nodes + both[1], stable=True)]


@alternative("1.3")
def numpy_loops(edge_index, num_nodes):
    loops = np.tile(np.arange(num_nodes), (2, 1))
    return torch.from_numpy(np.concatenate([edge_index.numpy(), loops], axis=1))


# --- 1.4 the dense adjacency matrix --------------------------------------------------------------

def _set(adj, rows, cols):
    adj[rows, cols] = 1.0
    return adj


@mutant("1.4", "repeats")
def repeats_accumulated(edge_index, num_nodes):
    adj = torch.zeros(num_nodes, num_nodes)
    return adj.index_put_((edge_index[1], edge_index[0]), torch.ones(edge_index.shape[1]), accumulate=True)


@mutant("1.4", "repeats")
def sparse_coo_to_dense(edge_index, num_nodes):
    adj = torch.sparse_coo_tensor(edge_index.flip(0), torch.ones(edge_index.shape[1]), (num_nodes, num_nodes),
                                  check_invariants=True)
    return adj.to_dense()


@mutant("1.4", "loops")
def identity_added(edge_index, num_nodes):
    return _set(torch.zeros(num_nodes, num_nodes), edge_index[1], edge_index[0]) + torch.eye(num_nodes)


@mutant("1.4", "loops")
def self_loops_set_to_one(edge_index, num_nodes):
    return _set(torch.zeros(num_nodes, num_nodes), edge_index[1], edge_index[0]).fill_diagonal_(1.0)


@mutant("1.4", "loops")
def self_loops_dropped(edge_index, num_nodes):
    return _set(torch.zeros(num_nodes, num_nodes), edge_index[1], edge_index[0]).fill_diagonal_(0.0)


@mutant("1.4", "direction")
def symmetrised(edge_index, num_nodes):
    adj = _set(torch.zeros(num_nodes, num_nodes), edge_index[1], edge_index[0])
    return _set(adj, edge_index[0], edge_index[1])


@mutant("1.4", "indexing")
def indexed_with_the_whole_edge_index(edge_index, num_nodes):
    adj = torch.zeros(num_nodes, num_nodes)
    adj[edge_index] = 1.0  # selects whole rows
    return adj


@mutant("1.4", "indexing")
def chained_indexing_writes_a_copy(edge_index, num_nodes):
    adj = torch.zeros(num_nodes, num_nodes)
    adj[edge_index[1]][:, edge_index[0]] = 1.0  # the first [] copies; adj stays zero
    return adj


@mutant("1.4", "indexing")
def every_target_source_pair(edge_index, num_nodes):
    adj = torch.zeros(num_nodes, num_nodes)
    adj[edge_index[1][:, None], edge_index[0][None, :]] = 1.0
    return adj


@mutant("1.4", "indexing")
def flat_index_with_source_as_row(edge_index, num_nodes):
    adj = torch.zeros(num_nodes * num_nodes)
    adj[edge_index[0] * num_nodes + edge_index[1]] = 1.0
    return adj.view(num_nodes, num_nodes)


@mutant("1.4", "size")
def size_from_the_largest_id(edge_index, num_nodes):
    n = int(edge_index.max()) + 1
    return _set(torch.zeros(n, n), edge_index[1], edge_index[0])


@mutant("1.4", "loop")
def python_loop_over_targets_skips_the_last_row(edge_index, num_nodes):
    adj = torch.zeros(num_nodes, num_nodes)
    for i in range(num_nodes - 1):
        adj[i, edge_index[0, edge_index[1] == i]] = 1.0
    return adj


@mutant("1.4", "loop")
def python_loop_skips_the_last_column_of_edge_index(edge_index, num_nodes):
    adj = torch.zeros(num_nodes, num_nodes)
    last = edge_index.shape[1] - 1
    return _set(adj, edge_index[1, :last], edge_index[0, :last])


@alternative("1.4")
def sparse_coo_clamped(edge_index, num_nodes):
    adj = torch.sparse_coo_tensor(edge_index.flip(0), torch.ones(edge_index.shape[1]), (num_nodes, num_nodes),
                                  check_invariants=True)
    return adj.to_dense().clamp(max=1.0)


@alternative("1.4")
def flat_index(edge_index, num_nodes):
    adj = torch.zeros(num_nodes * num_nodes)
    adj[edge_index[1] * num_nodes + edge_index[0]] = 1.0
    return adj.view(num_nodes, num_nodes)


@alternative("1.4")
def index_put_then_add_one(edge_index, num_nodes):
    adj = torch.zeros(num_nodes, num_nodes)
    adj[edge_index[1], edge_index[0]] += 1  # advanced-index += writes each cell once
    return adj


@alternative("1.4")
def scatter_rows(edge_index, num_nodes):
    adj = torch.zeros(num_nodes, num_nodes)
    return adj.index_put((edge_index[1], edge_index[0]), torch.tensor(1.0)).bool().float()
