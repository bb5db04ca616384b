"""Checks for chapter 13, Beyond one machine.

Exercise 13.1 counts the nodes an ``L``-layer model reads, hop by hop (reference
:func:`gatkit.edges.receptive_field_sizes`); 13.2 draws up to ``fanout`` of each node's incoming
edges, uniformly without replacement (:func:`gatkit.sampling.sample_incoming`); 13.3 finds the halo
of one part of a partitioned graph, the outside nodes whose features it must fetch
(:func:`gatkit.partition.halo`).

13.1 sees a directed toy whose answer is checked by hand (a node reached along two paths, edges
pointing away from the target), repeated unsorted targets, a field that stops growing before the
last hop, hops = 0, a shuffled directed graph with repeated columns and isolated nodes and no
self-loops, and Cora.

13.2's answer is random, so its values cannot be compared with the reference's. Its ``run`` calls
the answer many times, each with its own seeded generator, and returns what every correct answer
gives, whatever its random draws: the type, how many ids are not incoming edges of the requested
nodes, how many repeat within a call, the fewest and most edges each node got over the calls
(``min(deg, fanout)`` both), and whether a generator seeded alike gives the same edges again. On
the cases marked for it, it also tests uniformity: no edge of a node with more edges than
``fanout`` is chosen in every call or in none; each is chosen in ``fanout / deg`` of the calls,
within 5 standard deviations; every ``fanout``-subset of a small node's edges is drawn equally
often (which a random window of consecutive edges, right for each edge alone, fails), and on the
toy every pair of subsets of two nodes (which keys shared between nodes fail), each within 5
standard deviations. The seeds are fixed, so a correct answer's result is the same on every run,
and the bounds leave every correct answer in the test suite a wide margin. Every call runs on a
fork of the global random state, seeded differently each time, so an answer that ignores the
generator is not reproducible, and the chapter's own random stream is left alone.

13.3 sees a toy whose parts are not contiguous id ranges, a part with no halo, a shuffled directed
graph with repeated columns, self-loops and isolated nodes split at random, and Cora split by
locality, with self-loops.
"""

from __future__ import annotations

import itertools

import torch

from course.checks.cases import directed_graph, load_cora, seeded_generator
from course.checks.core import Case, Check, register
from gatkit.edges import receptive_field_sizes
from gatkit.partition import halo, partition_nodes
from gatkit.sampling import ALL, sample_incoming

# --- 13.1 the receptive field, hop by hop ---------------------------------------------------------------

# Seven nodes; edges j -> i: 1 -> 0, 2 -> 0, 2 -> 1, 3 -> 1, 3 -> 2, 4 -> 3, and 0 -> 5 -> 6 (pointing
# away from node 0). Around target 0: hop 1 adds 1 and 2, hop 2 adds 3 (reached from both), hop 3
# adds 4: sizes [1, 3, 4, 5]. Followed forwards, 0 reaches 5 and then 6: [1, 2, 3, 3].
FIELD_EDGES = torch.tensor([[3, 1, 0, 4, 2, 5, 3, 2],
                            [1, 0, 5, 3, 0, 6, 2, 1]])  # (2, E=8), in no particular order
FIELD_NUM_NODES = 7
FIELD_ANSWER = torch.tensor([1, 3, 4, 5])


def _field_cases() -> list[Case]:
    cora = load_cora()
    edge_index, num_nodes = directed_graph(80, 180, seed=131, repeated=12, isolated=6)  # no self-loops
    generator = seeded_generator(132)
    targets = torch.randperm(num_nodes, generator=generator)[:6]  # (6,) unsorted
    targets = targets[torch.tensor([0, 1, 2, 1, 3, 4, 5, 0])]  # (8,) two of them twice
    return [
        Case("toy: 7 nodes, edges 1->0, 2->0, 2->1, 3->1, 3->2, 4->3, 0->5, 5->6, targets [0], 3 hops "
             "(answer [1, 3, 4, 5])",
             (FIELD_EDGES, FIELD_NUM_NODES, torch.tensor([0]), 3)),
        Case("toy, targets [5, 0, 5] (repeated, unsorted), 2 hops (answer [2, 4, 5])",
             (FIELD_EDGES, FIELD_NUM_NODES, torch.tensor([5, 0, 5]), 2)),
        Case("toy, targets [0], 6 hops (the field stops growing after 3)",
             (FIELD_EDGES, FIELD_NUM_NODES, torch.tensor([0]), 6)),
        Case("toy, targets [2, 0], 0 hops", (FIELD_EDGES, FIELD_NUM_NODES, torch.tensor([2, 0]), 0)),
        Case(f"directed graph ({num_nodes} nodes, shuffled, repeated columns, 6 isolated nodes, no self-loops), "
             "8 unsorted targets with repeats, 4 hops", (edge_index, num_nodes, targets, 4)),
        Case("Cora with self-loops, the 140 training nodes, 3 hops",
             (cora.edge_index_with_self_loops, cora.num_nodes, cora.train_idx, 3)),
    ]


