"""Mutation suites for chapter 00, The big picture: 0.1 the mean of the incoming messages, 0.2 the
GCN edge weights, 0.3 a GCN layer.

Shapes: ``h`` / ``x`` (N, F), ``edge_index`` (2, E) with row 0 the source ``j`` and row 1 the target
``i`` (self-loops already in it for 0.2 and 0.3), ``weight`` (F, F'), coefficients (E,).

Each family is a kind of slip a learner who gets the exercise almost right could make; the loops
generate its members. Every mutant runs on every case of its check (a crash would not be a
plausible accepted answer) and computes something else on at least one of them. The transposed
weight of 0.3 is no mutant: with a non-square weight it cannot run (PyTorch names the shapes);
the check's square toy case catches it with its own hint.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gatkit.functional import gcn_coefficients as reference_coefficients
from mutants import add_mutant, alternative, mutant


def _in_degree(edge_index, num_nodes):
    return torch.bincount(edge_index[1], minlength=num_nodes).float()  # (N,)


def _out_degree(edge_index, num_nodes):
    return torch.bincount(edge_index[0], minlength=num_nodes).float()  # (N,)


def _sum_at_targets(messages, edge_index, num_nodes):
    return messages.new_zeros(num_nodes, messages.shape[1]).index_add_(0, edge_index[1], messages)  # (N, F)


# --- 0.1 the mean of the incoming messages ---------------------------------------------------------

def _summed(h, edge_index):
    return _sum_at_targets(h[edge_index[0]], edge_index, h.shape[0])  # (N, F)


_DIVISORS = {
    "sum_not_divided": lambda ei, n: torch.ones(n),
    "divided_by_the_out_degree": lambda ei, n: _out_degree(ei, n).clamp(min=1),
    "divided_by_the_in_degree_plus_one": lambda ei, n: _in_degree(ei, n) + 1,
    "divided_by_the_number_of_nodes": lambda ei, n: torch.full((n,), float(n)),
    "divided_by_the_number_of_edges": lambda ei, n: torch.full((n,), float(ei.shape[1])),
    "divided_by_the_largest_in_degree": lambda ei, n: _in_degree(ei, n).max().clamp(min=1).expand(n),
    "divided_by_the_square_root_of_the_in_degree": lambda ei, n: _in_degree(ei, n).clamp(min=1).sqrt(),
    "divided_by_the_total_degree": lambda ei, n: (_in_degree(ei, n) + _out_degree(ei, n)).clamp(min=1),
}
for _name, _divisor in _DIVISORS.items():
    add_mutant("0.1", "normalisation", _name,
               (lambda d: lambda h, edge_index: _summed(h, edge_index) / d(edge_index, h.shape[0]).unsqueeze(1))(
                   _divisor))


@mutant("0.1", "normalisation")
def nan_where_nothing_arrives(h, edge_index):
    return _summed(h, edge_index) / _in_degree(edge_index, h.shape[0]).unsqueeze(1)


@mutant("0.1", "normalisation")
def divided_by_the_out_degree_unclamped(h, edge_index):
    return _summed(h, edge_index) / _out_degree(edge_index, h.shape[0]).unsqueeze(1)


@mutant("0.1", "direction")
def mean_into_the_sources(h, edge_index):
    return _summed(h, edge_index.flip(0)) / _out_degree(edge_index, h.shape[0]).clamp(min=1).unsqueeze(1)


@mutant("0.1", "direction")
def the_targets_own_rows_averaged(h, edge_index):
    own = _sum_at_targets(h[edge_index[1]], edge_index, h.shape[0])  # (N, F): d_i copies of h_i
    return own / _in_degree(edge_index, h.shape[0]).clamp(min=1).unsqueeze(1)


@mutant("0.1", "direction")
def sources_rows_summed_at_the_sources(h, edge_index):
    summed = h.new_zeros(h.shape).index_add_(0, edge_index[0], h[edge_index[0]])
    return summed / _in_degree(edge_index, h.shape[0]).clamp(min=1).unsqueeze(1)


@mutant("0.1", "global")
def one_mean_over_all_nodes(h, edge_index):
    return h.mean(dim=0, keepdim=True).expand_as(h).clone()


@mutant("0.1", "global")
def one_mean_over_all_messages(h, edge_index):
    return h[edge_index[0]].mean(dim=0, keepdim=True).expand_as(h).clone()


@mutant("0.1", "self")
def own_row_added_to_the_mean(h, edge_index):
    return (_summed(h, edge_index) + h) / (_in_degree(edge_index, h.shape[0]) + 1).unsqueeze(1)


@mutant("0.1", "self")
def own_row_where_nothing_arrives(h, edge_index):
    degree = _in_degree(edge_index, h.shape[0]).unsqueeze(1)  # (N, 1)
    return torch.where(degree > 0, _summed(h, edge_index) / degree.clamp(min=1), h)


@mutant("0.1", "reduce")
def scatter_mean_including_the_initial_zeros(h, edge_index):
    index = edge_index[1].unsqueeze(1).expand(-1, h.shape[1])  # (E, F)
    return torch.zeros_like(h).scatter_reduce(0, index, h[edge_index[0]], reduce="mean")


@mutant("0.1", "reduce")
def max_instead_of_mean(h, edge_index):
    index = edge_index[1].unsqueeze(1).expand(-1, h.shape[1])  # (E, F)
    return torch.zeros_like(h).scatter_reduce(0, index, h[edge_index[0]], reduce="amax", include_self=False)


@mutant("0.1", "reduce")
def floor_division(h, edge_index):
    return _summed(h, edge_index) // _in_degree(edge_index, h.shape[0]).clamp(min=1).unsqueeze(1)


@mutant("0.1", "sorted")
def consecutive_blocks_as_if_sorted_by_target(h, edge_index):
    counts = torch.bincount(edge_index[1], minlength=h.shape[0])  # block sizes, if sorted by target
    blocks = torch.split(h[edge_index[0]], counts.tolist())
    return torch.stack([block.mean(dim=0) if len(block) else h.new_zeros(h.shape[1]) for block in blocks])


@mutant("0.1", "off by one")
def node_ids_taken_as_one_based(h, edge_index):
    n = h.shape[0]
    shifted = torch.stack([(edge_index[0] - 1) % n, edge_index[1]])
    return _summed(h, shifted) / _in_degree(edge_index, n).clamp(min=1).unsqueeze(1)


@alternative("0.1")
def scatter_reduce_mean_without_the_initial_value(h, edge_index):
    index = edge_index[1].unsqueeze(1).expand(-1, h.shape[1])  # (E, F)
    return torch.zeros_like(h).scatter_reduce(0, index, h[edge_index[0]], reduce="mean", include_self=False)


@alternative("0.1")
def dense_adjacency_divided_by_its_row_sums(h, edge_index):
    n = h.shape[0]
    adj = torch.zeros(n, n).index_put_((edge_index[1], edge_index[0]), torch.ones(edge_index.shape[1]),
                                       accumulate=True)  # (N, N), adj[i, j] = number of edges j -> i
    return (adj @ h) / adj.sum(dim=1, keepdim=True).clamp(min=1)


@alternative("0.1")
def python_loop_over_the_targets(h, edge_index):
    out = torch.zeros_like(h)
    for i in torch.unique(edge_index[1]).tolist():
        out[i] = h[edge_index[0, edge_index[1] == i]].mean(dim=0)
    return out


# --- 0.2 the GCN edge weights ----------------------------------------------------------------------

def _from_degrees(combine):
    def wrong(edge_index, num_nodes):
        degree = _in_degree(edge_index, num_nodes)  # (N,)
        return combine(degree[edge_index[1]], degree[edge_index[0]])  # (E,) from d_i, d_j
    return wrong


_COMBINATIONS = {
    "one_over_d_i": lambda d_i, d_j: 1 / d_i,
    "one_over_d_j": lambda d_i, d_j: 1 / d_j,
    "one_over_the_product_no_square_root": lambda d_i, d_j: 1 / (d_i * d_j),
    "square_root_not_inverted": lambda d_i, d_j: (d_i * d_j).sqrt(),
    "one_over_sqrt_of_the_sum": lambda d_i, d_j: (d_i + d_j).rsqrt(),
    "one_over_sqrt_d_i_only": lambda d_i, d_j: d_i.rsqrt(),
    "one_over_sqrt_d_j_only": lambda d_i, d_j: d_j.rsqrt(),
    "one_over_the_mean_degree": lambda d_i, d_j: 2 / (d_i + d_j),
}
for _name, _combine in _COMBINATIONS.items():
    add_mutant("0.2", "formula", _name, _from_degrees(_combine))


_DEGREES = {
    "out_degree": lambda ei, n: _out_degree(ei, n),
    "in_plus_out_degree": lambda ei, n: _in_degree(ei, n) + _out_degree(ei, n),
    "self_loop_added_again": lambda ei, n: _in_degree(ei, n) + 1,
    "self_loop_added_twice_more": lambda ei, n: _in_degree(ei, n) + 2,
    "self_loops_not_counted": lambda ei, n: _in_degree(ei[:, ei[0] != ei[1]], n),
}
# Not a mutant: counting without the loops and adding 1 is right here, as every node has exactly
# one self-loop in the cases (and in the exercise's promise).
for _name, _degree in _DEGREES.items():
    add_mutant("0.2", "degree", _name,
               (lambda deg: lambda edge_index, num_nodes: (
                   deg(edge_index, num_nodes)[edge_index[1]] * deg(edge_index, num_nodes)[edge_index[0]]).rsqrt())(
                   _degree))


@mutant("0.2", "degree")
def out_degree_of_the_target_in_degree_of_the_source(edge_index, num_nodes):
    return (_out_degree(edge_index, num_nodes)[edge_index[1]] * _in_degree(edge_index, num_nodes)[edge_index[0]]).rsqrt()


@mutant("0.2", "degree")
def in_degree_of_the_target_out_degree_of_the_source(edge_index, num_nodes):
    return (_in_degree(edge_index, num_nodes)[edge_index[1]] * _out_degree(edge_index, num_nodes)[edge_index[0]]).rsqrt()


@mutant("0.2", "normalised")
def renormalised_to_sum_to_one_per_target(edge_index, num_nodes):
    w = reference_coefficients(edge_index, num_nodes)  # (E,)
    total = torch.zeros(num_nodes).index_add_(0, edge_index[1], w)  # (N,)
    return w / total[edge_index[1]]


@mutant("0.2", "normalised")
def divided_by_the_largest_degree(edge_index, num_nodes):
    degree = _in_degree(edge_index, num_nodes)
    return (degree[edge_index[1]] * degree[edge_index[0]]).rsqrt() / degree.max()


@mutant("0.2", "sorted")
def returned_in_the_order_sorted_by_target(edge_index, num_nodes):
    order = torch.argsort(edge_index[1], stable=True)
    return reference_coefficients(edge_index, num_nodes)[order]


@alternative("0.2")
def dense_symmetric_normalisation(edge_index, num_nodes):
    adj = torch.zeros(num_nodes, num_nodes)
    adj[edge_index[1], edge_index[0]] = 1.0  # (N, N), adj[i, j] = 1 iff j -> i
    d_inv_sqrt = adj.sum(dim=1).pow(-0.5)  # (N,) row sums = in-degrees
    normalised = d_inv_sqrt[:, None] * adj * d_inv_sqrt[None, :]  # D^-1/2 (A + I) D^-1/2
    return normalised[edge_index[1], edge_index[0]]


@alternative("0.2")
def one_over_the_square_root_of_the_product(edge_index, num_nodes):
    degree = torch.bincount(edge_index[1], minlength=num_nodes)  # int64
    return 1 / torch.sqrt((degree[edge_index[0]] * degree[edge_index[1]]).float())


@alternative("0.2")
def degrees_counted_with_index_add(edge_index, num_nodes):
    degree = torch.zeros(num_nodes).index_add_(0, edge_index[1], torch.ones(edge_index.shape[1]))
    return degree[edge_index[1]].pow(-0.5) * degree[edge_index[0]].pow(-0.5)


# --- 0.3 a GCN layer -------------------------------------------------------------------------------

def _layer(x, edge_index, weight, coefficients):
    z = x @ weight  # (N, F')
    return _sum_at_targets(coefficients.unsqueeze(1) * z[edge_index[0]], edge_index, x.shape[0])


def _coefficients(edge_index, num_nodes):
    return reference_coefficients(edge_index, num_nodes)


_ACTIVATIONS = {"relu": F.relu, "elu": F.elu, "leaky_relu": F.leaky_relu, "tanh": torch.tanh,
                "sigmoid": torch.sigmoid}
for _name, _activation in _ACTIVATIONS.items():
    add_mutant("0.3", "activation", f"{_name}_added",
               (lambda act: lambda x, edge_index, weight: act(
                   _layer(x, edge_index, weight, _coefficients(edge_index, x.shape[0]))))(_activation))


_WEIGHTS = {
    "mean_of_the_incoming_messages": lambda ei, n: 1 / _in_degree(ei, n)[ei[1]],
    "plain_sum": lambda ei, n: torch.ones(ei.shape[1]),
    "no_square_root": lambda ei, n: 1 / (_in_degree(ei, n)[ei[1]] * _in_degree(ei, n)[ei[0]]),
    "coefficients_squared": lambda ei, n: _coefficients(ei, n) ** 2,
    "coefficients_of_the_reversed_edges": lambda ei, n: _coefficients(ei.flip(0), n),
    "one_over_d_j": lambda ei, n: 1 / _in_degree(ei, n)[ei[0]],
}
for _name, _weights in _WEIGHTS.items():
    add_mutant("0.3", "weights", _name,
               (lambda w: lambda x, edge_index, weight: _layer(x, edge_index, weight, w(edge_index, x.shape[0])))(
                   _weights))


@mutant("0.3", "self-loops")
def self_loops_added_again(x, edge_index, weight):
    n = x.shape[0]
    looped = torch.cat([edge_index, torch.arange(n).repeat(2, 1)], dim=1)  # (2, E + N)
    return _layer(x, looped, weight, _coefficients(looped, n))


@mutant("0.3", "self-loops")
def self_loops_removed(x, edge_index, weight):
    plain = edge_index[:, edge_index[0] != edge_index[1]]
    return _layer(x, plain, weight, _coefficients(plain, x.shape[0]))


@mutant("0.3", "direction")
def aggregated_into_the_sources(x, edge_index, weight):
    z = x @ weight
    messages = _coefficients(edge_index, x.shape[0]).unsqueeze(1) * z[edge_index[1]]
    return z.new_zeros(z.shape).index_add_(0, edge_index[0], messages)


@mutant("0.3", "direction")
def messages_from_the_targets(x, edge_index, weight):
    z = x @ weight
    messages = _coefficients(edge_index, x.shape[0]).unsqueeze(1) * z[edge_index[1]]
    return z.new_zeros(z.shape).index_add_(0, edge_index[1], messages)


@mutant("0.3", "order")
def propagated_twice(x, edge_index, weight):
    once = _layer(x, edge_index, weight, _coefficients(edge_index, x.shape[0]))  # (N, F')
    eye = torch.eye(once.shape[1], dtype=once.dtype)
    return _layer(once, edge_index, eye, _coefficients(edge_index, x.shape[0]))


@mutant("0.3", "order")
def aggregated_with_the_transposed_dense_matrix(x, edge_index, weight):
    n = x.shape[0]
    normalised = torch.zeros(n, n)
    normalised[edge_index[1], edge_index[0]] = _coefficients(edge_index, n)  # (N, N), [i, j] for j -> i
    return normalised.T @ (x @ weight)


@mutant("0.3", "order")
def sum_before_projecting_and_normalising_after(x, edge_index, weight):
    degree = _in_degree(edge_index, x.shape[0])  # (N,)
    summed = _sum_at_targets(x[edge_index[0]], edge_index, x.shape[0])  # (N, F), no weights
    return (summed @ weight) / degree.unsqueeze(1)


@mutant("0.3", "sorted")
def consecutive_blocks_as_if_sorted_by_target(x, edge_index, weight):
    z = x @ weight
    messages = _coefficients(edge_index, x.shape[0]).unsqueeze(1) * z[edge_index[0]]  # (E, F')
    counts = torch.bincount(edge_index[1], minlength=x.shape[0]).tolist()
    return torch.stack([block.sum(dim=0) for block in torch.split(messages, counts)])


@alternative("0.3")
def aggregate_first_then_project(x, edge_index, weight):
    coefficients = reference_coefficients(edge_index, x.shape[0]).unsqueeze(1)  # (E, 1)
    smoothed = torch.zeros_like(x).index_add_(0, edge_index[1], coefficients * x[edge_index[0]])  # (N, F)
    return smoothed @ weight  # (N, F'): Â (x W) = (Â x) W


@alternative("0.3")
def sparse_normalised_adjacency(x, edge_index, weight):
    n = x.shape[0]
    a_hat = torch.sparse_coo_tensor(edge_index.flip(0), reference_coefficients(edge_index, n), (n, n),
                                    check_invariants=True)  # [i, j] for j -> i
    return torch.sparse.mm(a_hat, x @ weight)


@alternative("0.3")
def dense_degree_matrices(x, edge_index, weight):
    n = x.shape[0]
    adj = torch.zeros(n, n)
    adj[edge_index[1], edge_index[0]] = 1.0  # A + I: the loops are in edge_index
    d_inv_sqrt = torch.diag(adj.sum(dim=1).rsqrt())  # D^-1/2
    return d_inv_sqrt @ (adj @ (d_inv_sqrt @ (x @ weight)))  # right to left: (N, N) @ (N, F') products
