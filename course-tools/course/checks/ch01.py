"""Checks for chapter 01, Loading Cora."""

from __future__ import annotations


import torch

from gatkit import data, edges
from course.checks.cases import directed_graph, load_cora
from course.checks.core import Case, Check, register


def sort_columns(edge_index: torch.Tensor) -> torch.Tensor:
    """Edge lists that hold the same edges in another order compare equal after this."""
    if not isinstance(edge_index, torch.Tensor) or edge_index.dim() != 2 or edge_index.shape[0] != 2:
        return edge_index  # let the comparison report the shape
    if edge_index.numel() == 0:
        return edge_index
    order = torch.argsort(edge_index[0] * (int(edge_index.max()) + 1) + edge_index[1])
    return edge_index[:, order]


# A 5-node toy graph: node 2 lists 3 but 3 does not list 2, 0 lists 1 twice, 3 lists itself,
# node 4 has no edges at all. Each quirk catches one typical mistake.
TOY_ADJACENCY = {0: [1, 1, 2], 1: [0], 2: [0, 3], 3: [3], 4: []}

# A second dict, 6 nodes, whose keys do NOT come in order (3, 0, 5, 1, 4, 2): numbering nodes by
# their position in the dict goes wrong. Pairs listed only from the larger id (3 lists 1, 4
# lists 2, and the last node, 5, lists 0), so keeping only pairs with node < neighbour before
# adding the reverse loses them, and so does skipping the last node; 0 lists 2 twice and 2 lists
# 0 back; 4 lists itself; 1 lists nothing but has an edge.
UNORDERED_ADJACENCY = {3: [1], 0: [2, 2], 5: [0], 1: [], 4: [4, 2], 2: [0]}


def _adjacency_cases() -> list[Case]:
    cora_graph = data.read_raw_file("cora", "graph", progress=False)
    return [Case("toy graph (5 nodes)", (TOY_ADJACENCY, 5)),
            Case("toy graph with its keys out of order (6 nodes: 3, 0, 5, 1, 4, 2)", (UNORDERED_ADJACENCY, 6)),
            Case("Cora's raw graph dict", (dict(cora_graph), 2708))]


def _quirky_directed() -> tuple[torch.Tensor, int]:
    """A directed graph on 9 + 2 nodes: one-way edges, one column listed twice, nodes 9 and 10 isolated."""
    return directed_graph(9, 16, seed=11, repeated=1, isolated=2)


def _edge_list_cases() -> list[Case]:
    toy = edges.edge_index_from_adjacency(TOY_ADJACENCY, 5)
    return [Case("toy graph (5 nodes, node 4 isolated)", (toy, 5)),
            Case("directed graph (11 nodes, 16 one-way edges in random order, one listed twice, "
                 "nodes 9 and 10 isolated)", _quirky_directed()),
            Case("Cora", (load_cora().edge_index, load_cora().num_nodes))]


def _directed_cases() -> list[Case]:
    directed = torch.tensor([[0, 0, 1, 3], [1, 2, 2, 2]])  # 0->1, 0->2, 1->2, 3->2
    return [Case("directed toy graph (4 nodes)", (directed, 4)),
            Case("directed toy graph (5 nodes, node 4 isolated)", (directed, 5)),
            Case("directed graph (10 nodes, one-way edges in random order, one listed twice, "
                 "self-loops on nodes 2 and 9)", directed_graph(10, 24, seed=12, loops=(2, 9), repeated=1)),
            Case("Cora", (load_cora().edge_index, load_cora().num_nodes))]


# Weighted (not 0/1) features, as TF-IDF gives: a row's sum is not its number of non-zero
# entries, and rows 0, 5 and 6 sum to less than 1 (0.35, 0.02 and 0.000003), so a clamp of the
# sums at anything above a tiny number shows. Row 2 is all zero.
WEIGHTED_FEATURES = torch.tensor([[0.2, 0.0, 0.1, 0.05, 0.0],
                                  [2.0, 0.5, 0.0, 3.5, 0.0],
                                  [0.0, 0.0, 0.0, 0.0, 0.0],
                                  [0.25, 0.25, 0.25, 0.25, 0.0],
                                  [0.0, 3.0, 0.0, 0.0, 0.0],
                                  [0.01, 0.0, 0.01, 0.0, 0.0],
                                  [0.0, 0.0, 2e-6, 0.0, 1e-6]])  # (7, 5)
