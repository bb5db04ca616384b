# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     notebook_metadata_filter: kernelspec,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Chapter 13 · Beyond one machine
#
# Every model in this course so far has trained on the whole graph at once: one step reads every
# node's features and every edge. Chapter 10 ended where that stops working, and named the
# standard answer: train on mini-batches of target nodes, each with a **sampled** neighbourhood.
# This chapter builds it and runs it, and then splits the work between processes. It
#
# - counts what one full-graph layer stores on Cora and on ogbn-papers100M, and how fast the
#   nodes an `L`-layer model reads grow with `L` (13.1);
# - samples neighbourhoods (13.2), checks that `gatkit`'s sampler reads at most
#   `B (1 + k_1 + k_1 k_2)` nodes per batch and, with every neighbour kept, computes exactly the
#   full-graph output, and measures what sampling costs a GAT layer: noise, and a **bias**;
# - trains the paper's Cora model on mini-batches and compares it with full-batch training;
# - shares the batches between processes with `torch.distributed` (data parallelism);
# - splits the graph itself between processes, each holding its part and fetching its **halo**
#   (13.3) before every layer, and checks that two processes compute what one does;
# - ends with the measured scaling of mini-batch training on block models of millions of nodes,
#   and what ogbn-papers100M would take.
#
# Everything runs on this machine's CPU. The processes of sections 4 and 5 talk over
# `127.0.0.1`, exactly as they would between machines, only faster.

# %%
import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from course.checks import exercise
from gatkit import load_dataset
from gatkit.functional import neighbourhood_softmax
from gatkit.layers import GAT
from gatkit.profiling import machine, synthetic_graph
from gatkit.sampling import ALL, NeighbourSampler

torch.manual_seed(0)
torch.set_num_threads(1)  # many small operations: a second thread costs more than it saves (chapter 10)
chapter_started = time.perf_counter()
cora = load_dataset("cora", progress=False)
print(cora)

# %% [markdown]
# ## 1. Why full-batch training stops
#
# ### What one layer stores
#
# To compute gradients, autograd keeps what the backward pass will need. For a GAT layer with
# `H` heads of `F'` features that is, among others, the projected features `z` and the layer's
# output, each `N x H x F'` floats, and the scores and coefficients of every edge, each `E x H`.
# The paper's hidden layer has `H = 8` heads of `F' = 8` features. On Cora every such tensor is
# tiny. ogbn-papers100M, the largest node-classification graph of the Open Graph Benchmark's
# `ogbn` datasets, is a citation graph of 111,059,956 papers with 1,615,685,872 citations and
# 128 features per paper (OGB's figures). With its edges stored both ways, as gatkit stores
# Cora's, and a self-loop per node:

# %%
from gatkit.viz.scale import PAPERS100M  # OGB's figures: nodes, citations, features, training nodes

HEADS, PER_HEAD, FLOAT = 8, 8, 4  # the paper's hidden layer, float32


def layer_bytes(num_nodes, num_edges, num_features):
    """Bytes of the features, of one (N, H, F') tensor and of one (E, H) tensor of a GAT layer."""
    return {"features": num_nodes * num_features * FLOAT,
            "one (N, H, F') tensor": num_nodes * HEADS * PER_HEAD * FLOAT,
            "one (E, H) tensor": num_edges * HEADS * FLOAT}


graphs = {"Cora": layer_bytes(cora.num_nodes, cora.edge_index_with_self_loops.shape[1], cora.num_features),
          "ogbn-papers100M": layer_bytes(PAPERS100M["num_nodes"],
                                         2 * PAPERS100M["num_edges"] + PAPERS100M["num_nodes"],
                                         PAPERS100M["num_features"])}
memory_gib = machine()["memory_gib"]
print(f"{'':23s} {'Cora':>12s} {'ogbn-papers100M':>16s}")
for what in graphs["Cora"]:
    print(f"{what:23s} {graphs['Cora'][what] / 2**20:9.2f} MiB {graphs['ogbn-papers100M'][what] / 2**30:12.1f} GiB")
print(f"this machine's memory: {memory_gib} GiB")
big = graphs["ogbn-papers100M"]
assert [PAPERS100M[key] for key in ("num_nodes", "num_edges", "num_features")] == [111_059_956, 1_615_685_872, 128]
assert graphs["Cora"]["one (N, H, F') tensor"] < 2**20 and big["one (N, H, F') tensor"] > 26 * 2**30
assert big["one (E, H) tensor"] > 99 * 2**30 and big["features"] > 52 * 2**30
one_layer_total = big["features"] + 2 * big["one (N, H, F') tensor"] + 2 * big["one (E, H) tensor"]
assert one_layer_total > 300 * 2**30 > 10 * memory_gib * 2**30

# %% [markdown]
# On Cora one node tensor is under a megabyte. On papers100M it is over 26 GiB, one edge tensor
# is over 99 GiB, and the features alone take over 52 GiB: the features, two node tensors and two
# edge tensors of a single layer already exceed 300 GiB, more than ten times this machine's
# memory, before counting the second layer or the gradients. The whole graph cannot pass through
# one step.
#
# ### The neighbourhood explosion
#
# Chapter 10 showed the way out, and its catch. A layer's output at node `i` reads only `i`'s
# incoming edges, so `L` layers' outputs at a batch of targets read only the nodes within `L`
# hops of them, following edges backwards: from each node to the **sources** of the edges into
# it. A batch of targets needs only that **receptive field**. How big is it? That is the first
# exercise.
#
# ## Exercise 13.1: the receptive field, hop by hop
#
# Write `receptive_field_sizes(edge_index, num_nodes, targets, hops)`: return a `(hops + 1,)`
# int64 tensor whose entry `l` is the number of distinct nodes within `l` hops of `targets` (a 1-D
# tensor of node ids, possibly repeated, in any order), following every edge `j -> i` from `i`
# back to `j`. Entry 0 counts the distinct targets; the counts are cumulative. Keep a `(N,)` bool
# mask of the nodes reached, and at each hop add the sources of the edges whose target is already
# reached (about 7 lines). On the toy below, with edges `1->0, 2->0, 2->1, 3->1, 3->2, 4->3, 0->5,
# 5->6` and target 0, three hops give `[1, 3, 4, 5]` (node 3 is reached twice; 5 and 6 lie
# forwards of 0, and are never reached). The check feeds that toy, repeated unsorted targets, a
# field that stops growing before the last hop, 0 hops, a shuffled directed graph with repeated
# edges, isolated nodes and no self-loops, and Cora.


# %%
def receptive_field_sizes(edge_index, num_nodes, targets, hops):
    """(hops + 1,) int64: the distinct nodes within 0, 1, ..., hops hops of targets, edges followed backwards."""
    # YOUR CODE HERE (about 7 lines)
    raise NotImplementedError('Exercise 13.1: the receptive field, hop by hop')


receptive_field_sizes = exercise("13.1", receptive_field_sizes)

# %%
toy_edges = torch.tensor([[1, 2, 2, 3, 3, 4, 0, 5],
                          [0, 0, 1, 1, 2, 3, 5, 6]])  # (2, 8), j -> i
print("toy, target 0:", receptive_field_sizes(toy_edges, 7, torch.tensor([0]), 3).tolist())
assert receptive_field_sizes(toy_edges, 7, torch.tensor([0]), 3).tolist() == [1, 3, 4, 5]

# %% [markdown]
# Now on real sizes: Cora's 140 training nodes, a batch of 32 of them, and a batch of 32 nodes of
# a stochastic block model with 200,000 nodes and about 10 incoming edges per node
# (`gatkit.profiling.synthetic_graph`, the graphs of chapter 10's sweep, here denser), for
# `L = 0 .. 3` layers:

# %%
LAYERS = range(4)  # L = 0 .. 3
block = synthetic_graph(200_000, avg_degree=10, num_features=16, seed=0)  # self-loops included
block_degree = torch.bincount(block.edge_index[1], minlength=200_000).double().mean().item() - 1  # without the loop
generator = torch.Generator().manual_seed(0)
cora_batch = cora.train_idx[torch.randperm(len(cora.train_idx), generator=generator)[:32]]  # (32,)
block_batch = torch.randperm(200_000, generator=generator)[:32]  # (32,)
fields = {
    "Cora, the 140 training nodes": receptive_field_sizes(cora.edge_index_with_self_loops, cora.num_nodes,
                                                          cora.train_idx, 3),
    "Cora, a batch of 32": receptive_field_sizes(cora.edge_index_with_self_loops, cora.num_nodes, cora_batch, 3),
    "block model (N = 200,000), a batch of 32": receptive_field_sizes(block.edge_index, 200_000, block_batch, 3),
}  # (4,) each
print(f"block model: {block.edge_index.shape[1]:,} edges, {block_degree:.1f} incoming edges per node "
      "besides the self-loop")
for name, sizes in fields.items():
    print(f"{name:42s}", "  ".join(f"L={L}: {n:6,d}" for L, n in zip(LAYERS, sizes.tolist())))
block_field = fields["block model (N = 200,000), a batch of 32"]
growth = (block_field[1:] / block_field[:-1]).tolist()  # (3,) per extra layer
print("block model, growth per layer:", [f"{g:.1f}x" for g in growth])
assert 9.5 < block_degree < 10.5
assert all(9 < g < block_degree + 1 for g in growth) and block_field[3] > 25_000
assert fields["Cora, a batch of 32"][3] > 0.5 * cora.num_nodes

# %%
fig, ax = plt.subplots(figsize=(7, 4.2), constrained_layout=True)
for (name, sizes), marker in zip(fields.items(), "osD"):
    ax.plot(LAYERS, sizes, marker=marker, label=name)
ax.axhline(cora.num_nodes, color="C0", ls=":", lw=1, label="all of Cora (2,708)")
ax.set_yscale("log")
ax.set(xlabel="layers L", ylabel="nodes read (log scale)", xticks=list(LAYERS),
       title="The receptive field of a batch grows about d-fold per layer")
ax.legend(frameon=False, fontsize=9)
ax.grid(alpha=0.3, which="both")
fig.savefig("/tmp/ch13_field.png", dpi=110)
plt.show()

# %% [markdown]
# On the block model every layer multiplies the field by 9 to 11, close to `1 + d` for `d = 10`
# incoming edges per node: three layers around 32 targets read over 25,000 nodes. A straight line
# on a log scale is exponential growth, roughly `B (1 + d)^L`, which only stops when the field runs
# out of graph, as it does on Cora (a batch of 32 reaches over half of its 2,708 nodes in three
# layers).
# A batch small enough to fit is no help if its receptive field is the whole graph.
#
# ## 2. Neighbour sampling
#
# GraphSAGE (Hamilton, Ying and Leskovec, 2017) caps the field: walking out from the targets,
# every node reached keeps at most `k` of its incoming edges, drawn at random. With fanouts
# `k_1` (the edges into the targets), `k_2` (into the nodes they reached), ... a batch of `B`
# targets reads at most `B (1 + k_1 + k_1 k_2 + ...)` nodes, however large the graph. The random
# draw is the one step of a sampler, and the next exercise. The edges are kept **grouped by
# target** (CSR, as chapter 05's sparse matrices store rows): `indptr` has `N + 1` entries, and
# node `v`'s incoming edges are the edge ids `indptr[v] .. indptr[v + 1] - 1`.
#
# ## Exercise 13.2: sampling incoming edges
#
# Write `sample_incoming(indptr, nodes, fanout, generator)`: for every node of `nodes` (distinct
# ids, any order) return up to `fanout` of its incoming edge ids, drawn uniformly **without
# replacement**: a node with `d <= fanout` edges keeps all of them, one with more keeps `fanout`
# of them, every set of `fanout` equally likely; `fanout = -1` keeps every edge. Return a 1-D int64
# tensor of edge ids, in any order. Draw every random number from `generator`
# (`torch.rand(..., generator=generator)`): two calls with generators seeded alike must return the
# same edges, so a batch can be drawn again. No Python loop over the nodes: list every incoming
# edge of every node at once (`torch.repeat_interleave` by the degrees), give each a random key,
# order them by node and then key, and keep each node's first `fanout` (about 10 lines). On the
# toy `indptr = [0, 3, 3, 4, 8, 10]`, `nodes = [3, 1, 0]`, `fanout = 2`, an answer holds 2 of
# the edges 4 .. 7 and 2 of 0 .. 2. The result is random, so the check does not compare values:
# it calls your function hundreds of times with seeded generators and checks what must hold of
# every draw (valid ids of the requested nodes only, `min(d, fanout)` distinct edges per node,
# reproducible), and that the draws are uniform.


# %%
def sample_incoming(indptr, nodes, fanout, generator):
    """Edge ids (m,) int64: up to fanout of each node's incoming edges, uniformly without replacement."""
    # YOUR CODE HERE (about 10 lines)
    raise NotImplementedError('Exercise 13.2: sampling incoming edges')


sample_incoming = exercise("13.2", sample_incoming)

# %%
toy_indptr, toy_nodes = torch.tensor([0, 3, 3, 4, 8, 10]), torch.tensor([3, 1, 0])
seeds = (0, 1, 2, 0)
draws = [sorted(sample_incoming(toy_indptr, toy_nodes, 2, torch.Generator().manual_seed(seed)).tolist())
         for seed in seeds]  # four draws of 4 edge ids
for seed, drawn in zip(seeds, draws):
    print(f"seed {seed}: edges {drawn}")
assert draws[0] == draws[3]  # a generator seeded alike draws the same edges
assert all(len(set(d) & {4, 5, 6, 7}) == 2 and len(set(d) & {0, 1, 2}) == 2 for d in draws)

# %% [markdown]
# ### What a sample holds
#
# `gatkit.sampling.NeighbourSampler(edge_index, num_nodes, fanouts, generator)` sorts the edges by
# target once (self-loops dropped) and calls `sample_incoming` hop by hop: first for the targets,
# then for the nodes new at hop 1, and so on, one fanout per layer. `sample(targets)` returns a
# `Sample`:
#
# - `nodes`: the graph ids of every node read, the **targets first**, then the nodes first
#   reached at hop 1, hop 2, ... (`distance` gives each one's hop);
# - `edge_index`: one edge list **per layer**, numbered by position in `nodes`. The last layer
#   computes only the targets, so it reads only the edges drawn into them; layer `l` of `L` reads
#   the edges drawn at hops `0 .. L-1-l`; every layer adds a self-loop to each node it computes.
#
# Here is one on Cora, two targets and fanouts `(3, 2)`:

# %%
small = NeighbourSampler(cora.edge_index, cora.num_nodes, [3, 2], torch.Generator().manual_seed(1))
sample = small.sample(torch.tensor([1701, 42]))
print("nodes:   ", sample.nodes.tolist())
print("distance:", sample.distance.tolist())
for layer, edges in enumerate(sample.edge_index):
    loops = edges[0] == edges[1]
    print(f"layer {layer}: {int((~loops).sum())} sampled edges into positions {sorted(set(edges[1, ~loops].tolist()))}"
          f", {int(loops.sum())} self-loops")
assert sample.nodes[:2].tolist() == [1701, 42] and sample.distance.tolist() == sorted(sample.distance.tolist())
assert (sample.edge_index[1][1] < 2).all()  # the last layer reads only the edges into the targets
assert len(sample.nodes) <= 2 * (1 + 3 + 3 * 2)