def _hops(edge_index, num_nodes, targets, hops, *, forwards=False, both=False):
    """(hops + 1, N) bool: the nodes within 0 .. hops hops of the targets (edges followed as told)."""
    source, target = edge_index.flip(0) if forwards else edge_index
    seen = torch.zeros(num_nodes, dtype=torch.bool)
    seen[targets] = True
    rows = [seen.clone()]
    for _ in range(hops):
        reached = seen.clone()
        reached[source[seen[target]]] = True
        if both:
            reached[target[seen[source]]] = True
        seen = reached
        rows.append(seen.clone())
    return torch.stack(rows)


def _field_forwards(edge_index, num_nodes, targets, hops):
    return _hops(edge_index, num_nodes, targets, hops, forwards=True).sum(dim=1)


def _field_both_ways(edge_index, num_nodes, targets, hops):
    return _hops(edge_index, num_nodes, targets, hops, both=True).sum(dim=1)


def _field_frontiers(edge_index, num_nodes, targets, hops):
    sizes = receptive_field_sizes(edge_index, num_nodes, targets, hops)
    return torch.cat([sizes[:1], sizes.diff()])


def _field_counted_per_edge(edge_index, num_nodes, targets, hops):
    within = _hops(edge_index, num_nodes, targets, hops)  # (hops + 1, N)
    counts = [len(torch.unique(targets))]
    for hop in range(1, hops + 1):
        new = within[hop] & ~within[hop - 1]  # (N,) first reached at this hop
        frontier = within[hop - 1] & ~(within[hop - 2] if hop > 1 else torch.zeros_like(new))
        into_frontier = frontier[edge_index[1]] & new[edge_index[0]]  # (E,) edges that reach them
        counts.append(counts[-1] + int(into_frontier.sum()))
    return torch.tensor(counts)


def _field_edges(edge_index, num_nodes, targets, hops):
    within = _hops(edge_index, num_nodes, targets, hops)  # (hops + 1, N)
    read = [0] + [int(within[hop - 1][edge_index[1]].sum()) for hop in range(1, hops + 1)]
    return torch.tensor(read)


def _field_without_hop_zero(edge_index, num_nodes, targets, hops):
    return receptive_field_sizes(edge_index, num_nodes, targets, hops)[1:]


def _field_one_hop_short(edge_index, num_nodes, targets, hops):
    return receptive_field_sizes(edge_index, num_nodes, targets, hops)[:-1]


def _field_targets_counted_with_repeats(edge_index, num_nodes, targets, hops):
    return receptive_field_sizes(edge_index, num_nodes, targets, hops) + len(targets) - len(torch.unique(targets))


def _field_walks(edge_index, num_nodes, targets, hops):
    reached = torch.zeros(num_nodes, dtype=torch.bool)
    reached[targets] = True
    sizes = [int(reached.sum())]
    for _ in range(hops):
        step = torch.zeros(num_nodes, dtype=torch.bool)
        step[edge_index[0, reached[edge_index[1]]]] = True  # only the sources: no union with what was there
        reached = step
        sizes.append(int(reached.sum()))
    return torch.tensor(sizes)


