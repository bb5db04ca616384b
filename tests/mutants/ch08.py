"""Mutation suites for chapter 08, seeing attention: 8.1 one node's attention, 8.2 entropies, 8.3 ln(in-degree)."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from mutants import add_mutant, alternative, mutant


# --- 8.1 one node's attention --------------------------------------------------------------------------

@mutant("8.1", "sorted order")
def contiguous_block_after_the_smaller_targets(edge_index, alpha, node):
    start = int((edge_index[1] < node).sum())
    return alpha[start:start + int((edge_index[1] == node).sum())]


@mutant("8.1", "sorted order")
def block_from_the_first_matching_column(edge_index, alpha, node):
    first = int((edge_index[1] == node).nonzero()[0])
    return alpha[first:first + int((edge_index[1] == node).sum())]


@mutant("8.1", "sorted order")
def block_from_searchsorted(edge_index, alpha, node):
    start = int(torch.searchsorted(edge_index[1], torch.tensor(node)))
    end = int(torch.searchsorted(edge_index[1], torch.tensor(node), right=True))
    return alpha[start:max(end, start + int((edge_index[1] == node).sum()))][: int((edge_index[1] == node).sum())]


@mutant("8.1", "sorted order")
def block_from_unique_consecutive_runs(edge_index, alpha, node):
    values, counts = torch.unique_consecutive(edge_index[1], return_counts=True)
    starts = torch.cat([counts.new_zeros(1), counts.cumsum(0)[:-1]])
    run = int((values == node).nonzero()[0])  # the first run of this node
    return alpha[starts[run]:starts[run] + counts[run]]


@mutant("8.1", "sorted order")
def rows_ordered_by_source(edge_index, alpha, node):
    columns = (edge_index[1] == node).nonzero().squeeze(1)
    return alpha[columns[edge_index[0, columns].argsort(stable=True)]]


@mutant("8.1", "sorted order")
def self_loop_moved_first(edge_index, alpha, node):
    into = edge_index[1] == node
    loop = into & (edge_index[0] == node)
    return torch.cat([alpha[loop], alpha[into & ~loop]])


@mutant("8.1", "sorted order")
def dense_row_of_a_scattered_matrix(edge_index, alpha, node):
    n = int(edge_index.max()) + 1
    dense = alpha.new_zeros(n, n, alpha.shape[1])
    dense[edge_index[1], edge_index[0]] = alpha  # (N, N, H), [target, source]
    row = dense[node]  # (N, H) by source id
    return row[row.sum(dim=1) != 0]  # the neighbours, by source id, zero-weight ones lost


@mutant("8.1", "direction")
def gathered_by_source(edge_index, alpha, node):
    return alpha[edge_index[0] == node]


@mutant("8.1", "direction")
def either_end(edge_index, alpha, node):
    return alpha[(edge_index[0] == node) | (edge_index[1] == node)]


@mutant("8.1", "self-loops")
def self_loop_left_out(edge_index, alpha, node):
    return alpha[(edge_index[1] == node) & (edge_index[0] != node)]


@mutant("8.1", "self-loops")
def self_loop_twice(edge_index, alpha, node):
    into = edge_index[1] == node
    return torch.cat([alpha[into], alpha[into & (edge_index[0] == node)]])


@mutant("8.1", "off by one")
def node_minus_one(edge_index, alpha, node):
    return alpha[edge_index[1] == node - 1]


@mutant("8.1", "off by one")
def node_plus_one(edge_index, alpha, node):
    return alpha[edge_index[1] == node + 1]


@mutant("8.1", "shape")
def nonzero_without_squeeze(edge_index, alpha, node):
    return alpha[(edge_index[1] == node).nonzero()]  # (k, 1, H)


@mutant("8.1", "shape")
def transposed(edge_index, alpha, node):
    return alpha[edge_index[1] == node].T


@mutant("8.1", "shape")
def sources_and_weights_both_returned(edge_index, alpha, node):
    into = edge_index[1] == node
    return edge_index[0, into], alpha[into]


@mutant("8.1", "shape")
def row_of_edge_number_node(edge_index, alpha, node):
    return alpha[node]


@mutant("8.1", "values")
def renormalised(edge_index, alpha, node):
    weights = alpha[edge_index[1] == node]
    return weights / weights.sum(dim=0, keepdim=True)


@mutant("8.1", "values")
def softmax_of_the_weights(edge_index, alpha, node):
    return F.softmax(alpha[edge_index[1] == node], dim=0)


@mutant("8.1", "values")
def zero_weights_dropped(edge_index, alpha, node):
    weights = alpha[edge_index[1] == node]
    return weights[(weights > 0).all(dim=1)]


@mutant("8.1", "values")
def averaged_over_the_heads(edge_index, alpha, node):
    weights = alpha[edge_index[1] == node]
    return weights.mean(dim=1, keepdim=True).expand_as(weights).clone()


@alternative("8.1")
def index_select_of_nonzero(edge_index, alpha, node):
    return alpha.index_select(0, torch.nonzero(edge_index[1] == node, as_tuple=True)[0])


@alternative("8.1")
def python_list_of_columns(edge_index, alpha, node):
    columns = [k for k, target in enumerate(edge_index[1].tolist()) if target == node]
    return alpha[columns]


@alternative("8.1")
def stable_sort_by_target_then_slice(edge_index, alpha, node):
    order = edge_index[1].argsort(stable=True)
    sorted_targets = edge_index[1, order]
    start = int(torch.searchsorted(sorted_targets, torch.tensor(node)))
    end = int(torch.searchsorted(sorted_targets, torch.tensor(node), right=True))
    return alpha[order[start:end]]


@alternative("8.1")
def numpy_where(edge_index, alpha, node):
    return torch.from_numpy(alpha.numpy()[np.where(edge_index[1].numpy() == node)[0]])


# --- 8.2 the entropy of each neighbourhood -----------------------------------------------------------

def _sum_per_target(terms, edge_index, num_nodes):
    return torch.zeros(num_nodes, terms.shape[1], dtype=terms.dtype).index_add_(0, edge_index[1], terms)


def _entropy_of_terms(term):
    return lambda alpha, edge_index, num_nodes: _sum_per_target(term(alpha), edge_index, num_nodes)


_TERMS = {
    "in_bits": lambda a: -torch.xlogy(a, a) / math.log(2),
    "log_base_10": lambda a: -torch.xlogy(a, a) / math.log(10),
    "nan_from_0_ln_0": lambda a: -(a * a.log()),
    "log_of_alpha_plus_epsilon_1e-3": lambda a: -a * (a + 1e-3).log(),
    "alpha_clamped_at_1e-2": lambda a: -a * a.clamp(min=1e-2).log(),
    "unweighted_logs_zeros_skipped": lambda a: torch.where(a > 0, -a.log(), torch.zeros_like(a)),
    "sign_flipped": lambda a: torch.xlogy(a, a),
    "gini_impurity_terms": lambda a: a * (1 - a),
    "log1p_instead_of_log": lambda a: -a * torch.log1p(a),
}
for _name, _term in _TERMS.items():
    add_mutant("8.2", "terms", _name, _entropy_of_terms(_term))


@mutant("8.2", "grouping")
def summed_per_source(alpha, edge_index, num_nodes):
    return _sum_per_target(-torch.xlogy(alpha, alpha), edge_index.flip(0), num_nodes)


@mutant("8.2", "grouping")
def averaged_per_target(alpha, edge_index, num_nodes):
    index = edge_index[1].unsqueeze(1).expand_as(alpha)
    return torch.zeros(num_nodes, alpha.shape[1]).scatter_reduce(
        0, index, -torch.xlogy(alpha, alpha), reduce="mean", include_self=False)


@mutant("8.2", "grouping")
def divided_by_ln_in_degree(alpha, edge_index, num_nodes):
    entropy = _sum_per_target(-torch.xlogy(alpha, alpha), edge_index, num_nodes)
    degree = torch.bincount(edge_index[1], minlength=num_nodes).float()
    return entropy / degree.log().unsqueeze(1)  # 0 / 0 for a node with its self-loop only


@mutant("8.2", "grouping")
def summed_over_the_heads(alpha, edge_index, num_nodes):
    entropy = _sum_per_target(-torch.xlogy(alpha, alpha), edge_index, num_nodes)
    return entropy.sum(dim=1, keepdim=True).expand_as(entropy).clone()


@mutant("8.2", "grouping")
def entropy_of_the_head_mean(alpha, edge_index, num_nodes):
    mean = alpha.mean(dim=1, keepdim=True)
    return _sum_per_target(-torch.xlogy(mean, mean), edge_index, num_nodes).expand(num_nodes, alpha.shape[1]).clone()


@mutant("8.2", "grouping")
def uniform_baseline_returned(alpha, edge_index, num_nodes):
    degree = torch.bincount(edge_index[1], minlength=num_nodes).float().log()
    return degree.unsqueeze(1).expand(num_nodes, alpha.shape[1]).clone()


@mutant("8.2", "grouping")
def kl_divergence_from_uniform(alpha, edge_index, num_nodes):
    entropy = _sum_per_target(-torch.xlogy(alpha, alpha), edge_index, num_nodes)
    return torch.bincount(edge_index[1], minlength=num_nodes).float().log().unsqueeze(1) - entropy


@mutant("8.2", "self-loops")
def self_loop_term_left_out(alpha, edge_index, num_nodes):
    terms = -torch.xlogy(alpha, alpha) * (edge_index[0] != edge_index[1]).unsqueeze(1)
    return _sum_per_target(terms, edge_index, num_nodes)


@mutant("8.2", "self-loops")
def self_loop_term_counted_twice(alpha, edge_index, num_nodes):
    terms = -torch.xlogy(alpha, alpha) * (1 + (edge_index[0] == edge_index[1]).unsqueeze(1).to(alpha.dtype))
    return _sum_per_target(terms, edge_index, num_nodes)


@mutant("8.2", "softmax")
def softmax_applied_to_alpha_first(alpha, edge_index, num_nodes):
    from gatkit.functional import neighbourhood_softmax
    p = neighbourhood_softmax(alpha, edge_index, num_nodes)
    return _sum_per_target(-torch.xlogy(p, p), edge_index, num_nodes)


@mutant("8.2", "sorted order")
def blocks_of_in_degree_size(alpha, edge_index, num_nodes):
    counts = torch.bincount(edge_index[1], minlength=num_nodes).tolist()
    return torch.stack([block.sum(dim=0) for block in torch.split(-torch.xlogy(alpha, alpha), counts)])


@mutant("8.2", "in place")
def zeros_replaced_in_alpha(alpha, edge_index, num_nodes):
    alpha[alpha == 0] = 1.0  # ln 1 = 0, but alpha * ln alpha is then 1 * 0: right values, changed input
    return _sum_per_target(-alpha * alpha.log(), edge_index, num_nodes)


@mutant("8.2", "dtype")
def result_in_float64(alpha, edge_index, num_nodes):
    return _sum_per_target(-torch.xlogy(alpha.double(), alpha.double()), edge_index, num_nodes)


@alternative("8.2")
def special_entr_with_scatter_add(alpha, edge_index, num_nodes):
    terms = torch.special.entr(alpha)  # -x ln x, 0 at 0
    index = edge_index[1].unsqueeze(1).expand_as(terms)
    return torch.zeros(num_nodes, alpha.shape[1], dtype=alpha.dtype).scatter_add_(0, index, terms)


@alternative("8.2")
def nan_to_num_of_the_naive_terms(alpha, edge_index, num_nodes):
    terms = torch.nan_to_num(-alpha * alpha.log(), nan=0.0)
    return torch.zeros(num_nodes, alpha.shape[1], dtype=alpha.dtype).index_add_(0, edge_index[1], terms)


@alternative("8.2")
def ones_where_alpha_is_zero(alpha, edge_index, num_nodes):
    safe = torch.where(alpha > 0, alpha, torch.ones_like(alpha))
    return torch.zeros(num_nodes, alpha.shape[1], dtype=alpha.dtype).index_add_(0, edge_index[1], -alpha * safe.log())


@alternative("8.2")
def sparse_matrix_row_sums(alpha, edge_index, num_nodes):
    terms = -torch.xlogy(alpha, alpha)
    matrix = torch.sparse_coo_tensor(edge_index.flip(0), terms, (num_nodes, num_nodes, alpha.shape[1]),
                                     check_invariants=True)
    return torch.sparse.sum(matrix, dim=1).to_dense()


@alternative("8.2")
def epsilon_inside_the_log(alpha, edge_index, num_nodes):
    terms = -alpha * torch.log(alpha + 1e-12)
    return torch.zeros(num_nodes, alpha.shape[1], dtype=alpha.dtype).index_add_(0, edge_index[1], terms)


# --- 8.3 the uniform baseline ------------------------------------------------------------------------

def _degree(edge_index, num_nodes, row=1):
    return torch.bincount(edge_index[row], minlength=num_nodes).float()


_BASELINES = {
    "out_degree": lambda ei, n: _degree(ei, n, 0).log(),
    "in_plus_out_degree": lambda ei, n: (_degree(ei, n, 0) + _degree(ei, n, 1)).log(),
    "log_base_2": lambda ei, n: _degree(ei, n).log2(),
    "log_base_10": lambda ei, n: _degree(ei, n).log10(),
    "log1p_of_the_in_degree": lambda ei, n: _degree(ei, n).log1p(),
    "self_loop_left_out": lambda ei, n: (_degree(ei, n) - 1).log(),
    "uniform_weight_1_over_d": lambda ei, n: 1.0 / _degree(ei, n),
    "ln_d_over_d": lambda ei, n: _degree(ei, n).log() / _degree(ei, n),
    "ln_of_all_edges": lambda ei, n: torch.full((n,), math.log(ei.shape[1])),
    "ln_of_all_nodes": lambda ei, n: torch.full((n,), math.log(n)),
    "in_degree_itself": lambda ei, n: _degree(ei, n),
    "sqrt_instead_of_log": lambda ei, n: _degree(ei, n).sqrt(),
    "ln_of_the_mean_in_degree": lambda ei, n: _degree(ei, n).mean().log().expand(n).clone(),
}
for _name, _baseline in _BASELINES.items():
    add_mutant("8.3", "formula", _name, _baseline)


@mutant("8.3", "sorted order")
def run_lengths_written_over_each_other(edge_index, num_nodes):
    values, counts = torch.unique_consecutive(edge_index[1], return_counts=True)
    degree = torch.zeros(num_nodes).scatter_(0, values, counts.float())  # the last run of each node wins
    return degree.log()


@mutant("8.3", "sorted order")
def run_lengths_in_order_of_appearance(edge_index, num_nodes):
    _, counts = torch.unique_consecutive(edge_index[1], return_counts=True)
    degree = torch.ones(num_nodes)
    degree[:min(num_nodes, len(counts))] = counts[:num_nodes].float()
    return degree.log()


@mutant("8.3", "sorted order")
def differences_of_searchsorted(edge_index, num_nodes):
    target = edge_index[1]
    ends = torch.searchsorted(target, torch.arange(num_nodes), right=True)
    starts = torch.searchsorted(target, torch.arange(num_nodes))
    return (ends - starts).clamp(min=1).float().log()


@mutant("8.3", "dtype")
def in_float64(edge_index, num_nodes):
    return _degree(edge_index, num_nodes).double().log()


@mutant("8.3", "dtype")
def integer_log_rounded(edge_index, num_nodes):
    return _degree(edge_index, num_nodes).log().round()


@alternative("8.3")
def log_of_the_long_counts(edge_index, num_nodes):
    return torch.log(torch.bincount(edge_index[1], minlength=num_nodes))  # int64 -> float32


@alternative("8.3")
def index_add_of_ones_then_math_log(edge_index, num_nodes):
    degree = torch.zeros(num_nodes).index_add_(0, edge_index[1], torch.ones(edge_index.shape[1]))
    return torch.tensor([math.log(d) for d in degree.tolist()], dtype=torch.float32)


@alternative("8.3")
def entropy_of_a_uniform_softmax(edge_index, num_nodes):
    from gatkit.functional import neighbourhood_softmax
    alpha = neighbourhood_softmax(torch.zeros(edge_index.shape[1], 1), edge_index, num_nodes)  # 1 / d each
    terms = -alpha * alpha.log()
    return torch.zeros(num_nodes, 1).index_add_(0, edge_index[1], terms).squeeze(1)


@alternative("8.3")
def numpy_unique_counts(edge_index, num_nodes):
    nodes, counts = np.unique(edge_index[1].numpy(), return_counts=True)
    degree = np.zeros(num_nodes, dtype=np.float32)
    degree[nodes] = counts
    return torch.from_numpy(np.log(degree))