# %%
def draw_sample(sample, ax):
    """Nodes in columns by hop (targets on the left), each sampled edge an arrow from j to i, coloured by layer."""
    hops = sample.distance.tolist()
    rows = [hops[:p].count(h) for p, h in enumerate(hops)]  # position within its column
    height = {h: hops.count(h) for h in set(hops)}
    where = [(h, (height[h] - 1) / 2 - r) for h, r in zip(hops, rows)]  # (x, y) per position
    first = sample.edge_index[0]  # (2, e) the first layer reads every sampled edge
    for (j, i) in first[:, first[0] != first[1]].T.tolist():
        reads_both = hops[i] == 0
        ax.annotate("", xy=where[i], xytext=where[j],  # curved, so that j -> i and i -> j both show
                    arrowprops=dict(arrowstyle="-|>", color="C3" if reads_both else "C0", lw=1.4,
                                    shrinkA=13, shrinkB=13, connectionstyle="arc3,rad=0.15"))
    for p, (x, y) in enumerate(where):
        ax.scatter(x, y, s=700, color="white", edgecolor="black", zorder=2)
        ax.text(x, y, str(int(sample.nodes[p])), ha="center", va="center", fontsize=8, zorder=3)
    ax.plot([], [], color="C3", label="into a target: read by both layers")
    ax.plot([], [], color="C0", label="into a hop-1 node: read by the first layer only")
    ax.set_xticks(range(max(hops) + 1), ["targets", "hop 1", "hop 2"][:max(hops) + 1])
    ax.set_yticks([])
    ax.set_xlim(-0.4, max(hops) + 0.4)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)


fig, ax = plt.subplots(figsize=(7, 4.6), constrained_layout=True)
draw_sample(sample, ax)
ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncols=1, fontsize=9)
ax.set_title("A sample of Cora: targets 1701 and 42, fanouts (3, 2); self-loops not drawn")
fig.savefig("/tmp/ch13_sample.png", dpi=110)
plt.show()

# %% [markdown]
# Each target keeps at most 3 of its incoming edges, each hop-1 node at most 2 (fewer when it has
# fewer). The nodes of hop 2 are read, but never computed: no layer reads the edges into them, so
# their own neighbours never enter the sample.
#
# How many nodes does a batch read now? On the block model, for the same batch of 32 as above,
# with a fanout of 5 and of 10 at every hop, against the full receptive field and the bound
# `B (1 + k + k^2 + ...)`:

# %%
def sampled_sizes(k, layers=3):
    """Nodes of the block-model batch's sample with fanout k at every hop, for 0 .. layers layers.

    The sampler draws hop by hop, so the sample for L layers is the part of the sample for
    `layers` layers within L hops: one sample gives every L."""
    sampler = NeighbourSampler(block.edge_index, 200_000, [k] * layers, torch.Generator().manual_seed(0))
    return torch.bincount(sampler.sample(block_batch).distance).cumsum(0).tolist()


def bound(batch, fanouts):
    """B (1 + k_1 + k_1 k_2 + ...): the most nodes a sample can hold."""
    total, reach = 1, 1
    for k in fanouts:
        reach *= k
        total += reach
    return batch * total


started = time.perf_counter()
sampled = {k: sampled_sizes(k) for k in (5, 10)}
bounds = {k: [bound(32, [k] * L) for L in LAYERS] for k in (5, 10)}
print(f"sampled in {time.perf_counter() - started:.1f} s")
print(f"{'L':>2s} {'full field':>11s} {'k=5':>7s} {'bound':>7s} {'k=10':>7s} {'bound':>7s}")
for L in LAYERS:
    print(f"{L:2d} {int(block_field[L]):11,d}" + "".join(f" {sampled[k][L]:7,d} {bounds[k][L]:7,d}" for k in (5, 10)))
assert all(s <= b for k in (5, 10) for s, b in zip(sampled[k], bounds[k]))
assert all(s <= f for k in (5, 10) for s, f in zip(sampled[k], block_field.tolist()))
assert sampled[5][3] < 0.2 * block_field[3] and sampled[10][3] > 0.5 * block_field[3]

# %%
fig, ax = plt.subplots(figsize=(7, 4.2), constrained_layout=True)
ax.plot(LAYERS, block_field, marker="D", color="C2", label="full receptive field")
for k, color in ((10, "C1"), (5, "C4")):
    ax.plot(LAYERS, sampled[k], marker="o", color=color, label=f"sampled, fanout {k}")
    ax.plot(LAYERS, bounds[k], ls="--", color=color, lw=1, label=f"bound B (1 + k + ... + k^L), k = {k}")
ax.set_yscale("log")
ax.set(xlabel="layers L", ylabel="nodes read (log scale)", xticks=list(LAYERS),
       title="Block model (N = 200,000), a batch of 32 targets")
ax.legend(frameon=False, fontsize=9)
ax.grid(alpha=0.3, which="both")
fig.savefig("/tmp/ch13_sampled.png", dpi=110)
plt.show()

# %% [markdown]
# A fanout of 5 reads under a fifth of the full field at three layers; a fanout of 10, about the
# number of neighbours each node has, saves little (it still reads over half). Every sample stays
# under its bound, and the bound does not depend on `N`: it is what makes the memory of a step
# independent of the size of the graph. Samples stay below their bounds because nodes reached
# twice are kept once, and nodes with fewer than `k` edges keep what they have.
#
# ### With every neighbour, nothing changes
#
# A fanout of -1 keeps every edge, so the sample *is* the receptive field, and a model's output
# at the targets must equal its full-graph output: a strong test that the bookkeeping (targets
# first, one edge list per layer, the self-loops) is right. The paper's model, with random weights:

# %%
torch.manual_seed(0)
model = GAT([cora.num_features, 8, cora.num_classes], [8, 1]).eval()
every = NeighbourSampler(cora.edge_index, cora.num_nodes, [ALL, ALL])
batch = torch.tensor([2000, 5, 1700, 3, 999])  # unsorted: the order is kept
whole = every.sample(batch)
with torch.no_grad():
    full_logits = model(cora.x, cora.edge_index_with_self_loops)[batch]  # (5, C)
    batch_logits = model(cora.x[whole.nodes], whole.edge_index)[:len(batch)]  # (5, C) the targets come first
print(f"{len(whole.nodes)} nodes read; max |batch - full| = {(batch_logits - full_logits).abs().max():.1e}")
torch.testing.assert_close(batch_logits, full_logits, atol=1e-5, rtol=1e-4)
assert len(whole.nodes) == receptive_field_sizes(cora.edge_index_with_self_loops, cora.num_nodes, batch, 2)[-1]

# %% [markdown]
# ### Sampling and its bias
#
# With a fanout below the degree the output changes from draw to draw. Is it right *on average*?
# Take one GAT layer and a node `i` that keeps a sample `S` of its neighbours (and its
# self-loop). The layer's output there is
#
# > `h'_i = sum_{j in S + i} exp(e_ij) z_j / sum_{j in S + i} exp(e_ij)`,
#
# a ratio of two sums over the sample. A sum over `k` of the `d` neighbours, drawn uniformly and
# scaled by `d / k`, is an unbiased estimate of the sum over all of them; a **ratio** of two such
# estimates is not: it is biased, with a bias that shrinks as `k` grows. A mean aggregator is the
# special case `e_ij = 0`, and it is unbiased only in a narrower sense: the mean over the *sampled
# neighbours* is unbiased for the mean over all of them, but with the self-loop among the terms,
# node `i` weighs `1 / (k + 1)` in the sample against `1 / (d + 1)` in the full layer.
#
# Let us measure all three on a block model whose nodes have about 40 neighbours. We fix
# one GAT layer with random weights (4 heads of 8 features, averaged, as an output layer), take
# 200 targets, draw 100 samples per fanout, and compare the mean of the 100 outputs with the
# exact output (the **bias**) and the outputs with their mean (the **spread** of one draw), both
# as root mean squares over the targets, relative to the size of the exact output. The layer's
# computation is written out once, from its parameters, so that it can run on 100 samples at
# once (each sample a separate group of edges), and checked against the model on the whole graph.

