"""Tests for gatkit.metrics: ROC AUC against a pair count and against scikit-learn."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from gatkit.metrics import roc_auc


def pair_count(scores, labels) -> float:
    """The definition, pair by pair: wins count 1, ties one half (O(P Q))."""
    positive, negative = scores[labels == 1], scores[labels == 0]
    wins = (positive[:, None] > negative[None, :]).double().sum()
    ties = (positive[:, None] == negative[None, :]).double().sum()
    return float((wins + ties / 2) / (len(positive) * len(negative)))


def random_case(n: int, seed: int, *, levels: int | None = None, share: float = 0.3):
    """Scores (n,) float32 (with many ties if ``levels``) and labels (n,) with both classes."""
    generator = torch.Generator().manual_seed(seed)
    labels = (torch.rand(n, generator=generator) < share).long()  # (n,)
    labels[:2] = torch.tensor([0, 1])  # both classes, whatever the draw
    noise = torch.randn(n, generator=generator)  # (n,)
    scores = labels + noise if levels is None else (labels + noise).mul(levels / 4).round()  # (n,)
    return scores.float(), labels


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("levels", [None, 3, 12])
def test_equals_the_pair_count_and_scikit_learn(seed, levels):
    scores, labels = random_case(300, seed, levels=levels, share=0.15 + 0.1 * seed)
    expected = pair_count(scores, labels)
    assert roc_auc(scores, labels) == pytest.approx(expected, abs=1e-12)
    assert roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels.numpy(), scores.numpy()), abs=1e-12)


def test_a_large_input_with_ties_agrees_with_scikit_learn():
    scores, labels = random_case(200_000, 7, levels=40, share=0.2)
    assert roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels.numpy(), scores.numpy()), abs=1e-10)


def test_hand_checked_values():
    # positives 0.9 and 0.4, negatives 0.4 and 0.1: wins (0.9, 0.4), (0.9, 0.1), (0.4, 0.1), one tie
    assert roc_auc(torch.tensor([0.9, 0.4, 0.4, 0.1]), torch.tensor([1, 1, 0, 0])) == 3.5 / 4
    assert roc_auc(torch.zeros(5), torch.tensor([0, 0, 0, 0, 1])) == 0.5  # a constant: every pair tied
    assert roc_auc(torch.arange(6.0), torch.tensor([0, 0, 0, 1, 1, 1])) == 1.0
    assert roc_auc(-torch.arange(6.0), torch.tensor([0, 0, 0, 1, 1, 1])) == 0.0


def test_only_the_order_of_the_scores_counts():
    scores, labels = random_case(500, 3, levels=6)
    auc = roc_auc(scores, labels)
    assert roc_auc(torch.sigmoid(scores.double()), labels) == pytest.approx(auc, abs=1e-12)
    assert roc_auc(3 * scores - 7, labels) == pytest.approx(auc, abs=1e-12)
    order = torch.randperm(500, generator=torch.Generator().manual_seed(0))
    assert roc_auc(scores[order], labels[order]) == pytest.approx(auc, abs=1e-12)
    assert roc_auc(-scores, labels) == pytest.approx(1 - auc, abs=1e-12)  # swapping the roles
    assert roc_auc(scores, 1 - labels) == pytest.approx(1 - auc, abs=1e-12)


def test_accepts_numpy_lists_bool_and_float_labels():
    scores, labels = random_case(100, 5, levels=4)
    auc = roc_auc(scores, labels)
    assert roc_auc(scores.numpy(), labels.numpy()) == auc
    assert roc_auc(scores.tolist(), labels.tolist()) == pytest.approx(auc, abs=1e-12)
    assert roc_auc(scores, labels.bool()) == auc
    assert roc_auc(scores, labels.float()) == auc
    assert isinstance(auc, float)


@pytest.mark.parametrize("scores, labels, message", [
    (torch.tensor([0.1, 0.2]), torch.tensor([1, 1]), "no label is negative"),
    (torch.tensor([0.1, 0.2]), torch.tensor([0, 0]), "no label is positive"),
    (torch.tensor([0.1, 0.2, 0.3]), torch.tensor([0, 1, 2]), "0 or 1"),
    (torch.tensor([0.1, 0.2]), torch.tensor([-1, 1]), "0 or 1"),
    (torch.tensor([0.1, float("nan")]), torch.tensor([0, 1]), "nan"),
    (torch.tensor([0.1, 0.2, 0.3]), torch.tensor([0, 1]), "same length"),
    (torch.zeros(2, 2), torch.zeros(2, 2), "1-D"),
])
def test_bad_inputs_raise_a_clear_value_error(scores, labels, message):
    with pytest.raises(ValueError, match=message):
        roc_auc(scores, labels)


def test_gradients_are_not_needed_and_inputs_are_left_alone():
    scores = torch.tensor([0.3, 0.1, 0.2], requires_grad=True)
    labels = torch.tensor([1, 0, 1])
    assert roc_auc(scores, labels) == 1.0
    assert torch.equal(labels, torch.tensor([1, 0, 1])) and scores.grad is None
    assert roc_auc(np.array([2, 1, 1]), np.array([1, 0, 1])) == 0.75


def test_the_hand_worked_toy_of_the_chapter_12_check():
    from course.checks import ch12

    assert roc_auc(ch12.AUC_SCORES, ch12.AUC_LABELS) == pytest.approx(ch12.AUC_ANSWER, abs=1e-15)
    assert pair_count(ch12.AUC_SCORES, ch12.AUC_LABELS) == pytest.approx(ch12.AUC_ANSWER, abs=1e-15)
