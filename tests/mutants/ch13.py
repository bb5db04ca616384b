"""Mutation suites for chapter 13, beyond one machine: 13.1 the receptive field hop by hop, 13.2
sampling incoming edges, 13.3 the halo of a part.

Each family is a kind of slip a learner who gets the exercise almost right could make. Every mutant
runs on every case of its check and computes something else on at least one of them. 13.2's check
has a ``run`` (its answers are random), so it gets no generic mutants: its suite is all here.
"""

from __future__ import annotations

import numpy as np
import torch

from gatkit.sampling import ALL
from mutants import EQUIVALENT, alternative, mutant

# A self-loop j -> j never adds a node to a receptive field (j is already in it when the loop is
# read) and never crosses between parts, so leaving the loops out or listing them twice changes
# neither answer.
EQUIVALENT.add(("13.1", "self-loops"))
EQUIVALENT.add(("13.3", "self-loops"))

EMPTY = torch.zeros(0, dtype=torch.long)


# --- 13.1 the receptive field, hop by hop ---------------------------------------------------------------

def _within(edge_index, num_nodes, targets, hops, *, step):
    """Cumulative sizes, each hop adding ``step(edge_index, reached)`` (a bool mask) to the reached nodes."""
    reached = torch.zeros(num_nodes, dtype=torch.bool)
    reached[targets] = True
    sizes = [int(reached.sum())]
    for _ in range(hops):
        reached = reached | step(edge_index, reached)
        sizes.append(int(reached.sum()))
    return torch.tensor(sizes)


def _sources_into(edge_index, reached):
    found = torch.zeros_like(reached)
    found[edge_index[0, reached[edge_index[1]]]] = True
    return found


def _targets_of(edge_index, reached):
    found = torch.zeros_like(reached)
    found[edge_index[1, reached[edge_index[0]]]] = True
    return found


def _right(edge_index, num_nodes, targets, hops):
    return _within(edge_index, num_nodes, targets, hops, step=_sources_into)


@mutant("13.1", "direction")
def targets_of_edges_out_of_the_reached_nodes(edge_index, num_nodes, targets, hops):
    return _within(edge_index, num_nodes, targets, hops, step=_targets_of)


@mutant("13.1", "direction")
def neighbours_either_way(edge_index, num_nodes, targets, hops):
    return _within(edge_index, num_nodes, targets, hops,
                   step=lambda e, reached: _sources_into(e, reached) | _targets_of(e, reached))


@mutant("13.1", "counting")
def each_hops_new_nodes_only(edge_index, num_nodes, targets, hops):
    sizes = _right(edge_index, num_nodes, targets, hops)
    return torch.cat([sizes[:1], sizes.diff()])


@mutant("13.1", "counting")
def a_node_counted_once_per_edge_that_reaches_it(edge_index, num_nodes, targets, hops):
    reached = torch.zeros(num_nodes, dtype=torch.bool)
    reached[targets] = True
    sizes = [int(reached.sum())]
    for _ in range(hops):
        sources = edge_index[0, reached[edge_index[1]]]  # (e,) with repeats
        new = sources[~reached[sources]]
        reached[new] = True
        sizes.append(sizes[-1] + len(new))
    return torch.tensor(sizes)


@mutant("13.1", "counting")
def fields_of_the_targets_added_up(edge_index, num_nodes, targets, hops):
    return sum(_right(edge_index, num_nodes, target.view(1), hops) for target in torch.unique(targets))


@mutant("13.1", "counting")
def repeated_targets_counted_twice(edge_index, num_nodes, targets, hops):
    return _right(edge_index, num_nodes, targets, hops) + len(targets) - len(torch.unique(targets))


@mutant("13.1", "counting")
def edges_read_instead_of_nodes(edge_index, num_nodes, targets, hops):
    sizes, reached = [len(torch.unique(targets))], torch.zeros(num_nodes, dtype=torch.bool)
    reached[targets] = True
    for _ in range(hops):
        sizes.append(int(reached[edge_index[1]].sum()))
        reached = reached | _sources_into(edge_index, reached)
    return torch.tensor(sizes)


