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
# # Chapter 01 · Loading Cora
#
# A Graph Attention Network consumes four things:
#
# | name | shape | dtype | what it is |
# |---|---|---|---|
# | `x` | (N, F) | float32 | one feature vector per node |
# | `edge_index` | (2, E) | int64 | the edges, one column `(source j, target i)` per edge |
# | `y` | (N,) | int64 | one class id per node |
# | `train_idx`, `val_idx`, `test_idx` | (n,) | int64 | which nodes' labels we may learn from, tune on, and report |
#
# In this chapter we build all four for **Cora**, a graph of machine-learning papers (nodes)
# and the citations between them (edges), starting from the raw files that every GNN paper since
# 2016 has used. Along the way: what each file holds, why features are stored as sparse matrices,
# how the edges get their final form, and why the split looks the way it does.
#
# By the end you will have written four small functions (each checked automatically) and matched
# `gatkit.load_planetoid("cora")` tensor for tensor.

# %%
import pickle

import numpy as np
import scipy.sparse as sp
import torch

import gatkit
from gatkit import data, edges
from course.checks import exercise

torch.manual_seed(0)
print("gatkit", gatkit.__version__, "| torch", torch.__version__)

# %% [markdown]
# ## 1. The Planetoid files
#
# Yang, Cohen and Salakhutdinov published Cora, Citeseer and PubMed in one format with their
# Planetoid paper (2016), and the GCN and GAT papers reused it unchanged. For Cora there are eight
# files named `ind.cora.<part>`:
#
# | part | holds |
# |---|---|
# | `x`, `y` | features and one-hot labels of the **labelled training** nodes |
# | `allx`, `ally` | features and labels of **all nodes that are not test nodes** (a superset of `x`) |
# | `tx`, `ty` | features and labels of the **test** nodes |
# | `graph` | the citation graph as a dict `{node: [neighbours]}` |
# | `test.index` | the node ids of the test nodes, in the order of the rows of `tx` |
#
# `gatkit` downloads them on first use from the canonical source (the `data/` folder of the
# `kimiyoung/planetoid` repository), checks each against a SHA-256 checksum pinned in the code,
# and caches them under `data/`. A file that was truncated, corrupted or tampered with is refused
# with an error that names it.

# %%
paths = data.fetch_planetoid("cora", progress=False)
for part, path in paths.items():
    size, sha256 = data.CHECKSUMS["cora"][path.name]
    print(f"{path.name:22s} {size:>8,d} bytes  sha256 {sha256[:16]}...")
pickled = [path.name for path in paths.values() if path.read_bytes()[:2] == b"\x80\x02"]  # pickle protocol 2
print(f"{len(pickled)} of {len(paths)} files are pickles (protocol 2, the newest Python 2 can write)")
assert len(pickled) == 7 and "ind.cora.test.index" not in pickled

# %% [markdown]
# ### Pickles, and why we do not trust them
#
# Seven of the files are Python 2 *pickles*. Unpickling is not just reading data: a pickle names
# Python functions to call while it loads, so a tampered file can run any code on your machine.
# `gatkit` therefore unpickles with an allow-list: the files only need NumPy arrays, SciPy's CSR
# matrix, a list and a `defaultdict`, and anything else is refused *before* it is called.
# Here is a pickle that would run a shell command:


# %%
class Innocent:
    def __reduce__(self):
        import os

        return (os.system, ("echo you have been hacked",))


malicious = pickle.dumps(Innocent(), protocol=2)
try:
    data.safe_unpickle(malicious, filename="ind.cora.x")
except data.DataError as error:
    print("refused:", error)

# %% [markdown]
# ## 2. Features: a sparse bag of words
#
# Each paper is described by which of F = 1433 dictionary words it contains: a 0/1 vector.
# Let us open the three feature files.

# %%
x_file = data.read_raw_file("cora", "x")
allx = data.read_raw_file("cora", "allx")
tx = data.read_raw_file("cora", "tx")
for name, matrix in [("x", x_file), ("allx", allx), ("tx", tx)]:
    print(f"{name:5s} {type(matrix).__name__:11s} shape {matrix.shape}, {matrix.nnz:,d} non-zeros")

num_features = allx.shape[1]
assert num_features == 1433
assert all(matrix.format == "csr" and (matrix.data == 1).all() for matrix in (x_file, allx, tx)), "0/1 CSR"
assert x_file.shape[0] == 140 and (x_file != allx[: x_file.shape[0]]).nnz == 0, "x is the first 140 rows of allx"

