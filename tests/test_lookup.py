"""gatkit.lookup: the DictionaryLookup task of Brody et al. (2022), checked against its definition."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from gatkit.batch import Graph, collate
from gatkit.lookup import LookupSplit, dictionary_lookup, lookup_edge_index, lookup_graph


@pytest.fixture(scope="module")
def small() -> LookupSplit:
    return dictionary_lookup(4, seed=3)


@pytest.fixture(scope="module")
def sampled() -> LookupSplit:
    return dictionary_lookup(7, max_examples=300, seed=5)


def pairs(graph: Graph) -> set[tuple[int, int]]:
    """The (key, value) pairs stored in an example's key nodes."""
    k = graph.y.numel()
    return {(int(key), int(value)) for key, value in graph.x[k:].tolist()}


def answer_by_lookup(graph: Graph) -> list[int]:
    """Each query's answer found the slow way: the value of the key node with the query's key."""
    k = graph.y.numel()
    store = dict(graph.x[k:].tolist())
    return [store[key] for key, _ in graph.x[:k].tolist()]


def as_key(graph: Graph) -> tuple[int, ...]:
    return tuple(graph.y.tolist())


# --------------------------------------------------------------------------
# One example
# --------------------------------------------------------------------------

@pytest.mark.parametrize("k", [2, 3, 5, 10])
def test_every_key_node_sends_to_every_query_node_and_nothing_else(k):
    graph = lookup_graph(torch.randperm(k))
    assert graph.num_nodes == 2 * k and graph.num_edges == k * k
    sources, targets = graph.edge_index.tolist()
    assert set(zip(sources, targets)) == set(itertools.product(range(k, 2 * k), range(k)))
    assert all(graph.label_mask[targets]) and not any(graph.label_mask[sources])
    assert torch.equal(graph.label_mask, torch.arange(2 * k) < k)


def test_features_follow_the_documented_layout():
    graph = lookup_graph([2, 0, 1])
    assert graph.x.dtype == torch.long and graph.x.shape == (6, 2)
    assert graph.x.tolist() == [[0, 3], [1, 3], [2, 3], [0, 2], [1, 0], [2, 1]]  # 3 = no value
    assert graph.y.tolist() == [2, 0, 1]
    assert lookup_edge_index(2).tolist() == [[2, 2, 3, 3], [0, 1, 0, 1]]


@pytest.mark.parametrize("seed", range(5))
def test_each_query_asks_for_the_value_stored_under_its_key(seed):
    perm = torch.randperm(6, generator=torch.Generator().manual_seed(seed))
    graph = lookup_graph(perm)
    assert graph.y.tolist() == answer_by_lookup(graph) == perm.tolist()


# --------------------------------------------------------------------------
# The data set
# --------------------------------------------------------------------------

def test_small_k_uses_every_permutation_once(small):
    examples = small.train + small.test
    assert sorted(as_key(g) for g in examples) == sorted(itertools.permutations(range(4)))


def test_large_k_draws_the_requested_number_of_distinct_permutations(sampled):
    keys = [as_key(g) for g in sampled.train + sampled.test]
    assert len(keys) == len(set(keys)) == 300
    assert all(sorted(key) == list(range(7)) for key in keys)


@pytest.mark.parametrize("fixture", ["small", "sampled"])
def test_examples_are_well_formed_lookups(fixture, request):
    data = request.getfixturevalue(fixture)
    k = data.k
    for graph in data.train + data.test:
        assert graph.x.shape == (2 * k, 2) and graph.x.dtype == torch.long
        assert graph.edge_index.shape == (2, k * k) and graph.y.shape == (k,)
        assert graph.x[:k, 1].eq(k).all() and graph.x[k:, 1].lt(k).all()  # the no-value token is k
        assert graph.y.tolist() == answer_by_lookup(graph)
    assert data.num_tokens == k + 1 == int(torch.stack([g.x for g in data.train]).max()) + 1


def test_examples_share_one_edge_list_and_one_query_mask(sampled):
    first = sampled.train[0]
    assert all(g.edge_index is first.edge_index and g.label_mask is first.label_mask
               for g in sampled.train + sampled.test)
    assert torch.equal(first.edge_index, lookup_edge_index(7))


@pytest.mark.parametrize("fixture", ["small", "sampled"])
def test_the_test_set_holds_pairs_never_seen_in_training(fixture, request):
    data = request.getfixturevalue(fixture)
    seen = set().union(*(pairs(g) for g in data.train))
    allowed = {tuple(p) for p in data.train_pairs.nonzero().tolist()}
    held_out = {tuple(p) for p in data.held_out_pairs.tolist()}
    assert seen <= allowed and not held_out & allowed
    assert all(pairs(g) & held_out for g in data.test)  # every test example needs a new pair
    assert all(pairs(g) - seen for g in data.test)