register(Check(
    id="13.1",
    title="the receptive field, hop by hop",
    reference=receptive_field_sizes,
    cases=_field_cases,
    hint="Keep a (N,) bool mask of the nodes reached so far, starting with the targets. At every hop "
         "add the SOURCES of the edges whose TARGET is already reached (edge_index[0, mask[edge_index[1]]]), "
         "and record mask.sum(). Return the hops + 1 counts (hop 0 first) as a 1-D int64 tensor.",
    mistakes={
        "You followed the edges forwards (from source to target): a layer's output at i reads the "
        "sources j of the edges j -> i, so walk from each reached node to the SOURCES of its incoming "
        "edges.": _field_forwards,
        "You followed the edges both ways: on a directed graph a node's output reads only its "
        "incoming edges, so add only the sources of edges into the reached nodes.": _field_both_ways,
        "Those are the sizes of each hop's new frontier: entry l must count every node within l hops "
        "(cumulative), the nodes an l-layer model reads.": _field_frontiers,
        "Nodes reached along several edges are counted more than once: count distinct nodes (a bool "
        "mask over the N nodes, summed).": _field_counted_per_edge,
        "You counted edges: entry l is the number of distinct NODES within l hops.": _field_edges,
        "Entry 0 is missing: the result has hops + 1 entries, the first the number of (distinct) "
        "targets, which a 0-layer model reads.": _field_without_hop_zero,
        "You stopped one hop short: the result has hops + 1 entries, for 0, 1, ..., hops hops.":
            _field_one_hop_short,
        "Repeated targets are counted twice: hop 0 counts the DISTINCT targets.":
            _field_targets_counted_with_repeats,
        "You kept only the sources of the last hop's edges, not everything reached so far: that is "
        "the field only when every node has a self-loop. Take the union with what was reached before "
        "(mask |= ...).": _field_walks,
    },
))


# --- 13.2 sampling incoming edges ------------------------------------------------------------------

# Five nodes, ten edges sorted by target: node 0 receives edges 0, 1, 2; node 1 none; node 2 edge 3;
# node 3 edges 4, 5, 6, 7; node 4 edges 8, 9. With nodes [3, 1, 0] and fanout 2 an answer returns
# 2 of {4, 5, 6, 7} and 2 of {0, 1, 2}: four ids, never 3, 8 or 9.
TOY_INDPTR = torch.tensor([0, 3, 3, 4, 8, 10])  # (N + 1,)
TOY_NODES = torch.tensor([3, 1, 0])  # (n,) unsorted, node 1 has no edge

#: How far (in binomial standard deviations) a count may stray before the draws count as biased.
SPREAD = 5.0


def _degrees_pointer(degrees: torch.Tensor) -> torch.Tensor:
    """(N + 1,) int64 CSR pointer for nodes with these numbers of incoming edges."""
    return torch.cat([torch.zeros(1, dtype=torch.long), degrees.cumsum(0)])


def _sampling_cases() -> list[Case]:
    generator = seeded_generator(130)
    degrees = torch.randint(0, 25, (120,), generator=generator)  # (N,)
    nodes = torch.randperm(120, generator=generator)[:50]  # (n,) distinct, unsorted
    degrees[nodes[:4]] = torch.tensor([5, 0, 40, 2])  # a small node for the subset test, an isolated one, a hub
    degrees[nodes[4:8]] = 0  # more requested nodes without edges
    indptr = _degrees_pointer(degrees)  # (N + 1,)
    cora_indptr = _cora_pointer()
    cora_nodes = load_cora().train_idx[torch.randperm(140, generator=generator)]  # (140,) shuffled
    return [
        Case("toy: indptr [0, 3, 3, 4, 8, 10], nodes [3, 1, 0], fanout 2, 400 calls (expect 2 of edges 4..7 "
             "and 2 of edges 0..2 each time)", (TOY_INDPTR, TOY_NODES, 2),
             dict(seed=1, calls=400, uniform=True, subsets_of=(3, 0))),
        Case("toy, fanout -1 (every incoming edge: 4, 5, 6, 7, 0, 1, 2)", (TOY_INDPTR, TOY_NODES, ALL),
             dict(seed=2, calls=5)),
        Case("toy, fanout 0 (no edge at all)", (TOY_INDPTR, TOY_NODES, 0), dict(seed=3, calls=5)),
        Case("120 nodes with 0 to 40 incoming edges, 50 of them requested in random order (5 without edges, "
             "one with 40), fanout 3, 400 calls", (indptr, nodes, 3),
             dict(seed=4, calls=400, uniform=True, subsets_of=(int(nodes[0]),))),
        Case("the same nodes, fanout 100 (more than any node has: every edge)", (indptr, nodes, 100),
             dict(seed=5, calls=5)),
        Case("Cora (edges sorted by target, no self-loops): the 140 training nodes in random order, fanout 10, "
             "30 calls", (cora_indptr, cora_nodes, 10), dict(seed=6, calls=30)),
    ]


