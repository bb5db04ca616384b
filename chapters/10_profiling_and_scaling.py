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
# # Chapter 10 · Profiling and scaling
#
# Chapters 04 to 06 built one GAT layer three ways and claimed that the dense ones cost O(N²)
# time and memory while the edge list costs O(N + E). This chapter measures it. We first learn
# to time a training step honestly, look inside one with the PyTorch profiler and count its
# memory exactly, then grow the graph and read the exponents off log-log plots.
#
# You will build:
#
# | step | what | tool |
# |---|---|---|
# | 1 | the time of one training step: warm-up, repeats, median and spread | `gatkit.profiling.time_calls` |
# | 2 | where that time goes, implementation 1 against 3 | `torch.profiler` |
# | 3 | the memory of the dense (H, N, N) tensors, by hand and counted exactly | `untyped_storage()`, `TorchDispatchMode` |
# | 4 | scaling exponents from a sweep over N = 250 … 2000, fitted on log-log axes | `gatkit.profiling.measure`, least squares |
# | 5 | the crossover, and the largest graph the dense layers can train on this machine | |
# | 6 | what to use when a graph outgrows one machine | PyG `GATConv`, `NeighborLoader`, `gatkit.train.Subgraph` |
#
# The model is the paper's two-layer Cora network throughout (8 heads of 8 features, then one
# head per class, dropout 0.6), and the graphs are the stochastic block models of
# `gatkit.profiling.synthetic_graph`: average degree about 4 and 128 features, so that only N
# changes from one point to the next. Everything runs on the CPU, so the numbers printed below
# are this machine's; the *shapes* of the curves are what carries over to yours.

# %%
import importlib.util
import math
import statistics
import time
import weakref

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile
from torch.utils._python_dispatch import TorchDispatchMode

from gatkit import load_planetoid
from course.checks import exercise
from gatkit.edges import receptive_field
from gatkit.layers import GAT
from gatkit.profiling import (IMPLEMENTATIONS, dense_bytes, machine, measure, measure_in_fresh_process,
                              synthetic_graph, time_calls, training_step)
from gatkit.train import Subgraph

torch.manual_seed(0)
torch.set_num_threads(1)  # section 1 explains why
chapter_started = time.perf_counter()

HAVE_PYG = importlib.util.find_spec("torch_geometric") is not None
info = machine()
print(f"{info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, torch {info['torch']}, "
      f"{torch.get_num_threads()} thread; PyTorch Geometric installed: {HAVE_PYG}")
cora = load_planetoid("cora", progress=False)
print(cora)

# %% [markdown]
# ## 1. Timing one training step honestly
#
# A training step is what we time: forward pass in train mode on the whole graph, loss on the
# training nodes, backward pass, one Adam step (`gatkit.train.train_step`, chapter 07's step).
# `gatkit.profiling.training_step(implementation, graph)` builds the paper's model for one
# implementation ("1", "2", "3", or "pyg" for PyTorch Geometric's `GATConv`), seeded, and
# returns a function that runs one such step.
#
# Four rules for timing:
#
# - **`time.perf_counter()`**, not `time.time()`: the finest clock, and monotonic, so it never
#   jumps when the system adjusts its wall clock.
# - **Warm-up.** The first calls pay for one-off work: Adam creates its state at its first
#   step, fresh memory is mapped in, caches are cold. Time only what repeats.
# - **Several repeats, then the median and the spread.** Any step can be hit by the operating
#   system handing the core to another program; the median ignores a few such outliers, the
#   quartiles say how much the steps vary.
# - **A fixed number of threads.** An operation split over threads waits for the slowest one,
#   and on a shared machine one descheduled thread stalls all the others. One thread
#   (`torch.set_num_threads(1)`, set in the first cell) gives the most repeatable numbers.
#
# On a GPU add a fifth: CUDA kernels run asynchronously, so call `torch.cuda.synchronize()`
# before reading the clock, or you time only the queueing of the work.
#
# `gatkit.profiling.time_calls(function, repeats=..., warmup=...)` follows all five; every
# timed step in gatkit, its benchmarks and this chapter goes through it. Its loop:
#
# ```python
# with benchmark.set_torch_threads(threads):     # rule 4: by default the number set now
#     for call in range(warmup + repeats):
#         started = benchmark.timer()            # rules 1 and 5: perf_counter, after synchronising a GPU
#         function()
#         seconds = benchmark.timer() - started
#         if call >= warmup:                     # rule 2: the warm-up calls are not kept
#             times.append(seconds)
# ```
#
# (`benchmark` is `torch.utils.benchmark`.) It returns a `Measurement` with `.times` in order,
# `.median` and `.iqr` (rule 3). Here are 30 steps of implementation 3 on a
# 2000-node graph, timed from the very first (`warmup=0`), so the warm-up is visible:

# %%
graph_2000 = synthetic_graph(2000)
n_2000, e_2000 = graph_2000.num_nodes, graph_2000.edge_index.shape[1]
print(f"synthetic graph: N = {n_2000}, E = {e_2000} with self-loops, {e_2000 / n_2000:.2f} incoming edges "
      f"per node, x {tuple(graph_2000.x.shape)}, {len(graph_2000.train_idx)} training nodes")

cold = time_calls(training_step("3", graph_2000), repeats=30, warmup=0).times  # seconds, in order
q1, median, q3 = statistics.quantiles(cold[1:], n=4)
print(f"first step {1000 * cold[0]:.1f} ms; steps 2-30: median {1000 * median:.1f} ms, "
      f"quartiles {1000 * q1:.1f} .. {1000 * q3:.1f} ms, min {1000 * min(cold[1:]):.1f}, "
      f"max {1000 * max(cold[1:]):.1f}")
assert len(cold) == 30 and abs((e_2000 - n_2000) / n_2000 - 4) < 0.5 and graph_2000.x.shape[1] == 128
assert cold[0] > median  # the first step pays for the warm-up