@pytest.mark.parametrize("k", [2, 3, 4, 6, 10, 20])
def test_the_number_of_training_pairs_is_the_papers(k):
    data = dictionary_lookup(k, max_examples=200, seed=0)
    assert int(data.train_pairs.sum()) == int(0.8 ** (1 / k) * k * k)
    assert data.train_pairs.shape == (k, k) and data.train_pairs.dtype == torch.bool


@pytest.mark.parametrize("seed", range(4))
def test_k4_holds_out_one_pair_and_so_its_six_permutations(seed):
    data = dictionary_lookup(4, seed=seed)  # int(0.8 ** 0.25 * 16) = 15 of the 16 pairs
    assert len(data.held_out_pairs) == 1
    assert (len(data.train), len(data.test)) == (18, 6)  # 3! permutations contain a given pair


def test_about_train_fraction_of_the_examples_train():
    data = dictionary_lookup(10, max_examples=4000, seed=0)
    assert len(data.train) + len(data.test) == 4000
    assert 0.6 < len(data.train) / 4000 < 0.95


def test_sizes_follow_max_examples():
    assert len(dictionary_lookup(5, seed=0).train + dictionary_lookup(5, seed=0).test) == math.factorial(5)
    data = dictionary_lookup(5, max_examples=math.factorial(5) - 1, seed=0)
    assert len(data.train) + len(data.test) == math.factorial(5) - 1


def test_the_same_seed_gives_the_same_data_and_another_seed_another():
    first, again, other = (dictionary_lookup(6, max_examples=200, seed=s) for s in (1, 1, 2))
    assert torch.equal(first.train_pairs, again.train_pairs)
    assert [as_key(g) for g in first.train] == [as_key(g) for g in again.train]
    assert [as_key(g) for g in first.test] == [as_key(g) for g in again.test]
    assert [as_key(g) for g in first.train] != [as_key(g) for g in other.train]
    assert not torch.equal(first.train_pairs, other.train_pairs)


def test_the_seed_does_not_touch_the_global_random_state():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    dictionary_lookup(6, max_examples=100, seed=9)
    assert torch.equal(torch.rand(3), expected)


def test_a_collated_lookup_batch_keeps_queries_and_answers_together(sampled):
    batch = collate(sampled.train[:5])
    assert batch.y.shape == (5 * 7,) and int(batch.label_mask.sum()) == 5 * 7
    assert batch.batch[batch.label_mask].tolist() == [g for g in range(5) for _ in range(7)]
    assert torch.equal(batch.x[batch.label_mask, 0], torch.arange(7).repeat(5))  # query keys


# --------------------------------------------------------------------------
# Bad arguments
# --------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, words", [
    (dict(k=1), "k (the dictionary size) must be an int >= 2"),
    (dict(k=True), "k (the dictionary size) must be an int >= 2"),
    (dict(k=4.0), "k (the dictionary size) must be an int >= 2"),
    (dict(k=4, max_examples=0), "max_examples must be a positive int"),
    (dict(k=4, max_examples=10.5), "max_examples must be a positive int"),
    (dict(k=4, train_fraction=0), "train_fraction must be a float strictly between 0 and 1"),
    (dict(k=4, train_fraction=1.0), "train_fraction must be a float strictly between 0 and 1"),
    (dict(k=4, train_fraction="0.8"), "train_fraction must be a float strictly between 0 and 1"),
    (dict(k=4, seed=1.5), "seed must be an int"),
    (dict(k=3, train_fraction=1e-9), "the train set is empty; raise train_fraction"),
])
def test_bad_arguments_give_one_line_value_errors(kwargs, words):
    with pytest.raises(ValueError, match=r"^[^\n]*$") as error:
        dictionary_lookup(**kwargs)
    assert words in str(error.value)


@pytest.mark.parametrize("perm, words", [
    ([0, 0, 1], "must be a permutation of 0 .. 2"),
    ([1, 2, 3], "must be a permutation of 0 .. 2"),
    ([0], "k (the dictionary size) must be an int >= 2"),
    ([[0, 1], [1, 0]], "must be a 1-D sequence of ints"),
    ([0.0, 1.0], "must be a 1-D sequence of ints"),
])
def test_lookup_graph_refuses_what_is_not_a_permutation(perm, words):
    with pytest.raises(ValueError, match=r"^[^\n]*$") as error:
        lookup_graph(perm)
    assert words in str(error.value)
