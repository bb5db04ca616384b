"""Mutation suites for chapter 05, dense with a connectivity mask: 5.1 the masked softmax, 5.2 the
masked attention of all heads at once, 5.3 the coefficients per edge.

Shapes: ``x`` (N, F); ``weight`` (H*F', F) with head ``h`` in rows ``h*F' .. (h+1)*F' - 1``;
``a_src`` / ``a_dst`` (H, F'); ``logits`` / ``alpha`` (H, N, N) with ``[h, i, j]`` for ``j -> i``;
``mask`` (N, N): 0 on the edges, -inf elsewhere; ``edge_index`` (2, E), row 0 the source ``j``.

Each family is a kind of slip a learner who gets the exercise almost right could make; the loops
generate its members. Every mutant runs on every case of its check (a crash would not be a
plausible accepted answer) and computes something else on at least one of them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from mutants import add_mutant, alternative, mutant


# --- 5.1 the masked softmax ---------------------------------------------------------------------

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
    add_mutant("5.1", "manual softmax", f"shift_by_{_name}", _manual(_shift))
add_mutant("5.1", "manual softmax", "shift_by_global_max_plus_epsilon", _manual(lambda l, m: l.max(), epsilon=1e-16))


@mutant("5.1", "masking")
def softmax_of_the_logits_times_exp_of_the_mask(logits, mask):
    p = torch.softmax(logits, dim=-1) * torch.exp(mask)
    return p / p.sum(dim=-1, keepdim=True)


@mutant("5.1", "masking")
def mask_transposed(logits, mask):
    return torch.softmax(logits + mask.T, dim=-1)


@mutant("5.1", "masking")
def mask_kept_where_it_is_minus_inf(logits, mask):
    return torch.softmax(logits.masked_fill(mask == 0, float("-inf")), dim=-1)


@mutant("5.1", "masking")
def mask_added_to_the_first_head_only(logits, mask):
    masked = logits.clone()
    masked[0] = masked[0] + mask
    return torch.softmax(masked, dim=-1)


@mutant("5.1", "masking")
def mask_subtracted(logits, mask):
    return torch.softmax(logits - mask, dim=-1)


@mutant("5.1", "masking")
def mask_multiplied_by_the_logits(logits, mask):
    return torch.softmax(logits * mask.exp(), dim=-1)


@mutant("5.1", "axis")
def softmax_over_columns(logits, mask):
    return torch.softmax(logits + mask, dim=1)


@mutant("5.1", "axis")
def softmax_over_each_whole_matrix(logits, mask):
    flat = (logits + mask).flatten(1)
    return torch.softmax(flat, dim=-1).view_as(logits)


@mutant("5.1", "extra")
def log_softmax(logits, mask):
    return F.log_softmax(logits + mask, dim=-1)


@mutant("5.1", "extra")
def temperature_sqrt_n(logits, mask):
    return torch.softmax((logits + mask) / math.sqrt(logits.shape[-1]), dim=-1)


@mutant("5.1", "extra")
def leaky_relu_applied_again(logits, mask):
    return torch.softmax(F.leaky_relu(logits, 0.2) + mask, dim=-1)


@mutant("5.1", "loop")
def python_loop_skips_the_last_head(logits, mask):
    alpha = torch.zeros_like(logits)
    for h in range(logits.shape[0] - 1):
        alpha[h] = torch.softmax(logits[h] + mask, dim=-1)
    return alpha


@mutant("5.1", "in place")
def mask_added_in_place(logits, mask):
    logits += mask
    return torch.softmax(logits, dim=-1)


@mutant("5.1", "in place")
def mask_swapped_for_minus_1e9_in_place(logits, mask):
    mask.masked_fill_(torch.isinf(mask), -1e9)  # the caller's mask now holds -1e9
    return torch.softmax(logits + mask, dim=-1)


@alternative("5.1")
def manual_with_the_masked_row_max(logits, mask):
    masked = logits + mask
    p = torch.exp(masked - masked.amax(dim=-1, keepdim=True))
    return p / p.sum(dim=-1, keepdim=True)


@alternative("5.1")
def minus_1e9_instead_of_minus_inf(logits, mask):
    # the TensorFlow constant: the same attention on every row that has a neighbour
    return torch.softmax(logits + mask.clamp(min=-1e9), dim=-1)


@alternative("5.1")
def torch_where_then_softmax(logits, mask):
    return torch.where(mask == 0, logits, torch.tensor(float("-inf"))).softmax(dim=2)


@alternative("5.1")
def exp_of_log_softmax(logits, mask):
    return torch.exp(torch.log_softmax(logits + mask, dim=-1))


# --- 5.2 the masked attention, all heads at once ---------------------------------------------------
# The check runs answers through a `run` (the answer is a pair), so no generic mutants are made for
# it: every family is below. Each member is the forward pass with one slip.

def _forward(x, weight, a_src, a_dst, mask, *, z=None, scores=None, alpha=None, aggregate=None):
    """The forward pass; a keyword swaps one step for a wrong one."""
    heads, f_out = a_src.shape
    n = x.shape[0]
    z = (x @ weight.T).view(n, heads, f_out) if z is None else z(x, weight, heads, f_out)  # (N, H, F')
    if scores is None:
        f_src, f_dst = (z * a_src).sum(-1), (z * a_dst).sum(-1)  # (N, H)
        logits = F.leaky_relu(f_dst.T.unsqueeze(2) + f_src.T.unsqueeze(1), 0.2)  # (H, N, N)
    else:
        logits = scores(z, a_src, a_dst)
    weights = torch.softmax(logits + mask, dim=-1) if alpha is None else alpha(logits, mask)  # (H, N, N)
    zh = z.transpose(0, 1)  # (H, N, F')
    out = (weights @ zh).transpose(0, 1) if aggregate is None else aggregate(weights, zh)  # (N, H, F')
    return out, weights


def _pairs(f_src, f_dst):
    return f_dst.T.unsqueeze(2) + f_src.T.unsqueeze(1)  # (H, N, N)


def _halves(z, a_src, a_dst):
    return (z * a_src).sum(-1), (z * a_dst).sum(-1)  # (N, H) each


@mutant("5.2", "layout")
def heads_viewed_features_major(x, weight, a_src, a_dst, mask):
    return _forward(x, weight, a_src, a_dst, mask,
                    z=lambda x, w, h, f: (x @ w.T).view(x.shape[0], f, h).transpose(1, 2))


@mutant("5.2", "layout")
def heads_viewed_first(x, weight, a_src, a_dst, mask):
    return _forward(x, weight, a_src, a_dst, mask,
                    z=lambda x, w, h, f: (x @ w.T).view(h, x.shape[0], f).transpose(0, 1))


@mutant("5.2", "layout")
def nodes_in_the_columns(x, weight, a_src, a_dst, mask):
    return _forward(x, weight, a_src, a_dst, mask, z=lambda x, w, h, f: (w @ x.T).view(x.shape[0], h, f))


@mutant("5.2", "layout")
def weight_viewed_instead_of_transposed(x, weight, a_src, a_dst, mask):
    return _forward(x, weight, a_src, a_dst, mask,
                    z=lambda x, w, h, f: (x @ w.view(x.shape[1], -1)).view(x.shape[0], h, f))


@mutant("5.2", "layout")
def attention_vectors_read_features_major(x, weight, a_src, a_dst, mask):
    heads, f_out = a_src.shape
    return _forward(x, weight, a_src.T.reshape(heads, f_out), a_dst.T.reshape(heads, f_out), mask)


@mutant("5.2", "direction")
def halves_swapped(x, weight, a_src, a_dst, mask):
    return _forward(x, weight, a_dst, a_src, mask)


@mutant("5.2", "direction")
def source_down_the_rows(x, weight, a_src, a_dst, mask):
    return _forward(x, weight, a_src, a_dst, mask,
                    scores=lambda z, s, d: F.leaky_relu(_pairs(*_halves(z, s, d)).transpose(1, 2), 0.2))


@mutant("5.2", "direction")
def a_dst_for_both(x, weight, a_src, a_dst, mask):
    return _forward(x, weight, a_dst, a_dst, mask)


@mutant("5.2", "direction")
def mask_transposed(x, weight, a_src, a_dst, mask):
    return _forward(x, weight, a_src, a_dst, mask.T)


@mutant("5.2", "direction")
def aggregated_into_the_sources(x, weight, a_src, a_dst, mask):
    return _forward(x, weight, a_src, a_dst, mask, aggregate=lambda a, zh: (a.transpose(1, 2) @ zh).transpose(0, 1))


for _slope in (0.0, 0.01, 1.0, -0.2):
    add_mutant("5.2", "activation", f"negative_slope_{_slope:g}",
               (lambda v: lambda x, weight, a_src, a_dst, mask: _forward(
                   x, weight, a_src, a_dst, mask,
                   scores=lambda z, s, d: F.leaky_relu(_pairs(*_halves(z, s, d)), v)))(_slope))


@mutant("5.2", "activation")
def elu_instead_of_leaky_relu(x, weight, a_src, a_dst, mask):
    return _forward(x, weight, a_src, a_dst, mask, scores=lambda z, s, d: F.elu(_pairs(*_halves(z, s, d))))


@mutant("5.2", "activation")
def leaky_relu_on_each_half(x, weight, a_src, a_dst, mask):
    def scores(z, s, d):
        f_src, f_dst = _halves(z, s, d)
        return _pairs(F.leaky_relu(f_src, 0.2), F.leaky_relu(f_dst, 0.2))
    return _forward(x, weight, a_src, a_dst, mask, scores=scores)


@mutant("5.2", "masking")
def mask_ignored(x, weight, a_src, a_dst, mask):
    return _forward(x, weight, a_src, a_dst, mask, alpha=lambda logits, m: torch.softmax(logits, dim=-1))


@mutant("5.2", "masking")
def mask_multiplied(x, weight, a_src, a_dst, mask):
    return _forward(x, weight, a_src, a_dst, mask, alpha=lambda logits, m: torch.softmax(logits * m, dim=-1))


@mutant("5.2", "masking")
def non_neighbours_zeroed_after_the_softmax(x, weight, a_src, a_dst, mask):
    return _forward(x, weight, a_src, a_dst, mask,
                    alpha=lambda logits, m: torch.softmax(logits, dim=-1) * (m == 0))


@mutant("5.2", "masking")
def mask_on_the_first_head_only(x, weight, a_src, a_dst, mask):
    def alpha(logits, m):
        masked = logits.clone()
        masked[0] += m
        return torch.softmax(masked, dim=-1)
    return _forward(x, weight, a_src, a_dst, mask, alpha=alpha)


@mutant("5.2", "softmax axis")
def softmax_over_the_targets(x, weight, a_src, a_dst, mask):
    return _forward(x, weight, a_src, a_dst, mask, alpha=lambda logits, m: torch.softmax(logits + m, dim=-2))


@mutant("5.2", "softmax axis")
def softmax_over_the_heads(x, weight, a_src, a_dst, mask):
    return _forward(x, weight, a_src, a_dst, mask, alpha=lambda logits, m: torch.softmax(logits + m, dim=0))


@mutant("5.2", "softmax axis")
def softmax_over_each_whole_matrix(x, weight, a_src, a_dst, mask):
    return _forward(x, weight, a_src, a_dst, mask,
                    alpha=lambda logits, m: torch.softmax((logits + m).flatten(1), dim=-1).view_as(logits))


@mutant("5.2", "transformer habits")
def dot_product_scores(x, weight, a_src, a_dst, mask):
    return _forward(x, weight, a_src, a_dst, mask,
                    scores=lambda z, s, d: (z.transpose(0, 1) @ z.permute(1, 2, 0)) / math.sqrt(z.shape[-1]))


@mutant("5.2", "transformer habits")
def scores_scaled_by_sqrt_of_features(x, weight, a_src, a_dst, mask):
    return _forward(x, weight, a_src, a_dst, mask, scores=lambda z, s, d: F.leaky_relu(
        _pairs(*_halves(z, s, d)) / math.sqrt(z.shape[-1]), 0.2))


@mutant("5.2", "heads")
def head_0_vectors_for_every_head(x, weight, a_src, a_dst, mask):
    return _forward(x, weight, a_src[:1].expand_as(a_src), a_dst[:1].expand_as(a_dst), mask)


@mutant("5.2", "heads")
def attention_averaged_over_the_heads(x, weight, a_src, a_dst, mask):
    return _forward(x, weight, a_src, a_dst, mask,
                    alpha=lambda logits, m: torch.softmax(logits + m, dim=-1).mean(0, keepdim=True).expand_as(logits))


@mutant("5.2", "heads")
def python_loop_skips_the_last_head(x, weight, a_src, a_dst, mask):
    out, alpha = _forward(x, weight, a_src, a_dst, mask)
    out, alpha = out.clone(), alpha.clone()
    out[:, -1], alpha[-1] = 0.0, 0.0
    return out, alpha


@mutant("5.2", "output")
def heads_left_in_front(x, weight, a_src, a_dst, mask):
    out, alpha = _forward(x, weight, a_src, a_dst, mask)
    return out.transpose(0, 1), alpha


@mutant("5.2", "output")
def heads_concatenated(x, weight, a_src, a_dst, mask):
    out, alpha = _forward(x, weight, a_src, a_dst, mask)
    return out.reshape(out.shape[0], -1), alpha


@mutant("5.2", "output")
def heads_averaged(x, weight, a_src, a_dst, mask):
    out, alpha = _forward(x, weight, a_src, a_dst, mask)
    return out.mean(dim=1), alpha


@mutant("5.2", "output")
def pair_in_the_other_order(x, weight, a_src, a_dst, mask):
    out, alpha = _forward(x, weight, a_src, a_dst, mask)
    return alpha, out


@mutant("5.2", "output")
def out_alone(x, weight, a_src, a_dst, mask):
    return _forward(x, weight, a_src, a_dst, mask)[0]


@mutant("5.2", "output")
def alpha_per_edge_instead_of_dense(x, weight, a_src, a_dst, mask):
    out, alpha = _forward(x, weight, a_src, a_dst, mask)
    target, source = (mask == 0).nonzero().T
    return out, alpha[:, target, source].T  # (E, H)


@mutant("5.2", "autograd")
def computed_without_gradients(x, weight, a_src, a_dst, mask):
    with torch.no_grad():
        return _forward(x, weight, a_src, a_dst, mask)


@mutant("5.2", "autograd")
def out_detached(x, weight, a_src, a_dst, mask):
    out, alpha = _forward(x, weight, a_src, a_dst, mask)
    return out.detach(), alpha


@mutant("5.2", "in place")
def mask_swapped_for_minus_1e9_in_place(x, weight, a_src, a_dst, mask):
    mask.masked_fill_(torch.isinf(mask), -1e9)  # the caller's mask now holds -1e9
    return _forward(x, weight, a_src, a_dst, mask)


@alternative("5.2")
def one_head_at_a_time_as_the_tensorflow_code(x, weight, a_src, a_dst, mask):
    heads, f_out = a_src.shape
    outs, alphas = [], []
    for h in range(heads):  # the TF code's attn_head, once per head, each with its own W_h and a_h
        z = x @ weight[h * f_out:(h + 1) * f_out].T  # (N, F')
        f_src, f_dst = z @ a_src[h], z @ a_dst[h]  # (N,)
        logits = F.leaky_relu(f_dst[:, None] + f_src[None, :], 0.2)  # (N, N)
        alpha = torch.softmax(logits + mask, dim=-1)  # (N, N)
        outs.append(alpha @ z)
        alphas.append(alpha)
    return torch.stack(outs, dim=1), torch.stack(alphas)  # (N, H, F'), (H, N, N)


@alternative("5.2")
def einsum_with_the_tensorflow_constant(x, weight, a_src, a_dst, mask):
    heads, f_out = a_src.shape
    z = torch.einsum("nf,kf->nk", x, weight).reshape(x.shape[0], heads, f_out)  # (N, H, F')
    f_src, f_dst = torch.einsum("nhf,hf->hn", z, a_src), torch.einsum("nhf,hf->hn", z, a_dst)  # (H, N)
    raw = f_dst[:, :, None] + f_src[:, None, :]  # (H, N, N)
    logits = torch.where(raw > 0, raw, 0.2 * raw)
    alpha = torch.softmax(logits + mask.clamp(min=-1e9), dim=-1)  # -1e9 as in the TF code: same on rows with neighbours
    return torch.einsum("hij,jhf->ihf", alpha, z), alpha


@alternative("5.2")
def concatenation_as_in_the_paper(x, weight, a_src, a_dst, mask):
    heads, f_out = a_src.shape
    n = x.shape[0]
    zh = (x @ weight.T).view(n, heads, f_out).transpose(0, 1)  # (H, N, F')
    pairs = torch.cat([zh[:, :, None].expand(heads, n, n, f_out), zh[:, None].expand(heads, n, n, f_out)], dim=-1)
    a = torch.cat([a_dst, a_src], dim=-1)[:, None, None, :]  # (H, 1, 1, 2F'): a = [a_dst || a_src]
    alpha = torch.softmax(F.leaky_relu((pairs * a).sum(-1), 0.2) + mask, dim=-1)  # (H, N, N)
    return torch.bmm(alpha, zh).transpose(0, 1), alpha


# --- 5.3 the coefficients per edge ---------------------------------------------------------------

@mutant("5.3", "direction")
def permuted_the_wrong_way(alpha_dense, edge_index):
    return alpha_dense.permute(2, 1, 0)[edge_index[1], edge_index[0]]  # [j, i, h] read at (i, j)


@mutant("5.3", "direction")
def symmetrised_before_reading(alpha_dense, edge_index):
    both = alpha_dense + alpha_dense.transpose(1, 2)
    return both[:, edge_index[1], edge_index[0]].T


@mutant("5.3", "layout")
def heads_first(alpha_dense, edge_index):
    return alpha_dense[:, edge_index[1], edge_index[0]]  # (H, E)


@mutant("5.3", "layout")
def reshaped_instead_of_transposed(alpha_dense, edge_index):
    return alpha_dense[:, edge_index[1], edge_index[0]].reshape(edge_index.shape[1], -1)


@mutant("5.3", "layout")
def every_pair_of_target_and_source(alpha_dense, edge_index):
    return alpha_dense[:, edge_index[1]][:, :, edge_index[0]]  # (H, E, E)


@mutant("5.3", "layout")
def flat_index_column_major(alpha_dense, edge_index):
    n = alpha_dense.shape[1]
    return alpha_dense.flatten(1)[:, edge_index[0] * n + edge_index[1]].T


@mutant("5.3", "order")
def sorted_by_a_boolean_mask(alpha_dense, edge_index):
    adj = torch.zeros(alpha_dense.shape[1:], dtype=torch.bool)
    adj[edge_index[1], edge_index[0]] = True
    return alpha_dense.permute(1, 2, 0)[adj]  # (E, H) in row-major (i, j) order


@mutant("5.3", "order")
def nonzero_entries(alpha_dense, edge_index):
    return alpha_dense.permute(1, 2, 0)[(alpha_dense != 0).any(dim=0)]


@mutant("5.3", "order")
def edges_sorted_by_target_first(alpha_dense, edge_index):
    ordered = edge_index[:, edge_index[1].argsort(stable=True)]
    return alpha_dense[:, ordered[1], ordered[0]].T


@mutant("5.3", "order")
def edges_made_unique_first(alpha_dense, edge_index):
    unique = torch.unique(edge_index, dim=1)  # sorted by source
    return alpha_dense[:, unique[1], unique[0]].T


@mutant("5.3", "loop")
def python_loop_skips_the_last_edge(alpha_dense, edge_index):
    return torch.stack([alpha_dense[:, i, j] for j, i in edge_index[:, :-1].T.tolist()])


@mutant("5.3", "loop")
def python_loop_reads_head_0_for_every_head(alpha_dense, edge_index):
    rows = [alpha_dense[0, i, j].expand(alpha_dense.shape[0]) for j, i in edge_index.T.tolist()]
    return torch.stack(rows)


@mutant("5.3", "heads")
def mean_over_the_heads(alpha_dense, edge_index):
    return alpha_dense.mean(dim=0)[edge_index[1], edge_index[0]].unsqueeze(1).expand(-1, alpha_dense.shape[0])


@alternative("5.3")
def heads_moved_last_then_indexed(alpha_dense, edge_index):
    return alpha_dense.permute(1, 2, 0)[edge_index[1], edge_index[0]]  # (N, N, H) read at (i, j): (E, H)


@alternative("5.3")
def flat_index_row_major(alpha_dense, edge_index):
    n = alpha_dense.shape[1]
    return alpha_dense.reshape(alpha_dense.shape[0], -1)[:, edge_index[1] * n + edge_index[0]].transpose(0, 1)


@alternative("5.3")
def python_loop_over_the_edges(alpha_dense, edge_index):
    return torch.stack([alpha_dense[:, i, j] for j, i in edge_index.T.tolist()])