# %%
dense = synthetic_graph(20_000, avg_degree=40, num_features=32, seed=1)  # (N, F) x, self-loops included
N_DENSE, TARGETS, DRAWS, FANOUTS = 20_000, 200, 100, (1, 2, 4, 8, 16)
torch.manual_seed(0)
one_layer = GAT([32, 8], [4], dropout=0.0).eval()
layer = one_layer.layers[0]
dense_sampler = NeighbourSampler(dense.edge_index, N_DENSE, [1])  # for its edges grouped by target (CSR)
indptr, sources = dense_sampler.indptr, dense_sampler.sources  # (N + 1,), (E',) self-loops dropped
targets_of = torch.repeat_interleave(torch.arange(N_DENSE), indptr.diff())  # (E',) the target of each edge id
with torch.no_grad():
    z = (dense.x @ layer.linear.weight.T).view(N_DENSE, 4, 8)  # (N, H, F')
    score_src, score_dst = (z * layer.a_src).sum(-1), (z * layer.a_dst).sum(-1)  # (N, H) each


def layer_output(j, i, group, group_target, attend=True, self_loops=True):
    """The layer's output (G, F') where group g reads the edges j -> i with group == g, plus the
    self-loop of its target group_target[g] (G,) if self_loops; attend=False weighs every edge alike."""
    if self_loops:
        every = torch.arange(len(group_target))  # (G,)
        j, i, group = torch.cat([j, group_target]), torch.cat([i, group_target]), torch.cat([group, every])
    e = F.leaky_relu(score_src[j] + score_dst[i], 0.2) if attend else torch.zeros(len(j), 4)  # (e, H)
    alpha = neighbourhood_softmax(e, torch.stack([j, group]), len(group_target))  # (e, H) within each group
    out = torch.zeros(len(group_target), 4, 8).index_add_(0, group, alpha[:, :, None] * z[j])  # (G, H, F')
    return out.mean(dim=1) + layer.bias  # (G, F') the heads averaged


targets = torch.randperm(N_DENSE, generator=generator)[:TARGETS]  # (B,)
position = torch.full((N_DENSE,), -1)  # (N,) each target's place in the batch
position[targets] = torch.arange(TARGETS)
ESTIMATORS = {"GAT layer": dict(attend=True), "mean layer": dict(attend=False),
              "mean of the sampled neighbours": dict(attend=False, self_loops=False)}


def read(edge_ids, draw, num_draws, **how):
    """Outputs (num_draws, B, F') at the targets when draw d reads the edges edge_ids[draw == d]."""
    j, i = sources[edge_ids], targets_of[edge_ids]  # (e,), (e,)
    group = draw * TARGETS + position[i]  # (e,) one group per (draw, target)
    return layer_output(j, i, group, targets.repeat(num_draws), **how).view(num_draws, TARGETS, -1)


with torch.no_grad():
    every_edge = torch.cat([torch.arange(int(indptr[v]), int(indptr[v + 1])) for v in targets])  # (e,)
    exact = {name: read(every_edge, torch.zeros_like(every_edge), 1, **how)[0]
             for name, how in ESTIMATORS.items()}  # (B, F') each
    # the formula is the layer: on the whole graph, and on one sample drawn by gatkit's sampler
    torch.testing.assert_close(exact["GAT layer"], one_layer(dense.x, dense.edge_index)[targets], atol=1e-5, rtol=1e-4)
    drawn = NeighbourSampler(dense.edge_index, N_DENSE, [4], torch.Generator().manual_seed(0)).sample(targets)
    j, i = drawn.nodes[drawn.edge_index[0]]  # (e,), (e,) graph ids
    real = j != i  # (e,) the sampled edges, not the self-loops
    by_hand = layer_output(j[real], i[real], position[i[real]], targets)  # (B, F')
    torch.testing.assert_close(by_hand, one_layer(dense.x[drawn.nodes], drawn.edge_index)[:TARGETS],
                               atol=1e-5, rtol=1e-4)
    _, (alpha,) = one_layer(dense.x, dense.edge_index, return_attention=True)  # (E, H)
degree = (indptr[targets + 1] - indptr[targets]).double()  # (B,)
print(f"{TARGETS} targets with {degree.min():.0f} to {degree.max():.0f} neighbours (mean {degree.mean():.0f})")


def rms(t):
    """Root mean square of the vector norms along the last axis."""
    return t.norm(dim=-1).pow(2).mean().sqrt().item()


size = rms(exact["GAT layer"])
errors = {name: {"bias": [], "spread": []} for name in ESTIMATORS}
started = time.perf_counter()
with torch.no_grad():
    for k in FANOUTS:
        draws = [sample_incoming(indptr, targets, k, generator) for _ in range(DRAWS)]  # your function
        ids = torch.cat(draws)  # (e,)
        draw = torch.repeat_interleave(torch.arange(DRAWS), torch.tensor([len(d) for d in draws]))  # (e,)
        for name, how in ESTIMATORS.items():
            out = read(ids, draw, DRAWS, **how)  # (R, B, F')
            errors[name]["bias"].append(rms(out.mean(dim=0) - exact[name]) / size)
            errors[name]["spread"].append(rms(out - out.mean(dim=0)) / size)
print(f"{DRAWS} draws at each of {len(FANOUTS)} fanouts in {time.perf_counter() - started:.1f} s; "
      "errors relative to the size of the exact output:")
print(f"{'fanout':>6s}" + "".join(f"{name:>32s}" for name in ESTIMATORS))
for n, k in enumerate(FANOUTS):
    print(f"{k:6d}" + "".join(f"       bias {e['bias'][n]:5.3f}  spread {e['spread'][n]:5.3f}"
                              for e in errors.values()))
noise = {name: [s / DRAWS ** 0.5 for s in e["spread"]] for name, e in errors.items()}  # R draws' bias if there is none
gat, mean_layer, neighbours = (errors[name]["bias"] for name in ESTIMATORS)
assert all(b < 2 * n for b, n in zip(neighbours, noise["mean of the sampled neighbours"]))
assert all(b > 3 * n for name in ("GAT layer", "mean layer")
           for b, n, k in zip(errors[name]["bias"], noise[name], FANOUTS) if k <= 8)
assert all(g > m for g, m in zip(gat, mean_layer)) and all(a > b for a, b in zip(gat, gat[1:]))
assert all(a > b for a, b in zip(mean_layer, mean_layer[1:])) and gat[0] / gat[-1] < mean_layer[0] / mean_layer[-1]
assert all(g > 0.5 * s for g, s in zip(gat, errors["GAT layer"]["spread"]))

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True, sharey=True)
for (name, e), color in zip(errors.items(), ("C3", "C0", "C2")):
    axes[0].plot(FANOUTS, e["bias"], marker="o", color=color, label=name)
    axes[1].plot(FANOUTS, e["spread"], marker="o", color=color, label=name)
axes[0].plot(FANOUTS, noise["mean of the sampled neighbours"], ls=":", color="0.4",
             label=f"what {DRAWS} draws of an unbiased estimate\nstill show (its spread / sqrt({DRAWS}))")
axes[0].set(title=f"bias: the mean of {DRAWS} draws against the exact output", ylabel="relative to the exact output")
axes[1].set(title="spread: one draw against the mean of the draws")
for ax in axes:
    ax.set(xscale="log", yscale="log", xlabel="fanout k (about 40 neighbours per node)")
    ax.set_xticks(FANOUTS, [str(k) for k in FANOUTS])
    ax.grid(alpha=0.3, which="both")
axes[1].legend(*axes[0].get_legend_handles_labels(), frameon=False, fontsize=9, loc="lower left")  # room there
fig.savefig("/tmp/ch13_bias.png", dpi=110)
plt.show()