# %% [markdown]
# Compare the first step with the median, and the maximum with the quartiles: one slow step
# would move a mean, not a median.
#
# ## 2. Where the time goes: `torch.profiler`
#
# A total says *how long*; a profile says *where*. `torch.profiler.profile` records every
# PyTorch operation that runs inside it (forward, backward and optimiser alike), with its
# duration and, with `record_shapes=True`, the shapes of its inputs. We profile three steps of
# implementations 1 and 3 on a 1000-node graph, after one warm-up step each:

# %%
graph_1000 = synthetic_graph(1000)
profiles = {}
for implementation in ("1", "3"):
    step = training_step(implementation, graph_1000)
    step()  # warm-up, outside the profile
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(3):
            step()
    profiles[implementation] = prof

# %% [markdown]
# `key_averages()` adds up the events of each operation. Two columns matter: **Self CPU** is the
# time spent in the operation itself, **CPU total** includes the operations it called (an
# `aten::linear` calls `aten::mm`, whose time then appears in both rows' totals but in only one
# row's self time). Sorted by self CPU time, the top rows are where the step spends its time.
# Implementation 1 first:

# %%
print(profiles["1"].key_averages().table(sort_by="self_cpu_time_total", row_limit=10))

# %% [markdown]
# Read the names: the top rows are mostly **elementwise** operations (`mul`, `div`, `exp`,
# `where`, `leaky_relu_backward` and the like, counted below), each a pass over an (H, N, N)
# tensor, forward or backward. `aten::random_` draws the dropout masks; the attention dropout
# alone needs one random number per entry of `alpha`, H · N² of them per step. The batched
# matrix products (`bmm`) do real arithmetic, but they are not what dominates (their share is
# printed below): most of the step is spent *moving* N² numbers through memory, most of which
# belong to pairs that are not edges. Implementation 3:

# %%
print(profiles["3"].key_averages().table(sort_by="self_cpu_time_total", row_limit=10))

# %% [markdown]
# The time is spread over the projection (`mm`), the gathers and scatters of chapter 06
# (`index_select`, `scatter_add_`/`index_add_`, `scatter_reduce`), elementwise work on (E, H)
# and (E, H, F') tensors, and the optimiser. No operation touches an N × N tensor. The
# profiler can prove that: grouped by input shape, we add up the self time of the rows whose
# inputs include an (H, N, N) tensor.


# %%
def share_on_dense(prof, num_nodes: int, heads: int = 8) -> float:
    """Share of the self CPU time spent in operations that read an (H, N, N) tensor."""
    rows = prof.key_averages(group_by_input_shape=True)
    total = sum(row.self_cpu_time_total for row in rows)
    dense = sum(row.self_cpu_time_total for row in rows if [heads, num_nodes, num_nodes] in row.input_shapes)
    return dense / total


def self_share(prof, names) -> float:
    """Share of the self CPU time spent in the operations ``names``."""
    rows = prof.key_averages()
    total = sum(row.self_cpu_time_total for row in rows)
    return sum(row.self_cpu_time_total for row in rows if row.key in names) / total


for implementation, prof in profiles.items():
    per_step = sum(row.self_cpu_time_total for row in prof.key_averages()) / 3 / 1000  # microseconds -> ms
    top = max(prof.key_averages(), key=lambda row: row.self_cpu_time_total)
    print(f"{IMPLEMENTATIONS[implementation]:24s}: {per_step:7.1f} ms of self CPU time per step, "
          f"{share_on_dense(prof, 1000):.0%} of it on (H, N, N) inputs; top operation {top.key} "
          f"({self_share(prof, {top.key}):.0%})")
ELEMENTWISE = {f"aten::{name}" for name in ("mul", "div", "exp", "where", "masked_fill", "masked_fill_", "neg", "sub",
                                            "add", "add_", "copy_", "fill_", "zero_", "clone", "clamp", "clamp_min",
                                            "leaky_relu", "leaky_relu_backward", "elu", "elu_backward", "ge", "gt",
                                            "lt", "le")}
top_ten = sorted(profiles["1"].key_averages(), key=lambda row: row.self_cpu_time_total, reverse=True)[:10]
bmm_share = self_share(profiles["1"], {"aten::bmm"})
print(f"implementation 1: {sum(row.key in ELEMENTWISE for row in top_ten)} of the top 10 rows are elementwise; "
      f"bmm takes {bmm_share:.0%} of the self CPU time")
assert sum(row.key in ELEMENTWISE for row in top_ten) > 5 and bmm_share < 0.25
assert share_on_dense(profiles["1"], 1000) - bmm_share > 0.5  # most of the time: passes over (H, N, N) tensors
assert share_on_dense(profiles["3"], 1000) == 0.0
assert self_share(profiles["3"], {max(profiles["3"].key_averages(), key=lambda r: r.self_cpu_time_total).key}) < 0.35

# %% [markdown]
# The profiler adds a little overhead to every operation it records: use it to see
# *proportions*, and time without it. `prof.export_chrome_trace(path)` writes a timeline you can
# open in Perfetto, and `with_stack=True` adds the Python line that called each operation.
#
# ## 3. Memory: by hand, then counted exactly
#
# Chapter 04 worked out that one (H, N, N) float32 tensor on Cora takes 8 · 2708² · 4 bytes and
# counted the tensors autograd keeps for the backward pass. Here we make the count a function
# of N, then check it against the bytes PyTorch actually allocates.
#
# ## Exercise 10.1: the bytes of a dense score tensor
#
# Write `dense_score_bytes(num_nodes, heads, dtype)`: `num_nodes` is a (k,) int64 tensor of
# graph sizes; return a (k,) int64 tensor with the bytes of one (H, N, N) tensor of `dtype` for
# each N. `dtype.itemsize` is the size of one number in bytes (4 for `torch.float32`). About 1 line.