# %% [markdown]
# `x` is just the first 140 rows of `allx`. The matrices are `csr_matrix`: *compressed sparse
# row*. Almost every entry is zero, so storing them densely would waste memory and, worse,
# computation. Two sparse layouts matter in this course:
#
# - **COO** (coordinate): three arrays, `row`, `col`, `value`, one entry per non-zero. Easy to
#   build and to concatenate; `edge_index` is exactly a COO matrix without values.
# - **CSR** (compressed sparse row): the column indices and values sorted by row, plus `indptr`
#   (N + 1 numbers) where row `r` occupies positions `indptr[r]:indptr[r + 1]`. Fast row slicing
#   and fast matrix products, which is what a feature projection `x @ W` needs.
#
# On a 3 x 4 toy matrix:

# %%
toy = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 0, 0, 0], [1, 1, 1, 1]], dtype=np.float32))
print("CSR  indptr :", toy.indptr, " indices:", toy.indices, " data:", toy.data)
toy_coo = toy.tocoo()
print("COO  row    :", toy_coo.row, " col:", toy_coo.col)
assert list(toy.indptr) == [0, 2, 2, 6]  # row 1 is empty: indptr[1] == indptr[2]

# %% [markdown]
# How sparse is Cora? We count, rather than guess:

# %%
features_raw = sp.vstack([allx, tx]).tocsr()  # (N, F): every node's words, test rows still unordered
num_nodes = features_raw.shape[0]
density = features_raw.nnz / (num_nodes * num_features)
dense_bytes = num_nodes * num_features * 4  # float32
csr_bytes = features_raw.data.nbytes + features_raw.indices.nbytes + features_raw.indptr.nbytes
print(f"N = {num_nodes} nodes, density {density:.2%}, so {1 - density:.1%} of the entries are zero")
print(f"dense float32: {dense_bytes / 1e6:.1f} MB, CSR: {csr_bytes / 1e6:.2f} MB")
words_per_paper = np.asarray(features_raw.sum(axis=1)).ravel()
print(f"words per paper: min {words_per_paper.min():.0f}, median {np.median(words_per_paper):.0f}, "
      f"max {words_per_paper.max():.0f}")
assert num_nodes == 2708 and density < 0.02
assert round(100 * density) == 1  # "about 1% non-zero" (summary)

# %% [markdown]
# ### Putting the test rows in their place
#
# `allx` holds nodes `0 .. 1707` in order. The test nodes are not simply appended: `tx` row `k`
# belongs to node `test.index[k]`, and `test.index` is **not sorted**. The GCN reference code
# (which every later paper copied) stacks `allx` and `tx` and then moves the rows, so that row
# `i` of the result describes node `i`:

# %%
test_index = data.read_raw_file("cora", "test.index")  # (1000,) node ids, in tx's row order
print("first test.index entries:", test_index[:6].tolist(), "... sorted?", bool((np.diff(test_index) > 0).all()))

test_sorted = np.sort(test_index)
features_raw = features_raw.tolil()
features_raw[test_index, :] = features_raw[test_sorted, :]  # row of node test_sorted[k] -> test_index[k]
features_raw = features_raw.tocsr()
assert test_index.shape == (tx.shape[0],) == (1000,), "one node id per row of tx"
assert not (np.diff(test_index) > 0).all(), "test.index is not sorted"
assert allx.shape[0] == 1708 and test_sorted[0] == allx.shape[0] and test_sorted[-1] == num_nodes - 1

# %% [markdown]
# PyTorch has sparse tensors too. We convert the SciPy CSR matrix to a `torch.sparse_csr_tensor`
# holding the same three arrays:

# %%
x_raw = torch.sparse_csr_tensor(
    torch.from_numpy(features_raw.indptr).long(),
    torch.from_numpy(features_raw.indices).long(),
    torch.from_numpy(features_raw.data).float(),
    size=features_raw.shape,
    check_invariants=True,  # verify indptr/indices once, so a malformed matrix fails here
)  # (N, F) sparse
print(x_raw.layout, tuple(x_raw.shape), x_raw.values().numel(), "stored values")