def _cora_pointer() -> torch.Tensor:
    """(N + 1,) CSR pointer of Cora's edges grouped by target, as :class:`NeighbourSampler` holds them."""
    cora = load_cora()
    return _degrees_pointer(torch.bincount(cora.edge_index[1], minlength=cora.num_nodes))


def _describe(result) -> str:
    if isinstance(result, torch.Tensor):
        return f"a {result.dim()}-D {result.dtype} tensor"
    return f"a {type(result).__name__}"


EXPECTED_TYPE = "a 1-D torch.int64 tensor"


def _within(count: torch.Tensor, calls: int, p: torch.Tensor) -> bool:
    """Whether binomial ``count``s out of ``calls`` are all within SPREAD standard deviations of calls * p."""
    spread = SPREAD * torch.sqrt(calls * p * (1 - p)) + 1  # + 1: room for p = 1
    return bool(((count - calls * p).abs() <= spread).all())


def _draws(answer, indptr, nodes, fanout, *, seed, calls, uniform=False, subsets_of=()):
    """What must hold of ``calls`` draws of ``answer(indptr, nodes, fanout, generator)``, whatever
    they drew (see the module docstring); with ``uniform``, also whether they are uniform: each
    edge alone, every set of the edges of each node in ``subsets_of``, and, for two such nodes,
    every pair of their sets (drawn independently)."""
    results = []
    with torch.random.fork_rng(devices=[]):
        for call in range(calls + 1):  # the last call repeats the first generator's seed
            torch.manual_seed(1000 + call)  # the global stream, for answers that ignore the generator
            generator = seeded_generator(seed * 1000 + (call if call < calls else 0))
            results.append(answer(indptr, nodes, fanout, generator))
    kind = next((_describe(r) for r in results if _describe(r) != EXPECTED_TYPE), EXPECTED_TYPE)
    if kind != EXPECTED_TYPE:  # nothing else can be read from it: the same keys, and the type differs
        keys = _draws(sample_incoming, indptr, nodes, fanout, seed=seed, calls=1, uniform=uniform,
                      subsets_of=subsets_of)
        return dict.fromkeys(keys, None) | {"type": kind}
    *results, again = results
    found = {"type": EXPECTED_TYPE} | _structure(results, indptr, nodes) | {
        "same edges from a generator seeded alike": torch.equal(torch.sort(results[0]).values,
                                                                torch.sort(again).values)}
    if uniform:
        found |= _uniformity(results, indptr, nodes, fanout)
        sets = {node: _sets_drawn(results, indptr, node) for node in subsets_of}
        for node, drawn in sets.items():
            possible = _possible_sets(indptr, node, fanout)
            found[f"every set of {len(possible[0])} of node {node}'s edges drawn equally often, "
                  f"within {SPREAD:g} standard deviations"] = _equally_often(drawn, possible)
        if len(sets) == 2:
            (a, drawn_a), (b, drawn_b) = sets.items()
            possible = list(itertools.product(_possible_sets(indptr, a, fanout), _possible_sets(indptr, b, fanout)))
            found[f"every pair of sets of nodes {a} and {b} drawn equally often (the nodes drawn independently), "
                  f"within {SPREAD:g} standard deviations"] = _equally_often(list(zip(drawn_a, drawn_b)), possible)
    return found


def _structure(results, indptr, nodes) -> dict:
    """Whether each call's ids are incoming edges of ``nodes``, distinct, and how many each node got."""
    num_edges = int(indptr[-1])
    slot = torch.full((len(indptr) - 1,), -1, dtype=torch.long)  # (N,) position of each node in nodes
    slot[nodes] = torch.arange(len(nodes))
    outside, repeated, per_call = 0, 0, []
    for ids in results:
        valid = (ids >= 0) & (ids < num_edges)  # (m,)
        owner = torch.searchsorted(indptr, ids[valid], right=True) - 1  # (m',) the node each edge enters
        inside = slot[owner] >= 0  # (m',)
        outside += int((~valid).sum()) + int((~inside).sum())
        repeated += len(ids) - len(torch.unique(ids))
        per_call.append(torch.bincount(slot[owner[inside]], minlength=len(nodes)))  # (n,)
    per_call = torch.stack(per_call)  # (calls, n)
    return {"ids that are not incoming edges of the requested nodes": outside,
            "ids repeated within a call": repeated,
            "fewest edges into each requested node over the calls": per_call.min(dim=0).values,
            "most edges into each requested node over the calls": per_call.max(dim=0).values}


