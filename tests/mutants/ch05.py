"""Mutation suites for chapter 05, dense with a connectivity mask: 5.1 the attention logits,
5.2 the connectivity mask, 5.3 the masked softmax.

Shapes: ``z`` (N, H*F') with head ``h`` in columns ``h*F' .. (h+1)*F' - 1``, ``a_src`` / ``a_dst``
(H, F'), ``logits`` / ``alpha`` (H, N, N) with ``[h, i, j]`` for ``j -> i``, ``mask`` (N, N): 0 on
the edges, -inf elsewhere.

Each family is a kind of slip a learner who gets the exercise almost right could make; the loops
generate its members. Every mutant runs on every case of its check (a crash would not be a
plausible accepted answer) and computes something else on at least one of them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from mutants import EQUIVALENT, add_mutant, alternative, mutant

# The mask holds only 0 and -inf, and 2 * 0 = 0, 2 * -inf = -inf: the generic "scaled by 2" is the
# reference itself. EQUIVALENT can only drop a whole family, so the family's two other members,
# which are wrong, are kept below as specific mutants (mask_negated, mask_shifted).
EQUIVALENT.add(("5.2", "output"))
# Setting mask[i, i] = 0 twice is setting it once: the generic "self-loops counted twice" is the
# reference itself. Its sibling "self-loops left out" is kept below (self_loops_left_out).
EQUIVALENT.add(("5.2", "self-loops"))


# --- 5.1 the attention logits ----------------------------------------------------------------------

def _halves(z, a_src, a_dst):
    heads, f_out = a_src.shape
    z_heads = z.view(z.shape[0], heads, f_out)  # (N, H, F')
    return (z_heads * a_src).sum(-1), (z_heads * a_dst).sum(-1)  # (N, H) each


def _pairs(z, a_src, a_dst):
    f_src, f_dst = _halves(z, a_src, a_dst)
    return f_dst.T.unsqueeze(2) + f_src.T.unsqueeze(1)  # (H, N, N)


for _slope in (0.0, 0.01, 0.1, 0.3, 1.0 / 0.2, -0.2):
    add_mutant("5.1", "slope", f"negative_slope_{_slope:g}",
              (lambda v: lambda z, a_src, a_dst: F.leaky_relu(_pairs(z, a_src, a_dst), v))(_slope))

for _name, _act in {"elu": F.elu, "tanh": torch.tanh, "relu": F.relu, "none": lambda t: t}.items():
    add_mutant("5.1", "activation", f"{_name}_instead_of_leaky_relu",
              (lambda f: lambda z, a_src, a_dst: f(_pairs(z, a_src, a_dst)))(_act))


@mutant("5.1", "activation")
def leaky_relu_on_each_half(z, a_src, a_dst):
    f_src, f_dst = _halves(z, a_src, a_dst)
    return F.leaky_relu(f_dst, 0.2).T.unsqueeze(2) + F.leaky_relu(f_src, 0.2).T.unsqueeze(1)


@mutant("5.1", "direction")
def source_down_the_rows(z, a_src, a_dst):
    f_src, f_dst = _halves(z, a_src, a_dst)
    return F.leaky_relu(f_dst.T.unsqueeze(1) + f_src.T.unsqueeze(2), 0.2)


@mutant("5.1", "direction")
def a_dst_for_both(z, a_src, a_dst):
    return F.leaky_relu(_pairs(z, a_dst, a_dst), 0.2)


@mutant("5.1", "direction")
def a_src_for_both(z, a_src, a_dst):
    return F.leaky_relu(_pairs(z, a_src, a_src), 0.2)


@mutant("5.1", "layout")
def z_viewed_features_major(z, a_src, a_dst):
    heads, f_out = a_src.shape
    z_heads = z.view(z.shape[0], f_out, heads).transpose(1, 2).reshape(z.shape[0], -1)
    return F.leaky_relu(_pairs(z_heads, a_src, a_dst), 0.2)


@mutant("5.1", "layout")
def z_viewed_heads_first(z, a_src, a_dst):
    heads, f_out = a_src.shape
    z_heads = z.reshape(heads, z.shape[0], f_out).transpose(0, 1).reshape(z.shape[0], -1)  # rows misread as heads
    return F.leaky_relu(_pairs(z_heads, a_src, a_dst), 0.2)


@mutant("5.1", "layout")
def attention_vectors_flattened_features_major(z, a_src, a_dst):
    heads, f_out = a_src.shape
    a_src_bad = a_src.T.reshape(heads, f_out)
    a_dst_bad = a_dst.T.reshape(heads, f_out)
    return F.leaky_relu(_pairs(z, a_src_bad, a_dst_bad), 0.2)


@mutant("5.1", "heads")
def attention_vectors_of_all_heads_summed(z, a_src, a_dst):
    heads, f_out = a_src.shape
    z_heads = z.view(z.shape[0], heads, f_out)
    f_src, f_dst = torch.einsum("nhf,kf->nh", z_heads, a_src), torch.einsum("nhf,kf->nh", z_heads, a_dst)
    return F.leaky_relu(f_dst.T.unsqueeze(2) + f_src.T.unsqueeze(1), 0.2)


@mutant("5.1", "heads")
def head_0_vectors_for_every_head(z, a_src, a_dst):
    return F.leaky_relu(_pairs(z, a_src[:1].expand_as(a_src), a_dst[:1].expand_as(a_dst)), 0.2)


@mutant("5.1", "heads")
def heads_reversed(z, a_src, a_dst):
    return F.leaky_relu(_pairs(z, a_src, a_dst), 0.2).flip(0)


@mutant("5.1", "combine")
def product_of_the_halves(z, a_src, a_dst):
    f_src, f_dst = _halves(z, a_src, a_dst)
    return F.leaky_relu(f_dst.T.unsqueeze(2) * f_src.T.unsqueeze(1), 0.2)


@mutant("5.1", "combine")
def mean_over_features(z, a_src, a_dst):
    return F.leaky_relu(_pairs(z, a_src, a_dst) / a_src.shape[1], 0.2)


@mutant("5.1", "combine")
def scaled_by_sqrt_of_features(z, a_src, a_dst):
    return F.leaky_relu(_pairs(z, a_src, a_dst) / math.sqrt(a_src.shape[1]), 0.2)


@alternative("5.1")
def concatenation_as_in_the_paper(z, a_src, a_dst):
    heads, f_out = a_src.shape
    n = z.shape[0]
    zh = z.view(n, heads, f_out).transpose(0, 1)  # (H, N, F')
    pairs = torch.cat([zh[:, :, None].expand(heads, n, n, f_out), zh[:, None].expand(heads, n, n, f_out)], dim=-1)
    a = torch.cat([a_dst, a_src], dim=-1)[:, None, None, :]  # (H, 1, 1, 2F'): a = [a_dst || a_src]
    return F.leaky_relu((pairs * a).sum(-1), 0.2)


@alternative("5.1")
def einsum_and_torch_where(z, a_src, a_dst):
    heads, f_out = a_src.shape
    zh = z.reshape(z.shape[0], heads, f_out)
    f_src, f_dst = torch.einsum("nhf,hf->hn", zh, a_src), torch.einsum("nhf,hf->hn", zh, a_dst)
    raw = f_dst[:, :, None] + f_src[:, None, :]
    return torch.where(raw >= 0, raw, 0.2 * raw)


@alternative("5.1")
def transposed_z_reshaped(z, a_src, a_dst):
    heads, f_out = a_src.shape
    zt = z.T.reshape(heads, f_out, z.shape[0])  # (H, F', N): column h*F' + f of z is [h, f]
    f_src = (zt * a_src[:, :, None]).sum(1)  # (H, N)
    f_dst = (zt * a_dst[:, :, None]).sum(1)
    return F.leaky_relu(f_dst.unsqueeze(2) + f_src.unsqueeze(1), negative_slope=0.2)


# --- 5.2 the connectivity mask ------------------------------------------------------------------

def _mask(edge_index, num_nodes, *, off=float("-inf"), on=0.0, rows=1, cols=0):
    mask = torch.full((num_nodes, num_nodes), off)
    mask[edge_index[rows], edge_index[cols]] = on
    return mask


@mutant("5.2", "output")
def mask_negated(edge_index, num_nodes):
    return -_mask(edge_index, num_nodes)


@mutant("5.2", "output")
def mask_shifted(edge_index, num_nodes):
    return _mask(edge_index, num_nodes) + 1.0


for _name, _off in {"finfo_min": torch.finfo(torch.float32).min, "minus_1e30": -1e30, "minus_1e4": -1e4,
                    "minus_1": -1.0, "nan": float("nan"), "plus_inf": float("inf")}.items():
    add_mutant("5.2", "constant", f"non_edges_hold_{_name}",
              (lambda v: lambda edge_index, num_nodes: _mask(edge_index, num_nodes, off=v))(_off))


@mutant("5.2", "constant")
def edges_hold_1(edge_index, num_nodes):
    return _mask(edge_index, num_nodes, on=1.0)


@mutant("5.2", "direction")
def symmetrised(edge_index, num_nodes):
    mask = _mask(edge_index, num_nodes)
    mask[edge_index[0], edge_index[1]] = 0.0
    return mask


@mutant("5.2", "direction")
def row_is_the_source(edge_index, num_nodes):
    return _mask(edge_index, num_nodes, rows=0, cols=1)


@mutant("5.2", "self-loops")
def self_loops_left_out(edge_index, num_nodes):
    return _mask(edge_index[:, edge_index[0] != edge_index[1]], num_nodes)


@mutant("5.2", "self-loops")
def self_loops_added_to_every_node(edge_index, num_nodes):
    return _mask(edge_index, num_nodes).fill_diagonal_(0.0)


@mutant("5.2", "self-loops")
def self_loops_added_where_a_row_is_empty(edge_index, num_nodes):
    mask = _mask(edge_index, num_nodes)
    empty = torch.isinf(mask).all(dim=1).nonzero().flatten()
    mask[empty, empty] = 0.0
    return mask


@mutant("5.2", "size")
def size_from_the_largest_id(edge_index, num_nodes):
    return _mask(edge_index, int(edge_index.max()) + 1)


@mutant("5.2", "indexing")
def indexed_with_the_whole_edge_index(edge_index, num_nodes):
    mask = torch.full((num_nodes, num_nodes), float("-inf"))
    mask[edge_index] = 0.0
    return mask


@mutant("5.2", "indexing")
def zeros_added_onto_minus_inf(edge_index, num_nodes):
    mask = torch.full((num_nodes, num_nodes), float("-inf"))
    return mask.index_put_((edge_index[1], edge_index[0]), torch.zeros(edge_index.shape[1]), accumulate=True)


@mutant("5.2", "indexing")
def from_a_summed_sparse_adjacency(edge_index, num_nodes):
    adj = torch.sparse_coo_tensor(edge_index.flip(0), torch.ones(edge_index.shape[1]), (num_nodes, num_nodes),
                                  check_invariants=True).to_dense()
    return torch.where(adj == 1, 0.0, float("-inf"))  # an edge listed twice sums to 2


@mutant("5.2", "loop")
def python_loop_skips_the_last_node(edge_index, num_nodes):
    mask = torch.full((num_nodes, num_nodes), float("-inf"))
    for i in range(num_nodes - 1):
        mask[i, edge_index[0, edge_index[1] == i]] = 0.0
    return mask


@mutant("5.2", "loop")
def python_loop_skips_the_last_column(edge_index, num_nodes):
    mask = torch.full((num_nodes, num_nodes), float("-inf"))
    for j, i in edge_index[:, :-1].T.tolist():
        mask[i, j] = 0.0
    return mask


@mutant("5.2", "dtype")
def float64_mask(edge_index, num_nodes):
    return _mask(edge_index, num_nodes).double()


@mutant("5.2", "dtype")
def boolean_mask(edge_index, num_nodes):
    return _mask(edge_index, num_nodes) == 0


@alternative("5.2")
def log_of_the_adjacency(edge_index, num_nodes):
    adj = torch.zeros(num_nodes, num_nodes)
    adj[edge_index[1], edge_index[0]] = 1.0
    return torch.log(adj)


@alternative("5.2")
def torch_where_on_the_adjacency(edge_index, num_nodes):
    adj = torch.zeros(num_nodes, num_nodes, dtype=torch.bool)
    adj[edge_index[1], edge_index[0]] = True
    return torch.where(adj, torch.tensor(0.0), torch.tensor(float("-inf")))


@alternative("5.2")
def masked_fill_of_zeros(edge_index, num_nodes):
    seen = torch.zeros(num_nodes, num_nodes).index_put_((edge_index[1], edge_index[0]), torch.ones(edge_index.shape[1]),
                                                        accumulate=True)
    return torch.zeros(num_nodes, num_nodes).masked_fill(seen == 0, float("-inf"))


# --- 5.3 the masked softmax ---------------------------------------------------------------------

def _manual(shift, *, epsilon=0.0):
    def wrong(logits, mask):
        keep = (mask == 0).float()
        p = torch.exp(logits - shift(logits, mask)) * keep
        return p / (p.sum(dim=-1, keepdim=True) + epsilon)
    return wrong


_SHIFTS = {
    "whole_row_max_of_the_logits": lambda l, m: l.amax(dim=-1, keepdim=True),
    "global_max": lambda l, m: l.max(),
    "global_max_per_head": lambda l, m: l.amax(dim=(1, 2), keepdim=True),
    "no_shift": lambda l, m: 0.0,
    "row_max_over_all_heads": lambda l, m: (l + m).amax(dim=(0, 2), keepdim=True),
    "row_max_clamped_at_0": lambda l, m: (l + m).amax(dim=-1, keepdim=True).clamp(min=0),
}
for _name, _shift in _SHIFTS.items():
    add_mutant("5.3", "manual softmax", f"shift_by_{_name}", _manual(_shift))
add_mutant("5.3", "manual softmax", "shift_by_global_max_plus_epsilon", _manual(lambda l, m: l.max(), epsilon=1e-16))


@mutant("5.3", "masking")
def softmax_of_the_logits_times_exp_of_the_mask(logits, mask):
    p = torch.softmax(logits, dim=-1) * torch.exp(mask)
    return p / p.sum(dim=-1, keepdim=True)


@mutant("5.3", "masking")
def mask_transposed(logits, mask):
    return torch.softmax(logits + mask.T, dim=-1)


@mutant("5.3", "masking")
def mask_kept_where_it_is_minus_inf(logits, mask):
    return torch.softmax(logits.masked_fill(mask == 0, float("-inf")), dim=-1)


@mutant("5.3", "masking")
def mask_added_to_the_first_head_only(logits, mask):
    masked = logits.clone()
    masked[0] = masked[0] + mask
    return torch.softmax(masked, dim=-1)


@mutant("5.3", "masking")
def mask_subtracted(logits, mask):
    return torch.softmax(logits - mask, dim=-1)


@mutant("5.3", "masking")
def mask_multiplied_by_the_logits(logits, mask):
    return torch.softmax(logits * mask.exp(), dim=-1)


@mutant("5.3", "axis")
def softmax_over_columns(logits, mask):
    return torch.softmax(logits + mask, dim=1)


@mutant("5.3", "axis")
def softmax_over_each_whole_matrix(logits, mask):
    flat = (logits + mask).flatten(1)
    return torch.softmax(flat, dim=-1).view_as(logits)


@mutant("5.3", "extra")
def log_softmax(logits, mask):
    return F.log_softmax(logits + mask, dim=-1)


@mutant("5.3", "extra")
def temperature_sqrt_n(logits, mask):
    return torch.softmax((logits + mask) / math.sqrt(logits.shape[-1]), dim=-1)


@mutant("5.3", "extra")
def leaky_relu_applied_again(logits, mask):
    return torch.softmax(F.leaky_relu(logits, 0.2) + mask, dim=-1)


@mutant("5.3", "loop")
def python_loop_skips_the_last_head(logits, mask):
    alpha = torch.zeros_like(logits)
    for h in range(logits.shape[0] - 1):
        alpha[h] = torch.softmax(logits[h] + mask, dim=-1)
    return alpha


@mutant("5.3", "in place")
def mask_added_in_place(logits, mask):
    logits += mask
    return torch.softmax(logits, dim=-1)


@mutant("5.3", "in place")
def mask_swapped_for_minus_1e9_in_place(logits, mask):
    mask.masked_fill_(torch.isinf(mask), -1e9)  # the caller's mask now holds -1e9
    return torch.softmax(logits + mask, dim=-1)


@alternative("5.3")
def manual_with_the_masked_row_max(logits, mask):
    masked = logits + mask
    p = torch.exp(masked - masked.amax(dim=-1, keepdim=True))
    return p / p.sum(dim=-1, keepdim=True)


@alternative("5.3")
def minus_1e9_instead_of_minus_inf(logits, mask):
    # the TensorFlow constant: the same attention on every row that has a neighbour
    return torch.softmax(logits + mask.clamp(min=-1e9), dim=-1)


@alternative("5.3")
def torch_where_then_softmax(logits, mask):
    return torch.where(mask == 0, logits, torch.tensor(float("-inf"))).softmax(dim=2)


@alternative("5.3")
def exp_of_log_softmax(logits, mask):
    return torch.exp(torch.log_softmax(logits + mask, dim=-1))
