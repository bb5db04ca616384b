"""Mutation suites for chapter 11, when attention has to choose: 11.1 GATv2's scores, 11.2 collate,
11.3 every target's favourite source."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gatkit.batch import GraphBatch
from mutants import alternative, mutant


def _pairs(z_src, z_dst, edge_index):
    return z_src[edge_index[0]] + z_dst[edge_index[1]]  # (E, H, F')


# --- 11.1 GATv2's scores ---------------------------------------------------------------------------------

@mutant("11.1", "order of operations")
def leaky_relu_after_the_dot_product(z_src, z_dst, a, edge_index):
    return F.leaky_relu((_pairs(z_src, z_dst, edge_index) * a).sum(-1), 0.2)


@mutant("11.1", "order of operations")
def a_applied_to_each_side_first(z_src, z_dst, a, edge_index):
    s_src, s_dst = (z_src * a).sum(-1), (z_dst * a).sum(-1)  # (N, H) each
    return F.leaky_relu(s_src[edge_index[0]] + s_dst[edge_index[1]], 0.2)


@mutant("11.1", "order of operations")
def leaky_relu_on_each_side_then_added(z_src, z_dst, a, edge_index):
    pairs = F.leaky_relu(z_src, 0.2)[edge_index[0]] + F.leaky_relu(z_dst, 0.2)[edge_index[1]]
    return (pairs * a).sum(-1)


@mutant("11.1", "nonlinearity")
def no_leaky_relu(z_src, z_dst, a, edge_index):
    return (_pairs(z_src, z_dst, edge_index) * a).sum(-1)


@mutant("11.1", "nonlinearity")
def default_slope_001(z_src, z_dst, a, edge_index):
    return (F.leaky_relu(_pairs(z_src, z_dst, edge_index)) * a).sum(-1)


@mutant("11.1", "nonlinearity")
def relu(z_src, z_dst, a, edge_index):
    return (F.relu(_pairs(z_src, z_dst, edge_index)) * a).sum(-1)


@mutant("11.1", "nonlinearity")
def slope_02_for_positives(z_src, z_dst, a, edge_index):
    pairs = _pairs(z_src, z_dst, edge_index)
    return (torch.where(pairs > 0, 0.2 * pairs, pairs) * a).sum(-1)


@mutant("11.1", "direction")
def source_and_target_swapped(z_src, z_dst, a, edge_index):
    return (F.leaky_relu(z_src[edge_index[1]] + z_dst[edge_index[0]], 0.2) * a).sum(-1)


@mutant("11.1", "direction")
def z_src_for_both_ends(z_src, z_dst, a, edge_index):
    return (F.leaky_relu(_pairs(z_src, z_src, edge_index), 0.2) * a).sum(-1)


@mutant("11.1", "heads")
def summed_over_heads_too(z_src, z_dst, a, edge_index):
    e = (F.leaky_relu(_pairs(z_src, z_dst, edge_index), 0.2) * a).sum(-1)  # (E, H)
    return e.sum(1, keepdim=True).expand_as(e)


@mutant("11.1", "heads")
def first_head_vector_for_every_head(z_src, z_dst, a, edge_index):
    return (F.leaky_relu(_pairs(z_src, z_dst, edge_index), 0.2) * a[0]).sum(-1)


@mutant("11.1", "heads")
def mean_over_features(z_src, z_dst, a, edge_index):
    return (F.leaky_relu(_pairs(z_src, z_dst, edge_index), 0.2) * a).mean(-1)


@mutant("11.1", "autograd")
def detached(z_src, z_dst, a, edge_index):
    with torch.no_grad():
        return (F.leaky_relu(_pairs(z_src, z_dst, edge_index), 0.2) * a).sum(-1)


@alternative("11.1")
def with_einsum(z_src, z_dst, a, edge_index):
    return torch.einsum("ehf,hf->eh", F.leaky_relu(_pairs(z_src, z_dst, edge_index), negative_slope=0.2), a)


@alternative("11.1")
def dense_then_gathered(z_src, z_dst, a, edge_index):
    every_pair = z_dst.unsqueeze(1) + z_src.unsqueeze(0)  # (N, N, H, F'), [i, j]
    dense = (torch.maximum(every_pair, 0.2 * every_pair) * a).sum(-1)  # (N, N, H)
    return dense[edge_index[1], edge_index[0]]  # (E, H)


@alternative("11.1")
def one_head_at_a_time(z_src, z_dst, a, edge_index):
    heads = [F.leaky_relu(z_dst[edge_index[1], h] + z_src[edge_index[0], h], 0.2) @ a[h] for h in range(a.shape[0])]
    return torch.stack(heads, dim=1)  # (E, H)


# --- 11.2 many graphs in one batch -------------------------------------------------------------------------

def _batch_of(x, edge_index, y, label_mask, batch, ptr):
    return GraphBatch(x=x, edge_index=edge_index, y=y, label_mask=label_mask, batch=batch, ptr=ptr)


def _parts(graphs):
    """x, y, label_mask, sizes and ptr, correctly: each mutant then breaks one thing."""
    sizes = torch.tensor([g.num_nodes for g in graphs])  # (G,)
    ptr = torch.cat([torch.zeros(1, dtype=torch.long), sizes.cumsum(0)])  # (G + 1,)
    x = torch.cat([g.x for g in graphs])
    y = torch.cat([g.y for g in graphs])
    mask = None if graphs[0].label_mask is None else torch.cat([g.label_mask for g in graphs])
    return x, y, mask, sizes, ptr


def _batch_vector(sizes):
    return torch.arange(len(sizes)).repeat_interleave(sizes)  # (N,)


def _shifted(graphs, shifts, num_nodes):
    edges = torch.cat([g.edge_index + int(s) for g, s in zip(graphs, shifts)], dim=1)  # (2, E)
    return edges.clamp(max=num_nodes - 1)  # GraphBatch refuses ids past N - 1


@mutant("11.2", "offset")
def edges_not_shifted(graphs):
    x, y, mask, sizes, ptr = _parts(graphs)
    return _batch_of(x, torch.cat([g.edge_index for g in graphs], dim=1), y, mask, _batch_vector(sizes), ptr)


@mutant("11.2", "offset")
def shifted_by_the_edges_before(graphs):
    x, y, mask, sizes, ptr = _parts(graphs)
    before = [0] + torch.tensor([g.num_edges for g in graphs]).cumsum(0).tolist()
    return _batch_of(x, _shifted(graphs, before, len(x)), y, mask, _batch_vector(sizes), ptr)


@mutant("11.2", "offset")
def shifted_by_the_nodes_up_to_and_including_its_own(graphs):
    x, y, mask, sizes, ptr = _parts(graphs)
    return _batch_of(x, _shifted(graphs, ptr[1:], len(x)), y, mask, _batch_vector(sizes), ptr)


@mutant("11.2", "offset")
def shifted_by_the_graph_number_times_the_first_size(graphs):
    x, y, mask, sizes, ptr = _parts(graphs)
    shifts = [n * graphs[0].num_nodes for n in range(len(graphs))]
    return _batch_of(x, _shifted(graphs, shifts, len(x)), y, mask, _batch_vector(sizes), ptr)


@mutant("11.2", "offset")
def shifted_by_the_graph_number(graphs):
    x, y, mask, sizes, ptr = _parts(graphs)
    return _batch_of(x, _shifted(graphs, range(len(graphs)), len(x)), y, mask, _batch_vector(sizes), ptr)


@mutant("11.2", "offset")
def only_the_sources_shifted(graphs):
    x, y, mask, sizes, ptr = _parts(graphs)
    edges = torch.cat([g.edge_index + torch.tensor([[int(ptr[n])], [0]]) for n, g in enumerate(graphs)], dim=1)
    return _batch_of(x, edges, y, mask, _batch_vector(sizes), ptr)


@mutant("11.2", "batch vector")
def batch_holds_local_node_ids(graphs):
    x, y, mask, sizes, ptr = _parts(graphs)
    local = torch.cat([torch.arange(int(s)) for s in sizes])  # (N,)
    return _batch_of(x, _shifted(graphs, ptr[:-1], len(x)), y, mask, local, ptr)


@mutant("11.2", "batch vector")
def batch_repeated_instead_of_interleaved(graphs):
    x, y, mask, sizes, ptr = _parts(graphs)
    wrong = torch.arange(len(graphs)).repeat(len(x) // len(graphs) + 1)[:len(x)]  # (N,) 0, 1, 2, 0, 1, ...
    return _batch_of(x, _shifted(graphs, ptr[:-1], len(x)), y, mask, wrong, ptr)


@mutant("11.2", "batch vector")
def batch_numbered_from_one(graphs):
    x, y, mask, sizes, ptr = _parts(graphs)
    return _batch_of(x, _shifted(graphs, ptr[:-1], len(x)), y, mask, _batch_vector(sizes) + 1, ptr)


@mutant("11.2", "labels")
def labels_in_reverse_graph_order(graphs):
    x, y, mask, sizes, ptr = _parts(graphs)
    backwards = torch.cat([g.y for g in reversed(graphs)])
    return _batch_of(x, _shifted(graphs, ptr[:-1], len(x)), backwards, mask, _batch_vector(sizes), ptr)


@mutant("11.2", "labels")
def labels_shifted_like_the_edges(graphs):
    x, y, mask, sizes, ptr = _parts(graphs)
    shifted = torch.cat([g.y + ptr[n] for n, g in enumerate(graphs)])
    return _batch_of(x, _shifted(graphs, ptr[:-1], len(x)), shifted, mask, _batch_vector(sizes), ptr)


@mutant("11.2", "ptr")
def ptr_without_the_leading_zero(graphs):
    x, y, mask, sizes, ptr = _parts(graphs)
    return _batch_of(x, _shifted(graphs, ptr[:-1], len(x)), y, mask, _batch_vector(sizes), ptr[1:])


@mutant("11.2", "order")
def graphs_in_reverse_order(graphs):
    x, y, mask, sizes, ptr = _parts(list(reversed(graphs)))
    return _batch_of(x, _shifted(list(reversed(graphs)), ptr[:-1], len(x)), y, mask, _batch_vector(sizes), ptr)


@alternative("11.2")
def in_a_loop(graphs):
    xs, edges, ys, masks, batch, ptr = [], [], [], [], [], [0]
    for number, graph in enumerate(graphs):
        xs.append(graph.x)
        edges.append(graph.edge_index + ptr[-1])
        ys.append(graph.y)
        masks.append(graph.label_mask)
        batch.append(torch.full((graph.num_nodes,), number))
        ptr.append(ptr[-1] + graph.num_nodes)
    mask = None if masks[0] is None else torch.cat(masks)
    return _batch_of(torch.cat(xs), torch.cat(edges, dim=1), torch.cat(ys), mask, torch.cat(batch),
                      torch.tensor(ptr))


@alternative("11.2")
def shift_per_edge(graphs):
    x, y, mask, sizes, ptr = _parts(graphs)
    num_edges = torch.tensor([g.num_edges for g in graphs])  # (G,)
    shift = ptr[:-1].repeat_interleave(num_edges)  # (E,)
    edges = torch.cat([g.edge_index for g in graphs], dim=1) + shift  # (2, E)
    batch = torch.bucketize(torch.arange(len(x)), ptr[1:], right=True)  # (N,): graphs whose end is <= n
    return _batch_of(x, edges, y, mask, batch, ptr)


# --- 11.3 every target's favourite source ------------------------------------------------------------------

def _by_loop(scores, edge_index, num_nodes, *, better, target_row=1, value=None):
    result = torch.full((num_nodes, scores.shape[1]), -1, dtype=torch.long)
    best = {}
    for column in range(edge_index.shape[1]):
        i, j = int(edge_index[target_row, column]), int(edge_index[1 - target_row, column])
        for h in range(scores.shape[1]):
            s = float(scores[column, h])
            if (i, h) not in best or better(s, best[i, h]):
                best[i, h] = s
                result[i, h] = j if value is None else value(column, j)
    return result


@mutant("11.3", "grouping")
def one_argmax_over_all_edges(scores, edge_index, num_nodes):
    return edge_index[0][scores.argmax(dim=0)].expand(num_nodes, -1).clone()


@mutant("11.3", "grouping")
def grouped_by_source(scores, edge_index, num_nodes):
    return _by_loop(scores, edge_index, num_nodes, better=lambda s, b: s > b, target_row=0)


@mutant("11.3", "grouping")
def max_over_the_heads_too(scores, edge_index, num_nodes):
    merged = scores.amax(dim=1, keepdim=True).expand_as(scores)
    return _by_loop(merged, edge_index, num_nodes, better=lambda s, b: s > b)


@mutant("11.3", "what is returned")
def the_column_number(scores, edge_index, num_nodes):
    return _by_loop(scores, edge_index, num_nodes, better=lambda s, b: s > b, value=lambda column, j: column)


@mutant("11.3", "what is returned")
def the_lowest_score(scores, edge_index, num_nodes):
    return _by_loop(scores, edge_index, num_nodes, better=lambda s, b: s < b)


@mutant("11.3", "ties")
def ties_to_the_last_column(scores, edge_index, num_nodes):
    return _by_loop(scores, edge_index, num_nodes, better=lambda s, b: s >= b)


@mutant("11.3", "ties")
def ties_to_the_smallest_source(scores, edge_index, num_nodes):
    dense = scores.new_full((scores.shape[1], num_nodes, num_nodes), -torch.inf)  # (H, N, N), [h, i, j]
    dense[:, edge_index[1], edge_index[0]] = scores.T
    return torch.where(torch.isinf(dense.amax(dim=2)), -1, dense.argmax(dim=2)).T  # (N, H)


@mutant("11.3", "isolated nodes")
def isolated_node_gets_zero(scores, edge_index, num_nodes):
    return _by_loop(scores, edge_index, num_nodes, better=lambda s, b: s > b).clamp(min=0)


@mutant("11.3", "isolated nodes")
def isolated_node_gets_itself(scores, edge_index, num_nodes):
    result = _by_loop(scores, edge_index, num_nodes, better=lambda s, b: s > b)
    return torch.where(result < 0, torch.arange(num_nodes).unsqueeze(1), result)


@mutant("11.3", "sorted order")
def blocks_of_consecutive_targets(scores, edge_index, num_nodes):
    result = torch.full((num_nodes, scores.shape[1]), -1, dtype=torch.long)
    targets, counts = torch.unique_consecutive(edge_index[1], return_counts=True)
    start = 0
    for target, count in zip(targets.tolist(), counts.tolist()):  # a later block of a target overwrites
        block = scores[start:start + count]  # (count, H)
        result[target] = edge_index[0, start + block.argmax(dim=0)]
        start += count
    return result


@mutant("11.3", "sorted order")
def ties_to_the_first_after_sorting_by_target(scores, edge_index, num_nodes):
    order = edge_index[1].argsort()  # not stable: ties may come out in another order
    order = order[edge_index[0][order].argsort(stable=True)]
    order = order[edge_index[1][order].argsort(stable=True)]  # by target, then source id: column order lost
    return _by_loop(scores[order], edge_index[:, order], num_nodes, better=lambda s, b: s > b)


@alternative("11.3")
def with_a_python_loop(scores, edge_index, num_nodes):
    return _by_loop(scores, edge_index, num_nodes, better=lambda s, b: s > b)


@alternative("11.3")
def with_stable_sorts(scores, edge_index, num_nodes):
    num_edges, heads = scores.shape
    result = torch.full((num_nodes, heads), -1, dtype=torch.long)
    for h in range(heads):
        order = scores[:, h].argsort(descending=True, stable=True)  # best first, ties in column order
        order = order[edge_index[1, order].argsort(stable=True)]  # grouped by target, best first in each
        targets = edge_index[1, order]
        first = torch.ones(num_edges, dtype=torch.bool)
        first[1:] = targets[1:] != targets[:-1]  # the first edge of each target's group
        result[targets[first], h] = edge_index[0, order[first]]
    return result