@mutant("13.1", "counting")
def unreached_nodes_instead_of_reached(edge_index, num_nodes, targets, hops):
    return num_nodes - _right(edge_index, num_nodes, targets, hops)


@mutant("13.1", "counting")
def float_counts(edge_index, num_nodes, targets, hops):
    return _right(edge_index, num_nodes, targets, hops).float()


@mutant("13.1", "union")
def only_the_sources_of_the_last_hop(edge_index, num_nodes, targets, hops):
    reached = torch.zeros(num_nodes, dtype=torch.bool)
    reached[targets] = True
    sizes = [int(reached.sum())]
    for _ in range(hops):
        reached = _sources_into(edge_index, reached)  # no union with what was there
        sizes.append(int(reached.sum()))
    return torch.tensor(sizes)


@mutant("13.1", "union")
def the_frontier_grown_from_the_targets_only(edge_index, num_nodes, targets, hops):
    start = torch.zeros(num_nodes, dtype=torch.bool)
    start[targets] = True
    one_hop = start | _sources_into(edge_index, start)
    return torch.tensor([int(start.sum())] + [int(one_hop.sum())] * hops)


@mutant("13.1", "hops")
def hop_zero_missing(edge_index, num_nodes, targets, hops):
    return _right(edge_index, num_nodes, targets, hops)[1:]


@mutant("13.1", "hops")
def one_hop_short(edge_index, num_nodes, targets, hops):
    return _right(edge_index, num_nodes, targets, hops)[:-1]


@mutant("13.1", "hops")
def one_hop_too_many(edge_index, num_nodes, targets, hops):
    return _right(edge_index, num_nodes, targets, hops + 1)


@mutant("13.1", "hops")
def every_entry_one_hop_further(edge_index, num_nodes, targets, hops):
    return _right(edge_index, num_nodes, targets, hops + 1)[1:]


@mutant("13.1", "hops")
def stopped_when_the_field_stops_growing(edge_index, num_nodes, targets, hops):
    sizes = _right(edge_index, num_nodes, targets, hops)
    grew = torch.nonzero(sizes.diff() > 0).flatten()
    return sizes[:int(grew[-1]) + 2] if len(grew) else sizes[:1]


@mutant("13.1", "targets")
def targets_assumed_sorted(edge_index, num_nodes, targets, hops):
    distinct = len(torch.unique_consecutive(targets))  # counts repeats that are not next to each other
    return _right(edge_index, num_nodes, targets, hops) + distinct - len(torch.unique(targets))


@mutant("13.1", "targets")
def one_target_assumed(edge_index, num_nodes, targets, hops):
    return _right(edge_index, num_nodes, targets[:1], hops)


@alternative("13.1")
def python_sets(edge_index, num_nodes, targets, hops):
    into = {}
    for j, i in edge_index.T.tolist():
        into.setdefault(i, set()).add(j)
    reached = set(targets.tolist())
    sizes = [len(reached)]
    for _ in range(hops):
        reached |= {j for i in reached for j in into.get(i, ())}
        sizes.append(len(reached))
    return torch.tensor(sizes)


@alternative("13.1")
def boolean_matrix_products(edge_index, num_nodes, targets, hops):
    adj = torch.zeros(num_nodes, num_nodes)  # adj[i, j] = 1 iff j -> i, and the diagonal: stay put
    adj[edge_index[1], edge_index[0]] = 1.0
    adj += torch.eye(num_nodes)
    reached = torch.zeros(num_nodes)
    reached[targets] = 1.0
    sizes = [int((reached > 0).sum())]
    for _ in range(hops):
        reached = (adj.T @ reached > 0).float()  # j is reached if it sends an edge into a reached i
        sizes.append(int(reached.sum()))
    return torch.tensor(sizes)