# %% [markdown]
# ### Row normalisation
#
# The GAT paper feeds row-normalised features: each node's vector is divided by its sum (for
# Cora's 0/1 features, its number of words), so a long abstract and a short one weigh the same.
# A node with no words at all keeps a row of zeros (dividing by zero would give NaN, which would poison every node it touches).
#
# ## Exercise 1.1: row-normalise the features
#
# Write `row_normalise(features)`: it takes a sparse (or dense) (N, F) float tensor and returns a
# **dense** float32 (N, F) tensor whose non-empty rows sum to 1. Do not modify the input.


# %%
def row_normalise(features: torch.Tensor) -> torch.Tensor:
    """Dense copy of ``features`` with every non-zero row divided by its sum."""
    ### BEGIN SOLUTION
    dense = features.to_dense() if features.layout != torch.strided else features.clone()  # (N, F)
    row_sums = dense.sum(dim=1, keepdim=True)  # (N, 1)
    return dense / row_sums.clamp(min=1e-12)  # zero rows stay 0 / tiny = 0
    ### END SOLUTION


row_normalise = exercise("1.1", row_normalise)

# %%
x = row_normalise(x_raw)  # (N, F)
row_sums = x.sum(dim=1)
print("row sums: min", row_sums.min().item(), "max", row_sums.max().item())
assert x.shape == (2708, 1433) and x.dtype == torch.float32
assert torch.allclose(row_sums, torch.ones(num_nodes))

# %% [markdown]
# Every row of Cora sums to 1: every paper has at least one word (the minimum above is not 0).
# Citeseer is different, as we will see at the end.
#
# ## 3. Labels and the split
#
# `ally` and `ty` hold one-hot rows; the class id is the position of the 1. We reorder the test
# rows exactly as we did for the features.

# %%
ally = data.read_raw_file("cora", "ally")
ty = data.read_raw_file("cora", "ty")
y_file = data.read_raw_file("cora", "y")
labels_onehot = np.vstack([ally, ty])  # (N, C)
labels_onehot[test_index, :] = labels_onehot[test_sorted, :]
assert np.isin(labels_onehot, [0, 1]).all() and (labels_onehot.sum(axis=1) == 1).all(), "one-hot: one class per node"
y = torch.from_numpy(labels_onehot.argmax(axis=1)).long()  # (N,)
num_classes = labels_onehot.shape[1]

class_sizes = torch.bincount(y, minlength=num_classes)
for c, (name, size) in enumerate(zip(data.CLASS_NAMES["cora"], class_sizes.tolist())):
    print(f"{c} {name:24s} {size:4d} papers")
assert num_classes == 7
assert int(class_sizes.argmax()) == 3 and data.CLASS_NAMES["cora"][3] == "Neural_Networks"

# %% [markdown]
# The class names are not in the files. They come from the original Cora dataset (McCallum et
# al., 2000), matched by class size: the largest class, 3, is *Neural_Networks*.
#
# ### The standard split
#
# Planetoid fixed one split that all the papers report on:
#
# - **train**: the first 140 nodes (`len(y_file)`), the rows of the files `x` and `y`. The GAT
#   paper calls this *20 labelled nodes per class*;
# - **validation**: the next 500 nodes, used for early stopping and model selection;
# - **test**: the 1000 nodes listed in `test.index`.
#
# All other nodes are still in the graph with their features, only their labels are never
# used. That is the *transductive* setting: the model sees the whole graph while it trains, and
# attention can pass information from unlabelled neighbours to labelled nodes.

# %%
train_idx = torch.arange(y_file.shape[0])  # (140,)
val_idx = torch.arange(y_file.shape[0], y_file.shape[0] + 500)  # (500,)
test_idx = torch.from_numpy(test_sorted).long()  # (1000,)

print("train", len(train_idx), "val", len(val_idx), "test", len(test_idx),
      "unused labels", num_nodes - len(train_idx) - len(val_idx) - len(test_idx))
per_class_train = torch.bincount(y[train_idx], minlength=num_classes)
print("training labels per class:", per_class_train.tolist())
assert (len(train_idx), len(val_idx), len(test_idx)) == (140, 500, 1000) and (per_class_train == 20).all()
assert len(set(train_idx.tolist()) | set(val_idx.tolist()) | set(test_idx.tolist())) == 140 + 500 + 1000

# %% [markdown]
# ## 4. Edges: from an adjacency dict to `edge_index`
#
# The `graph` file maps each node to the list of papers it is linked to:

