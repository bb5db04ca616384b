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
# # Chapter 09 · Seeing embeddings
#
# A trained GAT turns each paper's 1433 word features into 64 hidden features (8 heads × 8, after
# ELU) and then into 7 logits, one per class. This chapter looks at those vectors. The usual way
# is a **t-SNE** picture: every node a dot in 2-D, coloured by its class. Such pictures are
# persuasive and easy to over-read, so every picture here comes with numbers that are computed
# twice, in the embedding's own space and in the picture:
#
# - the **k-NN label agreement** (exercise 9.1): how many of a node's nearest nodes share its class;
# - the **k-NN accuracy**: nearest-neighbour classification of the 1000 test nodes from the 140
#   training nodes alone;
# - the **silhouette** (exercise 9.2): how much closer a node is to its own class than to the
#   nearest other class.
#
# We look at the trained model's hidden layer and logits, then at an **untrained** GAT and the
# raw features, and ask where the class structure in each comes from. At the end a linear view,
# **PCA** (exercise 9.3), shows what t-SNE gives up. The finished tools live in
# `gatkit.embeddings` (`tsne`, `pca`, `knn_agreement`, `knn_accuracy`, `silhouette`) and
# `gatkit.viz` (`plot_embeddings`, `plot_embedding_panels`).

# %%
import time

import matplotlib.pyplot as plt
import torch
from sklearn.metrics import silhouette_score

from gatkit import embeddings, load_planetoid, viz
from course.checks import exercise
from gatkit.train import build_model, paper_config, train

torch.manual_seed(0)
chapter_started = time.perf_counter()

cora = load_planetoid("cora", progress=False)
x = cora.x_sparse  # (N, F) sparse CSR, for the model
edge_index = cora.edge_index_with_self_loops  # (2, E), row 0 source j, row 1 target i
y = cora.y  # (N,)
N, F_in, C = cora.num_nodes, cora.num_features, cora.num_classes
train_idx, test_idx = cora.train_idx, cora.test_idx  # (140,), (1000,)
class_names = cora.class_names
K = 10  # neighbours per node, for every k-NN number in this chapter
print(f"N = {N}, F = {F_in}, C = {C}; {len(train_idx)} training and {len(test_idx)} test nodes")
assert (N, F_in, C, len(train_idx), len(test_idx)) == (2708, 1433, 7, 140, 1000)

# %% [markdown]
# ## 1. What the layers produce
#
# We train the paper's GAT once with the library's loop, `gatkit.train` (chapter 07's recipe,
# seed 0), and ask the model for every layer's output with `model.hidden(x, edge_index)`. It runs
# in eval mode (no dropout) without gradients and returns a list: the hidden layer after ELU,
# then the logits.

# %%
config = paper_config(seed=0)
assert (config.hidden_features, config.heads) == (8, (8, 1))  # 8 heads x 8 features, then 1 head
result = train(config, dataset=cora, out_dir=None, progress=False, test=True)
model = result.model
hidden, logits = model.hidden(x, edge_index)  # (N, 64), (N, 7)
test_acc = result.metrics["test_acc"]
print(f"trained in {result.seconds:.1f} s ({result.epochs_run} epochs); test accuracy {test_acc:.1%}")
print(f"hidden {tuple(hidden.shape)}, logits {tuple(logits.shape)}")
assert hidden.shape == (N, 64) and logits.shape == (N, C)
assert (hidden > -1).all()  # ELU's outputs are above -1
torch.testing.assert_close(logits, model.eval()(x, edge_index))  # the last output is the model's logits

# %% [markdown]
# For comparison, the same architecture straight after initialisation (seed 0), whose weights
# have seen no label at all:

# %%
torch.manual_seed(0)
untrained = build_model(paper_config(), F_in, C)
untrained_hidden, untrained_logits = untrained.hidden(x, edge_index)  # (N, 64), (N, 7)
assert untrained_hidden.shape == (N, 64)

# %% [markdown]
# ## 2. Are my nearest nodes of my class?
#
# The simplest question to ask of an embedding: take a node, find the `k` nodes closest to it
# (Euclidean distance), and count how many share its class. Averaged over all nodes this is the
# **k-NN label agreement**. A node must not count itself: its distance to itself is 0, so it
# would always be its own nearest neighbour, and always of the right class.
#
# If neighbours were picked at random, a node of class `c` would find a share `p_c` of class-`c`
# nodes among them (`p_c` the share of class `c` among all nodes), so the agreement would be
# `Σ_c p_c²` on average. That is the floor to compare with:

# %%
class_shares = torch.bincount(y, minlength=C).float() / N  # (C,)
chance = (class_shares ** 2).sum().item()
print(f"agreement of random neighbours: {chance:.3f}")

# %% [markdown]
# ## Exercise 9.1: k-NN label agreement
#
# Write `knn_agreement(z, labels, k)`: `z` (N, D) one embedding per node, `labels` (N,). For each
# node take its `k` nearest **other** nodes by Euclidean distance and the share of them with the
# node's label; return the mean over all nodes as a 0-dim float tensor (about 4 lines).
# `torch.cdist(z, z)` gives all pairwise distances (N, N); `Tensor.topk(k, dim=1, largest=False)`
# the `k` smallest per row; `fill_diagonal_` keeps a node from choosing itself.