@alternative("13.1")
def distances_then_a_histogram(edge_index, num_nodes, targets, hops):
    distance = torch.full((num_nodes,), hops + 1)  # (N,) beyond reach
    distance[targets] = 0
    for hop in range(1, hops + 1):
        frontier = distance == hop - 1
        sources = edge_index[0, frontier[edge_index[1]]]
        distance[sources[distance[sources] > hop]] = hop
    return torch.bincount(distance, minlength=hops + 2)[:hops + 1].cumsum(0)


# --- 13.2 sampling incoming edges ------------------------------------------------------------------

def _ranges(indptr, nodes):
    """Each requested node's (first edge id, number of incoming edges), as Python ints."""
    return [(int(indptr[v]), int(indptr[v + 1] - indptr[v])) for v in nodes.tolist()]


def _keep(degree, fanout):
    return degree if fanout == ALL else min(degree, fanout)


def _per_node(indptr, nodes, fanout, pick):
    """``pick(degree, count)`` offsets for each node, as edge ids, in one tensor."""
    return torch.cat([start + pick(degree, _keep(degree, fanout)) for start, degree in _ranges(indptr, nodes)]
                     + [EMPTY])


def _every_edge(indptr, nodes):
    return _per_node(indptr, nodes, ALL, lambda degree, count: torch.arange(count))


def _sampled(indptr, nodes, fanout, generator):
    """A correct draw (random keys ranked within each node), for mutants that change the fanout."""
    return _per_node(indptr, nodes, fanout, lambda degree, count: torch.randperm(degree, generator=generator)[:count])


@mutant("13.2", "which edges")
def first_fanout_edges(indptr, nodes, fanout, generator):
    return _per_node(indptr, nodes, fanout, lambda degree, count: torch.arange(count))


@mutant("13.2", "which edges")
def last_fanout_edges(indptr, nodes, fanout, generator):
    return _per_node(indptr, nodes, fanout, lambda degree, count: torch.arange(degree - count, degree))


@mutant("13.2", "which edges")
def a_window_of_consecutive_edges_from_a_random_start(indptr, nodes, fanout, generator):
    def window(degree, count):
        first = int(torch.randint(max(degree, 1), (1,), generator=generator))
        return (first + torch.arange(count)) % max(degree, 1)
    return _per_node(indptr, nodes, fanout, window)


@mutant("13.2", "which edges")
def one_random_start_shared_by_all_nodes(indptr, nodes, fanout, generator):
    first = int(torch.randint(1000, (1,), generator=generator))
    return _per_node(indptr, nodes, fanout,
                     lambda degree, count: (first + torch.arange(count)) % max(degree, 1))


@mutant("13.2", "which edges")
def one_key_per_position_shared_by_all_nodes(indptr, nodes, fanout, generator):
    degree = indptr[nodes + 1] - indptr[nodes]  # (n,)
    keys = torch.rand(int(degree.max()) if len(degree) else 0, generator=generator)  # (max deg,) reused by every node
    return _per_node(indptr, nodes, fanout, lambda degree, count: torch.argsort(keys[:degree])[:count])


@mutant("13.2", "which edges")
def keys_sorted_but_not_grouped_by_node(indptr, nodes, fanout, generator):
    every = _every_edge(indptr, nodes)  # (s,) grouped by node
    if fanout == ALL:
        return every
    degree = indptr[nodes + 1] - indptr[nodes]  # (n,)
    offset = torch.arange(len(every)) - torch.repeat_interleave(degree.cumsum(0) - degree, degree)  # (s,)
    order = torch.argsort(torch.rand(len(every), generator=generator))  # (s,) random, not regrouped
    return every[order[offset < fanout]]


@mutant("13.2", "which edges")
def edges_of_the_node_with_the_next_id(indptr, nodes, fanout, generator):
    return _sampled(indptr, nodes.clamp(max=len(indptr) - 3) + 1, fanout, generator)