# %%
def dense_score_bytes(num_nodes: torch.Tensor, heads: int, dtype: torch.dtype) -> torch.Tensor:
    """Bytes (k,) of one (H, N, N) tensor of ``dtype`` for each N in ``num_nodes`` (k,)."""
    # YOUR CODE HERE (1 line)
    raise NotImplementedError('Exercise 10.1: the bytes of a dense score tensor')


dense_score_bytes = exercise("10.1", dense_score_bytes)

# %% [markdown]
# For the sizes this chapter measures, for Cora (chapter 04's number) and for PubMed, whose
# 19 717 nodes chapter 04 found too many; `gatkit.profiling.dense_bytes` is the same formula:

# %%
SIZES = [250, 500, 1000, 2000]
predicted = dense_score_bytes(torch.tensor(SIZES), 8, torch.float32)  # (4,)
for n, nbytes in zip(SIZES, predicted.tolist()):
    print(f"N = {n:5d}: one (8, N, N) float32 tensor = {nbytes:>13,d} bytes = {nbytes / 2**20:7.1f} MiB")
cora_bytes, pubmed_bytes = dense_score_bytes(torch.tensor([2708, 19_717]), 8, torch.float32).tolist()
print(f"Cora: {cora_bytes:,d} bytes; PubMed: {pubmed_bytes / 2**30:.1f} GiB")
assert predicted.tolist() == [dense_bytes(n) for n in SIZES] and cora_bytes == 234_664_448

# %% [markdown]
# Now a real one: the scores of the 2000-node graph, built by broadcasting as in chapter 04.
# `untyped_storage().nbytes()` is the size of the memory block behind a tensor, so it cannot be
# fooled by views (an `expand`ed tensor shares its storage and adds nothing):

# %%
z = torch.randn(8, n_2000, 8)  # (H, N, F')
a_src, a_dst = torch.randn(8, 8), torch.randn(8, 8)  # (H, F') each
s_dst = (z * a_dst[:, None, :]).sum(dim=-1)  # (H, N)
s_src = (z * a_src[:, None, :]).sum(dim=-1)  # (H, N)
scores = F.leaky_relu(s_dst[:, :, None] + s_src[:, None, :], 0.2)  # (H, N, N)
for tensor in (scores, scores.half()):
    print(f"{str(tensor.dtype):14s} {tuple(tensor.shape)}: storage {tensor.untyped_storage().nbytes():>11,d} bytes")
    assert tensor.untyped_storage().nbytes() == dense_score_bytes(torch.tensor([n_2000]), 8, tensor.dtype).item()
assert scores[:, None].expand(8, 3, n_2000, n_2000).untyped_storage().nbytes() == predicted[-1]  # a view: no new memory
del z, scores

# %% [markdown]
# ### The peak of a training step, exactly
#
# One tensor is easy; a training step creates hundreds and frees most of them again. What
# decides whether a step fits is the **peak**: the most bytes alive at any moment. PyTorch
# reports it for GPUs (`torch.cuda.max_memory_allocated`), not for the CPU, but we can count it
# ourselves. A `TorchDispatchMode` sees every operation PyTorch runs, forward, backward and
# optimiser alike, just below autograd. For every tensor an operation returns we add its
# storage's bytes (once per storage: views and in-place results share it) and ask Python to
# subtract them again when the storage is freed (`weakref.finalize`).


# %%
SPARSE_PARTS = {torch.sparse_csr: ("crow_indices", "col_indices", "values"),
                torch.sparse_csc: ("ccol_indices", "row_indices", "values"), torch.sparse_coo: ("_indices", "_values")}


def _tensors(value):
    """The tensors in an operation's result (a tensor, or a tuple or list of them); a sparse
    tensor has no storage of its own, so its index and value tensors stand for it."""
    if isinstance(value, torch.Tensor) and value.layout in SPARSE_PARTS:
        yield from (getattr(value, part)() for part in SPARSE_PARTS[value.layout])
    elif isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _tensors(item)


class TensorMemory(TorchDispatchMode):
    """Bytes of tensor storage alive now (``live``) and at most (``peak``) while the mode is active."""

    def __init__(self):
        super().__init__()
        self.live = self.peak = 0
        self.counted = set()  # addresses of the storages counted and not yet freed

    def _freed(self, address: int, nbytes: int) -> None:
        self.live -= nbytes
        self.counted.discard(address)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        for tensor in _tensors(result):
            storage = tensor.untyped_storage()
            address, nbytes = storage.data_ptr(), storage.nbytes()
            if nbytes and address not in self.counted:
                self.counted.add(address)
                self.live += nbytes
                self.peak = max(self.peak, self.live)
                weakref.finalize(storage, self._freed, address, nbytes)
        return result


with TensorMemory() as memory:
    first = torch.ones(1000)  # 4000 bytes
    second = first * 2  # 4000 more
    view = first[:10]  # a view: no new storage
    del second  # freed: live drops, the peak stays
print(f"live {memory.live} bytes, peak {memory.peak} bytes")
assert (memory.live, memory.peak) == (4000, 8000)

# %% [markdown]
# It counts only what PyTorch allocates *after* it is switched on (the model's weights and the
# graph already exist), and only tensor storage, not the Python interpreter. In return it is
# exact and the same on every run. One training step of each gatkit implementation at N = 250,
# 500 and 1000 (N = 2000 would only add seconds: the counts are exact, and the pattern is clear
# without it):


# %%
def peak_tensor_bytes(implementation: str, graph) -> int:
    """Peak bytes of tensor storage allocated during one training step."""
    step = training_step(implementation, graph)
    with TensorMemory() as counter:
        step()
    return counter.peak


