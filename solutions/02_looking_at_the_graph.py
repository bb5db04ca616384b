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
# # Chapter 02 · Looking at the graph
#
# Chapter 01 turned Cora into tensors. Before we build a model on them, we read the graph the
# way a model will meet it. Four questions decide a lot about how a Graph Attention Network
# behaves here:
#
# 1. **How many neighbours does a node have, and are they linked to each other?** A GAT layer
#    computes one softmax per node, over its neighbours: the degree is the size of that softmax.
# 2. **Is the graph connected?** Information only travels along edges, one hop per layer.
# 3. **Do linked papers share a class?** If they mostly do (*homophily*), averaging neighbours is
#    already a good classifier, and attention has little to correct.
# 4. **How are the classes spread over the splits?** It decides what the accuracy numbers mean.
#
# Then we draw all of Cora, zoom into one node's neighbourhood, and build an explorer to look
# around yourself. You will write four small functions on the way, each checked automatically.

# %%
import time

import igraph as ig
import matplotlib.pyplot as plt
from matplotlib.colors import to_rgb
import networkx as nx
import numpy as np
import torch
from IPython.display import display

from gatkit import graph, load_planetoid, viz
from course.checks import exercise
from gatkit.explorer import explore, explorer, format_stats

torch.manual_seed(0)
cora = load_planetoid("cora", progress=False)
edge_index, y, num_nodes = cora.edge_index, cora.y, cora.num_nodes  # (2, E), (N,), N
class_names = cora.class_names
print(cora)

# %% [markdown]
# ## 1. Degrees
#
# Recall the convention: column `k` of `edge_index` is an edge `edge_index[0, k] -> edge_index[1, k]`,
# from the **source** `j` to the **target** `i`. Node `i` attends over the sources of its incoming
# edges, so the number that matters is its **in-degree**: how many columns have `i` in row 1.
# Chapter 01 counted it with one `torch.bincount` over row 1; `minlength=num_nodes` gives nodes
# without incoming edges their 0 (`graph.degree` is the same line). Cora stores every edge in
# both directions, so counting sources (row 0) gives the same vector. That is a property of this
# graph, not of the code: on a directed graph the two differ.

# %%
deg = torch.bincount(edge_index[1], minlength=num_nodes)  # (N,) in-degree
out_deg = torch.bincount(edge_index[0], minlength=num_nodes)  # (N,)
assert torch.equal(deg, out_deg) and torch.equal(deg, graph.degree(edge_index, num_nodes))
assert int(deg.sum()) == edge_index.shape[1]  # every edge has exactly one target

hubs, hub_degrees = graph.top_degree_nodes(deg, k=5)
for node, d in zip(hubs.tolist(), hub_degrees.tolist()):
    print(f"node {node:4d}  degree {d:3d}  {class_names[y[node]]}")
print(f"mean degree {deg.float().mean():.2f}, median {int(deg.median())}")

# %% [markdown]
# ### The degree distribution
#
# `graph.degree_distribution` counts how many nodes have each degree (a `bincount` of the degree
# vector). Here are the smallest degrees, and the share of nodes with 2 to 4 neighbours:

# %%
counts = graph.degree_distribution(deg)  # (max degree + 1,): counts[k] = nodes with degree k
for k in range(1, 9):
    print(f"degree {k}: {int(counts[k]):4d} nodes  {'#' * (int(counts[k]) // 10)}")
two_to_four = float(counts[2:5].sum()) / num_nodes
five_or_less = float(counts[:6].sum()) / num_nodes
print(f"degree 2 to 4: {two_to_four:.0%} of nodes; at most 5: {five_or_less:.0%}; "
      f"degree 20 or more: {int(counts[20:].sum())} nodes; maximum: {len(counts) - 1}")
assert int(counts[0]) == 0 and int(counts.argmax()) == 2
assert 0.55 < two_to_four < 0.6 and five_or_less > 0.8
assert len(counts) - 1 == 168 and int(hubs[0]) == 1358 and int(hub_degrees[1]) < 168
assert deg.float().mean() > deg.median() and int(deg.median()) == 3

# %% [markdown]
# The distribution is **heavy-tailed**. No node is isolated, the most common degree is 2, more
# than half the nodes have 2 to 4 neighbours and over 80% have at most 5, yet one paper, node
# 1358, has 168. The mean (printed above) is larger than the median because the few hubs pull it
# up. The plots below are like those of the original PyTorch GAT project: in- and out-degree per
# node id (identical here, as we just asserted) and the distribution on log-log axes, where a heavy
# tail shows as a long straggling line instead of a quick drop.

# %%
fig = viz.plot_degrees(edge_index, num_nodes, name="cora")
plt.show()