@mutant("13.2", "which edges")
def every_node_not_just_the_requested_ones(indptr, nodes, fanout, generator):
    return _sampled(indptr, torch.arange(len(indptr) - 1), fanout, generator)


@mutant("13.2", "which edges")
def nodes_taken_as_zero_to_n_minus_one(indptr, nodes, fanout, generator):
    return _sampled(indptr, torch.arange(len(nodes)), fanout, generator)


@mutant("13.2", "which edges")
def degree_read_from_the_previous_node(indptr, nodes, fanout, generator):
    start = indptr[nodes]  # (n,)
    degree = (start - indptr[(nodes - 1).clamp(min=0)])  # (n,) indptr[v] - indptr[v - 1]
    picks = [s + torch.randperm(int(d), generator=generator)[:_keep(int(d), fanout)] for s, d in zip(start, degree)]
    return torch.cat(picks + [EMPTY])


@mutant("13.2", "replacement")
def drawn_with_replacement(indptr, nodes, fanout, generator):
    return _per_node(indptr, nodes, fanout, lambda degree, count: torch.randint(max(degree, 1), (count,),
                                                                                generator=generator))


@mutant("13.2", "replacement")
def drawn_with_replacement_then_repeats_dropped(indptr, nodes, fanout, generator):
    return torch.unique(drawn_with_replacement(indptr, nodes, fanout, generator))


@mutant("13.2", "replacement")
def multinomial_with_replacement(indptr, nodes, fanout, generator):
    def pick(degree, count):
        if not count:
            return EMPTY
        return torch.multinomial(torch.ones(degree), count, replacement=True, generator=generator)
    return _per_node(indptr, nodes, fanout, pick)


@mutant("13.2", "fanout")
def one_more_than_fanout(indptr, nodes, fanout, generator):
    return _sampled(indptr, nodes, fanout if fanout == ALL else fanout + 1, generator)


@mutant("13.2", "fanout")
def one_fewer_than_fanout(indptr, nodes, fanout, generator):
    return _sampled(indptr, nodes, fanout if fanout == ALL else max(fanout - 1, 0), generator)


@mutant("13.2", "fanout")
def fanout_edges_in_total(indptr, nodes, fanout, generator):
    every = _every_edge(indptr, nodes)
    return every if fanout == ALL else every[torch.randperm(len(every), generator=generator)[:fanout]]


@mutant("13.2", "fanout")
def fanout_times_the_nodes_drawn_from_all_their_edges(indptr, nodes, fanout, generator):
    every = _every_edge(indptr, nodes)
    return every if fanout == ALL else every[torch.randperm(len(every), generator=generator)[:fanout * len(nodes)]]


@mutant("13.2", "fanout")
def minus_one_keeps_nothing(indptr, nodes, fanout, generator):
    return _sampled(indptr, nodes, max(fanout, 0), generator)


@mutant("13.2", "fanout")
def minus_one_used_as_a_slice_end(indptr, nodes, fanout, generator):
    return _per_node(indptr, nodes, ALL, lambda degree, count: torch.randperm(degree, generator=generator)[:fanout])


@mutant("13.2", "fanout")
def zero_taken_as_every_edge(indptr, nodes, fanout, generator):
    return _sampled(indptr, nodes, fanout or ALL, generator)


@mutant("13.2", "generator")
def the_global_random_state_instead_of_the_generator(indptr, nodes, fanout, generator):
    return _per_node(indptr, nodes, fanout, lambda degree, count: torch.randperm(degree)[:count])


@mutant("13.2", "generator")
def a_fresh_generator_seeded_with_zero(indptr, nodes, fanout, generator):
    return _sampled(indptr, nodes, fanout, torch.Generator().manual_seed(0))