DENSE_FEATURES = torch.tensor([[1.0, 2.0, 0.0, 0.0, 1.0],
                               [0.0, 0.0, 0.0, 0.0, 0.0],
                               [0.5, 0.0, 0.0, 0.0, 0.5]])  # (3, 5)


def _feature_cases() -> list[Case]:
    toy = torch.tensor([[1.0, 0, 1, 0], [0, 0, 0, 0], [1, 1, 1, 1]]).to_sparse_csr()
    return [Case("toy features (row 1 all zero)", (toy,)),
            Case("weighted features (not 0/1; rows summing to 0.35, 6, 0, 1, 3, 0.02 and 0.000003)",
                 (WEIGHTED_FEATURES.to_sparse_csr(),)),
            Case("dense features (a dense input must stay unchanged)", (DENSE_FEATURES.clone(),)),
            Case("Cora's raw features", (load_cora().x_raw,))]


# --- known mistakes, each fed to its check by the tests --------------------------------------

def _one_direction_only(adjacency, num_nodes):
    pairs = [(n, m) for n, ms in adjacency.items() for m in ms if n != m]
    return torch.unique(torch.tensor(pairs, dtype=torch.long).T, dim=1)


def _keeps_duplicates(adjacency, num_nodes):
    pairs = [(n, m) for n, ms in adjacency.items() for m in ms if n != m]
    one_way = torch.tensor(pairs, dtype=torch.long).T
    return torch.cat([one_way, one_way.flip(0)], dim=1)


def _keeps_self_loops(adjacency, num_nodes):
    pairs = [(n, m) for n, ms in adjacency.items() for m in ms]
    one_way = torch.tensor(pairs, dtype=torch.long).T
    return torch.unique(torch.cat([one_way, one_way.flip(0)], dim=1), dim=1)


def _loops_only_for_nodes_with_edges(edge_index, num_nodes):
    nodes = torch.unique(edge_index)
    return torch.cat([edge_index, nodes.repeat(2, 1)], dim=1)


def _float_loops(edge_index, num_nodes):
    return torch.cat([edge_index.float(), torch.arange(num_nodes).float().repeat(2, 1)], dim=1)


def _keys_taken_in_order(adjacency, num_nodes):
    pairs = [(n, m) for n, ms in enumerate(adjacency.values()) for m in ms if n != m]
    one_way = torch.tensor(pairs, dtype=torch.long).T
    return torch.unique(torch.cat([one_way, one_way.flip(0)], dim=1), dim=1)


def _repeats_merged(edge_index, num_nodes):
    return torch.unique(edges.add_self_loops(edge_index, num_nodes), dim=1)


def _repeats_counted(edge_index, num_nodes):
    adj = torch.zeros(num_nodes, num_nodes)
    return adj.index_put_((edge_index[1], edge_index[0]), torch.ones(edge_index.shape[1]), accumulate=True)


def _divided_by_word_count(features):
    dense = features.to_dense()
    return dense / (dense != 0).sum(dim=1, keepdim=True).clamp(min=1)


def _sums_clamped_at_one(features):
    dense = features.to_dense()
    return dense / dense.sum(dim=1, keepdim=True).clamp(min=1)


def _left_sparse(features):
    return data.row_normalise(features).to_sparse_csr()


def _normalise_columns(features):
    dense = features.to_dense()
    return dense / dense.sum(dim=0, keepdim=True).clamp(min=1)


def _nan_for_empty_rows(features):
    dense = features.to_dense()
    return dense / dense.sum(dim=1, keepdim=True)


def _transposed_adjacency(edge_index, num_nodes):
    return edges.to_dense_adjacency(edge_index, num_nodes).T