def _uniformity(results, indptr, nodes, fanout) -> dict:
    """Whether every edge of a node with more than ``fanout`` edges is chosen in fanout / deg of the calls."""
    calls, num_edges = len(results), int(indptr[-1])
    chosen = torch.zeros(num_edges, dtype=torch.long)  # (E,) calls that chose each edge
    for ids in results:
        chosen += torch.bincount(torch.unique(ids[(ids >= 0) & (ids < num_edges)]), minlength=num_edges)
    degree = indptr[nodes + 1] - indptr[nodes]  # (n,)
    keep = degree if fanout == ALL else degree.clamp(max=fanout)  # (n,)
    sampled = keep < degree  # (n,) the nodes that keep only some of their edges
    edges = torch.cat([torch.arange(int(indptr[v]), int(indptr[v + 1])) for v in nodes[sampled]])  # (s,)
    p = torch.repeat_interleave(keep[sampled] / degree[sampled], degree[sampled])  # (s,)
    return {"edges of nodes with more than fanout edges chosen in every call": edges[chosen[edges] == calls],
            "edges of nodes with more than fanout edges chosen in no call": edges[chosen[edges] == 0],
            f"each edge chosen in fanout / deg of the calls, within {SPREAD:g} standard deviations":
                _within(chosen[edges], calls, p)}


def _sets_drawn(results, indptr, node) -> list[tuple]:
    """The sorted ids of ``node``'s edges in each call's result."""
    first, last = int(indptr[node]), int(indptr[node + 1])
    return [tuple(sorted(ids[(ids >= first) & (ids < last)].tolist())) for ids in results]


def _possible_sets(indptr, node, fanout) -> list[tuple]:
    first, last = int(indptr[node]), int(indptr[node + 1])
    return list(itertools.combinations(range(first, last), min(fanout, last - first)))


def _equally_often(drawn: list, possible: list) -> bool:
    """Whether each of ``possible`` occurs in ``drawn`` len(drawn) / len(possible) times, within
    SPREAD standard deviations, and nothing else occurs (at most once)."""
    counts = dict.fromkeys(possible, 0)
    for item in drawn:
        counts[item] = counts.get(item, 0) + 1
    observed = torch.tensor([counts[item] for item in possible] + [len(drawn) - sum(counts[i] for i in possible)])
    shares = torch.tensor([1 / len(possible)] * len(possible) + [0.0], dtype=torch.float64)
    return _within(observed, len(drawn), shares)


def _first_edges(indptr, nodes, fanout, generator):
    degree = indptr[nodes + 1] - indptr[nodes]  # (n,)
    keep = degree if fanout == ALL else degree.clamp(max=fanout)
    return torch.cat([torch.arange(int(start), int(start + count)) for start, count in zip(indptr[nodes], keep)]
                     + [torch.zeros(0, dtype=torch.long)])


def _random_keys(indptr, nodes, fanout, generator, *, replacement=False, global_rng=False):
    """Each node's edges ranked by a random key; ``fanout`` lowest kept (or ``fanout`` uniform picks
    with replacement)."""
    kept = []
    for node in nodes.tolist():
        start, degree = int(indptr[node]), int(indptr[node + 1] - indptr[node])
        count = degree if fanout == ALL else min(degree, fanout)
        source = None if global_rng else generator
        if replacement:
            picks = torch.randint(degree, (count,), generator=source) if degree else torch.zeros(0, dtype=torch.long)
        else:
            picks = torch.randperm(degree, generator=source)[:count]
        kept.append(start + picks)
    return torch.cat(kept + [torch.zeros(0, dtype=torch.long)])