@mutant("13.2", "generator")
def numpy_global_random_state(indptr, nodes, fanout, generator):
    return _per_node(indptr, nodes, fanout,
                     lambda degree, count: torch.from_numpy(np.random.permutation(degree)[:count]).long())


@mutant("13.2", "type")
def int32_ids(indptr, nodes, fanout, generator):
    return _sampled(indptr, nodes, fanout, generator).int()


@mutant("13.2", "type")
def a_list_of_ids_per_node(indptr, nodes, fanout, generator):
    return [start + torch.randperm(degree, generator=generator)[:_keep(degree, fanout)]
            for start, degree in _ranges(indptr, nodes)]


@mutant("13.2", "type")
def a_python_list_of_ints(indptr, nodes, fanout, generator):
    return _sampled(indptr, nodes, fanout, generator).tolist()


@mutant("13.2", "type")
def a_column_of_ids(indptr, nodes, fanout, generator):
    return _sampled(indptr, nodes, fanout, generator).unsqueeze(1)


@alternative("13.2")
def a_permutation_per_node(indptr, nodes, fanout, generator):
    """The obvious loop (correct, but a Python step per node)."""
    return _sampled(indptr, nodes, fanout, generator)


@alternative("13.2")
def one_sort_by_node_plus_a_random_fraction(indptr, nodes, fanout, generator):
    """Sort key node position + uniform [0, 1): grouped by node, random within it, in one argsort."""
    degree = indptr[nodes + 1] - indptr[nodes]  # (n,)
    owner = torch.repeat_interleave(torch.arange(len(nodes)), degree)  # (s,)
    first = degree.cumsum(0) - degree  # (n,) where each node's edges start in the flat list
    edges = indptr[nodes][owner] + torch.arange(len(owner)) - first[owner]  # (s,) every incoming edge
    if fanout == ALL:
        return edges
    order = torch.argsort(owner + torch.rand(len(owner), generator=generator, dtype=torch.float64))  # (s,)
    rank = torch.arange(len(owner)) - first[owner[order]]  # (s,) rank within its node after sorting
    return edges[order[rank < fanout]]


@alternative("13.2")
def multinomial_rows_of_a_padded_matrix(indptr, nodes, fanout, generator):
    """One torch.multinomial without replacement over a (n, max deg) 0/1 matrix of real edges."""
    degree = indptr[nodes + 1] - indptr[nodes]  # (n,)
    width = int(degree.max()) if len(degree) else 0
    keep = degree if fanout == ALL else degree.clamp(max=fanout)  # (n,)
    if width == 0 or int(keep.max()) == 0:
        return EMPTY.clone()
    real = (torch.arange(width) < degree[:, None]).double()  # (n, width)
    rows = real.sum(dim=1) > 0
    count = int(keep.max())
    picks = torch.zeros(len(nodes), count, dtype=torch.long)  # (n, count)
    picks[rows] = torch.multinomial(real[rows], count, generator=generator)  # zero weights come last
    wanted = torch.arange(count) < keep[:, None]  # (n, count)
    return (indptr[nodes][:, None] + picks)[wanted]


@alternative("13.2")
def numpy_generator_seeded_from_the_torch_generator(indptr, nodes, fanout, generator):
    """NumPy draws the permutations; its seed comes from the generator, so a batch can be drawn again."""
    rng = np.random.default_rng(int(torch.randint(2**62, (1,), generator=generator)))
    picks = [start + rng.permutation(degree)[:_keep(degree, fanout)] for start, degree in _ranges(indptr, nodes)]
    return torch.from_numpy(np.concatenate(picks + [np.zeros(0, dtype=np.int64)]).astype(np.int64))


# --- 13.3 the halo of a part ----------------------------------------------------------------------------

def _into(edge_index, parts, part):
    """(E,) bool: edges from a node outside ``part`` into a node of it."""
    return (parts[edge_index[1]] == part) & (parts[edge_index[0]] != part)