# %%
def knn_agreement(z: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    """Mean share of each node's ``k`` nearest other nodes that carry its label."""
    ### BEGIN SOLUTION
    dist = torch.cdist(z, z)  # (N, N)
    dist.fill_diagonal_(float("inf"))  # a node is not its own neighbour
    neighbours = dist.topk(k, dim=1, largest=False).indices  # (N, k)
    return (labels[neighbours] == labels.unsqueeze(1)).float().mean()
    ### END SOLUTION


knn_agreement = exercise("9.1", knn_agreement)

# %% [markdown]
# Two hand-checkable cases on a line. Two tight groups far apart: each node's nearest other node
# is in its own group, agreement 1. The same four positions with the classes interleaved: each
# node's nearest other node is of the other class, agreement 0.

# %%
line = torch.tensor([[0.0], [1.0], [10.0], [11.0]])  # (4, 1)
separated = knn_agreement(line, torch.tensor([0, 0, 1, 1]), 1).item()
interleaved = knn_agreement(line, torch.tensor([0, 1, 0, 1]), 1).item()
print(f"two groups: {separated:.2f}, interleaved classes: {interleaved:.2f}")
assert (separated, interleaved) == (1.0, 0.0)

# %% [markdown]
# On Cora, for the raw features, the untrained GAT and the trained one:

# %%
spaces = {"raw features": cora.x, "untrained GAT, hidden": untrained_hidden,
          "trained GAT, hidden": hidden, "trained GAT, logits": logits}
agreement = {name: knn_agreement(z, y, K).item() for name, z in spaces.items()}
for name, z in spaces.items():
    print(f"{name:24s} {str(tuple(z.shape)):12s} agreement {agreement[name]:.3f}")
print(f"{'random neighbours':37s} {chance:.3f}")
assert min(agreement.values()) > chance + 0.2 and agreement["untrained GAT, hidden"] > 0.5
trained_agreement = min(agreement["trained GAT, hidden"], agreement["trained GAT, logits"])
assert trained_agreement > agreement["untrained GAT, hidden"] > agreement["raw features"]

# %% [markdown]
# Every embedding beats random neighbours by far, and the two trained layers are best. More
# surprising is the untrained GAT: its random weights have never seen a label, yet its
# neighbourhoods agree better than those of the raw words. Section 7 finds out why.
#
# ## 3. The silhouette
#
# The agreement only looks at each node's closest few nodes. The **silhouette** of a node `i`
# compares whole classes. With `a_i` the mean distance from `i` to the *other* nodes of its own
# class and `b_i` the mean distance from `i` to the nodes of the nearest other class (the
# class with the smallest such mean),
#
# $$s_i = \frac{b_i - a_i}{\max(a_i, b_i)} \in [-1, 1].$$
#
# `s_i` is close to 1 when `i` is much closer to its own class than to any other, near 0 on a
# border, and negative when another class is closer on average. The silhouette of an embedding is
# the mean over the nodes (scikit-learn's `silhouette_score`).
#
# ## Exercise 9.2: silhouette values
#
# Write `silhouette_values(z, labels)`: `z` (N, D), `labels` (N,) with class ids `0..C-1`, every
# class with at least two nodes. Return `s` (N,), the silhouette of every node (about 10 lines).
# Hint: with `dist = torch.cdist(z, z)` and one-hot labels `onehot` (N, C), `dist @ onehot` (N, C)
# holds the sum of distances from each node to each class.


# %%
def silhouette_values(z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Silhouette (N,) of every node: (b - a) / max(a, b)."""
    ### BEGIN SOLUTION
    dist = torch.cdist(z, z)  # (N, N)
    onehot = torch.nn.functional.one_hot(labels, int(labels.max()) + 1).to(z.dtype)  # (N, C)
    sizes = onehot.sum(dim=0)  # (C,)
    sums = dist @ onehot  # (N, C) sum of distances from each node to each class
    rows = torch.arange(len(labels))
    a = sums[rows, labels] / (sizes[labels] - 1)  # (N,) the node itself is not counted
    mean_to_class = sums / sizes  # (N, C)
    mean_to_class[rows, labels] = float("inf")  # b looks at the other classes only
    b = mean_to_class.min(dim=1).values  # (N,)
    return (b - a) / torch.maximum(a, b)
    ### END SOLUTION


silhouette_values = exercise("9.2", silhouette_values)

# %% [markdown]
# The mean of your values is scikit-learn's silhouette score:

# %%
ours = silhouette_values(hidden, y).mean().item()
theirs = silhouette_score(hidden.double().numpy(), y.numpy())
print(f"silhouette of the trained hidden layer: {ours:.4f} (yours), {theirs:.4f} (scikit-learn)")
assert abs(ours - theirs) < 1e-3

# %% [markdown]
# The per-node values say more than their mean. The model was fitted to the labels of the 140
# training nodes; in its hidden layer they sit much deeper inside their classes than the test
# nodes, whose labels it never saw:

# %%
s_hidden = silhouette_values(hidden, y)  # (N,)
s_train, s_test = s_hidden[train_idx].mean().item(), s_hidden[test_idx].mean().item()
print(f"mean silhouette in the trained hidden layer: training nodes {s_train:.3f}, test nodes {s_test:.3f}")
per_class = torch.zeros(C).index_add_(0, y, s_hidden) / torch.bincount(y, minlength=C)  # (C,)
for c in per_class.argsort(descending=True).tolist():
    print(f"  {class_names[c]:24s} {per_class[c]:.3f}")
assert s_train > s_test + 0.1
assert per_class.max() > 1.5 * per_class.min()  # the best-separated class against the worst

# %% [markdown]
# Some classes are much better separated than others. When the pictures come, check whether the
# classes at the top of this list are the ones that look like islands.
#
# ## 4. All numbers in the original spaces
#
# The third number asks whether the labelled nodes alone are enough: a k-NN classifier
# (`gatkit.embeddings.knn_accuracy`) lets the 140 training nodes vote for each test node (its `K`
# nearest training nodes, majority class wins) and scores the 1000 votes. High local agreement
# with low k-NN accuracy means that classes form many small groups, most of them far from any
# training node.


# %%
def scores(z):
    """Agreement (9.1), k-NN accuracy (training nodes vote for test nodes) and silhouette (9.2)."""
    z = torch.as_tensor(z, dtype=torch.float32)
    return {"agreement": knn_agreement(z, y, K).item(),
            "knn_accuracy": embeddings.knn_accuracy(z, y, k=K, train_index=train_idx, test_index=test_idx),
            "silhouette": silhouette_values(z, y).mean().item()}


def print_table(rows, title):
    """One line of scores per embedding."""
    print(f"{title:34s} {'agreement':>9s} {'k-NN acc.':>9s} {'silhouette':>10s}")
    for name, row in rows.items():
        print(f"{name:34s} {row['agreement']:9.3f} {row['knn_accuracy']:9.3f} {row['silhouette']:10.3f}")


original = {name: scores(z) for name, z in spaces.items()}
print_table(original, "original space")
print(f"(the trained GAT itself: test accuracy {test_acc:.3f})")

# %% [markdown]
# `gatkit.embeddings` computes the same numbers (in float64, with scikit-learn for the
# silhouette):

# %%
library = embeddings.embedding_scores(hidden, y, train_index=train_idx, test_index=test_idx, k=K)
for key, value in original["trained GAT, hidden"].items():
    assert abs(library[key] - value) < 1e-3, key
print("gatkit.embeddings agrees:", {key: round(value, 3) for key, value in library.items()})

# %% [markdown]
# Read the table by columns:

# %%
trained, untrained_row = original["trained GAT, hidden"], original["untrained GAT, hidden"]
raw = original["raw features"]
print(f"k-NN accuracy of the trained hidden layer {trained['knn_accuracy']:.3f} vs the model's own test "
      f"accuracy {test_acc:.3f}")
print(f"silhouette: trained {trained['silhouette']:.3f}, untrained {untrained_row['silhouette']:.3f}, "
      f"raw {raw['silhouette']:.3f}")
print(f"k-NN accuracy: untrained {untrained_row['knn_accuracy']:.3f}, raw {raw['knn_accuracy']:.3f}")
assert abs(trained["knn_accuracy"] - test_acc) < 0.05
assert min(trained["silhouette"], original["trained GAT, logits"]["silhouette"]) > 0.15
assert all(-0.1 < row["silhouette"] < 0.02 for row in (untrained_row, raw))
assert untrained_row["knn_accuracy"] < raw["knn_accuracy"]

# %% [markdown]
# - In the trained hidden layer, 140 labelled nodes and a nearest-neighbour vote come close to
#   the trained model's own test accuracy: the layer has put the classes where a simple distance
#   rule finds them.
# - Only the trained layers have a clearly positive silhouette. Without training the classes
#   overlap as whole clouds (silhouette near 0), even where the nearest nodes agree.
# - The untrained GAT has the **better** agreement but the **worse** k-NN accuracy than the raw
#   features: its nearest nodes share a node's class more often, yet the 140 training nodes
#   label the test nodes less well. Section 7 explains the paradox; first the pictures.
#
# ## 5. t-SNE in one paragraph
#
# t-SNE (van der Maaten and Hinton, 2008) turns the distances around each point into
# probabilities of picking each other point as a neighbour, with a Gaussian whose width is set
# per point so that the effective number of neighbours equals the **perplexity**. It then moves
# points in 2-D until similar probabilities, computed with a heavy-tailed Student-t kernel,
# match. It is built to keep **neighbourhoods**; it does not keep distances. Hence the caveats:
#
# - the distance between two clusters, and their sizes, mean little: the heavy tail pushes
#   groups apart and t-SNE evens out their densities;
# - the perplexity sets the scale of what is kept: with a small one each point only keeps its
#   closest few neighbours, and whole classes lose their shape;
# - the result depends on the start: `gatkit.embeddings.tsne` starts from the data's PCA
#   (`init="pca"`, section 9), which makes it deterministic and keeps the global layout more faithful;
#   with `init="random"` the `seed` moves and rotates everything.
#
# `embeddings.tsne` wraps scikit-learn's `TSNE`. We spell out its settings in the first call:
# the default perplexity, and 500 gradient steps, half of scikit-learn's default of 1000 (run it
# with `max_iter=1000` to compare the pictures):

# %%
started = time.perf_counter()
hidden_2d = embeddings.tsne(hidden, seed=0, perplexity=30, max_iter=500, init="pca")  # (N, 2)
tsne_seconds = time.perf_counter() - started
print(f"t-SNE of {N} points in {hidden.shape[1]} dimensions: {tsne_seconds:.1f} s")
assert hidden_2d.shape == (N, 2)

# %% [markdown]
# ## 6. The trained GAT
#
# Colour is the class. The 1000 test nodes are outlined (their labels were never used), the 140
# training nodes are the black-edged diamonds; the scores under the title are those of the
# picture, 2-D.

# %%
hidden_2d_scores = scores(hidden_2d)
fig = viz.plot_embeddings(hidden_2d, y, test_index=test_idx, train_index=train_idx,
                          class_names=class_names, scores=hidden_2d_scores,
                          title="trained GAT: t-SNE of the hidden layer (N, 64)")
plt.show()

picture = torch.as_tensor(hidden_2d, dtype=torch.float32)  # (N, 2)
s_picture = silhouette_values(picture, y)  # (N,) silhouettes in the picture
per_class_picture = torch.zeros(C).index_add_(0, y, s_picture) / torch.bincount(y, minlength=C)  # (C,)
ranked = per_class.argsort(descending=True)  # the classes in section 3's order
print("per-class silhouette in the picture, in section 3's order:",
      " ".join(f"{per_class_picture[c]:.2f}" for c in ranked.tolist()))
dist_2d = torch.cdist(picture, picture)  # (N, N)
other_class = dist_2d.masked_fill(y[:, None] == y[None, :], float("inf")).min(dim=1).values  # (N,)
print(f"in the picture: silhouette of the training nodes {s_picture[train_idx].mean():.3f}, of the test nodes "
      f"{s_picture[test_idx].mean():.3f}; median distance to the nearest node of another class "
      f"{other_class[train_idx].median():.2f} and {other_class[test_idx].median():.2f}")
assert per_class_picture[ranked[:2]].min() > per_class_picture[ranked[-2:]].max() + 0.1
assert s_picture[train_idx].mean() > s_picture[test_idx].mean() + 0.1
assert other_class[train_idx].median() > 1.2 * other_class[test_idx].median()

# %% [markdown]
# Compare with the per-class silhouettes of section 3: the classes at the top of that list are
# compact islands, those at the bottom spread out and mix with their neighbours; in the picture
# too, the top two classes have a clearly higher silhouette than the bottom two (printed above).
# The training diamonds sit deeper inside their islands than the test nodes: their nearest node
# of another class is further away and their silhouette in the picture higher, as it was in the
# 64 dimensions.
#
# The logits, seven numbers per node, give a similar picture (its three scores within 0.05 of
# the hidden layer's):

# %%
logits_2d = embeddings.tsne(logits, seed=0)  # (N, 2)
logits_2d_scores = scores(logits_2d)
fig = viz.plot_embeddings(logits_2d, y, test_index=test_idx, train_index=train_idx,
                          class_names=class_names, scores=logits_2d_scores,
                          title="trained GAT: t-SNE of the logits (N, 7)")
plt.show()
assert all(abs(logits_2d_scores[key] - hidden_2d_scores[key]) < 0.05 for key in hidden_2d_scores)

# %% [markdown]
# ## 7. What an untrained GAT already knows
#
# The untrained GAT's picture, next to the trained hidden layer:

# %%
untrained_2d = embeddings.tsne(untrained_hidden, seed=0)  # (N, 2)
untrained_2d_scores = scores(untrained_2d)
fig = viz.plot_embedding_panels(
    {"untrained GAT, hidden layer (N, 64)": untrained_2d, "trained GAT, hidden layer (N, 64)": hidden_2d},
    y, test_index=test_idx, class_names=class_names,
    scores={"untrained GAT, hidden layer (N, 64)": untrained_2d_scores,
            "trained GAT, hidden layer (N, 64)": hidden_2d_scores}, panel_size=5.2)
plt.show()
print(f"untrained picture: agreement {untrained_2d_scores['agreement']:.3f} (random neighbours {chance:.3f}), "
      f"silhouette {untrained_2d_scores['silhouette']:.3f}")
assert untrained_2d_scores["silhouette"] < 0 < hidden_2d_scores["silhouette"]
assert untrained_2d_scores["agreement"] > chance + 0.3

# %% [markdown]
# The untrained picture is not noise: a node's nearest nodes in it share its class far more often
# than random neighbours would (printed above), which shows as small single-coloured clumps. But
# the classes do not hold together as wholes: the silhouette of the picture is negative. Where do
# single-coloured clumps come from without training?
#
# Each GAT layer replaces a node's vector by an (attention-weighted) average over its
# neighbourhood. Two layers mix each node with everything within two hops. Nodes near each other
# in the graph therefore get similar vectors, whatever the weights are. Cora is homophilous
# (chapter 02: most edges join papers of the same class), so nodes near each other in the graph
# are mostly of one class, and so are the clumps. We can test this explanation: what share of
# each node's `K` nearest nodes in the embedding are within two hops of it in the graph, and how
# well do the labels agree among the *other* neighbours, those far away in the graph?

# %%
adjacency = torch.zeros(N, N)  # (N, N), adjacency[i, j] = 1 for an edge j -> i (self-loops included)
adjacency[edge_index[1], edge_index[0]] = 1.0
within_two_hops = (adjacency @ adjacency) > 0  # (N, N) bool: at most two hops apart


def graph_locality(z):
    """Share of each node's K nearest nodes within two hops, and the label agreement among the rest."""
    dist = torch.cdist(z, z)  # (N, N)
    dist.fill_diagonal_(float("inf"))
    neighbours = dist.topk(K, dim=1, largest=False).indices  # (N, K)
    near = within_two_hops.gather(1, neighbours)  # (N, K)
    same = y[neighbours] == y.unsqueeze(1)  # (N, K)
    return near.float().mean().item(), same[~near].float().mean().item()


locality = {name: graph_locality(z) for name, z in spaces.items()}
print(f"{'':24s} {'within 2 hops':>13s} {'agreement among the others':>27s}")
for name, (near, far_agreement) in locality.items():
    print(f"{name:24s} {near:13.3f} {far_agreement:27.3f}")
assert locality["untrained GAT, hidden"][0] > max(0.5, locality["raw features"][0] + 0.2)
assert locality["untrained GAT, hidden"][1] <= locality["raw features"][1]
assert locality["trained GAT, hidden"][1] > max(0.5, locality["untrained GAT, hidden"][1] + 0.2)

# %% [markdown]
# That is the explanation. In the untrained hidden layer most of a node's nearest nodes are its
# graph neighbourhood, far more than in the raw features: averaging alone put them there. Among
# its nearest nodes that are *not* close in the graph, the agreement is no better than for the
# raw features. The trained layer is different: its nearest nodes from far away in the graph
# mostly share the class too. Training is what gathers same-class papers from all over the
# graph into one region, and that is what the 140 training nodes need for the k-NN vote.
#
# If averaging is what the untrained GAT contributes, averaging the raw features over the graph
# twice, with no weights at all, should do as well or better: the random projection from 1433 to
# 64 features cannot add anything that the words did not say.

# %%
in_degree = torch.bincount(edge_index[1], minlength=N).float().unsqueeze(1)  # (N, 1), self-loop included
averaged = cora.x
for _ in range(2):
    summed = torch.zeros_like(averaged).index_add_(0, edge_index[1], averaged[edge_index[0]])  # (N, F)
    averaged = summed / in_degree  # (N, F) mean over each node's in-neighbours, itself included
original["raw features averaged twice"] = scores(averaged)
print_table(original, "original space")
assert original["raw features averaged twice"]["agreement"] > original["untrained GAT, hidden"]["agreement"]
assert original["raw features averaged twice"]["knn_accuracy"] > original["raw features"]["knn_accuracy"]
assert -0.1 < original["raw features averaged twice"]["silhouette"] < 0.02

# %% [markdown]
# Two rounds of plain averaging lift both the agreement and the k-NN accuracy above the raw
# features, with no parameters at all; it is the idea behind SGC (Wu et al., 2019), which
# classifies such averaged features with a single linear layer. Training the GAT adds the
# class-level organisation on top, and raises the silhouette from about zero.
#
# ## 8. The picture's numbers against the embedding's
#
# The same three numbers in the original space and in the t-SNE picture:

# %%
pictures = {"trained GAT, hidden": hidden_2d_scores, "trained GAT, logits": logits_2d_scores,
            "untrained GAT, hidden": untrained_2d_scores}
print(f"{'':24s} {'agreement':>17s} {'k-NN accuracy':>17s} {'silhouette':>17s}")
print(f"{'':24s}" + f" {'original':>8s} {'2-D':>8s}" * 3)
for name, picture in pictures.items():
    print(f"{name:24s}" + "".join(f" {original[name][key]:8.3f} {picture[key]:8.3f}"
                                  for key in ("agreement", "knn_accuracy", "silhouette")))
gap = max(abs(original[name]["agreement"] - picture["agreement"]) for name, picture in pictures.items())
lift = pictures["untrained GAT, hidden"]["knn_accuracy"] - original["untrained GAT, hidden"]["knn_accuracy"]
print(f"largest change of the agreement: {gap:.3f}; "
      f"k-NN accuracy of the untrained GAT, 2-D minus original: {lift:+.3f}")
assert gap < 0.06  # t-SNE keeps neighbourhoods
assert lift > 0.05  # ... and can make a picture look better organised than its embedding
assert pictures["trained GAT, hidden"]["knn_accuracy"] < original["trained GAT, hidden"]["knn_accuracy"]

# %% [markdown]
# The agreement barely moves: keeping neighbourhoods is what t-SNE is for. The other two numbers
# can move either way: the trained hidden layer's k-NN accuracy is lower in the picture than in
# its 64 dimensions, while for the untrained GAT it is clearly higher. t-SNE has placed the
# untrained clumps so that more test nodes lie next to a training node of their class than in
# the embedding itself: a picture can look better organised than the embedding it shows. Quote
# the original-space numbers as evidence; the picture's numbers describe the picture.
#
# The picture also depends on its own settings, while the embedding does not. Here is the
# trained hidden layer again with a perplexity of 5 instead of 30:

# %%
small_perplexity = embeddings.tsne(hidden, seed=0, perplexity=5)  # (N, 2)
perplexity_scores = {"perplexity 30 (default)": hidden_2d_scores, "perplexity 5": scores(small_perplexity)}
fig = viz.plot_embedding_panels(
    {"perplexity 30 (default)": hidden_2d, "perplexity 5": small_perplexity}, y, test_index=test_idx,
    class_names=class_names, scores=perplexity_scores, panel_size=5.2,
    suptitle="the same trained hidden layer (N, 64), two t-SNE settings")
plt.show()
change = {key: perplexity_scores["perplexity 5"][key] - hidden_2d_scores[key] for key in hidden_2d_scores}
print("perplexity 5 minus perplexity 30:", {key: round(value, 3) for key, value in change.items()})
assert change["silhouette"] < 0  # smaller neighbourhoods: the classes hold together less well

# %% [markdown]
# With a perplexity of 5 every point only tries to keep its few nearest nodes close and nothing
# holds a class together as a whole: the silhouette of the picture drops, although the embedding
# is the very same. Perplexities between 5 and 50 are all common (van der Maaten and Hinton
# suggest that range); look at more than one before you trust a shape.

# %% [markdown]
# ## 9. A linear view: PCA
#
# t-SNE moves points freely to keep neighbourhoods, and its picture depends on its settings.
# **Principal component analysis** (PCA) is a projection, with no settings at all: centre the
# points (subtract their mean over the nodes) and project them onto the `k` orthonormal
# directions along which they vary most, the **principal directions**. With the singular value
# decomposition of the centred (N, D) matrix, $Z_c = U S V^\top$ (singular values in decreasing
# order), the directions are the first `k` columns of $V$, and the **scores** are
#
# $$Z_c V_{:, :k} = U_{:, :k}\, S_{:k},$$
#
# with variance $S_c^2 / (N - 1)$ along direction `c`. Because it is a projection, a distance in
# the view is never longer than in the embedding, each axis is the same linear combination of
# features for every node, and the share of the variance the view keeps is a number you can
# quote. (`embeddings.tsne` starts from this very view, `init="pca"`.)
#
# A direction `v` and `-v` describe the same axis, and an SVD may return either, so one more
# rule makes the answer unique: turn each direction so that its entry of largest magnitude is
# positive (scikit-learn's `PCA` does the same).
#
# ## Exercise 9.3: principal components
#
# Write `pca(z, k=2)`: `z` (N, D). Return the scores (N, k): the centred rows projected onto the
# top `k` principal directions, largest variance first, each direction's entry of largest
# magnitude positive, and not divided by the singular values (about 6 lines).
# `torch.linalg.svd(centred, full_matrices=False)` returns `U, S, Vh` with the directions as the
# **rows** of `Vh`; `torch.linalg.eigh` of the covariance works too (its eigenvalues come in
# ascending order). `torch.pca_lowrank` is randomised and only exact with `q = min(N, D)`. The
# check uses a toy you can work out by hand, random points with `k` = 1, 2 and 3 (one set with
# fewer points than features) and an embedding of Cora.


# %%
def pca(z: torch.Tensor, k: int = 2) -> torch.Tensor:
    """Scores (N, k) of the centred rows on the top ``k`` principal directions."""
    ### BEGIN SOLUTION
    centred = z - z.mean(dim=0)  # (N, D)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)  # (min(N, D), D), rows by decreasing variance
    directions = vh[:k].T  # (D, k)
    largest = directions.abs().argmax(dim=0)  # (k,)
    directions = directions * torch.sign(directions[largest, torch.arange(k)])  # (D, k)
    return centred @ directions  # (N, k)
    ### END SOLUTION


pca = exercise("9.3", pca)

# %% [markdown]
# First, how many directions does each embedding use? The share of its total variance that the
# first 2 and the first 6 components keep:

# %%
def variance_kept(z, k):
    """Share of the total variance of ``z`` (N, D) on its first ``k`` principal components."""
    z = z.double()
    return (pca(z, k).var(dim=0).sum() / z.var(dim=0).sum()).item()


def class_means(z):
    """Mean (C, D) of each class's rows of ``z`` (N, D)."""
    onehot = torch.nn.functional.one_hot(y, C).double()  # (N, C)
    return onehot.T @ torch.as_tensor(z).double() / onehot.sum(dim=0).unsqueeze(1)


def between_class_share(z):
    """Share of the total variance of ``z`` that is the spread of the class means."""
    centred = z.double() - z.double().mean(dim=0)  # (N, D)
    sizes = torch.bincount(y, minlength=C).double()  # (C,)
    return ((sizes * (class_means(centred) ** 2).sum(dim=1)).sum() / (centred ** 2).sum()).item()


layers = {"untrained GAT, hidden": untrained_hidden, "trained GAT, hidden": hidden, "trained GAT, logits": logits}
print(f"{'':24s} {'2 components':>12s} {'6 components':>12s} {'class means':>12s}")
kept = {}
for name, z in layers.items():
    kept[name] = (variance_kept(z, 2), variance_kept(z, 6), between_class_share(z))
    print(f"{name:24s}" + "".join(f" {share:12.2f}" for share in kept[name]))
assert 0.4 < kept["trained GAT, hidden"][0] < 0.6 and kept["trained GAT, hidden"][1] > 0.9
assert 0.2 < kept["untrained GAT, hidden"][1] < 0.3 and kept["untrained GAT, hidden"][2] < 0.1
assert kept["trained GAT, hidden"][2] > 0.5

# %% [markdown]
# Training concentrates the hidden layer: two components hold about half of its variance and six
# over 90%, against about a quarter in six before training. Seven class means span at most six
# directions, and in the trained layer more than half of the variance is the spread of the class
# means themselves (the last column; under 10% untrained): training lays the classes out along a
# few directions. Which classes does each direction set apart? For the first four components, the
# class whose mean lies furthest out, in standard deviations of the component:

# %%
hidden_pca = pca(hidden, k=4)  # (N, 4)
class_offsets = class_means(hidden_pca) / hidden_pca.double().std(dim=0)  # (C, 4) mean score per class, in sd
furthest = class_offsets.abs().argmax(dim=0)  # (4,)
for c in range(4):
    print(f"component {c + 1}: {class_names[furthest[c]]:24s} {class_offsets[furthest[c], c]:+.2f} sd")
expected = ["Genetic_Algorithms", "Case_Based", "Reinforcement_Learning", "Reinforcement_Learning"]
assert [class_names[c] for c in furthest.tolist()] == expected
assert (class_offsets.abs().max(dim=0).values > 1.4).all()

# %% [markdown]
# Each component sets one class apart: the first *Genetic_Algorithms*, the second *Case_Based*,
# the third (and the fourth) *Reinforcement_Learning*. Two 2-D views of PCA, beside the t-SNE
# picture of section 6 (the PCA panels are zoomed to where all but a few per cent of the nodes
# lie; the cell prints how many fall outside):

# %%
views = {"PCA, components 1 and 2": hidden_pca[:, :2], "PCA, components 3 and 4": hidden_pca[:, 2:],
         "t-SNE, perplexity 30": hidden_2d}
view_scores = {name: scores(view) for name, view in views.items()}
fig = viz.plot_embedding_panels(views, y, test_index=test_idx, class_names=class_names, scores=view_scores,
                                suptitle="the trained hidden layer (N, 64): two linear views and t-SNE")
outside = []
for ax, view in zip(fig.axes, [hidden_pca[:, :2], hidden_pca[:, 2:]]):  # zoom the PCA panels past a few outliers
    low, high = torch.quantile(view, torch.tensor([0.005, 0.995], dtype=view.dtype), dim=0)  # (2,), (2,)
    low, high = low - 0.05 * (high - low), high + 0.05 * (high - low)  # (2,), (2,)
    ax.set_xlim(low[0].item(), high[0].item())
    ax.set_ylim(low[1].item(), high[1].item())
    outside.append(int(((view < low) | (view > high)).any(dim=1).sum()))
print("nodes outside the zoom (at most; equal axes may widen it):", outside)
assert max(outside) < 0.03 * len(y)
plt.show()
assert all(view_scores[name]["agreement"] < view_scores["t-SNE, perplexity 30"]["agreement"] - 0.1
           and view_scores[name]["silhouette"] < view_scores["t-SNE, perplexity 30"]["silhouette"]
           for name in ("PCA, components 1 and 2", "PCA, components 3 and 4"))

# %% [markdown]
# Both PCA views are blurrier than t-SNE's (lower agreement and silhouette, asserted above):
# classes overlap that the hidden layer keeps apart in the 62 dimensions each view leaves out.
# What the first PCA view and t-SNE keep can be measured: the correlation between all pairwise
# distances in the hidden layer and in the view (the large ones dominate it), the same for the
# distances between the seven class means, and the k-NN agreement for the neighbourhoods.


# %%
def correlation(a, b):
    """Pearson correlation of two vectors."""
    return torch.corrcoef(torch.stack([a, b]))[0, 1].item()


distances = torch.pdist(hidden.double())  # (N (N - 1) / 2,) every pair once
mean_distances = torch.pdist(class_means(hidden))  # (21,)
kept_by = {}
print(f"{'':24s} {'all distances':>13s} {'class means':>11s} {'agreement':>9s} {'silhouette':>10s}")
for name in ("PCA, components 1 and 2", "t-SNE, perplexity 30"):
    view = torch.as_tensor(views[name]).double()  # (N, 2)
    kept_by[name] = {"distances": correlation(distances, torch.pdist(view)),
                     "class means": correlation(mean_distances, torch.pdist(class_means(view))),
                     "agreement": view_scores[name]["agreement"], "silhouette": view_scores[name]["silhouette"]}
    widths = (13, 11, 9, 10)
    print(f"{name:24s}" + "".join(f" {value:{width}.3f}" for value, width in zip(kept_by[name].values(), widths)))
print(f"{'the hidden layer':24s} {1:13.3f} {1:11.3f} {original['trained GAT, hidden']['agreement']:9.3f} "
      f"{original['trained GAT, hidden']['silhouette']:10.3f}")
linear, tsne_view = kept_by["PCA, components 1 and 2"], kept_by["t-SNE, perplexity 30"]
assert linear["distances"] > tsne_view["distances"] + 0.05 and linear["class means"] > tsne_view["class means"] + 0.1
assert tsne_view["agreement"] > linear["agreement"] + 0.1
assert original["trained GAT, hidden"]["agreement"] - tsne_view["agreement"] < 0.03
assert (torch.pdist(hidden_pca[:, :2].double()) <= distances * (1 + 1e-4) + 1e-4).all()  # a projection never stretches

# %% [markdown]
# The two views keep different things. PCA keeps the large-scale geometry better: its pairwise
# distances, and above all the distances between the class means, follow those of the hidden
# layer more closely, and no two nodes are further apart in it than in the layer (the last
# assert). t-SNE keeps who is next to whom: its k-NN agreement is far higher, almost that of the
# layer itself (section 4). So read class *neighbourhoods* off t-SNE, and *which classes lie far
# apart* off PCA, or better off the class means in the layer itself.

# %%
print(f"chapter run time: {time.perf_counter() - chapter_started:.0f} s")

# %% [markdown]
# ## Summary
#
# - `model.hidden(x, edge_index)` returns every layer's output (hidden (N, 64) after ELU, logits
#   (N, 7)). Back every picture with numbers in the original space: k-NN label agreement (local
#   purity), k-NN accuracy from the training nodes (class-level organisation) and the silhouette
#   (separation of whole classes).
# - The trained GAT's hidden layer organises the classes so well that a nearest-neighbour vote of
#   the 140 training nodes comes close to the model's own test accuracy.
# - An untrained GAT already has mostly single-class local neighbourhoods, because averaging
#   over a homophilous graph puts graph neighbours together; training adds the gathering of each
#   class from all over the graph.
# - t-SNE keeps neighbourhoods, not distances: cluster sizes, gaps between clusters and how
#   compact the classes look (which depends on the perplexity) are properties of the picture.
# - PCA (centre, project onto the top right singular vectors, fix each direction's sign) is a
#   projection with no settings: it keeps large distances and the layout of the class means
#   better than t-SNE and neighbourhoods worse. Training squeezes the hidden layer into about
#   six directions (over 90% of its variance), one class set apart by each of the first ones.
#
# ## Check your understanding
#
# 1. Why must a node not count itself in the k-NN agreement? What would the agreement be with
#    `k = 1` if it did?
# 2. The untrained GAT has a higher agreement but a lower k-NN accuracy than the raw features.
#    Explain both in one sentence each.
# 3. Can the silhouette be near 0 while the agreement is high? Describe an arrangement of points
#    where this happens.
# 4. Two classes appear as islands far apart in a t-SNE picture, two others touch. Are the first
#    two more different from each other in the hidden layer?
# 5. Why do the training nodes have a higher silhouette than the test nodes in the trained hidden
#    layer, and why does that make the test nodes the honest ones to look at?
# 6. Would you expect the untrained GAT's clumps to be as pure on a graph where most edges join
#    different classes?
# 7. No two nodes are further apart in a PCA view than in the embedding; in a t-SNE picture they
#    can be. Why? And why do six components hold almost all of the trained hidden layer's
#    variance, with seven classes?

# %% [markdown] tags=["solution"]
# **Answers.**
#
# 1. Its distance to itself is 0, so it is always its own nearest neighbour and always of the
#    right class: with `k = 1` the agreement would be exactly 1 for any embedding at all, and for
#    larger `k` every node would get a free `1 / k`.
# 2. Agreement: averaging over the graph makes a node's nearest nodes its graph neighbours, which
#    on Cora mostly share its class. k-NN accuracy: nothing gathers a class's clumps from
#    different parts of the graph, so the 140 training nodes, far from most test nodes in the
#    graph, vote poorly; and the random projection from 1433 to 64 features loses part of what
#    the words say, which makes the vote worse than in the raw features (averaging without the
#    projection, section 7, votes better than the raw features).
# 3. Yes: when each class is split into many small pure clumps spread all over the space. Every
#    node's nearest nodes agree, but the mean distance to its own class is about the same as to
#    any other, so `a_i ≈ b_i` and `s_i ≈ 0`. The untrained GAT is such a case.
# 4. Not necessarily. t-SNE's heavy-tailed kernel exaggerates gaps and does not keep distances
#    between clusters; compare the classes in the hidden layer itself (for example the distances
#    between class means, which the PCA view of section 9 follows more closely, or the
#    silhouette computed there).
# 5. The training loss pulled exactly those 140 nodes towards their classes' output directions
#    (they are fitted). The test nodes' labels played no role in training, so how they sit
#    measures what the model learned about unseen papers.
# 6. No. Averaging still puts graph neighbours together, but on a heterophilous graph those
#    neighbours mostly belong to other classes, so the clumps would be mixed and the agreement
#    low; the structure of an untrained GNN comes from homophily, not from the architecture.
# 7. PCA keeps `k` coordinates of each point in an orthonormal basis and drops the others, so a
#    squared distance loses the dropped coordinates' squares and can only shrink (Pythagoras).
#    t-SNE places points freely to match neighbour probabilities, and its heavy-tailed kernel
#    pushes groups apart. Seven class means span at most six directions (any seven points lie in
#    a six-dimensional affine subspace). In the trained layer the spread of those means is more
#    than half of the variance, and six components hold over 90%, so most of the spread within
#    the classes lies along the same few directions too: training stretched the layer along the
#    directions that tell the classes apart.

# %% [markdown]
# ## Going further
#
# - This chapter's solutions are in the library as `gatkit.embeddings.knn_agreement` (9.1),
#   `silhouette_values` (9.2, scikit-learn's `silhouette_samples`) and `pca` (9.3, scikit-learn's
#   `PCA` with the same sign rule).
# - I. T. Jolliffe and J. Cadima, *Principal component analysis: a review and recent
#   developments* (Phil. Trans. R. Soc. A, 2016); and Halko, Martinsson and Tropp, *Finding
#   Structure with Randomness* (SIAM Review, 2011), the randomised SVD behind `torch.pca_lowrank`,
#   and why it needs a gap in the spectrum.
# - L. van der Maaten and G. Hinton, *Visualizing Data using t-SNE* (JMLR 2008); and Wattenberg,
#   Viégas and Johnson, *How to Use t-SNE Effectively* (Distill, 2016), with interactive examples
#   of what perplexity and cluster sizes do.
# - UMAP (McInnes, Healy and Melville, 2018, package `umap-learn`) is a faster alternative that
#   keeps somewhat more global structure; `embeddings.tsne`'s output can be swapped for it in
#   `viz.plot_embeddings`.
# - Wu et al., *Simplifying Graph Convolutional Networks* (ICML 2019): SGC, a linear classifier
#   on features averaged `K` times over the graph, close to GCN on Cora.
# - Kipf and Welling (ICLR 2017, appendix A) plot the 2-D output of an *untrained* three-layer
#   GCN on Zachary's karate club graph: its communities already come apart, for the reason
#   section 7 found.
# - `gatkit.viz.plot_embedding_panels` lays out any number of embeddings side by side,
#   for example one per training epoch, to watch the classes form.