register(Check(
    id="1.2",
    title="`edge_index` from the adjacency dict",
    reference=edges.edge_index_from_adjacency,
    cases=_adjacency_cases,
    normalise=sort_columns,
    hint="Every pair (node, neighbour) in the dict is an undirected edge: emit it in both "
         "directions, then drop repeated columns and self-loops. Return int64 of shape (2, E).",
    mistakes={
        "Some edges appear in one direction only: the dict is not symmetric (node 2 lists 3, "
        "but 3 does not list 2). Add every edge in both directions.": _one_direction_only,
        "Some edges appear more than once: the raw dict repeats neighbours. "
        "Remove duplicate columns, e.g. with torch.unique(edge_index, dim=1).": _keeps_duplicates,
        "Self-loops are still in the list: drop columns where source == target "
        "(GAT adds its self-loops back later, exactly one per node).": _keeps_self_loops,
        "You numbered the nodes by their position in the dict (enumerate(adjacency.values())): "
        "the keys are the node ids, and a dict's keys need not come in order. Use "
        "adjacency.items().": _keys_taken_in_order,
    },
))

register(Check(
    id="1.3",
    title="add self-loops",
    reference=edges.add_self_loops,
    cases=_edge_list_cases,
    normalise=sort_columns,
    hint="Append one column (i, i) for every node i in 0 .. num_nodes - 1, keeping dtype int64.",
    mistakes={
        "Node 4 has no edges and got no self-loop: loop over range(num_nodes), not over the "
        "nodes that appear in edge_index.": _loops_only_for_nodes_with_edges,
        "The result is float: build the loops with torch.arange(num_nodes) (int64) so "
        "edge_index stays a LongTensor.": _float_loops,
        "A column that edge_index lists twice went missing: keep every column of the input as it "
        "is (torch.unique merges repeats) and only append the N loops, giving E + N columns.":
            _repeats_merged,
    },
))

register(Check(
    id="1.1",
    title="row-normalise the features",
    reference=data.row_normalise,
    cases=_feature_cases,
    hint="Divide every row by its own sum, so each non-empty row sums to 1; a row of zeros must "
         "stay zeros (not NaN). Return a dense float32 tensor and leave the input unchanged.",
    mistakes={
        "You normalised columns, not rows: sum over dim=1 (each node's words), "
        "keepdim=True so the division broadcasts.": _normalise_columns,
        "An all-zero row became NaN (0 / 0): divide by the row sum only where it is "
        "positive, e.g. with .clamp(min=1e-12) on the sums.": _nan_for_empty_rows,
        "You divided by the number of non-zero entries: that is the row sum only for 0/1 "
        "features like Cora's. Divide by the sum itself, dense.sum(dim=1, keepdim=True), so that "
        "weighted rows sum to 1 too.": _divided_by_word_count,
        "Rows whose sum is below 1 (0.35 and 0.02 here) were left as they were: .clamp(min=1) "
        "suits word counts only. Clamp the sums at a tiny positive number instead "
        "(.clamp(min=1e-12)), which changes nothing but the all-zero rows.": _sums_clamped_at_one,
        "Your result is a sparse tensor: the exercise asks for a dense one. Densify first "
        "(features.to_dense()) and divide that.": _left_sparse,
    },
))

register(Check(
    id="1.4",
    title="the dense adjacency matrix",
    reference=edges.to_dense_adjacency,
    cases=_directed_cases,
    hint="Start from torch.zeros(num_nodes, num_nodes) and set adj[target, source] = 1 for "
         "every column (source, target) of edge_index.",
    mistakes={
        "Your matrix is transposed: the convention is adj[i, j] = 1 iff j -> i, so row i lists "
        "the sources of the edges *into* i. Index with adj[edge_index[1], edge_index[0]].":
            _transposed_adjacency,
        "A column that edge_index lists twice gave a 2: the adjacency is 0/1. Set the entries "
        "(adj[edge_index[1], edge_index[0]] = 1) instead of adding them up (index_put_ with "
        "accumulate=True, or a sparse tensor's to_dense(), sums repeats).": _repeats_counted,
    },
))