@mutant("13.3", "direction")
def targets_of_edges_out_of_the_part(edge_index, parts, part):
    leaving = (parts[edge_index[0]] == part) & (parts[edge_index[1]] != part)
    return torch.unique(edge_index[1, leaving])


@mutant("13.3", "direction")
def neighbours_across_the_border_either_way(edge_index, parts, part):
    crossing = _into(edge_index, parts, part) | _into(edge_index.flip(0), parts, part)
    ends = torch.cat([edge_index[0, crossing], edge_index[1, crossing]])
    return torch.unique(ends[parts[ends] != part])


@mutant("13.3", "direction")
def the_parts_own_nodes_that_send_out(edge_index, parts, part):
    return torch.unique(edge_index[0, (parts[edge_index[0]] == part) & (parts[edge_index[1]] != part)])


@mutant("13.3", "direction")
def the_parts_own_nodes_that_receive_from_outside(edge_index, parts, part):
    return torch.unique(edge_index[1, _into(edge_index, parts, part)])


@mutant("13.3", "membership")
def every_source_of_an_edge_into_the_part(edge_index, parts, part):
    return torch.unique(edge_index[0, parts[edge_index[1]] == part])


@mutant("13.3", "membership")
def every_node_outside_the_part(edge_index, parts, part):
    return torch.nonzero(parts != part).flatten()


@mutant("13.3", "membership")
def the_part_taken_as_a_range_of_ids(edge_index, parts, part):
    own = torch.nonzero(parts == part).flatten()
    ids = torch.arange(len(parts))
    inside = (ids >= own.min()) & (ids <= own.max())  # (N,)
    return torch.unique(edge_index[0, inside[edge_index[1]] & ~inside[edge_index[0]]])


@mutant("13.3", "membership")
def the_part_taken_as_the_first_block_of_ids(edge_index, parts, part):
    size = int((parts == part).sum())
    inside = (torch.arange(len(parts)) >= part * size) & (torch.arange(len(parts)) < (part + 1) * size)
    return torch.unique(edge_index[0, inside[edge_index[1]] & ~inside[edge_index[0]]])


@mutant("13.3", "membership")
def sources_of_every_edge_that_crosses_between_parts(edge_index, parts, part):
    return torch.unique(edge_index[0, parts[edge_index[0]] != parts[edge_index[1]]])


@mutant("13.3", "form")
def repeats_kept(edge_index, parts, part):
    return torch.sort(edge_index[0, _into(edge_index, parts, part)]).values


@mutant("13.3", "form")
def in_order_of_first_appearance(edge_index, parts, part):
    return torch.tensor(list(dict.fromkeys(edge_index[0, _into(edge_index, parts, part)].tolist())),
                        dtype=torch.long)


@mutant("13.3", "form")
def a_mask_over_all_nodes(edge_index, parts, part):
    mask = torch.zeros(len(parts), dtype=torch.bool)
    mask[edge_index[0, _into(edge_index, parts, part)]] = True
    return mask


@mutant("13.3", "form")
def sorted_in_descending_order(edge_index, parts, part):
    return torch.unique(edge_index[0, _into(edge_index, parts, part)]).flip(0)


@alternative("13.3")
def a_mask_then_its_nonzero_entries(edge_index, parts, part):
    needed = torch.zeros(len(parts), dtype=torch.bool)
    needed[edge_index[0, parts[edge_index[1]] == part]] = True
    return torch.nonzero(needed & (parts != part)).flatten()


@alternative("13.3")
def python_set_sorted(edge_index, parts, part):
    labels = parts.tolist()
    found = {j for j, i in edge_index.T.tolist() if labels[i] == part and labels[j] != part}
    return torch.tensor(sorted(found), dtype=torch.long)


@alternative("13.3")
def numpy_unique(edge_index, parts, part):
    source, target = edge_index.numpy()
    labels = parts.numpy()
    return torch.from_numpy(np.unique(source[(labels[target] == part) & (labels[source] != part)]))