# %% [markdown]
# What this means for GAT: node 1358's softmax runs over 169 terms (168 neighbours plus its
# self-loop), a degree-1 node's over 2. With uniform attention a neighbour of the hub would get a
# weight of 1/169, a degree-1 node's only neighbour 1/2. Attention lets a hub concentrate on the
# neighbours that matter, which a plain average cannot.
#
# ## 2. Clustering: are a node's neighbours linked?
#
# The degree says how many neighbours a node has; the **local clustering coefficient** says how
# closely knit they are. A node `i` with `d_i` neighbours has `d_i (d_i - 1) / 2` pairs of
# neighbours; every pair that is linked closes a **triangle** through `i`. With `T_i` such
# triangles,
#
# $$c_i = \frac{T_i}{d_i (d_i - 1) / 2},$$
#
# 1 when the neighbours form a clique, 0 when none of them are linked; a node with fewer than 2
# neighbours has no pairs and counts as 0 (networkx's convention). Clustering belongs to the
# undirected simple graph: an edge links two nodes however it is listed, and a self-loop links a
# node to itself, not to a neighbour.
#
# The triangles come from the dense adjacency matrix `A` (N, N), symmetric, 0/1, with zeros on the
# diagonal. `(A @ A)[i, k]` counts the paths `i - j - k`: the neighbours `i` and `k` have in
# common. Keeping only the `k` linked to `i` (times `A`, elementwise) and summing over `k` meets
# every triangle through `i` twice, once from each of its two other corners:
#
# $$T_i = \tfrac{1}{2} \sum_k (A A)_{ik} A_{ik} = \tfrac{1}{2} (A^3)_{ii}.$$
#
# ## Exercise 2.1: the clustering coefficient
#
# Write `clustering_coefficients(edge_index, num_nodes)` returning a float (N,) tensor, `c_i` for
# every node (about 8 lines). Build `A` so that it is symmetric whether an edge is listed one way,
# both ways or twice, and zero on the diagonal; then take `T` and `d` from `A`. The check feeds a
# toy graph with edges listed one way only, two self-loops, a node of degree 1 and an isolated
# last node; a random directed graph; and Cora with its self-loops (dense, `A` takes 29 MB).