# %% [markdown]
# What we measured, on this graph and this random layer:
#
# - **The mean of the sampled neighbours is unbiased**: its bias stays below twice what 100
#   draws of an unbiased estimate would show by chance (the dotted line), at every fanout.
# - **The mean layer is biased**, because of the self-loop: more than three times that level up
#   to `k = 8`, falling as `k` grows.
# - **The GAT layer is biased more**, at every fanout, and its bias falls more slowly: at `k = 16`
#   it is still over half the spread of a single draw. The attention of this random layer is far
#   from uniform (see below), so which neighbours are drawn changes the normalisation a lot.
#
# The spread of one draw averages out over the steps of training, as the noise of any stochastic
# gradient does; the bias does not, since every step sees the same expectation. The GraphSAGE
# paper sampled 25 and 10 neighbours in its two layers (the next section trains with 10 and 10),
# and there are samplers that correct the estimate (see Going further). How far from uniform this
# layer's attention is, by chapter 08's entropy gap:

# %%
from gatkit.attention import entropy_gap

relative_gap = entropy_gap(alpha, dense.edge_index, N_DENSE, relative=True).mean().item()
print(f"relative entropy gap of the random layer on the block model: {relative_gap:.2f}")
assert relative_gap > 0.2

# %% [markdown]
# A relative gap above 0.2, where chapter 12's benchmark found the trained Cora models below a
# thousandth. A GAT layer whose attention is exactly uniform *is* the mean layer, so how much the
# sampling biases a GAT depends on how sharp its attention is: the bias that matters is that of
# the model being trained, one more reason to compare a sampled run with a full-graph one, as we
# do next.
#
# ## 3. Mini-batch training on Cora
#
# `gatkit.train.train` trains in mini-batches when the config's `batch_size` is above 0: every
# epoch shuffles the training nodes, cuts them into batches, draws each batch's sample with
# `NeighbourSampler` (`fanout`: one number per layer, the first for the edges into the batch) and
# takes one optimiser step on it (`gatkit.train.train_epoch`). Evaluation still reads the full
# neighbourhoods: on Cora they fit. The paper's recipe, with batches of 32 and fanouts (10, 10),
# against full-graph steps, both for the same 200 epochs:

# %%
from gatkit.train import paper_config, train

EPOCHS = 200
SETTINGS = {"mini-batches of 32, fanouts (10, 10)": dict(batch_size=32, fanout=(10, 10)),
            "the full graph, one step per epoch": dict()}
runs = {name: train(paper_config("cora", epochs=EPOCHS, **settings), dataset=cora, out_dir=None, progress=False,
                    test=True)
        for name, settings in SETTINGS.items()}
for name, run in runs.items():
    print(f"{name:38s} {run.epochs_run} epochs in {run.seconds:4.1f} s ({1000 * run.seconds / run.epochs_run:3.0f} ms "
          f"each); best epoch {run.best_epoch}: validation {run.metrics['val_acc']:.1%}, "
          f"test {run.metrics['test_acc']:.1%}")
batched, full = runs.values()
steps = -(-len(cora.train_idx) // 32)  # batches per epoch
reached = {name: next(epoch for epoch, acc in enumerate(run.history["val_acc"]) if acc >= 0.78)
           for name, run in runs.items()}  # the first epoch at 78% validation accuracy
print("first epoch at 78% validation accuracy:", reached)
assert batched.epochs_run == full.epochs_run == EPOCHS and steps == 5
assert min(batched.metrics["test_acc"], full.metrics["test_acc"]) > 0.78
assert abs(batched.metrics["test_acc"] - full.metrics["test_acc"]) < 0.03
assert batched.seconds > full.seconds
assert reached["mini-batches of 32, fanouts (10, 10)"] < 0.5 * reached["the full graph, one step per epoch"]

# %%
fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
for name, run in runs.items():
    ax.plot(run.history["val_acc"], label=f"{name} (test {run.metrics['test_acc']:.1%})")
ax.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0.3, 0.9), title="Cora: the same 200 epochs, two ways")
ax.legend(frameon=False, loc="lower right")
ax.grid(alpha=0.3)
fig.savefig("/tmp/ch13_training.png", dpi=110)
plt.show()

# %% [markdown]
# After the same 200 epochs both models are above 78% on the test set, within 3 points of each
# other. An epoch of mini-batches takes 5 optimiser steps (140 training nodes in batches of 32),
# so it climbs faster per epoch at first: it reaches 78% validation accuracy in under half the
# epochs the full graph needs. But each of those steps samples and runs its own
# subgraph, where the full graph takes one step on the receptive field of the loss (chapter 10's
# `Subgraph`): on a graph as small as Cora the mini-batches take longer per epoch (see the times
# above), and they buy nothing, since the whole graph fits. They pay off when it does not: their
# cost per step depends on `B` and the fanouts, not on `N` (section 6 measures that).
#
# The command line trains the same way: `gatkit train --batch-size 32 --fanout 10 10` (with
# `--fanout -1` every neighbour is kept). The README reports full-length runs of both recipes,
# with early stopping, over several seeds (`benchmarks/bench_accuracy.py`).

# %% [markdown]
# ## 4. Data parallelism on `torch.distributed`
#
# Sampling makes one step small; data parallelism runs many steps at once. `P` processes (on one
# machine or many, a GPU each where there are GPUs) each hold a copy of the model and take their
# own share of every batch. After the backward pass, PyTorch's `DistributedDataParallel` (DDP)
# averages the gradients over the processes with an **all-reduce**, so every copy takes the same
# optimiser step and the copies stay equal. If process `r` computes the gradient `g_r` of its mean
# loss over `b` targets, the average
#
# $$\frac{1}{P}\sum_{r} g_r = \nabla \Big(\frac{1}{Pb}\sum_{\text{all } Pb \text{ targets}} \ell_i\Big)$$
#
# is the gradient of the mean loss over the union of the batches: one process with a batch `P`
# times larger would take the same step. This is what DistDGL, PyG with cuGraph and plain PyTorch
# training all rest on. On CPUs the processes talk through the `gloo` backend (here over the
# loopback address 127.0.0.1), between GPUs through NCCL.
#
# The standard way to start such a job is `torchrun`, which starts the processes and tells each
# its rank and the group's address; `gatkit train` notices it was started by `torchrun` and
# trains data-parallel:
#
# ```bash
# torchrun --standalone --nproc-per-node 2 $(which gatkit) train --batch-size 16 --fanout 10 10 --should-test
# ```
#
# Inside a notebook, `gatkit.distributed.spawn(worker, P, ...)` does the same for a function from a
# module: it starts `P` fresh Python processes, joins them into one gloo group on 127.0.0.1, runs
# `worker(rank, P, ...)` in each and returns what each returned. First, one step: two processes, a
# batch of 8 training nodes each, every neighbour kept and dropout off so that nothing random is
# left, and the gradients DDP leaves in each process against one process's gradient of the mean
# loss over all 16 nodes on the whole graph.

# %%
from gatkit import distributed
from gatkit.distributed import spawn
from gatkit.train import build_model, node_loss

ddp_config = paper_config("cora", dropout=0.0, batch_size=8, fanout=(ALL,), seed=3)
shares = cora.train_idx[torch.randperm(len(cora.train_idx), generator=torch.Generator().manual_seed(0))[:16]]
batches = [shares[:8], shares[8:]]  # process 0's and process 1's targets
started = time.perf_counter()
ddp_grads = spawn(distributed.gradient_worker, 2, ddp_config.to_dict(), batches)
spawn_seconds = time.perf_counter() - started

torch.manual_seed(ddp_config.seed)  # the same initial weights as the processes'
alone = build_model(ddp_config, cora.num_features, cora.num_classes)
node_loss(alone(cora.x, cora.edge_index_with_self_loops), cora.y, shares).backward()  # the union's mean loss
gap = max((ddp_grads[rank][name] - parameter.grad).abs().max().item()
          for rank in range(2) for name, parameter in alone.named_parameters())
scale = max(parameter.grad.abs().max().item() for parameter in alone.parameters())
parameters = sum(parameter.numel() for parameter in alone.parameters())
print(f"2 processes ({spawn_seconds:.1f} s, most of it starting Python twice): largest gradient entry {scale:.2e}, "
      f"largest difference from one process on the union {gap:.1e}; DDP averages {parameters:,} gradient "
      f"entries ({4 * parameters / 2**10:.0f} KiB) per step")