MEMORY_SIZES = SIZES[:-1]
graphs = {n: synthetic_graph(n) for n in MEMORY_SIZES}
edges = {n: graph.edge_index.shape[1] for n, graph in graphs.items()}
peak = {imp: [peak_tensor_bytes(imp, graphs[n]) for n in MEMORY_SIZES] for imp in "123"}  # bytes

print(f"{'N':>5s} {'E':>6s} | {'peak MiB: imp. 1':>16s} {'imp. 2':>8s} {'imp. 3':>8s} | "
      f"{'(H, N, N) copies: imp. 1':>24s} {'imp. 2':>6s} | {'imp. 3 bytes per edge':>21s}")
for index, n in enumerate(MEMORY_SIZES):
    p1, p2, p3 = (peak[implementation][index] for implementation in "123")
    print(f"{n:5d} {edges[n]:6d} | {p1 / 2**20:16.1f} {p2 / 2**20:8.1f} {p3 / 2**20:8.2f} | "
          f"{p1 / dense_bytes(n):24.2f} {p2 / dense_bytes(n):6.2f} | {p3 / edges[n]:21.0f}")

copies = {implementation: [p / dense_bytes(n) for p, n in zip(peak[implementation], MEMORY_SIZES)]
          for implementation in "12"}
per_edge = [p / edges[n] for p, n in zip(peak["3"], MEMORY_SIZES)]
assert all(8 < c < 11 for c in copies["1"]) and all(max(c) - min(c) < 0.5 for c in copies.values())
assert all(c2 < c1 for c1, c2 in zip(copies["1"], copies["2"]))  # chapter 05's layout keeps fewer N x N tensors
assert max(per_edge) / min(per_edge) < 1.1  # implementation 3: a constant number of bytes per edge

# %% [markdown]
# The table is the whole story of this chapter in memory terms:
#
# - the dense implementations' peak is a **fixed number of (H, N, N) tensors**, whatever N is
#   (the copies columns barely move): the ones autograd keeps for the backward pass (chapter 04
#   listed them) plus the temporaries of the operation running at the peak. So it grows as N²:
#   each doubling of N multiplies it by 4.
# - implementation 2 (chapter 05's masked softmax) holds fewer of them than implementation 1,
#   which is all its layout buys: fewer copies, the same N².
# - implementation 3's peak is a **fixed number of bytes per edge**: scores and coefficients
#   (E, H), their gradients, the dropout masks, and the index arrays with which `gatkit.ops`
#   aggregates all heads as one sparse product (built on a graph's first step and kept). At a
#   fixed average degree E grows like N, and so does its memory.
#
# ## 4. A sweep, and scaling exponents on log-log axes
#
# Now the time. `gatkit.profiling.measure(implementation, N)` builds a synthetic graph of N
# nodes and `time_calls` its `training_step`: `warmup` untimed steps, then the median of
# `repeats` timed ones. We measure at N = 250, 500, 1000 and 2000, one warm-up step and the
# median of three each, in this process. The dense steps at N = 2000 are the slowest of the
# chapter, so implementation 2 stops at N = 1000. PyTorch Geometric's `GATConv` joins as a
# fourth implementation when it is installed. (`measure` also reports the process's peak
# memory, `peak_mb`; the appendix at the end shows why we count memory as section 3 did instead.)

# %%
implementations = ["1", "2", "3"] + (["pyg"] if HAVE_PYG else [])
sweep_sizes = {imp: SIZES[:-1] if imp == "2" else SIZES for imp in implementations}
records = [measure(imp, n, repeats=3, warmup=1) for imp in implementations for n in sweep_sizes[imp]]
assert all(r["status"] == "ok" for r in records)
step_ms = {imp: [r["step_ms"] for r in records if r["implementation"] == imp] for imp in implementations}

print(f"{'median step (ms)':24s} " + " ".join(f"{'N = ' + str(n):>9s}" for n in SIZES))
for imp in implementations:
    print(f"{IMPLEMENTATIONS[imp]:24s} " + " ".join(f"{ms:9.1f}" for ms in step_ms[imp]))

# %% [markdown]
# If a cost grows like a power of N, `y = a · N^b`, then `log y = log a + b · log N`: a straight
# line on log-log axes whose **slope is the exponent**. Fitting that line by least squares turns
# a handful of measurements into one number you can compare with the theory (2 for the dense
# layers, 1 for the edge list at a fixed average degree).
#
# ## Exercise 10.2: a power law fitted on log-log axes
#
# Write `fit_power_law(sizes, values)`: two (k,) float64 tensors, N and the measured cost. Fit
# `log(values) = c + b · log(sizes)` by least squares (natural logs) and return
# `torch.stack([b, exp(c)])`, the exponent and the prefactor `a`, as a (2,) float64 tensor
# (about 4 lines; `b = Σ (x − x̄)(y − ȳ) / Σ (x − x̄)²` and `c = ȳ − b x̄` in the logs).


