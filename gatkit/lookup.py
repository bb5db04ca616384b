"""DictionaryLookup (Brody, Alon and Yahav, ICLR 2022): a task that needs dynamic attention.

Each example is a dictionary of ``k`` entries drawn as a permutation ``perm`` of ``0 .. k - 1``
(key ``j`` holds the value ``perm[j]``) and ``k`` questions, one per key. As a graph (section 4.1
of the paper, and its official code, ``tech-srl/how_attentive_are_gats``, folder
``dictionary_lookup/``) it is bipartite, with ``2k`` nodes in this order:

* nodes ``0 .. k - 1``, the **queries**: node ``i`` has key ``i`` and no value;
* nodes ``k .. 2k - 1``, the **keys**: node ``k + j`` has key ``j`` and value ``perm[j]``;

and ``k * k`` edges, every key node to every query node (key nodes receive nothing). Query ``i``
must output ``perm[i]``, the value stored with its key: it has to attend to the one key node
whose key equals its own, and *which* neighbour that is depends on the query. GAT's attention
ranks the neighbours the same way for every query (static attention), so it cannot fit this
task as ``k`` grows; GATv2's can (dynamic attention).

Features are integer tokens, two per node, ``x[n] = (key, value)``, with the token ``k`` standing
for "no value" on the queries; a model embeds each column with a table of ``k + 1`` rows
(:attr:`LookupSplit.num_tokens`), as the official model does (it sums the two embeddings).

The split tests generalisation to (key, value) pairs never seen in training, exactly as the
official code does: a random set of ``int(train_fraction ** (1 / k) * k * k)`` of the ``k * k``
pairs is *allowed*; an example whose ``k`` pairs are all allowed is a training example, every
other example (it holds at least one pair outside the set) is a test example. With
``train_fraction = 0.8`` each pair is allowed with probability about ``0.8 ** (1 / k)``, so about
80% of the examples train.

Examples
--------
>>> data = dictionary_lookup(4, seed=0)
>>> len(data.train) + len(data.test)                         # all 4! permutations
24
>>> graph = data.train[0]
>>> graph.x.shape, graph.edge_index.shape, graph.y.shape     # (2k, 2), (2, k*k), (k,)
(torch.Size([8, 2]), torch.Size([2, 16]), torch.Size([4]))
>>> graph.x[:4, 1].tolist()                                  # queries carry the no-value token k
[4, 4, 4, 4]
>>> bool((graph.x[4:, 1] == graph.y).all())                  # key j stores perm[j], query j asks for it
True
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence

import torch
from torch import Tensor

from gatkit.batch import Graph

__all__ = ["LookupSplit", "dictionary_lookup", "lookup_edge_index", "lookup_graph"]

#: The paper's number of examples when ``k!`` is larger (from ``k = 8`` on, as 8! = 40320).
PAPER_MAX_EXAMPLES = 32_000


@dataclasses.dataclass(frozen=True, eq=False)
class LookupSplit:
    """The train and test examples of one DictionaryLookup data set (see :func:`dictionary_lookup`).

    Attributes
    ----------
    k : int
        The dictionary size: each example has ``2k`` nodes and ``k * k`` edges.
    train, test : list of gatkit.batch.Graph
        The examples (see :func:`lookup_graph` for their layout). They share one ``edge_index``
        and one ``label_mask``: never edit them in place.
    train_pairs : torch.Tensor
        ``(k, k)`` bool, ``train_pairs[key, value]``: the pairs a training example may hold.
        No training example holds a pair outside it; every test example holds at least one.
    """

    k: int
    train: list[Graph]
    test: list[Graph]
    train_pairs: Tensor

    @property
    def num_tokens(self) -> int:
        """``k + 1``: the size of an embedding table for either column of ``x`` (``k`` means no value)."""
        return self.k + 1

    @property
    def held_out_pairs(self) -> Tensor:
        """``(M, 2)`` int64 rows ``(key, value)``: the pairs that occur only in test examples."""
        return (~self.train_pairs).nonzero()


def lookup_edge_index(k: int) -> Tensor:
    """``(2, k * k)`` int64: every key node ``k + j`` to every query node ``i``, grouped by key node.

    Column ``j * k + i`` is the edge ``k + j -> i`` (the official code's order).

    Examples
    --------
    >>> lookup_edge_index(2).tolist()
    [[2, 2, 3, 3], [0, 1, 0, 1]]
    """
    k = _check_size(k)
    sources = torch.arange(k, 2 * k).repeat_interleave(k)  # (k*k,): key nodes
    targets = torch.arange(k).repeat(k)  # (k*k,): query nodes
    return torch.stack([sources, targets])  # (2, k*k)


def lookup_graph(perm: Sequence[int] | Tensor, *, edge_index: Tensor | None = None) -> Graph:
    """One DictionaryLookup example: the dictionary ``key j -> perm[j]`` and a query for each key.

    Parameters
    ----------
    perm : sequence of int or torch.Tensor
        A permutation of ``0 .. k - 1``, ``k >= 2``.
    edge_index : torch.Tensor or None
        ``lookup_edge_index(k)``, to share one tensor among many examples; built if None.

    Returns
    -------
    gatkit.batch.Graph
        ``x`` ``(2k, 2)`` int64, rows ``(i, k)`` for the queries ``i = 0 .. k - 1`` then
        ``(j, perm[j])`` for the keys; ``edge_index`` ``(2, k * k)``; ``y`` ``(k,)`` int64 equal to
        ``perm`` (the answer of query ``i`` is ``perm[i]``); ``label_mask`` ``(2k,)`` bool, True on
        the queries.

    Examples
    --------
    >>> graph = lookup_graph([2, 0, 1])
    >>> graph.x.tolist()
    [[0, 3], [1, 3], [2, 3], [0, 2], [1, 0], [2, 1]]
    >>> graph.y.tolist(), graph.label_mask.tolist()
    ([2, 0, 1], [True, True, True, False, False, False])
    """
    perm = torch.as_tensor(perm)
    if perm.dim() != 1 or perm.dtype == torch.bool or perm.is_floating_point() or perm.is_complex():
        raise ValueError(f"perm must be a 1-D sequence of ints, got {perm.dtype} of shape {tuple(perm.shape)}")
    k = _check_size(perm.numel())
    perm = perm.long()
    if not torch.equal(perm.sort().values, torch.arange(k)):
        raise ValueError(f"perm must be a permutation of 0 .. {k - 1}, got {perm.tolist()}")
    if edge_index is None:
        edge_index = lookup_edge_index(k)
    return Graph(x=_features(perm.unsqueeze(0))[0], edge_index=edge_index, y=perm, label_mask=_query_mask(k))


def dictionary_lookup(k: int, *, max_examples: int = PAPER_MAX_EXAMPLES, train_fraction: float = 0.8,
                      seed: int = 0) -> LookupSplit:
    """The DictionaryLookup data set of size ``k``, split so that the test holds unseen pairs.

    Parameters
    ----------
    k : int
        Dictionary size, at least 2.
    max_examples : int, default 32000
        All ``k!`` permutations are used if there are at most this many, otherwise this many
        distinct random ones (the paper's 32,000; its code draws with replacement, so its sets
        repeat some examples; these do not).
    train_fraction : float, default 0.8
        In (0, 1): about this fraction of the examples trains. It sets how many (key, value)
        pairs training may see: ``int(train_fraction ** (1 / k) * k * k)`` of the ``k * k``.
    seed : int, default 0
        Seeds the permutations, the allowed pairs and the order of the examples; the same seed
        gives the same data set.

    Returns
    -------
    LookupSplit
        ``train`` and ``test`` lists of :class:`gatkit.batch.Graph` (layout: :func:`lookup_graph`),
        each in random order, and ``train_pairs``, the allowed (key, value) pairs.

    Raises
    ------
    ValueError
        On a bad argument, or if the split leaves the train or the test set empty (only for
        extreme ``train_fraction``: raise or lower it).

    Examples
    --------
    >>> from gatkit.batch import collate
    >>> data = dictionary_lookup(10, max_examples=1000, seed=1)
    >>> len(data.train) + len(data.test), data.num_tokens
    (1000, 11)
    >>> batch = collate(data.train[:32])                         # 32 graphs, one edge list
    >>> batch.x.shape, batch.edge_index.shape, batch.y.shape
    (torch.Size([640, 2]), torch.Size([2, 3200]), torch.Size([320]))
    """
    k = _check_size(k)
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 1:
        raise ValueError(f"max_examples must be a positive int, got {max_examples!r}")
    if isinstance(train_fraction, bool) or not isinstance(train_fraction, (int, float)) or not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must be a float strictly between 0 and 1, got {train_fraction!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an int, got {seed!r}")

    generator = torch.Generator().manual_seed(seed)
    perms = _permutations(k, max_examples, generator)  # (P, k)
    perms = perms[torch.randperm(perms.shape[0], generator=generator)]  # (P, k), random order
    num_allowed = int(train_fraction ** (1 / k) * k * k)
    train_pairs = torch.zeros(k * k, dtype=torch.bool)  # (k*k,)
    train_pairs[torch.randperm(k * k, generator=generator)[:num_allowed]] = True
    train_pairs = train_pairs.view(k, k)  # (k, k): [key, value]
    is_train = train_pairs[torch.arange(k), perms].all(dim=1)  # (P,): every pair (i, perm[i]) allowed
    if is_train.all() or not is_train.any():
        empty = "test" if is_train.all() else "train"
        raise ValueError(f"with k={k} and train_fraction={train_fraction} the {empty} set is empty; "
                         f"{'lower' if empty == 'test' else 'raise'} train_fraction")

    edge_index, label_mask = lookup_edge_index(k), _query_mask(k)  # shared by every example
    examples = [Graph(x=x, edge_index=edge_index, y=y, label_mask=label_mask)
                for x, y in zip(_features(perms).unbind(0), perms.unbind(0))]
    split = is_train.tolist()
    return LookupSplit(k=k, train=[g for g, t in zip(examples, split) if t],
                       test=[g for g, t in zip(examples, split) if not t], train_pairs=train_pairs)


def _permutations(k: int, max_examples: int, generator: torch.Generator) -> Tensor:
    """``(P, k)`` int64: all ``k!`` permutations if at most ``max_examples``, else that many distinct random ones."""
    if math.factorial(k) <= max_examples:
        return torch.tensor(list(itertools.permutations(range(k))), dtype=torch.long)  # (k!, k)
    distinct: dict[tuple[int, ...], None] = {}  # insertion-ordered, so the draw order is kept
    while len(distinct) < max_examples:
        draws = torch.rand(max_examples, k, generator=generator).argsort(dim=1)  # (max_examples, k)
        for row in draws.tolist():
            distinct.setdefault(tuple(row), None)
            if len(distinct) == max_examples:
                break
    return torch.tensor(list(distinct), dtype=torch.long)  # (max_examples, k)


def _features(perms: Tensor) -> Tensor:
    """``(P, 2k, 2)`` int64 tokens ``(key, value)``: the queries ``(i, k)`` then the keys ``(j, perm[j])``."""
    num, k = perms.shape
    keys = torch.arange(k).repeat(2).expand(num, 2 * k)  # (P, 2k)
    values = torch.cat([torch.full((num, k), k), perms], dim=1)  # (P, 2k): k is "no value"
    return torch.stack([keys, values], dim=2)  # (P, 2k, 2)


def _query_mask(k: int) -> Tensor:
    """``(2k,)`` bool: True on the query nodes ``0 .. k - 1``."""
    return torch.arange(2 * k) < k  # (2k,)


def _check_size(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise ValueError(f"k (the dictionary size) must be an int >= 2, got {k!r}")
    return k
