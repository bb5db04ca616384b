"""Mutation suites for chapter 04, dense per head: 4.1 the batched projection, 4.2 the (H, N, N)
scores, 4.3 the softmax over each row's neighbours, 4.4 aggregation and heads.

Shapes: ``x`` (N, F), ``weight`` (H*F', F) with head ``h`` in rows ``h*F' .. (h+1)*F' - 1``, ``z``
(H, N, F'), ``scores`` / ``alpha`` (H, N, N) with ``[h, i, j]`` for ``j -> i``, ``adj`` (N, N).

Each family is a kind of slip a learner who gets the exercise almost right could make; the loops
generate its members. Every mutant runs on every case of its check (a crash would not be a
plausible accepted answer) and computes something else on at least one of them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mutants import add_mutant, alternative, mutant


# --- 4.1 all heads' projections in one batched matmul -------------------------------------------------

def _per_head(x, weight, heads):
    return torch.bmm(x.expand(heads, *x.shape), weight.view(heads, -1, x.shape[1]).transpose(1, 2))


@mutant("4.1", "layout")
def flat_product_viewed_as_heads_first(x, weight, heads):
    return (x @ weight.T).view(heads, x.shape[0], -1)


@mutant("4.1", "layout")
def flat_product_viewed_features_major(x, weight, heads):
    n = x.shape[0]
    return (x @ weight.T).view(n, -1, heads).permute(2, 0, 1)


@mutant("4.1", "layout")
def weight_viewed_as_f_out_by_heads(x, weight, heads):
    w = weight.view(-1, heads, x.shape[1]).transpose(0, 1)  # head h = rows h, h + H, ...
    return torch.bmm(x.expand(heads, *x.shape), w.transpose(1, 2))


@mutant("4.1", "layout")
def weight_reshaped_to_h_f_fout(x, weight, heads):
    return torch.bmm(x.expand(heads, *x.shape), weight.reshape(heads, x.shape[1], -1))


@mutant("4.1", "layout")
def weight_transposed_then_split_in_order(x, weight, heads):
    w = weight.T.reshape(heads, x.shape[1], -1)  # (F, H*F') read as (H, F, F'): scrambled
    return torch.bmm(x.expand(heads, *x.shape), w)


@mutant("4.1", "heads")
def heads_in_reverse_order(x, weight, heads):
    return _per_head(x, weight, heads).flip(0)


@mutant("4.1", "heads")
def head_0_for_every_head(x, weight, heads):
    return _per_head(x, weight, heads)[:1].expand(heads, -1, -1).clone()


@mutant("4.1", "heads")
def last_head_left_as_zeros(x, weight, heads):
    z = _per_head(x, weight, heads)
    z[-1] = 0.0
    return z


@mutant("4.1", "heads")
def heads_rolled_by_one(x, weight, heads):
    return _per_head(x, weight, heads).roll(1, dims=0)


@mutant("4.1", "off by one")
def slices_one_row_off(x, weight, heads):
    f_out = weight.shape[0] // heads
    rolled = weight.roll(-1, dims=0)  # head h gets rows h*F' + 1 .. (h+1)*F'
    return torch.stack([x @ rolled[h * f_out:(h + 1) * f_out].T for h in range(heads)])


@mutant("4.1", "extra")
def scaled_by_sqrt_of_f(x, weight, heads):
    return _per_head(x, weight, heads) / x.shape[1] ** 0.5


@mutant("4.1", "extra")
def activation_applied(x, weight, heads):
    return F.elu(_per_head(x, weight, heads))


@mutant("4.1", "extra")
def x_row_normalised_first(x, weight, heads):
    return _per_head(x / x.abs().sum(1, keepdim=True).clamp(min=1e-12), weight, heads)


@alternative("4.1")
def loop_over_heads(x, weight, heads):
    f_out = weight.shape[0] // heads
    return torch.stack([x @ weight[h * f_out:(h + 1) * f_out].T for h in range(heads)])


@alternative("4.1")
def einsum(x, weight, heads):
    return torch.einsum("nf,hof->hno", x, weight.view(heads, -1, x.shape[1]))


@alternative("4.1")
def one_matmul_then_transpose(x, weight, heads):
    return (x @ weight.T).view(x.shape[0], heads, -1).transpose(0, 1).contiguous()


@alternative("4.1")
def bmm_with_weight_first(x, weight, heads):
    w = weight.reshape(heads, -1, x.shape[1])
    return torch.bmm(w, x.T.unsqueeze(0).repeat(heads, 1, 1)).transpose(1, 2)


# --- 4.2 the (H, N, N) score matrix --------------------------------------------------------------

def _s(z, a):
    return (z * a[:, None, :]).sum(-1)  # (H, N)


def _pairs(z, a_src, a_dst):
    return _s(z, a_dst)[:, :, None] + _s(z, a_src)[:, None, :]  # (H, N, N)


for _slope in (0.0, 0.01, 0.1, 0.3, 1.0 / 0.2, -0.2):
    add_mutant("4.2", "slope", f"negative_slope_{_slope:g}",
              (lambda v: lambda z, a_src, a_dst: F.leaky_relu(_pairs(z, a_src, a_dst), v))(_slope))

for _name, _act in {"elu": F.elu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "none": lambda t: t}.items():
    add_mutant("4.2", "activation", f"{_name}_instead_of_leaky_relu",
              (lambda f: lambda z, a_src, a_dst: f(_pairs(z, a_src, a_dst)))(_act))


@mutant("4.2", "activation")
def leaky_relu_on_each_half(z, a_src, a_dst):
    return F.leaky_relu(_s(z, a_dst), 0.2)[:, :, None] + F.leaky_relu(_s(z, a_src), 0.2)[:, None, :]


@mutant("4.2", "direction")
def target_half_along_the_columns(z, a_src, a_dst):
    return F.leaky_relu(_s(z, a_dst)[:, None, :] + _s(z, a_src)[:, :, None], 0.2)


@mutant("4.2", "direction")
def a_dst_for_both(z, a_src, a_dst):
    return F.leaky_relu(_pairs(z, a_dst, a_dst), 0.2)


@mutant("4.2", "direction")
def a_src_for_both(z, a_src, a_dst):
    return F.leaky_relu(_pairs(z, a_src, a_src), 0.2)


@mutant("4.2", "heads")
def attention_vectors_of_all_heads_summed(z, a_src, a_dst):
    s_src = torch.einsum("hnf,kf->hn", z, a_src)
    s_dst = torch.einsum("hnf,kf->hn", z, a_dst)
    return F.leaky_relu(s_dst[:, :, None] + s_src[:, None, :], 0.2)


@mutant("4.2", "heads")
def head_0_vectors_for_every_head(z, a_src, a_dst):
    return F.leaky_relu(_pairs(z, a_src[:1].expand_as(a_src), a_dst[:1].expand_as(a_dst)), 0.2)


@mutant("4.2", "heads")
def scores_summed_over_heads(z, a_src, a_dst):
    return F.leaky_relu(_pairs(z, a_src, a_dst), 0.2).sum(0, keepdim=True).expand(z.shape[0], -1, -1).clone()


@mutant("4.2", "combine")
def product_of_the_halves(z, a_src, a_dst):
    return F.leaky_relu(_s(z, a_dst)[:, :, None] * _s(z, a_src)[:, None, :], 0.2)


@mutant("4.2", "combine")
def mean_over_features(z, a_src, a_dst):
    s_dst, s_src = (z * a_dst[:, None, :]).mean(-1), (z * a_src[:, None, :]).mean(-1)
    return F.leaky_relu(s_dst[:, :, None] + s_src[:, None, :], 0.2)


@mutant("4.2", "combine")
def dot_products_of_the_nodes(z, a_src, a_dst):
    return F.leaky_relu(torch.bmm(z, z.transpose(1, 2)), 0.2)


@alternative("4.2")
def concatenation_of_every_pair(z, a_src, a_dst):
    heads, n, f = z.shape
    pairs = torch.cat([z[:, :, None, :].expand(heads, n, n, f), z[:, None, :, :].expand(heads, n, n, f)], dim=-1)
    a = torch.cat([a_dst, a_src], dim=-1)[:, None, None, :]  # (H, 1, 1, 2F')
    return F.leaky_relu((pairs * a).sum(-1), negative_slope=0.2)


@alternative("4.2")
def einsum_and_maximum(z, a_src, a_dst):
    s_dst = torch.einsum("hnf,hf->hn", z, a_dst)
    s_src = torch.einsum("hnf,hf->hn", z, a_src)
    raw = s_dst.unsqueeze(2) + s_src.unsqueeze(1)
    return torch.maximum(raw, 0.2 * raw)


@alternative("4.2")
def bmm_with_the_attention_vectors(z, a_src, a_dst):
    s_dst = torch.bmm(z, a_dst.unsqueeze(-1))  # (H, N, 1)
    s_src = torch.bmm(z, a_src.unsqueeze(-1)).transpose(1, 2)  # (H, 1, N)
    return F.leaky_relu(s_dst + s_src, 0.2)


# --- 4.3 the softmax over each row's neighbours -------------------------------------------------------

def _neighbour_max(scores, adj):
    return scores.masked_fill(adj == 0, float("-inf")).amax(dim=-1, keepdim=True)  # (H, N, 1)


def _normalised(p):
    return p / p.sum(dim=-1, keepdim=True)


def _shifted(shift, *, clamp=True, epsilon=0.0):
    def wrong(scores, adj):
        shifted = scores - shift(scores, adj)
        p = torch.exp(shifted.clamp(max=0.0) if clamp else shifted) * adj
        return p / (p.sum(dim=-1, keepdim=True) + epsilon)
    return wrong


_SHIFTS = {
    "whole_row_max": (lambda s, a: s.amax(dim=-1, keepdim=True), False, 0.0),
    "whole_row_max_clamped": (lambda s, a: s.amax(dim=-1, keepdim=True), True, 0.0),
    "whole_row_max_plus_epsilon": (lambda s, a: s.amax(dim=-1, keepdim=True), False, 1e-16),
    "neighbour_max_without_clamp": (_neighbour_max, False, 0.0),
    "neighbour_max_clamped_at_0": (lambda s, a: _neighbour_max(s, a).clamp(min=0), True, 0.0),
    "max_with_non_neighbours_filled_with_0": (lambda s, a: s.masked_fill(a == 0, 0.0).amax(-1, keepdim=True),
                                              True, 0.0),
    "max_of_scores_times_adj": (lambda s, a: (s * a).amax(-1, keepdim=True), True, 0.0),
    "neighbour_max_over_all_heads": (lambda s, a: _neighbour_max(s, a).amax(0, keepdim=True), True, 0.0),
    "neighbour_max_of_head_0": (lambda s, a: _neighbour_max(s, a)[:1], True, 0.0),
    "global_max": (lambda s, a: s.max(), True, 0.0),
    "global_max_plus_epsilon": (lambda s, a: s.max(), False, 1e-16),
    "global_max_per_head": (lambda s, a: s.amax(dim=(1, 2), keepdim=True), True, 0.0),
    "no_shift": (lambda s, a: 0.0, False, 0.0),
    "no_shift_clamped": (lambda s, a: 0.0, True, 0.0),
    "neighbour_mean": (lambda s, a: (s * a).sum(-1, keepdim=True) / a.sum(-1, keepdim=True), True, 0.0),
    "neighbour_min": (lambda s, a: -_neighbour_max(-s, a), True, 0.0),
    "column_max_over_neighbours": (lambda s, a: s.masked_fill(a == 0, float("-inf")).amax(dim=-2, keepdim=True),
                                   True, 0.0),
}
for _name, (_shift, _clamp, _epsilon) in _SHIFTS.items():
    add_mutant("4.3", "shift", f"shift_by_{_name}", _shifted(_shift, clamp=_clamp, epsilon=_epsilon))


@mutant("4.3", "masking")
def softmax_of_scores_times_adj_renormalised(scores, adj):
    return _normalised(torch.softmax(scores * adj, dim=-1) * adj)


@mutant("4.3", "masking")
def softmax_of_the_whole_row_then_masked_and_renormalised(scores, adj):
    return _normalised(torch.softmax(scores, dim=-1) * adj)


@mutant("4.3", "masking")
def identity_added_to_adj(scores, adj):
    adj = adj + torch.eye(adj.shape[0])
    return _normalised(torch.exp((scores - _neighbour_max(scores, adj)).clamp(max=0)) * adj)


@mutant("4.3", "masking")
def adj_symmetrised(scores, adj):
    both = ((adj + adj.T) > 0).float()
    return _normalised(torch.exp((scores - _neighbour_max(scores, both)).clamp(max=0)) * both)


@mutant("4.3", "axis")
def normalised_over_columns(scores, adj):
    p = torch.exp((scores - _neighbour_max(scores, adj)).clamp(max=0)) * adj
    return p / p.sum(dim=-2, keepdim=True).clamp(min=1e-30)


@mutant("4.3", "axis")
def normalised_over_heads(scores, adj):
    p = torch.exp((scores - _neighbour_max(scores, adj)).clamp(max=0)) * adj
    return p / p.sum(dim=0, keepdim=True)


@mutant("4.3", "loop")
def python_loop_skips_the_last_row(scores, adj):
    alpha = torch.zeros_like(scores)
    for i in range(adj.shape[0] - 1):
        neighbours = adj[i] > 0
        alpha[:, i, neighbours] = torch.softmax(scores[:, i, neighbours], dim=-1)
    return alpha


@mutant("4.3", "in place")
def scores_shifted_in_place(scores, adj):
    scores -= _neighbour_max(scores, adj)
    return _normalised(torch.exp(scores.clamp(max=0)) * adj)


@mutant("4.3", "in place")
def adjacency_turned_into_a_mask_in_place(scores, adj):
    adj[adj == 0] = float("-inf")
    adj[adj == 1] = 0.0
    return torch.softmax(scores + adj, dim=-1)


@alternative("4.3")
def non_neighbours_filled_with_the_smallest_score(scores, adj):
    # any fill not above the neighbours gives the same row max; torch.where keeps inf * 0 out
    floor = scores.min()
    row_max = torch.where(adj > 0, scores, floor).amax(dim=-1, keepdim=True)
    p = torch.where(adj > 0, torch.exp(scores - row_max), torch.zeros_like(scores))
    return p / p.sum(dim=-1, keepdim=True)


@alternative("4.3")
def nan_to_num_after_the_product(scores, adj):
    row_max = scores.masked_fill(adj == 0, float("-inf")).amax(dim=-1, keepdim=True)
    p = (torch.exp(scores - row_max) * adj).nan_to_num(nan=0.0)  # inf * 0 = nan on a non-neighbour
    return p / p.sum(dim=-1, keepdim=True)


@alternative("4.3")
def masked_fill_then_softmax(scores, adj):
    return torch.softmax(scores.masked_fill(adj == 0, float("-inf")), dim=-1)


@alternative("4.3")
def torch_where_and_minus_1e9(scores, adj):
    # -1e9 equals -inf here: every row has a neighbour, and the row max is subtracted first
    masked = torch.where(adj > 0, scores, torch.full_like(scores, -1e9))
    p = torch.exp(masked - masked.amax(dim=-1, keepdim=True))
    return p / p.sum(dim=-1, keepdim=True)


@alternative("4.3")
def python_loop_over_rows(scores, adj):
    alpha = torch.zeros_like(scores)
    for i in range(adj.shape[0]):
        neighbours = adj[i] > 0
        alpha[:, i, neighbours] = torch.softmax(scores[:, i, neighbours], dim=-1)
    return alpha


@alternative("4.3")
def log_of_adj_added(scores, adj):
    return torch.softmax(scores + torch.log(adj), dim=-1)


# --- 4.4 aggregation and heads ---------------------------------------------------------------------

def _out(alpha, z):
    return torch.bmm(alpha, z)  # (H, N, F')


def _combined(out, concat):
    return out.transpose(0, 1).reshape(out.shape[1], -1) if concat else out.mean(dim=0)


@mutant("4.4", "concat")
def concat_features_major(alpha, z, concat):
    out = _out(alpha, z)
    return out.permute(1, 2, 0).reshape(out.shape[1], -1) if concat else out.mean(0)


@mutant("4.4", "concat")
def concat_heads_reversed(alpha, z, concat):
    return _combined(_out(alpha, z).flip(0), concat)


@mutant("4.4", "concat")
def concat_by_view_without_transpose(alpha, z, concat):
    out = _out(alpha, z)
    return out.view(out.shape[1], -1) if concat else out.mean(0)


@mutant("4.4", "average")
def average_divided_by_features(alpha, z, concat):
    out = _out(alpha, z)
    return _combined(out, True) if concat else out.sum(0) / out.shape[2]


@mutant("4.4", "average")
def average_of_alpha_times_average_of_z(alpha, z, concat):
    return _combined(_out(alpha, z), True) if concat else alpha.mean(0) @ z.mean(0)


@mutant("4.4", "average")
def average_of_the_first_head_only(alpha, z, concat):
    out = _out(alpha, z)
    return _combined(out, True) if concat else out[0]


@mutant("4.4", "average")
def concatenated_heads_averaged_feature_wise(alpha, z, concat):
    out = _out(alpha, z)
    return _combined(out, True) if concat else out.transpose(0, 1).reshape(out.shape[1], -1)[:, :out.shape[2]]


@mutant("4.4", "weights")
def rows_of_alpha_renormalised(alpha, z, concat):
    return _combined(_out(alpha / alpha.sum(-1, keepdim=True).clamp(min=1e-12), z), concat)


@mutant("4.4", "weights")
def alpha_summed_over_heads(alpha, z, concat):
    return _combined(_out(alpha.sum(0, keepdim=True).expand_as(alpha), z), concat)


@mutant("4.4", "weights")
def alpha_of_head_0_for_every_head(alpha, z, concat):
    return _combined(_out(alpha[:1].expand_as(alpha), z), concat)


@mutant("4.4", "weights")
def alpha_thresholded_to_the_graph(alpha, z, concat):
    return _combined(_out((alpha > 0).float() / (alpha > 0).float().sum(-1, keepdim=True).clamp(min=1), z), concat)


@mutant("4.4", "direction")
def alpha_transposed_via_einsum(alpha, z, concat):
    return _combined(torch.einsum("hij,hif->hjf", alpha, z), concat)


@mutant("4.4", "extra")
def residual_added(alpha, z, concat):
    return _combined(_out(alpha, z) + z, concat)


@mutant("4.4", "extra")
def elu_applied(alpha, z, concat):
    return F.elu(_combined(_out(alpha, z), concat))


@alternative("4.4")
def einsum_and_cat(alpha, z, concat):
    out = torch.einsum("hij,hjf->hif", alpha, z)
    return torch.cat(list(out), dim=1) if concat else sum(out) / out.shape[0]


@alternative("4.4")
def matmul_permute_flatten(alpha, z, concat):
    out = (alpha @ z).permute(1, 0, 2)  # (N, H, F')
    return out.flatten(1) if concat else out.mean(1)


@alternative("4.4")
def one_matmul_per_head_then_cat(alpha, z, concat):
    per_head = [alpha[h] @ z[h] for h in range(alpha.shape[0])]
    return torch.cat(per_head, dim=1) if concat else torch.stack(per_head).mean(0)