# %%
def clustering_coefficients(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Share of each node's pairs of neighbours that are linked (0 below two neighbours)."""
    ### BEGIN SOLUTION
    adj = torch.zeros(num_nodes, num_nodes)  # (N, N)
    adj[edge_index[1], edge_index[0]] = 1.0  # j -> i; a repeated column just sets 1 again
    adj = torch.maximum(adj, adj.T)  # undirected: either direction links both nodes
    adj.fill_diagonal_(0.0)  # a self-loop is not a neighbour
    triangles = (adj @ adj * adj).sum(dim=1) / 2  # (N,) each triangle seen from its two other corners
    neighbours = adj.sum(dim=1)  # (N,)
    pairs = neighbours * (neighbours - 1) / 2  # (N,)
    return torch.where(pairs > 0, triangles / pairs.clamp(min=1), torch.zeros_like(pairs))
    ### END SOLUTION


clustering_coefficients = exercise("2.1", clustering_coefficients)

# %% [markdown]
# The mean of `c_i` over all nodes is the **average clustering**. networkx counts triangles its
# own way, and igraph a third:

# %%
local = clustering_coefficients(edge_index, num_nodes)  # (N,)
clustering = float(local.mean())
clustering_nx = nx.average_clustering(graph.to_networkx(edge_index, num_nodes))
clustering_ig = graph.to_igraph(edge_index, num_nodes).transitivity_avglocal_undirected(mode="zero")
print(f"average clustering: yours {clustering:.4f}, networkx {clustering_nx:.4f}, igraph {clustering_ig:.4f}")
print(f"nodes with clustering 0: {float((local == 0).double().mean()):.0%}; "
      f"with clustering 1: {int((local == 1).sum())}")
assert abs(clustering - clustering_nx) < 1e-6 and abs(clustering - clustering_ig) < 1e-6
assert abs(clustering - 0.24) < 0.005
density = edge_index.shape[1] / (num_nodes * (num_nodes - 1))  # share of possible edges present
print(f"share of possible edges present: {density:.3%}, the clustering a random graph this sparse would have")
assert density < 0.002 and clustering > 100 * density

# %% [markdown]
# An average clustering of about 0.24 means that, averaged over the papers, about a quarter of the
# pairs of a paper's neighbours are linked themselves: over a hundred times what chance would give
# in a graph this sparse (under 0.2% of all possible edges exist, chapter 01). Citation graphs are
# locally dense: papers on one topic cite each other.
#
# Which papers are clustered? Grouped by degree:

# %%
bands = [(1, 1), (2, 3), (4, 5), (6, 9), (10, 19), (20, 168)]
band_means = []
for low, high in bands:
    band = (deg >= low) & (deg <= high)  # (N,) bool
    band_means.append(float(local[band].mean()))
    degrees = f"{low}" if low == high else f"{low} to {high}"
    print(f"degree {degrees:>10s}: {int(band.sum()):4d} nodes, mean clustering {band_means[-1]:.2f}")
assert band_means[0] == 0 and 0.3 < band_means[1] < 0.37 and band_means[-1] < 0.1 and int((deg >= 20).sum()) == 24
assert all(a > b for a, b in zip(band_means[1:], band_means[2:]))  # falls with the degree from 2 on

# %% [markdown]
# Clustering falls with the degree: papers with 2 or 3 neighbours have about a third of their
# neighbour pairs linked, the 24 hubs of degree 20 or more under a tenth: a hub's many
# neighbours are mostly not linked to each other.
#
# Beware: a second number is also called "clustering". The **global clustering** or
# **transitivity**, 3 x triangles / connected triples, is the share of *all* pairs of neighbours
# in the graph that are linked. That is the same `c_i`, averaged with the weight
# `d_i (d_i - 1) / 2` instead of 1: node 1358 alone has 168 x 167 / 2 = 14028 pairs of
# neighbours, so the hubs dominate it.

# %%
# no self-loops and no repeated columns, so deg is the degree of the simple graph
assert (edge_index[0] != edge_index[1]).all() and torch.unique(edge_index, dim=1).shape[1] == edge_index.shape[1]
pairs = deg * (deg - 1) / 2  # (N,) pairs of neighbours
assert int(pairs[1358]) == 14028
transitivity = float((local * pairs).sum() / pairs.sum())
transitivity_ig = graph.to_igraph(edge_index, num_nodes).transitivity_undirected()
hub_pairs = float(pairs[deg >= 20].sum() / pairs.sum())
print(f"transitivity: yours {transitivity:.4f}, igraph {transitivity_ig:.4f} "
      f"(average clustering {clustering:.4f}); the hubs of degree >= 20 hold {hub_pairs:.0%} of all pairs")
assert abs(transitivity - transitivity_ig) < 1e-6 and transitivity < clustering / 2 and hub_pairs > 0.5

# %% [markdown]
# Cora's transitivity is under half its average clustering: more than half of all the pairs of
# neighbours belong to the 24 hubs, whose clustering is low. Both numbers are correct; they
# answer different questions (a typical paper, or a typical pair of neighbours), so say which
# one you quote. The networkx function `average_clustering` is the first, `transitivity` the
# second.
#
# ## 3. Connected components
#
# Two nodes are in the same **connected component** if a path of edges joins them. A GAT layer
# moves information one hop, so nodes in different components never exchange anything, however
# many layers we stack.
#
# A simple way to find components works in the same "message passing" style as GAT itself:
# give every node a label (its own id), then repeatedly let every node take the **smallest** label
# among itself and its neighbours. Labels flow one hop per round; when nothing changes, every
# node holds the smallest id of its component. That final labelling does not depend on the
# algorithm, which is why we ask for exactly it.
#
# ## Exercise 2.2: connected components by label propagation
#
# Write `component_labels(edge_index, num_nodes)` returning an int64 (N,) tensor: for every node,
# the smallest node id in its component. Treat edges as undirected (the check lists each edge of
# its toy graph once) and repeat until the labels stop changing. Useful:
# `t.scatter_reduce(0, index, src, reduce="amin")` puts into `t[index[k]]` the minimum of
# `t[index[k]]` and `src[k]` over all `k`, returning a new tensor.


# %%
def component_labels(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Each node's smallest reachable node id (edges count in both directions)."""
    ### BEGIN SOLUTION
    labels = torch.arange(num_nodes)  # (N,) every node starts as its own component
    source, target = edge_index
    while True:
        new = labels.scatter_reduce(0, target, labels[source], reduce="amin")  # (N,)
        new = new.scatter_reduce(0, source, labels[target], reduce="amin")  # and backwards
        if torch.equal(new, labels):
            return labels
        labels = new
    ### END SOLUTION


component_labels = exercise("2.2", component_labels)

# %%
labels = component_labels(edge_index, num_nodes)  # (N,)
sizes = graph.component_sizes(labels)  # largest first
print(f"{len(sizes)} components; the largest has {int(sizes[0])} nodes ({int(sizes[0]) / num_nodes:.1%})")
print("the next sizes:", sizes[1:12].tolist(), "...")
print("components of 2 nodes:", int((sizes == 2).sum()))
assert len(sizes) == 78 and int(sizes[0]) == 2485 and int(sizes[1]) == 26 and int(sizes[2]) < 10
assert int((sizes == 2).sum()) == 57

# Two independent libraries agree: networkx and igraph.
nx_sizes = sorted((len(c) for c in nx.connected_components(graph.to_networkx(edge_index, num_nodes))), reverse=True)
ig_sizes = sorted(graph.to_igraph(edge_index, num_nodes).connected_components().sizes(), reverse=True)
assert nx_sizes == ig_sizes == sizes.tolist()

# %% [markdown]
# **Cora is not connected.** It has 78 components: one giant component with 2485 of the 2708
# papers (about 92%), one of 26 nodes, and then very small ones: 57 of them are lone pairs of
# papers that cite each other and nothing else. For a node in a 2-node component, GAT has
# exactly one neighbour to learn from, however deep the network.
#
# How far apart are nodes inside the giant component? Its **diameter**, the longest shortest
# path, is computed by igraph:

# %%
giant = graph.to_igraph(edge_index, num_nodes).subgraph(graph.largest_component(edge_index, num_nodes).tolist())
diameter = giant.diameter()
print(f"diameter of the giant component: {diameter} hops")
assert diameter == 19

# %% [markdown]
# A 2-layer GAT, as in the paper, lets each node see only its 2-hop neighbourhood; the two papers
# furthest apart in it are 19 hops apart. Section 7 looks at how big such neighbourhoods are.
#
# ## 4. Homophily: do neighbours share a class?
#
# **Edge homophily** is the share of edges that join two nodes of the same class. It is the single
# most useful number to know before training a GNN on a node classification task: a GNN mixes
# each node with its neighbours, which helps exactly when neighbours tend to share the label.
#
# ## Exercise 2.3: edge homophily
#
# Write `edge_homophily(edge_index, y)` returning a 0-dim float tensor: the share of the columns
# `(j, i)` of `edge_index` with `y[j] == y[i]`. The input may hold self-loops (the check passes
# Cora's `edge_index_with_self_loops`); a self-loop always joins a node to its own class, so it
# would only inflate the number: leave self-loops out.


# %%
def edge_homophily(edge_index: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Share of the non-loop edges whose two ends have the same class."""
    ### BEGIN SOLUTION
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]  # (2, E) without self-loops
    same = y[edge_index[0]] == y[edge_index[1]]  # (E,) bool
    return same.double().mean()
    ### END SOLUTION


edge_homophily = exercise("2.3", edge_homophily)

# %%
homophily = float(edge_homophily(edge_index, y))
homophily_loops = float((y[cora.edge_index_with_self_loops[0]] == y[cora.edge_index_with_self_loops[1]]).double().mean())
ends = torch.bincount(y[edge_index[0]], minlength=cora.num_classes).double()  # (C,) edge ends per class
random_wiring = float(((ends / ends.sum()) ** 2).sum())
print(f"edge homophily: {homophily:.3f} (with self-loops counted it would read {homophily_loops:.3f})")
print(f"if edges ignored classes (same degrees): {random_wiring:.3f}")
assert abs(homophily - 0.810) < 5e-4 and homophily_loops > homophily
assert abs(homophily - graph.edge_homophily(edge_index, y)) < 1e-12
assert random_wiring < 0.2 and abs(homophily_loops - 0.849) < 5e-4

# %% [markdown]
# Cora is **strongly homophilous**: 81% of the edges join papers of the same class, against
# under 20% if the same nodes were wired at random. Per class it ranges from about 0.70
# (*Theory*, the most mixed class) to about 0.91 (*Genetic_Algorithms*). The black
# diamonds mark what random wiring would give for each class:

# %%
per_class = graph.class_homophily(edge_index, y, cora.num_classes)  # (C,)
assert abs(float(per_class.min()) - 0.70) < 0.005 and class_names[int(per_class.argmin())] == "Theory"
assert abs(float(per_class.max()) - 0.91) < 0.005 and class_names[int(per_class.argmax())] == "Genetic_Algorithms"
fig = viz.plot_homophily(edge_index, y, class_names)
plt.show()

# %% [markdown]
# How strong is that? A thought experiment: predict each test node's class as the most common
# class among its neighbours, **using the neighbours' true labels** (which a real model is not
# given):

# %%
votes = torch.zeros(num_nodes, cora.num_classes)  # (N, C) neighbour classes per node
votes.index_put_((edge_index[1], y[edge_index[0]]), torch.ones(edge_index.shape[1]), accumulate=True)
vote_accuracy = float((votes[cora.test_idx].argmax(dim=1) == y[cora.test_idx]).double().mean())
print(f"neighbour majority vote, test accuracy: {vote_accuracy:.1%}")
assert vote_accuracy > 0.83

# %% [markdown]
# That vote beats the 83.0% the GAT paper reports for a trained network, without looking at a
# single word of any paper. GAT has to recover the same signal from features and 140 labels.
#
# **Why homophily matters for attention.** GAT learns a weight for every edge. If nearly all
# neighbours share the node's class, there is little to gain from weighing them differently: the
# plain average is already the right thing to do. So on Cora we predict that trained attention
# stays **close to uniform** (each neighbour getting about 1/degree). Chapter 08 tests this, with
# histograms of attention entropy against the uniform baseline, and asks whether attention at
# least turns away from the minority of edges between classes. On a heterophilous graph (where
# links mostly join different classes) the story would be different.
#
# `graph.local_homophily` gives the same share per node, the basis of the explorer in section 8.
#
# ## 5. Class balance per split
#
# Chapter 01 built the standard split: 140 training nodes, 500 for validation, 1000 for the test.
# How are the classes spread over them?

# %%
splits = {"train": cora.train_idx, "val": cora.val_idx, "test": cora.test_idx}
balance = graph.class_balance(y, splits, cora.num_classes)  # {split: (C,) counts}
print(f"{'class':24s}" + "".join(f"{name:>7s}" for name in balance) + "    all")
for c, name in enumerate(class_names):
    print(f"{name:24s}" + "".join(f"{int(per_split[c]):7d}" for per_split in balance.values())
          + f"{int((y == c).sum()):7d}")
majority_baseline = float(balance["test"].max()) / len(cora.test_idx)
print(f"always answering {class_names[int(balance['test'].argmax())]}: {majority_baseline:.1%} test accuracy")
assert (balance["train"] == 20).all()
assert int(balance["test"].min()) == 64 and int(balance["test"].max()) == 319  # 6.4% and 31.9%
assert class_names[int(balance["test"].argmin())] == "Rule_Learning"
assert balance["test"].sort().values[:3].tolist() == [64, 91, 103]  # the two smallest: 6.4% and 9.1%, then 10.3%
assert class_names[int(balance["test"].argmax())] == "Neural_Networks" and 0.3 < majority_baseline < 0.33

# %% [markdown]
# The training split is **balanced by construction** (20 papers per class), but validation and
# test follow the natural class sizes: *Neural_Networks* is about 32% of the test set, the
# smallest classes only 6 to 9%. Two consequences: a model that always answers
# *Neural_Networks* scores about 32% (the floor to beat), and the model is trained on a class
# mix it will not see at test time.

# %%
fig = viz.plot_class_balance(y, splits, class_names)
plt.show()

# %% [markdown]
# ## 6. All of Cora in one picture
#
# Now the picture: every paper a dot coloured by class, its size growing with its degree; every
# citation a line, as wide as its **edge betweenness** (the number of shortest paths between
# pairs of nodes that run through it: wide edges are the graph's busiest links). A line between
# two papers of the same class takes their colour, a line between classes is grey, so homophily
# shows as colour.
#
# Two choices make it readable:
#
# - **Layout.** A force-directed layout (here Fruchterman-Reingold, 3000 iterations, seeded so
#   the picture is the same every run) pulls linked nodes together and pushes the rest apart, so
#   groups of papers that cite each other become visible. It is run on the giant component only;
#   the 77 small components would otherwise drift to the edges and shrink the picture, so they
#   are packed in rows underneath.
# - **Drawing.** igraph can draw straight into a matplotlib axes (`ig.plot(g, target=ax)`, no
#   cairo needed), but it makes one matplotlib object per node and per edge. Drawing all edges as
#   one `LineCollection` and all nodes as one `scatter` takes two objects in all.
#   `viz.draw_graph(..., backend="igraph")` does it the igraph way if you want to compare the two.

# %%
start = time.perf_counter()
layout = viz.graph_layout(edge_index, num_nodes, method="fr", seed=0)  # (N, 2)
layout_seconds = time.perf_counter() - start
assert np.array_equal(layout, viz.graph_layout(edge_index, num_nodes, method="fr", seed=0)), "seeded: same layout"

start = time.perf_counter()
fig = viz.draw_graph(edge_index, y, class_names=class_names, layout=layout)
fig.canvas.draw()  # render now, so the timing includes it
draw_seconds = time.perf_counter() - start
print(f"layout {layout_seconds:.1f} s, betweenness + drawing {draw_seconds:.1f} s")
plt.show()

# %% [markdown]
# What to look for:
#
# - **Classes form regions.** *Genetic_Algorithms* (green) sits apart as one tight group around
#   node 1358; *Neural_Networks* (red) is the biggest region; *Theory* (blue), the class with
#   the lowest homophily, is mixed with several other classes.
# - **Hubs** are the large dots, each the centre of a star; the five largest stars are mostly of
#   their hub's own colour.
# - **Wide edges** carry the most shortest paths: most of the 30 widest touch a hub (degree 20 or
#   more), and far more of them join two classes than of all edges.
# - **Grey edges** (between classes) are a minority (19%), mostly in the mixed centre.
# - Underneath, the **77 small components**: mostly pairs.
#
# The cell below reads each of these off the layout and the graph, so that the words are checked
# and not only seen. A dot's neighbours *in the picture* are its 10 nearest dots; the *centre* is
# the circle around the middle of the giant component that holds half of its nodes.

# %%
colours_rgb = viz.class_colours(cora.num_classes)
assert [colours_rgb[c] for c in (0, 2, 3)] == [to_rgb(f"tab:{name}") for name in ("blue", "green", "red")]

in_giant = torch.zeros(num_nodes, dtype=torch.bool)
in_giant[graph.largest_component(edge_index, num_nodes)] = True
points, classes = torch.from_numpy(layout[in_giant.numpy()]), y[in_giant]  # (n, 2), (n,)
nearest = torch.cdist(points, points).topk(11, largest=False).indices[:, 1:]  # (n, 10), self excluded
own_nearby = (classes[nearest] == classes[:, None]).double().mean(dim=1)  # (n,)
to_1358 = (points - torch.from_numpy(layout[1358])).norm(dim=1)  # (n,)
print(f"{'class':24s} {'nodes':>5s} {'own class nearby':>17s} {'median distance to 1358':>24s}")
for c, name in enumerate(class_names):
    print(f"{name:24s} {int((classes == c).sum()):5d} {float(own_nearby[classes == c].mean()):17.0%} "
          f"{float(to_1358[classes == c].median()):24.2f}")
purity = torch.stack([own_nearby[classes == c].mean() for c in range(cora.num_classes)])  # (C,)
closeness = torch.stack([to_1358[classes == c].median() for c in range(cora.num_classes)])  # (C,)
assert (purity > 1.5 * torch.bincount(classes) / len(classes)).all()  # every class clusters: regions
assert int(purity.argmax()) == int(closeness.argmin()) == class_names.index("Genetic_Algorithms")
assert int(torch.bincount(classes).argmax()) == class_names.index("Neural_Networks")
theory_nearby = torch.bincount(classes[nearest[classes == 0]].flatten(), minlength=cora.num_classes)  # (C,)
theory_nearby = theory_nearby / theory_nearby.sum()
print("the classes of Theory's nearby dots:", [f"{share:.0%}" for share in theory_nearby.tolist()])
assert theory_nearby[0] < 0.5 and int((theory_nearby[1:] > 0.05).sum()) >= 3  # several other classes nearby

hub_homophily = graph.local_homophily(edge_index, y)[hubs]  # the five largest hubs of section 1
print("local homophily of the five largest hubs:", [round(h, 2) for h in hub_homophily.tolist()])
assert (hub_homophily > 0.5).all()

cora_ig = graph.to_igraph(edge_index, num_nodes)
pairs = torch.tensor(cora_ig.get_edgelist()).T  # (2, E/2), each undirected edge once
widest = torch.tensor(cora_ig.edge_betweenness()).argsort(descending=True)[:30]
between = y[pairs[0]] != y[pairs[1]]  # (E/2,)
touch_hub = (deg[pairs[0, widest]] >= 20) | (deg[pairs[1, widest]] >= 20)  # (30,)
print(f"the 30 widest edges: {int(touch_hub.sum())} touch a hub, {float(between[widest].double().mean()):.0%} "
      f"join two classes (all edges: {float(between.double().mean()):.0%})")
assert touch_hub.double().mean() > 0.5 and between[widest].double().mean() > 2 * between.double().mean()

radius = (points - points.mean(dim=0)).norm(dim=1)  # (n,)
giant_pairs = pairs[:, in_giant[pairs[0]]]  # (2, edges of the giant component)
midpoints = torch.from_numpy((layout[giant_pairs[0]] + layout[giant_pairs[1]]) / 2)
in_centre = (midpoints - points.mean(dim=0)).norm(dim=1) < radius.median()
grey = y[giant_pairs[0]] != y[giant_pairs[1]]
print(f"in the centre: {float(in_centre[grey].double().mean()):.0%} of the grey edges, "
      f"{float(in_centre[~grey].double().mean()):.0%} of the others")
assert in_centre[grey].double().mean() > 0.5 and round(float(between.double().mean()), 2) == 0.19
assert int((sizes[1:] == 2).sum()) > (len(sizes) - 1) / 2  # small components: mostly pairs

# %% [markdown]
# Drawn with igraph itself, one small component looks like this (26 nodes: igraph's own
# Kamada-Kawai layout and its matplotlib drawer, still without cairo):

# %%
component_ids, component_counts = torch.unique(labels, return_counts=True)
second_id = component_ids[torch.argsort(component_counts, descending=True, stable=True)[1]]
second = torch.nonzero(labels == second_id).flatten()  # node ids of the second-largest component
small = graph.to_igraph(edge_index, num_nodes).subgraph(second.tolist())
colours = viz.class_colours(cora.num_classes)  # RGB tuples: igraph does not parse "tab:blue"
fig, ax = plt.subplots(figsize=(5, 4))
ig.plot(small, target=ax, layout=small.layout_kamada_kawai(), vertex_size=12,
        vertex_color=[colours[c] for c in y[second].tolist()], edge_color="gray")
ax.set_title(f"a component of {len(second)} nodes: {', '.join(sorted({class_names[c] for c in y[second].tolist()}))}")
assert len(second) == 26
plt.show()

# %% [markdown]
# ## 7. One node's neighbourhood
#
# A GAT layer updates node `i` from the nodes with an edge **into** `i`; a second layer reaches
# the nodes with an edge into those, and so on. After `k` layers node `i`'s output depends on every
# node that has a path of at most `k` edges **to** `i`: its **receptive field**. On an undirected
# graph the direction makes no difference, but the code should get it right anyway.
#
# ## Exercise 2.4: the receptive field
#
# Write `hop_distances(edge_index, num_nodes, node, hops)` returning an int64 (N,) tensor: 0 for
# `node`, `k` for the nodes whose shortest path **to** `node` has `k` edges (`k <= hops`), and -1
# for all others. Work hop by hop with a boolean `frontier`: the nodes at distance `k` are the
# sources of the edges whose target is at distance `k - 1`, minus the nodes already reached. The
# check uses a directed toy graph.


# %%
def hop_distances(edge_index: torch.Tensor, num_nodes: int, node: int, hops: int) -> torch.Tensor:
    """Hops from every node to ``node`` along the edges (at most ``hops``), -1 beyond."""
    ### BEGIN SOLUTION
    distance = torch.full((num_nodes,), -1)  # (N,)
    distance[node] = 0
    frontier = distance == 0  # (N,) bool
    for hop in range(1, hops + 1):
        reached = torch.zeros(num_nodes, dtype=torch.bool)  # (N,)
        reached[edge_index[0, frontier[edge_index[1]]]] = True  # sources of edges into the frontier
        frontier = reached & (distance < 0)
        distance[frontier] = hop
    return distance
    ### END SOLUTION


hop_distances = exercise("2.4", hop_distances)

# %%
field_sizes = {k: [int((hop_distances(edge_index, num_nodes, i, k) > 0).sum()) for i in range(0, num_nodes, 10)]
               for k in (1, 2, 3)}
for k, sizes_k in field_sizes.items():
    print(f"{k} hop{'s' if k > 1 else ' '}: mean {np.mean(sizes_k):6.1f} nodes, max {max(sizes_k):4d} "
          f"(every 10th node)")
hub_field = hop_distances(edge_index, num_nodes, 1358, 2)
print(f"node 1358 within 2 hops: {int((hub_field > 0).sum())} nodes "
      f"({int((hub_field == 1).sum())} at 1 hop, {int((hub_field == 2).sum())} at 2)")
assert 30 < np.mean(field_sizes[2]) < 40 and int((hub_field > 0).sum()) == 425

# %% [markdown]
# With two layers a typical node sees a few dozen other nodes (the mean for `k = 2` above),
# around 1% of the graph; the hub sees 425. The drawing puts the centre in the middle (a star),
# the nodes 1 hop away on the first dashed ring and the nodes 2 hops away on the second; each node
# sits next to the node that links it inwards, and the first ring is grouped by class, so the
# class mix of the neighbourhood reads at a glance. Node size grows with the degree in the whole
# graph.

# %%
fig = viz.draw_neighbourhood(edge_index, y, 1358, hops=2, class_names=class_names)
assert float(graph.local_homophily(edge_index, y)[1358]) > 0.9  # nearly all neighbours share its class
same_class_by_ring = [float((y[hub_field == k] == y[1358]).double().mean()) for k in (1, 2)]
print(f"node 1358's class at 1 hop: {same_class_by_ring[0]:.0%}, at 2 hops: {same_class_by_ring[1]:.0%}")
assert same_class_by_ring[1] < same_class_by_ring[0]
plt.show()

# %% [markdown]
# Node 1358 is a *Genetic_Algorithms* paper and so are nearly all of its 168 neighbours; the
# second ring is more mixed, as the legend counts show. A degree-3 node such as node 0 looks very
# different: three neighbours, a handful of nodes at 2 hops and, at 3 hops, the neighbourhood of
# a hub it happens to reach.

# %%
fig = viz.draw_neighbourhood(edge_index, y, 0, hops=3, class_names=class_names)
field_0 = hop_distances(edge_index, num_nodes, 0, 3)  # (N,)
ring_2 = torch.nonzero(field_0 == 2).flatten()
hub_0 = int(ring_2[deg[ring_2].argmax()])  # the best-connected node 2 hops from node 0
from_hub = torch.isin(torch.nonzero(field_0 == 3).flatten(), edge_index[0, edge_index[1] == hub_0])
print(f"node 0: {[int((field_0 == k).sum()) for k in (1, 2, 3)]} nodes at 1, 2, 3 hops; "
      f"node {hub_0} (degree {int(deg[hub_0])}) is 2 hops away and sends to {int(from_hub.sum())} of the 3-hop nodes")
assert int(deg[0]) == 3 and int((field_0 == 2).sum()) <= 5 and int(deg[hub_0]) >= 20 and from_hub.double().mean() > 0.5
plt.show()

# %% [markdown]
# ## 8. Explore
#
# `gatkit.explorer.explore(dataset, node, hops)` returns the drawing and a dict of statistics for
# any node: its class and split, degree, how many nodes sit at each hop, its neighbours' classes,
# and its **local homophily** (the share of its neighbours in its own class). `node` may be an id,
# `"highest degree"` or `"random"` (with a `seed`). Everything the widget below shows comes from
# this function, so you can also call it directly:

# %%
fig, stats = explore(cora, "highest degree", hops=1)
print(format_stats(stats))
assert stats["node"] == 1358 and stats["degree"] == 168 and stats["class"] == "Genetic_Algorithms"
assert stats["nodes_per_hop"] == {1: 168}
assert abs(stats["local_homophily"] - float(graph.local_homophily(edge_index, y)[1358])) < 1e-12
plt.show()

# %% [markdown]
# The panel below wires controls to `explore`: choose how to pick the node (by id, the highest
# degree, or at random with a seed) and the number of hops. Try a node from a small component
# (the smallest id of each component is in `labels`), a *Theory* paper, or a random node with
# a few different seeds: how often is the local homophily below Cora's 0.81? (The controls need a
# running notebook; everything above runs without them.)

# %% tags=["widget"]
panel = explorer(cora)
display(panel)

# %% [markdown]
# ## Summary
#
# - The degree (in-degree, counted on row 1 with `torch.bincount(..., minlength=N)`) is the size
#   of each node's attention softmax. Cora's degrees are heavy-tailed (median 3, maximum 168),
#   and Cora is not connected: 78 components, a giant one of 2485 nodes and 57 isolated pairs;
#   information never crosses between components.
# - The clustering coefficient counts triangles in the dense adjacency, `(A @ A * A).sum(1) / 2`
#   with `A` symmetric and free of self-loops. Cora's average clustering is about 0.24, over 100
#   times chance; hubs cluster least, so its transitivity, which weighs pairs of neighbours, is
#   under half of that.
# - Homophily is high (0.81 of edges join same-class papers), so averaging neighbours is already
#   a strong classifier, and trained attention is predicted to be close to uniform on Cora
#   (chapter 08 tests it).
# - The training split is balanced (20 per class); validation and test are not (about 32%
#   *Neural_Networks*).
# - A seeded force-directed layout of the giant component, drawn as one `LineCollection` and one
#   `scatter`, shows classes as regions, hubs as large dots and the busiest links as wide edges.
#
# ## Check your understanding
#
# 1. Why does the in-degree count row 1 and not row 0, although both give the same result on Cora?
# 2. In `(A @ A * A).sum(1) / 2`, why divide by 2? And what would a self-loop on node `i`, left on
#    the diagonal of `A`, add to node `i`'s count?
# 3. Label propagation needs as many rounds as what property of a component? Roughly how many
#    rounds does Cora need?
# 4. Why do self-loops inflate edge homophily, and why does GAT add them anyway?
# 5. A graph has edge homophily 0.2. What would you expect a GAT's attention to learn there, compared
#    with Cora?
# 6. What accuracy does a model get on Cora's test set by always answering the class most common
#    in the *training* split?

# %% [markdown] tags=["solution"]
# **Answers.**
#
# 1. A node attends over its incoming edges, the columns with it as target (row 1). On an
#    undirected graph every edge is stored both ways, so rows 0 and 1 hold the same multiset of
#    ids; on a directed graph they differ, and only row 1 is the softmax size.
# 2. A triangle `i, j, k` closes two walks from `i`, `i -> j -> k -> i` and `i -> k -> j -> i`;
#    the sum counts both. With `A[i, i] = 1`, every neighbour `k` gains a walk `i -> i -> k` and
#    the term `k = i` adds `(A @ A)[i, i] = d_i + 1`: `2 d_i + 1` more, about `d_i` phantom
#    triangles after halving, so even a star would look clustered. That is why the diagonal is
#    zeroed first.
# 3. A label moves one hop per round, so it takes as many rounds as the largest distance from a
#    component's smallest node to any node in it (at most the diameter), plus one round to see
#    that nothing changes. Cora's giant component has diameter 19, so at most 20 rounds.
# 4. A self-loop joins a node to itself, always "same class", so counting loops adds N free
#    matches (Cora: 0.810 becomes 0.849). GAT adds self-loops for a different reason: so that a
#    node's own features take part in its update with a learned weight.
# 5. Most neighbours are of another class, so averaging them would mislead; attention can gain
#    much more by weighing neighbours unevenly (or by weighing the self-loop heavily). Attention
#    far from uniform would be expected, unlike on Cora. (Zhu et al., under "Going further",
#    report that GAT does poorly on such graphs, and keep a node's own features apart from its
#    neighbours'.)
# 6. The training split has 20 nodes of every class, so there is no most common class: every
#    class ties, and whichever is picked scores its test share, between 6.4% (*Rule_Learning*)
#    and 31.9% (*Neural_Networks*).

# %% [markdown]
# ## Going further
#
# - This chapter's solutions are in the library as `gatkit.graph.local_clustering` (2.1, with a
#   sparse matrix product instead of a dense one), `connected_components` (2.2), `edge_homophily`
#   (2.3) and `gatkit.edges.hop_distances` (2.4); the degree is `gatkit.graph.degree`.
# - Watts and Strogatz, *Collective dynamics of 'small-world' networks* (Nature 1998): where the
#   local clustering coefficient comes from; Newman, *Networks* (2nd ed., 2018), the chapter on
#   measures and metrics, on it and on transitivity.
# - McPherson, Smith-Lovin, Cook, *Birds of a Feather: Homophily in Social Networks* (2001): where
#   the word comes from.
# - Zhu et al., *Beyond Homophily in Graph Neural Networks* (NeurIPS 2020) and Pei et al.,
#   *Geom-GCN* (ICLR 2020): heterophilous benchmarks, node homophily, and what breaks there.
# - Fruchterman and Reingold, *Graph Drawing by Force-directed Placement* (1991), and the igraph
#   documentation of `Graph.layout_drl` and `layout_kamada_kawai`: try `viz.graph_layout(...,
#   method="drl")` and compare its clusters with these.
# - Barabási, *Network Science* (free online), chapters 4 and 5: heavy-tailed degree distributions,
#   and where they come from.