def _with_replacement(indptr, nodes, fanout, generator):
    return _random_keys(indptr, nodes, fanout, generator, replacement=True)


def _global_random_state(indptr, nodes, fanout, generator):
    return _random_keys(indptr, nodes, fanout, generator, global_rng=True)


def _fanout_in_total(indptr, nodes, fanout, generator):
    every = sample_incoming(indptr, nodes, ALL, generator)  # (s,)
    if fanout == ALL:
        return every
    return every[torch.randperm(len(every), generator=generator)[:fanout]]


def _one_more_than_fanout(indptr, nodes, fanout, generator):
    return sample_incoming(indptr, nodes, fanout if fanout == ALL else fanout + 1, generator)


def _all_means_none(indptr, nodes, fanout, generator):
    return sample_incoming(indptr, nodes, max(fanout, 0), generator)


def _window(indptr, nodes, fanout, generator):
    """``fanout`` consecutive edges from a random start, wrapping around: right for each edge alone."""
    kept = []
    for node in nodes.tolist():
        start, degree = int(indptr[node]), int(indptr[node + 1] - indptr[node])
        if fanout == ALL or degree <= fanout:
            kept.append(torch.arange(start, start + degree))
            continue
        first = int(torch.randint(degree, (1,), generator=generator))
        kept.append(start + (first + torch.arange(fanout)) % degree)
    return torch.cat(kept + [torch.zeros(0, dtype=torch.long)])


def _next_nodes_edges(indptr, nodes, fanout, generator):
    return sample_incoming(indptr[1:], nodes.clamp(max=len(indptr) - 3), fanout, generator)


register(Check(
    id="13.2",
    title="sampling incoming edges",
    reference=sample_incoming,
    cases=_sampling_cases,
    run=_draws,
    hint="Node v's incoming edges are the ids indptr[v] .. indptr[v + 1] - 1. List them for every node "
         "of `nodes` at once (repeat_interleave by the degrees), give each a random number from the "
         "generator, order the edges by (node, random number), and keep the ones whose rank within "
         "their node is below fanout (all of them for fanout -1). Return a 1-D int64 tensor.",
    mistakes={
        "You keep each node's FIRST fanout edges every time: the choice must be random, every edge of "
        "a node with d > fanout edges chosen with probability fanout / d, drawn from the generator.":
            _first_edges,
        "Your draws repeat an edge within a node: draw WITHOUT replacement (random keys ranked within "
        "each node, or a random permutation), so each node gets min(deg, fanout) distinct edges.":
            _with_replacement,
        "The same generator seeded alike gave different edges: draw every random number from the "
        "`generator` argument (torch.rand(..., generator=generator)), not from the global random "
        "state, so that a batch can be drawn again.": _global_random_state,
        "You drew fanout edges in total: fanout is per NODE, each node keeping min(deg, fanout) of its "
        "own incoming edges.": _fanout_in_total,
        "Each node got one edge more than fanout: keep the edges whose rank within their node is "
        "0 .. fanout - 1.": _one_more_than_fanout,
        "fanout -1 means every incoming edge of every requested node, not none.": _all_means_none,
        "Each edge is chosen fanout / d of the time, but not every SET of fanout edges is equally "
        "likely: a window of consecutive edges from a random start never draws two edges far apart. "
        "Rank all of a node's edges by independent random keys.": _window,
        "Your edges are those of another node: node v's incoming edges run from indptr[v] to "
        "indptr[v + 1] - 1.": _next_nodes_edges,
    },
))


# --- 13.3 the halo of a part ----------------------------------------------------------------------------

# Eight nodes in three parts that are not id ranges: part 0 = {0, 2, 5}, part 1 = {1, 3, 6}, part 2 =
# {4, 7}. Edges j -> i: 1 -> 0, 6 -> 0 (twice), 3 -> 2, 0 -> 5 (inside part 0), 5 -> 4 (out of part 0),
# 7 -> 6, 4 -> 7, 2 -> 3. The halo of part 0: the outside sources of edges into 0, 2, 5: [1, 3, 6].
HALO_EDGES = torch.tensor([[6, 1, 3, 0, 5, 7, 6, 4, 2],
                           [0, 0, 2, 5, 4, 6, 0, 7, 3]])  # (2, E=9)