assert gap < 1e-6 * max(scale, 1.0) and 4 * parameters < 400 * 2**10

# %% [markdown]
# The two processes' gradients are the union's, to float rounding. That needs batches of equal
# size: with 4 targets in one process and 12 in the other, the average of the two mean losses'
# gradients weighs each of the 4 nodes three times as much as each of the 12. So
# `gatkit.train.train_epoch` deals every epoch's shuffled training nodes out in turn (node `k`
# to process `k mod P`) after dropping the last `T mod P`: every process runs the same number of
# steps on batches of the same sizes. (DDP also needs every process to run the same number of
# steps: a process that stopped early would leave the others waiting in the all-reduce forever.)
#
# Now a whole run: two processes with batches of 16 and fanouts (10, 10), the global batch of
# section 3's 32, for its first 100 epochs. `gatkit.distributed.train_worker` calls
# `gatkit.train.train` in each process, which, finding itself in a process group, wraps the model
# in DDP and trains its share of each epoch.

# %%
DDP_EPOCHS = 100
ddp_run = paper_config("cora", batch_size=16, fanout=(10, 10), epochs=DDP_EPOCHS, patience=DDP_EPOCHS)
started = time.perf_counter()
ddp_results = spawn(distributed.train_worker, 2, ddp_run.to_dict(), timeout=300)
ddp_seconds = time.perf_counter() - started
curves = {"2 processes x batches of 16": ddp_results[0]["history"]["val_acc"],
          "1 process x batches of 32 (section 3)": batched.history["val_acc"][:DDP_EPOCHS]}