# %%
def raw_graph_quirks(graph: dict) -> dict:
    """Count what a raw adjacency dict repeats, loops, or lists from one end only."""
    listed = sum(len(neighbours) for neighbours in graph.values())
    pairs = {(node, m) for node, neighbours in graph.items() for m in neighbours}
    return {
        "nodes": len(graph),
        "entries": listed,
        "repeated": listed - len(pairs),
        "self-loops": sum(node == m for node, m in pairs),
        "one-way pairs": sum((m, node) not in pairs for node, m in pairs if node != m),
    }


graph = data.read_raw_file("cora", "graph")
print("node 0's neighbours:", graph[0])
cora_quirks = raw_graph_quirks(graph)
citeseer_quirks = raw_graph_quirks(data.read_raw_file("citeseer", "graph"))
print("cora    ", cora_quirks)
print("citeseer", citeseer_quirks)
assert cora_quirks["repeated"] > 0 and cora_quirks["self-loops"] == 0
assert citeseer_quirks["repeated"] > 0 and citeseer_quirks["self-loops"] > 0
assert cora_quirks["one-way pairs"] == citeseer_quirks["one-way pairs"] == 0

# %% [markdown]
# The raw lists have quirks (counted above): Cora repeats some neighbours, Citeseer repeats some
# and has papers that list themselves. Both files happen to list every pair from both ends, but a
# graph file from elsewhere may list each citation once, so our code must not rely on it.
# Citations have a direction, but Cora, like the GCN and GAT papers, is treated as
# **undirected**: if paper `a` cites `b`, information flows both ways. So:
#
# 1. every listed pair becomes two directed edges, `a -> b` and `b -> a`;
# 2. duplicate columns are dropped;
# 3. self-loops are dropped here: GAT adds exactly one per node later, on purpose.
#
# We store the result as `edge_index`, a (2, E) int64 tensor: row 0 holds the **source** `j`,
# row 1 the **target** `i`, and messages flow `j -> i`. This is the convention of the whole
# course and of PyTorch Geometric.
#
# ## Exercise 1.2: `edge_index` from the adjacency dict
#
# Write `edge_index_from_adjacency(adjacency, num_nodes)`. Any column order is fine; the check
# compares sets of edges, on a toy dict with one of each quirk and on Cora. Useful: `torch.tensor(list_of_pairs).T`, `torch.cat`, `.flip(0)`,
# `torch.unique(t, dim=1)`.


# %%
def edge_index_from_adjacency(adjacency: dict, num_nodes: int) -> torch.Tensor:
    """Undirected (2, E) int64 edge list: both directions, no duplicates, no self-loops."""
    ### BEGIN SOLUTION
    pairs = [(node, m) for node, neighbours in adjacency.items() for m in neighbours]
    one_direction = torch.tensor(pairs, dtype=torch.long).reshape(-1, 2).T  # (2, E0)
    both = torch.cat([one_direction, one_direction.flip(0)], dim=1)  # (2, 2 * E0)
    both = both[:, both[0] != both[1]]  # drop self-loops
    return torch.unique(both, dim=1)  # (2, E)
    ### END SOLUTION


edge_index_from_adjacency = exercise("1.2", edge_index_from_adjacency)

# %%
edge_index = edge_index_from_adjacency(graph, num_nodes)  # (2, E)
num_edges = edge_index.shape[1]
print("edge_index", tuple(edge_index.shape), edge_index.dtype, f"= {num_edges // 2} undirected edges")
assert num_edges == 10556

# Undirected: the reversed edge list holds exactly the same edges.
forward = set(map(tuple, edge_index.T.tolist()))
assert forward == set(map(tuple, edge_index.flip(0).T.tolist()))

# %% [markdown]
# The **in-degree** of node `i` is the number of columns whose target is `i`. `torch.bincount`
# counts them in one call:

# %%
degree = torch.bincount(edge_index[1], minlength=num_nodes)  # (N,)
hub = int(degree.argmax())
print(f"degree: min {degree.min().item()}, median {degree.median().item()}, max {degree.max().item()} "
      f"(node {hub}, class {data.CLASS_NAMES['cora'][y[hub]]})")
assert degree.max() == 168 and int((degree == 168).sum()) == 1 and degree.min() >= 1
assert (degree <= 5).double().mean() > 0.5  # most papers have a handful of links (at most 5)