# %%
def fit_power_law(sizes: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """``tensor([b, a])`` (2,) of the least-squares fit ``values ~ a * sizes**b`` on log-log axes."""
    # YOUR CODE HERE (about 4 lines)
    raise NotImplementedError('Exercise 10.2: a power law fitted on log-log axes')


fit_power_law = exercise("10.2", fit_power_law)

# %% [markdown]
# The exponents of the step times (the sweep) and of the exact tensor peaks (section 3); the
# last column is the local slope between the two largest sizes, where fixed costs matter least:

# %%
def as_float64(values: list) -> torch.Tensor:
    """A (k,) float64 tensor."""
    return torch.tensor(values, dtype=torch.float64)


time_fit = {imp: fit_power_law(as_float64(sweep_sizes[imp]), as_float64(step_ms[imp])) for imp in implementations}
memory_fit = {imp: fit_power_law(as_float64(MEMORY_SIZES), as_float64(peak[imp])) for imp in "123"}
for imp in implementations:
    local = math.log(step_ms[imp][-1] / step_ms[imp][-2]) / math.log(sweep_sizes[imp][-1] / sweep_sizes[imp][-2])
    memory = f"~ N^{memory_fit[imp][0]:.2f}" if imp in memory_fit else "not counted"
    print(f"{IMPLEMENTATIONS[imp]:24s} time ~ N^{time_fit[imp][0]:.2f}   tensor memory {memory:11s}   "
          f"time, last doubling: N^{local:.2f}")

ratio_2000 = step_ms["1"][-1] / step_ms["3"][-1]
print(f"at N = 2000 a step of implementation 1 takes {ratio_2000:.0f} times as long as one of implementation 3")
design = torch.stack([torch.ones(len(SIZES), dtype=torch.float64), as_float64(SIZES)], dim=1)  # (k, 2)
fixed, per_node = torch.linalg.lstsq(design, as_float64(step_ms["3"]).unsqueeze(1)).solution.squeeze(1).tolist()
print(f"implementation 3 as fixed + c · N: {fixed:.1f} ms + {1000 * per_node:.1f} µs · N; the fixed part is "
      f"{fixed / step_ms['3'][0]:.0%} of a step at N = {SIZES[0]}, {fixed / step_ms['3'][-1]:.0%} at N = {SIZES[-1]}")
assert all(abs(memory_fit[imp][0] - power) < 0.02 for imp, power in (("1", 2), ("2", 2), ("3", 1)))
assert time_fit["1"][0] > 1.7 and time_fit["2"][0] > 1.7 and time_fit["3"][0] < 1
assert time_fit["1"][0] > time_fit["3"][0] + 0.5 and time_fit["2"][0] > time_fit["3"][0] + 0.5
assert ratio_2000 > 10 and fixed > 0.25 * step_ms["3"][0]

# %% [markdown]
# Memory follows the theory to within 0.02: it is counted, not timed. The dense step times grow
# roughly as N² or faster. The edge list's time exponent comes out *below* 1: at these sizes a
# good part of its step is costs that do not grow with N at all (Python, launching a few hundred
# small operations, Adam on a fixed number of weights), so its time is better described as
# `fixed + c · N` (the fit printed above), and the log-log slope only approaches 1 once the
# per-edge work dominates, as at the benchmark's sizes up to 200 000 nodes. A fitted exponent
# is only as good as the range it was fitted on.

# %%
figure, (ax_time, ax_memory) = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
for index, imp in enumerate(implementations):
    colour = f"C{index}"
    ax_time.plot(sweep_sizes[imp], step_ms[imp], "o-", color=colour, label=IMPLEMENTATIONS[imp])
    if imp in peak:
        ax_memory.plot(MEMORY_SIZES, [p / 2**20 for p in peak[imp]], "o-", color=colour, label=IMPLEMENTATIONS[imp])
for ax, sizes, anchor in ((ax_time, SIZES, step_ms["1"][0]), (ax_memory, MEMORY_SIZES, peak["1"][0] / 2**20)):
    for power, style in ((2, "--"), (1, ":")):
        ax.plot(sizes, [anchor * (n / sizes[0]) ** power for n in sizes], style, color="grey", label=f"∝ N^{power}")
for ax, what in ((ax_time, "median training step (ms)"), (ax_memory, "peak tensor memory of a step (MiB)")):
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("nodes N (average degree about 4)")
    ax.set_ylabel(what)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
ax_time.set_title("time: in this process, 1 thread")
ax_memory.set_title("memory: counted exactly (section 3)")
plt.show()

# %% [markdown]
# ## 5. The crossover, and the largest graph that fits
#
# On the plot the dense lines are steeper everywhere; extended to the left they meet the edge
# list's. Where? The fitted power laws say it (an extrapolation, below the measured range),
# and a direct measurement on two tiny graphs checks it:

# %%
(b1, a1), (b3, a3) = time_fit["1"].tolist(), time_fit["3"].tolist()
crossing = (a3 / a1) ** (1 / (b1 - b3))
print(f"fitted: imp. 1 {a1:.2e} N^{b1:.2f} ms, imp. 3 {a3:.2e} N^{b3:.2f} ms; equal at N = {crossing:.0f}")
tiny = {n: {imp: measure(imp, n, repeats=7, warmup=2)["step_ms"] for imp in "123"} for n in (20, 40)}
for n, times in tiny.items():
    print(f"N = {n}: " + ", ".join(f"{IMPLEMENTATIONS[imp]} {ms:.2f} ms" for imp, ms in times.items())
          + f"; imp. 1 / imp. 3 = {times['1'] / times['3']:.2f}")
assert all(times["1"] / times["3"] < ratio_2000 / 5 for times in tiny.values())  # far closer than at N = 2000


def local_slopes(imp: str) -> list[float]:
    """Log-log slope of the step time between each pair of neighbouring sizes."""
    sizes, times = sweep_sizes[imp], step_ms[imp]
    return [math.log(times[k + 1] / times[k]) / math.log(sizes[k + 1] / sizes[k]) for k in range(len(sizes) - 1)]


edge_list_kinds = [imp for imp in ("3", "pyg") if imp in implementations]
for dense_imp in "12":
    for k, slope in enumerate(local_slopes(dense_imp)):  # the dense lines are steeper between every two sizes
        assert all(slope > local_slopes(imp)[k] for imp in edge_list_kinds)

# %% [markdown]
# The fitted crossing and the measurement need not agree closely: fixed costs bend the fits at
# the small end, and a power law extrapolated below its range is a rough tool. They agree on the
# picture. On a few dozen nodes the ratio of
# the two step times is at least five times smaller than at N = 2000: a step is then a fixed
# number of small operations whatever they compute, and the N² work is negligible. On a CPU
# that is as good as dense gets.
#
# This course has not measured a GPU. The one GPU measurement at hand, in the original PyTorch
# GAT project (gordicaleksa/pytorch-GAT, `profile_gat_implementations` in `playground.py`),
# reports 500 training epochs on Cora on an RTX 2080 taking about 17 s with its implementation 1,
# 15.5 s with implementation 2 and 3.5 s with the edge list; and a GPU's memory runs out early
# for the dense layers, as exercise 10.3 computes.
#
# How far can the dense implementations go? Section 3 measured the number of (H, N, N) tensors
# alive at a step's peak; all of them must fit at once.
#
# ## Exercise 10.3: the largest dense graph that fits
#
# Write `largest_dense_graph(memory_bytes, copies, heads, itemsize)`: `memory_bytes` is a (k,)
# float64 tensor of memory budgets, and a step needs `copies` tensors of `heads · N² · itemsize`
# bytes at once. Return a (k,) int64 tensor with the largest N that fits in each budget
# (1 line; mind the rounding).


# %%
def largest_dense_graph(memory_bytes: torch.Tensor, copies: float, heads: int, itemsize: int) -> torch.Tensor:
    """Largest N (k,) with ``copies * heads * N**2 * itemsize <= memory`` for each budget (k,)."""
    # YOUR CODE HERE (1 line)
    raise NotImplementedError('Exercise 10.3: the largest dense graph that fits')


largest_dense_graph = exercise("10.3", largest_dense_graph)

# %% [markdown]
# This machine's memory, with the copies measured in section 3 (at N = 1000), ignoring the few
# hundred MB that Python and PyTorch need and everything else running (so an upper bound), and
# a 16 GiB and an 80 GiB GPU for comparison. The fitted time laws say how long one step would
# take at that size, and the edge list's bytes per edge say how far it goes on the same memory:

# %%
memory_bytes = info["memory_gib"] * 2**30
budgets = torch.tensor([memory_bytes, 16 * 2**30, 80 * 2**30], dtype=torch.float64)  # (3,)
limit = {imp: largest_dense_graph(budgets, copies[imp][-1], 8, 4).tolist() for imp in "12"}
for imp in "12":
    seconds = time_fit[imp][1].item() * limit[imp][0] ** time_fit[imp][0].item() / 1000
    print(f"{IMPLEMENTATIONS[imp]:24s} ({copies[imp][-1]:.2f} copies): largest N on this machine's "
          f"{info['memory_gib']} GiB: {limit[imp][0]:,d} (one step there: about {seconds:.0f} s); "
          f"16 GiB: {limit[imp][1]:,d}; 80 GiB: {limit[imp][2]:,d}")
edges_per_node = e_2000 / n_2000
edge_limit = memory_bytes / (per_edge[-1] * edges_per_node)
print(f"{IMPLEMENTATIONS['3']:24s} ({per_edge[-1]:.0f} bytes per edge, {edges_per_node:.2f} edges per node): "
      f"about {edge_limit / 1e6:.1f} million nodes on this machine")
pubmed_need = copies["1"][-1] * dense_bytes(19_717)
print(f"PubMed (19 717 nodes) with implementation 1 would need about {pubmed_need / 2**30:.0f} GiB")
assert 2708 <= limit["1"][0] < limit["2"][0] and edge_limit > 100 * limit["1"][0]  # Cora fits
assert limit["1"][2] < 19_717 < edge_limit  # not even an 80 GiB card holds implementation 1's step
assert 19_717 <= limit["2"][2]  # ... but implementation 2's fewer copies just fit it

# %% [markdown]
# Cora fits. PubMed's 19 717 nodes need more memory for one step of implementation 1 than even
# the 80 GiB card holds (implementation 2's fewer copies would just squeeze into it), while the
# edge list would not notice. The extrapolation rests on two measured facts (the number of
# copies does not depend on N, and memory grows as N²) and one caveat: it ignores everything
# that is not a tensor. Implementation 3 is the one that scales: O(N + E) time and memory, so a
# graph ten times larger costs ten times more, not a hundred.
#
# ## 6. When a graph outgrows one machine
#
# Implementation 3 goes a long way, but every full-graph step still holds the features,
# messages and gradients of *all* nodes and edges. Beyond that, the standard answer is
# mini-batching: train on many small subgraphs, each holding just what a batch of target nodes
# needs. PyTorch Geometric provides both the layer and the sampler.
#
# ### Implementation 3 is `GATConv`
#
# `torch_geometric.nn.GATConv` computes what `GATLayerEdge` computes (chapter 06 checked one
# layer on Cora). Its parameters map one to one:
#
# | gatkit (`GATLayer`) | shape | PyG (`GATConv`) | shape |
# |---|---|---|---|
# | `linear.weight` | (H·F', F) | `lin.weight` | (H·F', F) |
# | `a_src` | (H, F') | `att_src` | (1, H, F') |
# | `a_dst` | (H, F') | `att_dst` | (1, H, F') |
# | `bias` | (H·F',) or (F',) | `bias` | the same |
#
# with `add_self_loops=False` (our edge lists already have them) and `concat=False` for the
# averaged output layer. The paper's whole network, gatkit's against PyG's, on Cora:


# %%
def as_gatconv(layer):
    """A PyG GATConv computing what the gatkit ``layer`` computes (its weights copied)."""
    from torch_geometric.nn import GATConv

    conv = GATConv(layer.in_features, layer.out_features, heads=layer.heads, concat=layer.concat,
                   negative_slope=layer.negative_slope, add_self_loops=False)
    with torch.no_grad():
        conv.lin.weight.copy_(layer.linear.weight)  # (H*F', F)
        conv.att_src.copy_(layer.a_src.unsqueeze(0))  # (1, H, F')
        conv.att_dst.copy_(layer.a_dst.unsqueeze(0))  # (1, H, F')
        conv.bias.copy_(layer.bias)
    return conv.eval()


if not HAVE_PYG:
    print("torch_geometric is not installed; skipping the GATConv comparison")
else:
    torch.manual_seed(0)
    ours = GAT([cora.num_features, 8, cora.num_classes], [8, 1], layer_type=3).eval()
    for layer in ours.layers:
        torch.nn.init.normal_(layer.bias)  # non-zero, so the biases are compared too
    conv1, conv2 = (as_gatconv(layer) for layer in ours.layers)
    edge_index = cora.edge_index_with_self_loops  # (2, E)
    with torch.no_grad():
        logits_ours, alphas = ours(cora.x, edge_index, return_attention=True)  # (N, C), [(E, 8), (E, 1)]
        hidden, (_, alpha_pyg) = conv1(cora.x, edge_index, return_attention_weights=True)  # (N, 64), (E, 8)
        logits_pyg = conv2(F.elu(hidden), edge_index)  # (N, C)
    torch.testing.assert_close(logits_pyg, logits_ours, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(alpha_pyg, alphas[0], atol=1e-6, rtol=1e-4)
    difference = (logits_pyg - logits_ours).abs().max().item()
    print(f"Cora, logits {tuple(logits_ours.shape)}: max |gatkit - PyG| = {difference:.1e}; "
          f"first-layer attention (E, H) = {tuple(alpha_pyg.shape)} agrees too")

# %% [markdown]
# ### The receptive field, and why it must be sampled
#
# A layer's output at node `i` reads only `i`'s incoming edges. So `L` layers' outputs at a set
# of target nodes read only the nodes within `L` hops of them: their **receptive field**.
# `gatkit.train` already uses this (chapter 07): `Subgraph.around` cuts out the receptive field
# of the loss, with one edge list per layer, and the training step runs on that alone, with
# exactly the gradients of the whole graph. How large is it on Cora for the 140 training nodes,
# as the network gets deeper?

# %%
field = [len(cora.train_idx)]  # nodes read, from 0 to 4 layers
for layers in (1, 2, 3, 4):
    nodes, sub_edges, _, _ = receptive_field(cora.edge_index_with_self_loops, cora.num_nodes, cora.train_idx, layers)
    field.append(len(nodes))
    print(f"{layers} layer(s): the loss on {len(cora.train_idx)} nodes reads {len(nodes):4d} of {cora.num_nodes} nodes "
          f"and {sub_edges.shape[1]:5d} of {cora.edge_index_with_self_loops.shape[1]} edges "
          f"({len(nodes) / field[-2]:.1f} times the field of one layer less)")
mean_in_degree = cora.edge_index_with_self_loops.shape[1] / cora.num_nodes
growth = [after / before for before, after in zip(field, field[1:])]  # (4,)
print(f"mean number of incoming edges per node, self-loop included: {mean_in_degree:.1f}")
assert abs(growth[0] / mean_in_degree - 1) < 0.25  # the first layer: about the average in-degree
assert all(later < earlier for earlier, later in zip(growth, growth[1:])) and field[-1] > 0.5 * cora.num_nodes
part = Subgraph.around(cora, cora.x, cora.edge_index_with_self_loops, ("train",), layers=2)
print("Subgraph.around, 2 layers: edges per layer", [e.shape[1] for e in part.edge_index], "nodes", part.x.shape[0])
assert part.x.shape[0] == len(receptive_field(cora.edge_index_with_self_loops, cora.num_nodes, cora.train_idx, 2)[0])

# %% [markdown]
# The first layer multiplies the receptive field by about the average number of incoming edges
# per node; each later one by less, as the field runs into nodes it already holds, until it
# covers most of the graph. With hundreds of neighbours per node,
# as in a social network, two layers around a batch of 100 targets can reach up to
# 100 · 200² = 4 million nodes. **Neighbour sampling** caps it:
# for each target keep at most `k` randomly chosen incoming edges per layer. With fan-outs
# `[k_1, k_2]` a batch of `B` targets reads at most `B · (1 + k_1 + k_1 k_2)` nodes, however
# large the graph. The sampled neighbourhood changes every step, so each step's gradient is a
# noisy estimate of the full one, as in stochastic gradient descent. PyTorch Geometric's
# `NeighborLoader` does the sampling (it needs the `pyg-lib` or `torch-sparse` package, which
# has no wheel for this PyTorch on a CPU, so the code is shown rather than run; chapter 13 builds
# the same sampler in plain torch, `gatkit.sampling`, and trains with it):
#
# ```python
# from torch_geometric.data import Data
# from torch_geometric.loader import NeighborLoader
#
# data = Data(x=cora.x, edge_index=cora.edge_index_with_self_loops, y=cora.y)
# loader = NeighborLoader(data, num_neighbors=[10, 10], batch_size=64,
#                         input_nodes=cora.train_idx, shuffle=True)
# for batch in loader:                      # one sampled subgraph per batch of 64 targets
#     optimizer.zero_grad()
#     logits = model(batch.x, batch.edge_index)   # any edge-list model: GATConv layers, or GAT(layer_type=3)
#     targets = slice(0, batch.batch_size)        # the batch's own nodes come first
#     F.cross_entropy(logits[targets], batch.y[targets]).backward()
#     optimizer.step()
# ```
#
# `num_neighbors=[-1, -1]` keeps every neighbour, and with all training nodes as one batch the
# sampled subgraph *is* the receptive field: that is exactly `Subgraph.around`, the
# full-neighbourhood special case. Only an edge-list layer can do any of this: a dense layer
# would still build an (H, n, n) tensor for each batch of n nodes, so on a batch it is as good
# as its N² allows and no better. Sampling is the GraphSAGE recipe (Hamilton et al., 2017);
# other ways to cut a big graph into pieces are in Going further.
#
# ## Summary
#
# - Time a training step with `time.perf_counter`, after warm-up steps, over several repeats,
#   and report the median with its spread; fix the number of threads; on a GPU, synchronise
#   before reading the clock. `gatkit.profiling.time_calls` does all of it.
# - `torch.profiler` shows where the time goes: in implementation 1 most of it is spent in
#   elementwise passes over (H, N, N) tensors; in the edge list no operation touches one.
# - One (H, N, N) tensor takes H · N² · itemsize bytes, and a dense training step holds a fixed
#   number of them at its peak, so its memory grows as N²; the edge list needs a fixed number of
#   bytes per edge. A `TorchDispatchMode` counts a step's tensor memory exactly.
# - On log-log axes a power law is a straight line; its least-squares slope is the scaling
#   exponent, trustworthy only over the range where the N-dependent work dominates.
# - Dense attention comes much closer to the edge list on graphs of a few dozen nodes than at
#   N = 2000 (on this CPU; a GPU was not measured), but implementation 3 (PyG's `GATConv`) is the one
#   that scales; beyond one machine, train on sampled neighbourhoods (`NeighborLoader`), of
#   which `gatkit.train.Subgraph` is the full-neighbourhood case.
#
# ## Check your understanding
#
# 1. Why is the median of several timed steps a better summary than their mean, and why is the
#    first step left out?
# 2. The profiler puts implementation 1's time mostly in elementwise operations, not in `bmm`.
#    Would a twice-as-fast matrix multiplication make its step much faster? What would?
# 3. Section 3 found that a dense step holds a fixed number of (H, N, N) tensors at its peak.
#    What happens to the largest trainable N if you halve that number? If you switch to float16?
# 4. The time exponent fitted for implementation 3 came out below 1. Does that mean the edge
#    list scales better than linearly? What would you do to measure its true exponent?
# 5. Why does neighbour sampling work for implementation 3 but not help the dense
#    implementations much?

# %% [markdown]
# ## Going further
#
# - Exercise 10.1's solution is the library's `gatkit.profiling.dense_bytes`, which the sweep
#   uses to refuse dense points that cannot fit.
# - **The full benchmark.** `python benchmarks/bench_scaling.py` runs the sweep of section 4
#   properly: every point in a fresh process, Cora and stochastic block models from 1 000 to
#   200 000 nodes, all four implementations, dense points refused before allocating when they
#   cannot fit. It writes every record and the log-log plots to `benchmarks/results/`. Compare
#   its largest dense N with the limit you extrapolated in section 5. `gatkit profile --sizes
#   500 1000 2000 --implementations 1 3 --out-dir results` runs a quick version from the command
#   line (`gatkit profile --help` lists the options).
# - PyTorch's profiler recipe ("PyTorch Profiler" in the PyTorch tutorials) covers
#   `schedule=`, TensorBoard traces and memory profiling (`profile_memory=True`); "Extending
#   PyTorch: `__torch_dispatch__`" explains the mechanism behind `TensorMemory`. PyTorch's
#   "Performance Tuning Guide" covers the CPU side of a step: threads, and memory allocators
#   such as jemalloc and tcmalloc.
# - Hamilton, Ying and Leskovec, *Inductive Representation Learning on Large Graphs* (NeurIPS
#   2017): GraphSAGE and neighbour sampling. Chiang et al., *Cluster-GCN* (KDD 2019) and Zeng et
#   al., *GraphSAINT* (ICLR 2020) train on clusters or sampled subgraphs instead. PyTorch
#   Geometric's `ClusterLoader` and `GraphSAINTSampler` implement them.
# - Chapter 13, *Beyond one machine*, samples neighbourhoods, trains data-parallel on
#   `torch.distributed` and splits a graph between processes.
# - For graphs that do not fit in one machine's memory at all: PyG's remote backends
#   (`FeatureStore`/`GraphStore`) and DGL's distributed training partition the graph across
#   machines.
#
# ### Appendix: why peak RSS is a poor memory measure
#
# The operating system's figure for a process's memory is its **peak resident set size** (RSS),
# which `measure` reports as `peak_mb`. It counts everything (the interpreter, PyTorch's
# libraries, the allocator's spare blocks), and it is the peak over the **whole life of the
# process**: it never goes down. So the records of section 4's sweep, all made in this process,
# never drop from one to the next, and every implementation 3 record reports at least what
# implementation 1 reached at N = 2000. The cure is one fresh process per point, as the
# benchmark does: `measure_in_fresh_process` runs `python -m gatkit.profiling` for one point and
# reads its record back (a few seconds, for starting Python and importing PyTorch again).

# %%
in_order = [r["peak_mb"] for r in records]
peak_mb_3 = [r["peak_mb"] for r in records if r["implementation"] == "3"]
dense_2000 = next(r["peak_mb"] for r in records if r["implementation"] == "1" and r["num_nodes"] == 2000)
fresh = measure_in_fresh_process("3", 2000, repeats=3, warmup=1, threads=1)
print(f"peak_mb in this process: imp. 1 at N = 2000 {dense_2000:.0f} MB, imp. 3 at every N "
      f"{min(peak_mb_3):.0f} .. {max(peak_mb_3):.0f} MB; imp. 3 at N = 2000 in a fresh process: "
      f"{fresh['peak_mb']:.0f} MB, of which {fresh['baseline_mb']:.0f} MB before the model existed")
assert all(later >= earlier for earlier, later in zip(in_order, in_order[1:]))  # a high-water mark never drops
assert min(peak_mb_3) >= dense_2000  # "implementation 3 needs as much as implementation 1"?
assert fresh["status"] == "ok" and fresh["peak_mb"] < dense_2000
assert fresh["peak_mb"] - fresh["baseline_mb"] < 0.25 * fresh["baseline_mb"]  # barely above the baseline

# %% [markdown]
# In a fresh process the edge list's peak is barely above the baseline: its tensors are small
# next to PyTorch itself. For memory as a function of N, count tensors as section 3 does; for
# memory against a machine's limit, RSS in a fresh process is what counts.

# %%
print(f"chapter run time: {time.perf_counter() - chapter_started:.0f} s")