HALO_PARTS = torch.tensor([0, 1, 0, 1, 2, 0, 1, 2])
HALO_ANSWER = torch.tensor([1, 3, 6])


def _halo_cases() -> list[Case]:
    cora = load_cora()
    edge_index, num_nodes = directed_graph(60, 240, seed=133, loops=(3, 17, 40), repeated=15, isolated=5)
    parts = torch.randint(4, (num_nodes,), generator=seeded_generator(134))  # (N,) random, not ranges
    parts[-5:] = 4  # the isolated nodes alone in part 4: its halo is empty
    cora_parts = partition_nodes(cora.edge_index, cora.num_nodes, 4, method="locality")
    return [
        Case("toy: 8 nodes in parts [0, 1, 0, 1, 2, 0, 1, 2], part 0 (answer [1, 3, 6])",
             (HALO_EDGES, HALO_PARTS, 0)),
        Case("toy, part 2 (nodes 4 and 7: answer [5])", (HALO_EDGES, HALO_PARTS, 2)),
        Case(f"directed graph ({num_nodes} nodes, shuffled, repeated columns, self-loops), random parts, part 1",
             (edge_index, parts, 1)),
        Case("the same graph, part 4 (its isolated nodes: no halo)", (edge_index, parts, 4)),
        Case("Cora with self-loops in 4 parts by locality, part 2",
             (cora.edge_index_with_self_loops, cora_parts, 2)),
    ]


def _halo_outgoing(edge_index, parts, part):
    return halo(edge_index.flip(0), parts, part)


def _halo_with_own_nodes(edge_index, parts, part):
    return torch.unique(edge_index[0, parts[edge_index[1]] == part])


def _halo_with_repeats(edge_index, parts, part):
    sources = edge_index[0, (parts[edge_index[1]] == part) & (parts[edge_index[0]] != part)]
    return torch.sort(sources).values


def _halo_unsorted(edge_index, parts, part):
    sources = edge_index[0, (parts[edge_index[1]] == part) & (parts[edge_index[0]] != part)].tolist()
    return torch.tensor(list(dict.fromkeys(sources)), dtype=torch.long)


def _halo_every_other_node(edge_index, parts, part):
    return torch.nonzero(parts != part).flatten()


def _halo_own_senders(edge_index, parts, part):
    leaving = (parts[edge_index[0]] == part) & (parts[edge_index[1]] != part)
    return torch.unique(edge_index[0, leaving])


def _halo_as_a_range(edge_index, parts, part):
    own = torch.nonzero(parts == part).flatten()
    inside = (torch.arange(len(parts)) >= own.min()) & (torch.arange(len(parts)) <= own.max())  # (N,)
    into = inside[edge_index[1]] & ~inside[edge_index[0]]
    return torch.unique(edge_index[0, into])


def _halo_both_ways(edge_index, parts, part):
    return torch.unique(torch.cat([halo(edge_index, parts, part), halo(edge_index.flip(0), parts, part)]))


register(Check(
    id="13.3",
    title="the halo of a part",
    reference=halo,
    cases=_halo_cases,
    hint="Keep the edges whose TARGET is in the part (parts[edge_index[1]] == part) and whose SOURCE is "
         "not; return torch.unique of their sources (distinct and sorted).",
    mistakes={
        "You took the nodes that the part's edges point TO: the part computes its own nodes' outputs, "
        "which read the SOURCES of the edges into them.": _halo_outgoing,
        "Your halo includes nodes of the part itself: keep only sources whose part is not `part` (the "
        "part holds its own nodes' features already).": _halo_with_own_nodes,
        "A node is listed once per edge: return the distinct ids (torch.unique).": _halo_with_repeats,
        "The ids are not sorted: torch.unique returns them sorted.": _halo_unsorted,
        "That is every node outside the part: the halo holds only the outside nodes with an edge INTO "
        "the part.": _halo_every_other_node,
        "Those are the part's own nodes with edges out of it (what the OTHER parts fetch from it): the "
        "halo is the outside sources of the edges into the part.": _halo_own_senders,
        "You treated the part as a range of ids from its smallest to its largest node: parts are any "
        "set of nodes, so test membership with parts[...] == part.": _halo_as_a_range,
        "You took neighbours in both directions: only the sources of edges INTO the part are read.":
            _halo_both_ways,
    },
))