# %% [markdown]
# Most papers have a handful of links (the median is printed above), one has 168 (chapter 02 looks at this degree distribution
# closely). No node is isolated in Cora: the minimum degree is at least 1.
#
# ### Self-loops
#
# GAT's attention for node `i` runs over its neighbourhood **including `i` itself**, so that a
# node's own features take part in its new representation with a learned weight. In edge-list
# form that means one extra edge `i -> i` per node.
#
# ## Exercise 1.3: add self-loops
#
# Write `add_self_loops(edge_index, num_nodes)`: return a new (2, E + N) int64 tensor holding all
# of `edge_index` plus one column `(i, i)` for every node `i` in `0 .. num_nodes - 1`. The input
# has no self-loops yet; any column order is fine.


# %%
def add_self_loops(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """``edge_index`` plus one self-loop per node."""
    ### BEGIN SOLUTION
    loops = torch.arange(num_nodes).repeat(2, 1)  # (2, N)
    return torch.cat([edge_index, loops], dim=1)  # (2, E + N)
    ### END SOLUTION


add_self_loops = exercise("1.3", add_self_loops)

# %%
edge_index_sl = add_self_loops(edge_index, num_nodes)  # (2, E + N)
print("with self-loops:", tuple(edge_index_sl.shape))
assert edge_index_sl.shape[1] == 10556 + 2708 == 13264

# %% [markdown]
# ### The dense view
#
# The same graph as an N x N matrix is what the two *dense* GAT implementations of chapters 04
# and 05 use: `adj[i, j] = 1` when there is an edge `j -> i`. Row `i` then lists the sources of
# the edges **into** `i`, which is exactly the set a softmax over `i`'s neighbourhood runs over.
#
# ## Exercise 1.4: the dense adjacency matrix
#
# Write `to_dense_adjacency(edge_index, num_nodes)` returning a float32 (N, N) tensor with
# `adj[i, j] = 1` iff the column `(j, i)` is in `edge_index`. The check includes a *directed*
# graph, where the orientation matters.


# %%
def to_dense_adjacency(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Dense (N, N) adjacency, ``adj[i, j] = 1`` iff ``j -> i``."""
    ### BEGIN SOLUTION
    adj = torch.zeros(num_nodes, num_nodes)  # (N, N)
    adj[edge_index[1], edge_index[0]] = 1.0
    return adj
    ### END SOLUTION


to_dense_adjacency = exercise("1.4", to_dense_adjacency)

# %%
adj = to_dense_adjacency(edge_index_sl, num_nodes)  # (N, N)
dense_mb = adj.numel() * adj.element_size() / 1e6
edge_list_mb = edge_index_sl.numel() * edge_index_sl.element_size() / 1e6
print(f"dense adjacency: {dense_mb:.1f} MB, {adj.sum().item():.0f} ones ({adj.mean().item():.3%} filled)")
print(f"edge_index:      {edge_list_mb:.2f} MB")
assert torch.equal(adj, adj.T), "undirected graph: symmetric matrix"
assert adj.mean() < 0.002, "over 99.8% of the dense matrix is zeros"
assert adj.sum() == edge_index_sl.shape[1] and torch.equal(adj.sum(dim=1), (degree + 1).float())

# %% [markdown]
# The dense matrix is over 99.8% zeros and grows as N²; the edge list grows with E. For Cora both
# fit easily; chapter 10 measures where the dense form stops fitting.
#
# ## 5. Dtypes, and everything in one call
#
# - **int64** for `edge_index`, labels and index tensors: `index_select`, `scatter` and
#   `cross_entropy` expect `torch.long` indices.
# - **float32** for features: the precision of every GNN library and of the GPU kernels.
#
# `gatkit.load_planetoid` does everything we just did (and sorts the edges by target, so each
# neighbourhood is one contiguous block). Our tensors must agree with it exactly:

# %%
cora = data.load_planetoid("cora", progress=False)
print(cora)
assert (cora.edge_index[1].diff() >= 0).all(), "sorted by target"

assert torch.equal(cora.x_raw.to_dense(), x_raw.to_dense())
assert torch.allclose(cora.x, x)
assert torch.equal(cora.y, y)
assert set(map(tuple, cora.edge_index.T.tolist())) == forward
assert torch.equal(edges.to_dense_adjacency(cora.edge_index_with_self_loops, cora.num_nodes), adj)
for ours, theirs in [(train_idx, cora.train_idx), (val_idx, cora.val_idx), (test_idx, cora.test_idx)]:
    assert torch.equal(ours, theirs)
print("our tensors match gatkit.load_planetoid('cora')")

# %% [markdown]
# ### Citeseer, in one line
#
# The same loader reads Citeseer, the other dataset of the GAT paper. It has one trap: some
# ids in the test range have no row in `tx` and `ty`. Those papers are in the graph file, but
# their features and labels were left out when the data was made. The GCN reference code inserts
# all-zero feature and label rows for them, keeping node ids aligned; they belong to no split.
# They are also the all-zero feature rows, which is why `row_normalise` must not divide by zero.

# %%
citeseer = data.load_planetoid("citeseer", progress=False)
print(citeseer)
empty_rows = int((citeseer.x.sum(dim=1) == 0).sum())
print(f"{len(citeseer.missing_test_nodes)} filler nodes, {empty_rows} all-zero feature rows, "
      f"NaNs in x: {bool(citeseer.x.isnan().any())}")
isolated = int((torch.bincount(citeseer.edge_index[1], minlength=citeseer.num_nodes) == 0).sum())
print(f"Citeseer nodes without any edge: {isolated}")
splits = torch.cat([citeseer.train_idx, citeseer.val_idx, citeseer.test_idx])
assert len(citeseer.missing_test_nodes) == 15 and not citeseer.x.isnan().any()
assert set(torch.nonzero(citeseer.x.sum(dim=1) == 0).flatten().tolist()) == set(citeseer.missing_test_nodes.tolist())
assert not torch.isin(citeseer.missing_test_nodes, splits).any()  # they belong to no split
assert isolated > 0  # Citeseer has nodes without edges: they still need a self-loop

# %% [markdown]
# ## Summary
#
# - The Planetoid files split each dataset into labelled, other and test parts; the test rows
#   must be reordered by `test.index` before row `i` describes node `i`.
# - Features are a sparse bag of words (about 1% non-zero), stored as CSR; the GAT paper
#   row-normalises them, and all-zero rows must stay zero.
# - `edge_index` (2, E) holds one column per directed edge, row 0 the source `j`, row 1 the target
#   `i`; Cora becomes undirected, without duplicates, and gets one self-loop per node for GAT.
# - The standard split uses only 140 labels for training (20 per class), 500 for validation and
#   1000 for the test; everything else is unlabelled but part of the graph.
#
# ## Check your understanding
#
# 1. Why does `add_self_loops` take `num_nodes` instead of looking at the ids in `edge_index`?
# 2. What would go wrong downstream if the test rows of `tx` were appended without reordering?
# 3. Why is it harmless, for a symmetric graph, to mix up which row of `edge_index` is the source,
#    and when would it stop being harmless?
# 4. How many bytes would the dense adjacency matrix of a 100 000-node graph take in float32?

# %% [markdown] tags=["solution"]
# **Answers.**
#
# 1. A node with no edges (Citeseer has some) never appears in `edge_index`, but it still needs
#    its self-loop: without it its neighbourhood is empty and attention has nothing to normalise.
# 2. Features and labels would be attached to the wrong nodes: node `i`'s row would describe
#    another paper, the graph would connect the wrong feature vectors, and test accuracy would
#    measure nonsense (the model could still train on the correct training rows).
# 3. In an undirected graph every edge is present in both directions, so swapping the rows gives
#    the same set of columns. On a directed graph (chapter 06 tests one) a swap reverses every
#    message: a node would attend over the nodes it points to instead of those pointing to it.
# 4. 100 000² × 4 bytes = 40 GB; the edge list of a graph with average degree 4 takes
#    100 000 × 4 × 2 × 8 bytes = 6.4 MB.

# %% [markdown]
# ## Going further
#
# - This chapter's solutions are in the library as `gatkit.data.row_normalise` (1.1),
#   `gatkit.edges.edge_index_from_adjacency` (1.2), `add_self_loops` (1.3) and
#   `to_dense_adjacency` (1.4); `gatkit.load_planetoid` uses them.
# - The Planetoid paper: Yang, Cohen, Salakhutdinov, *Revisiting Semi-Supervised Learning with
#   Graph Embeddings*, ICML 2016; the split is described in its section 4.
# - Shchur et al., *Pitfalls of Graph Neural Network Evaluation* (2018), show how much rankings of
#   GNNs change when you use random splits instead of this fixed one.
# - PyTorch's sparse tensors: the `torch.sparse` documentation compares COO, CSR, CSC and BSR.