late = {name: sum(curve[DDP_EPOCHS // 2:]) / (DDP_EPOCHS - DDP_EPOCHS // 2) for name, curve in curves.items()}
for name, value in late.items():
    print(f"{name:38s} mean validation accuracy over epochs {DDP_EPOCHS // 2}-{DDP_EPOCHS - 1}: {value:.1%}")
evaluated = ("train_loss", "train_acc", "val_loss", "val_acc")  # full-graph evaluation, after each epoch
same = all(ddp_results[0]["history"][key] == ddp_results[1]["history"][key] for key in evaluated)
print(f"the two processes took {ddp_seconds:.0f} s; the copies evaluated alike after every epoch: {same}")
assert same  # DDP keeps the copies' weights equal
assert abs(late["2 processes x batches of 16"] - late["1 process x batches of 32 (section 3)"]) < 0.03

# %%
fig, ax = plt.subplots(figsize=(7, 3.6), constrained_layout=True)
for name, curve in curves.items():
    ax.plot(curve, label=name)
ax.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0.3, 0.9),
       title="Cora, global batches of 32: data-parallel against one process")
ax.legend(frameon=False, loc="lower right")
ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# The two curves rise alike and settle at the same level (within 3 points on average over the
# second half; the random batches and dropout masks differ, as they would between any two runs),
# and both processes evaluate to the same numbers after every epoch, because DDP keeps their
# weights equal (only their train-mode accuracies on their own batches differ). On this
# machine two processes are no faster than one: they share 2 cores, and every step waits for an
# all-reduce. Data parallelism pays when each process has its own GPU or machine and a step's
# work outweighs the all-reduce of the gradients: the paper's model has under 400 KiB of them
# per step (printed above), a GPU's step on a large batch takes far longer than sending that.

# %% [markdown]
# ## 5. Graph partitioning
#
# Data parallelism copies the whole graph into every process. When the graph itself does not fit
# in one machine, it must be split: each process holds a **part** of the nodes, their features
# and the edges into them. `gatkit.partition.partition_nodes(edge_index, num_nodes, num_parts,
# method)` returns the part of every node, in parts of equal size: `"random"` deals the nodes out
# at random; `"locality"` orders them by reverse Cuthill-McKee, a breadth-first order that keeps
# neighbours close, and cuts that order into runs (a simple stand-in for METIS, see Going
# further). An edge whose ends lie in different parts is **cut**: the part that computes its
# target needs its source's features from elsewhere. Cora in 4 parts:

# %%
from gatkit.partition import partition_nodes

PARTS = 4
partitions = {method: partition_nodes(cora.edge_index, cora.num_nodes, PARTS, method)
              for method in ("random", "locality")}  # (N,) the part of each node
cut = {method: (parts[cora.edge_index[0]] != parts[cora.edge_index[1]]).double().mean().item()
       for method, parts in partitions.items()}  # share of the edges cut
for method, parts in partitions.items():
    print(f"{method:8s} part sizes {torch.bincount(parts).tolist()}, edges cut: {cut[method]:.0%}")
assert abs(cut["random"] - (1 - 1 / PARTS)) < 0.03 and cut["locality"] < 0.6 * cut["random"]

# %% [markdown]
# A random split cuts about `1 - 1/P` of the edges (an edge's two ends land in different parts
# with that probability); the locality order cuts far fewer. Before every layer, each part must
# fetch the current features of the nodes outside it that send edges into it: its **halo**.
#
# ## Exercise 13.3: the halo of a part
#
# Write `halo(edge_index, parts, part)`: `parts` (N,) int64 gives each node's part; return the
# sorted distinct ids (1-D int64) of the nodes **outside** `part` that are the **source** of an
# edge into a node of `part`. About 3 lines. In the toy below, part 0 is the nodes `{0, 2, 5}`
# (parts are any sets of nodes, not ranges of ids); with edges `1->0, 6->0` (twice), `3->2`,
# `0->5`, `5->4`, `7->6`, `4->7`, `2->3` its halo is `[1, 3, 6]`: `0->5` stays inside, and `5->4`
# leaves the part, so it is the other part's business. The check feeds that toy, a part with no
# halo, a shuffled directed graph with repeated edges, self-loops and random parts, and Cora.


# %%
def halo(edge_index, parts, part):
    """(h,) int64 sorted ids of the nodes outside part that send an edge into part."""
    # YOUR CODE HERE (about 3 lines)
    raise NotImplementedError('Exercise 13.3: the halo of a part')


halo = exercise("13.3", halo)

# %%
toy_parts = torch.tensor([0, 1, 0, 1, 2, 0, 1, 2])
toy_graph = torch.tensor([[1, 6, 6, 3, 0, 5, 7, 4, 2],
                          [0, 0, 0, 2, 5, 4, 6, 7, 3]])  # (2, 9)
print("toy, halo of part 0:", halo(toy_graph, toy_parts, 0).tolist())
halos = {method: [len(halo(cora.edge_index, parts, k)) for k in range(PARTS)] for method, parts in partitions.items()}
for method, sizes in halos.items():
    print(f"{method:8s} halo of each part: {sizes} nodes (each part holds {cora.num_nodes // PARTS})")
assert halo(toy_graph, toy_parts, 0).tolist() == [1, 3, 6]
assert max(halos["locality"]) < min(halos["random"]) and min(halos["random"]) > 1000

# %% [markdown]
# With a random split each part fetches over 1,000 nodes, more than the 677 it holds, before
# every layer; with the locality order every part fetches fewer than any random part does.
#
# ### The exchange before each layer
#
# A partitioned forward pass runs one process per part. Each holds its nodes' features and the
# edges into its nodes (`gatkit.partition.local_graph`). Before layer `l`, every process sends
# the rows of its layer-`l` input that other parts have in their halos and receives the rows of
# its own halo (`gatkit.partition.exchange`, one `all_to_all` of `torch.distributed`: each process
# sends a block to each other one). The layer then runs on the local graph, own nodes and halo
# together, and only the own nodes' outputs are kept: a halo node's output would lack the edges
# into it, and its owner computes it anyway. The halo is fetched again before the next layer,
# since its rows have changed. So an `L`-layer model exchanges `L` times per forward pass,
# `h` rows of the layer's input width each time, and cutting fewer edges means sending fewer
# bytes.
#
# `gatkit.partition.forward_worker` is one such process; `gatkit.distributed.spawn` starts two
# of them on this machine (a gloo process group over `127.0.0.1`), each loading Cora, keeping
# its part of a locality split and running the model of section 2. Put back together by node
# id, their logits must be the single process's:

# %%
from gatkit.partition import assemble_logits, forward_worker

started = time.perf_counter()
results = spawn(forward_worker, 2, "cora", model)  # one PartResult per process
seconds = time.perf_counter() - started
with torch.no_grad():
    single = model(cora.x, cora.edge_index_with_self_loops)  # (N, C)
together = assemble_logits(results)  # (N, C)
two_parts = partition_nodes(cora.edge_index_with_self_loops, cora.num_nodes, 2, "locality")  # as the workers split
print(f"two fresh processes in {seconds:.1f} s; "
      f"max |partitioned - single| = {(together - single).abs().max():.1e}")
for k, result in enumerate(results):
    print(f"process {k}: {len(result.nodes)} nodes, halo of {result.rows_received} rows fetched before each layer, "
          f"{[f'{b / 2**10:.0f} KiB' for b in result.bytes_received]} for the two layers")
torch.testing.assert_close(together, single, atol=1e-5, rtol=0)
assert all(r.rows_received == len(halo(cora.edge_index_with_self_loops, two_parts, k)) for k, r in enumerate(results))
assert all(list(r.bytes_received) == [r.rows_received * width * 4 for width in (cora.num_features, 64)]
           for r in results)  # float32 rows of each layer's input width

# %% [markdown]
# The two processes computed the whole graph's logits, each from its own half of the features
# and the rows it fetched. The first layer's exchange is the costly one on Cora, since it sends
# rows of the 1,433 input features; the second sends 64 per row. In a real deployment the
# partition is computed once, offline, and every machine loads only its part.
#
# Training adds the backward pass, which sends gradients the opposite way through the same
# halos. Systems such as DistDGL combine both ideas of this chapter: the graph is partitioned
# between machines, and each trains on sampled mini-batches of its own nodes, fetching the
# features of sampled halo nodes from their owners.

# %% [markdown]
# ## 6. Scale, measured, and what papers100M would take
#
# Section 3 claimed that a mini-batch step costs what its batch costs, whatever `N` is.
# `benchmarks/bench_minibatch.py` measures it: it builds block models (chapter 10's generator,
# 128 features, average degree 4) of 125 000 to 4 million nodes, each in a fresh process on one
# thread, and trains the paper's GAT on the same 10 240 targets per epoch in batches of 1024 with
# fanouts (10, 10), recording the graph's storage, the resident memory (RSS) once graph and
# sampler are built, the peak RSS while training, and the time per epoch. A second series uses
# an average degree of 29, ogbn-papers100M's, where the fanouts of 10 really cut
# neighbourhoods. Its committed results (the run takes about ten minutes, so the chapter reads
# them):

# %%
import json
from pathlib import Path

from gatkit.viz.scale import describe_estimate, papers100m_estimate, plot_minibatch_scaling

bench = json.loads(Path("../benchmarks/results/minibatch.json").read_text())
measured = [r for r in bench["records"] if r["status"] == "ok"]
sparse = sorted((r for r in measured if r["avg_degree"] == 4), key=lambda r: r["num_nodes"])
MIB = 2**20
print(f"{'N':>10s}{'graph':>10s}{'RSS built':>11s}{'peak RSS':>10s}{'training adds':>15s}{'epoch':>8s}"
      f"{'full-graph step':>17s}")
for r in sparse:
    graph_mib = (r["feature_bytes"] + r["edge_bytes"] + r["label_bytes"]) / MIB
    print(f"{r['num_nodes']:>10,}{graph_mib:>6.0f} MiB{r['rss_built_bytes'] / MIB:>7.0f} MiB"
          f"{r['peak_rss_bytes'] / MIB:>6.0f} MiB{r['training_added_bytes'] / MIB:>11.0f} MiB"
          f"{r['epoch_seconds']:>6.2f} s{r['full_graph_step_bytes'] / 2**30:>11.1f} GiB")
growth = sparse[-1]["num_nodes"] / sparse[0]["num_nodes"]  # 32
graph_growth = sparse[-1]["feature_bytes"] / sparse[0]["feature_bytes"]
added = [r["training_added_bytes"] for r in sparse]
epoch_seconds = [r["epoch_seconds"] for r in sparse]
print(f"N grows {growth:.0f}-fold, the graph's storage {graph_growth:.0f}-fold; what training adds stays within "
      f"{min(added) / MIB:.0f} .. {max(added) / MIB:.0f} MiB and an epoch within "
      f"{min(epoch_seconds):.2f} .. {max(epoch_seconds):.2f} s")
assert graph_growth > 0.9 * growth
assert max(added) < 1.6 * min(added) and max(epoch_seconds) < 1.6 * min(epoch_seconds)
memory = bench["machine"]["memory_gib"] * 2**30
assert sparse[-1]["full_graph_step_bytes"] > memory > sparse[-1]["peak_rss_bytes"]
dense_2m, = (r for r in measured if r["avg_degree"] == 29 and r["num_nodes"] == 2_000_000)
sparse_2m, = (r for r in sparse if r["num_nodes"] == 2_000_000)
ratios = [dense_2m[key] / sparse_2m[key] for key in ("nodes_per_batch", "batch_seconds")]
print(f"at 2 million nodes, degree 29 against 4: {ratios[0]:.1f} times the nodes per batch, {ratios[1]:.1f} times "
      "the time")
assert all(3.5 < ratio < 7 for ratio in ratios)

# %%
figure = plot_minibatch_scaling(measured, memory_bytes=memory)
plt.show()

# %% [markdown]
# The graph's storage grows with `N`, as it must, but what training adds on top of it (the
# batch's tensors, and memory the allocator keeps between batches) and the time per epoch stay
# flat from 125 000 nodes to 4 million. At 4 million nodes the whole process peaks at a few GiB,
# while one full-graph step would need more than this machine's memory (counted with chapter
# 10's rule, not run). At degree 29 (hollow markers) a batch reads about five times as many
# nodes, and takes about five times as long, but again the same at every `N`.
#
# ### What ogbn-papers100M would take
#
# ogbn-papers100M (Hu et al., *Open Graph Benchmark*, 2020) is a citation graph of 111 059 956
# papers and 1 615 685 872 citations, with 128 features per paper and 1 207 179 labelled
# training papers: the largest of OGB's node-property graphs. It cannot be downloaded here, so
# its needs are estimated from its published size and the measurements above:
# `gatkit.viz.scale.papers100m_estimate` takes the record of the largest graph of the nearest
# degree (2 million nodes at degree 29), and states every assumption in its docstring.

# %%
estimate = papers100m_estimate(measured)
print(describe_estimate(estimate))
N_PAPERS, E_PAPERS = 111_059_956, 1_615_685_872
assert estimate["feature_bytes_float32"] == N_PAPERS * 128 * 4
assert estimate["edge_bytes_coo_int64"] == 2 * E_PAPERS * 2 * 8  # both directions, two int64 each
assert estimate["full_graph_step_bytes"] > 2**40 > estimate["storage_bytes"]  # a step: terabytes; the data: less
assert estimate["epoch_seconds_one_process"] == estimate["batches_per_epoch"] * estimate["batch_seconds"]

# %% [markdown]
# So the data of papers100M fits in one large machine (53 GiB of float32 features, the edges
# about as much again), while one full-graph step would need terabytes: it is the activations,
# not the data, that force mini-batches. An epoch of mini-batches on one thread of this machine
# would take the time printed above; spread over `P` machines, each runs `1/P` of the batches
# and fetches the features of the sampled nodes that live elsewhere, a few tens of gibibytes per
# epoch in all.
#
# Full-graph training on a partitioned graph (section 5) would instead exchange halos before
# every layer, forward and backward. How large is a halo when a graph of degree `d` is split at
# random into `P` parts? A node outside part `k` is in `k`'s halo unless none of its `d` edges
# leads into `k`, which happens with probability about `(1 - 1/P)^d`: at `d = 29` almost every
# node of the other parts is in every part's halo. Measured on a block model of degree 29:

# %%
block = synthetic_graph(50_000, avg_degree=29, num_features=8, seed=1)
halo_share = {}
for parts_count in (4, 16):
    parts = partition_nodes(block.edge_index, block.num_nodes, parts_count, "random")
    outside = block.num_nodes - torch.bincount(parts, minlength=parts_count)  # (P,) nodes of the other parts
    sizes = torch.tensor([len(halo(block.edge_index, parts, k)) for k in range(parts_count)])  # (P,)
    halo_share[parts_count] = (sizes / outside).mean().item()
    predicted = 1 - (1 - 1 / parts_count) ** 29
    print(f"P = {parts_count:2d}: each part's halo holds {halo_share[parts_count]:.1%} of the other parts' nodes "
          f"(about {predicted:.1%} by the rule)")
    assert abs(halo_share[parts_count] - predicted) < 0.05

widths = (128, 64)  # the paper's GAT: the 128 input features, then 8 heads x 8
for parts_count, share in halo_share.items():
    rows = parts_count * share * N_PAPERS * (1 - 1 / parts_count)  # halo rows over all parts, per layer
    per_epoch = 2 * sum(rows * width * 4 for width in widths)  # forward rows, backward gradients, float32
    print(f"papers100M in {parts_count} random parts: {per_epoch / 2**30:,.0f} GiB through the network per "
          f"full-graph epoch, {per_epoch / parts_count / (10e9 / 8):,.0f} s per machine at 10 Gbit/s")
    assert per_epoch > 5 * estimate["feature_bytes_float32"]  # several times the features
    assert per_epoch > 5 * estimate["by_machines"][parts_count]["network_bytes_per_epoch"]  # the mini-batches'

# %% [markdown]
# A random split sends several times the graph's features through the network every
# full-graph epoch, many times what the mini-batches fetch, and every part still holds
# activations for all its nodes. That is why systems at this scale combine all the ideas of this
# chapter: a partitioner such as METIS keeps most edges inside the parts (section 5 saw how much
# a locality order helps on Cora), each machine trains on sampled mini-batches of its own nodes,
# fetches only the sampled halo nodes' features, and DDP averages the gradients.

# %%
print(f"chapter ran in {time.perf_counter() - chapter_started:.0f} s")

# %% [markdown]
# ## Summary
#
# - A full-graph step stores tensors of size `N x H x F'` and `E x H` for every layer: under a
#   megabyte each on Cora, tens of gibibytes on ogbn-papers100M. And the receptive field of a batch
#   grows about `d`-fold per layer until it covers the graph, so a small batch alone does not help.
# - Neighbour sampling keeps at most `k` incoming edges per node and hop, drawn uniformly without
#   replacement; a batch of `B` then reads at most `B (1 + k_1 + k_1 k_2 + ...)` nodes, whatever
#   `N` is, and with every neighbour kept it gives exactly the full-graph output. A sampled layer
#   is a noisy and, with a self-loop or attention, biased estimate of the full one; both shrink as
#   the fanout grows. On Cora, mini-batches with fanouts (10, 10) came within 3 points of
#   full-graph training's test accuracy in the same 200 epochs.
# - Data parallelism (DDP on `torch.distributed`, started by `torchrun`) gives each process its
#   share of every batch and averages the gradients: with equal shares, the step of one process
#   on the union of the batches.
# - A graph split between processes needs, before every layer, the features of each part's halo;
#   a split that keeps neighbours together cuts fewer edges and fetches fewer rows, and the
#   partitioned forward pass equals the single-process one. A random split of a graph of degree
#   29 puts nearly every node in every part's halo.
# - Measured on block models of up to 4 million nodes, a mini-batch step's memory and time do not
#   grow with `N`; only the graph's storage does. For ogbn-papers100M the data fits one large
#   machine, but one full-graph step would need terabytes.
#
# ## Check your understanding
#
# 1. On the block model the field of 32 targets grew about tenfold per layer; on Cora a batch of
#    32 reached over half the graph in three layers and then could not grow much more. What
#    stops the growth, and why would it not stop on ogbn-papers100M?
# 2. With fanouts (10, 10) the bound for a batch of 32 is 32 · 111 = 3,552 nodes. Name two reasons
#    a sample holds fewer. When would it hold exactly that many?
# 3. Why must `sample_incoming` draw **without** replacement? What would an edge drawn twice do
#    to a GAT layer's softmax, and to a mean?
# 4. The mean of the sampled neighbours is unbiased, but the mean layer (with the node's
#    self-loop) is not. Write both expectations for a node with `d` neighbours and fanout `k`.
#    How does GraphSAGE's layer, which keeps the node's own features apart from the mean of its
#    neighbours, avoid the problem?
# 5. Why does the spread of the sampled outputs average out over the steps of training while
#    their bias does not?
# 6. On Cora, an epoch of mini-batches took longer than a full-graph epoch. Why? On what kind of
#    graph does that turn around?
# 7. A random split into `P` parts cuts about `1 - 1/P` of the edges. Why? What does each cut
#    edge cost in the partitioned forward pass?
# 8. Why does each process throw away its halo nodes' outputs after every layer, and fetch the
#    halo again before the next one?
# 9. Two DDP processes hold batches of 4 and of 12 targets. What does the average of their
#    gradients weigh wrongly, and how does `train_epoch` avoid it?
# 10. Mini-batch training of papers100M on 4 machines fetches tens of gibibytes of features per
#     epoch; full-graph training on a random 4-way split sends hundreds. Where does the
#     difference come from?

# %% [markdown]
# ## Going further
#
# - Hamilton, Ying and Leskovec, *Inductive Representation Learning on Large Graphs* (NeurIPS
#   2017): GraphSAGE, neighbour sampling with fanouts per layer, and the mean aggregator that
#   keeps the node's own features apart.
# - Chen, Zhu and Song, *Stochastic Training of Graph Convolutional Networks with Variance
#   Reduction* (ICML 2018), and Chen, Ma and Xiao, *FastGCN* (ICLR 2018): samplers whose
#   estimates use fewer neighbours or correct the error of the sampled aggregation.
# - Chiang et al., *Cluster-GCN* (KDD 2019): partition the graph (with METIS) and train on one
#   cluster, or a few, per step, with no sampling inside a cluster. Zeng et al., *GraphSAINT*
#   (ICLR 2020): sample whole subgraphs (nodes, edges or random walks) and correct the bias of
#   the loss and the aggregation with normalisation coefficients.
# - Karypis and Kumar, *A fast and high quality multilevel scheme for partitioning irregular
#   graphs* (SIAM J. Sci. Comput., 1998): METIS, which minimises the edges cut directly; DGL and
#   PyG's `ClusterData` use it. `gatkit.partition`'s locality order is a simpler stand-in.
# - Zheng et al., *DistDGL: Distributed Graph Neural Network Training for Billion-Scale Graphs*
#   (2020): METIS partitions across machines, mini-batches sampled on each, features of remote
#   nodes fetched from their owners: sections 2 to 5 together.
# - PyTorch Geometric's `NeighborLoader` is the same sampler as `NeighbourSampler` (and its
#   `num_neighbors=[-1, ...]` the same -1); it needs the `pyg-lib` or `torch-sparse` package,
#   which has no wheel for this PyTorch on a CPU (chapter 10 shows its code). OGB's leaderboards
#   (ogb.stanford.edu) list what models reach on ogbn-products and ogbn-papers100M, and how.
# - The library's pieces: `gatkit.edges.receptive_field_sizes` (13.1),
#   `gatkit.sampling.sample_incoming` (13.2) and `NeighbourSampler`, `gatkit.train.train_epoch`,
#   `gatkit.distributed`, `gatkit.partition.halo` (13.3), `local_graph`, `exchange` and
#   `partitioned_forward`.
