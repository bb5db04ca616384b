"""Scores of a classifier's predictions that accuracy cannot give.

:func:`roc_auc`
    The area under the ROC curve of a binary task: how well scores *rank* the positives above the
    negatives, whatever threshold is later chosen. On a task with unbalanced classes (minesweeper:
    80% safe cells) accuracy rewards predicting the big class everywhere; ROC AUC gives that
    predictor 0.5, the value of a coin toss.

Examples
--------
>>> import torch
>>> roc_auc(torch.tensor([0.9, 0.4, 0.4, 0.1]), torch.tensor([1, 1, 0, 0]))   # one tie: half a win
0.875
>>> roc_auc(torch.zeros(5), torch.tensor([0, 0, 0, 0, 1]))                  # "always safe"
0.5
"""

from __future__ import annotations

import torch

__all__ = ["roc_auc"]


def roc_auc(scores, labels) -> float:
    """Area under the ROC curve: the probability that a random positive outscores a random negative.

    ``AUC = P(s_pos > s_neg) + P(s_pos == s_neg) / 2`` over all (positive, negative) pairs: a tie
    counts one half. Computed from ranks in O(n log n) (the Mann-Whitney U statistic): with
    ``r_m`` the rank of score ``m`` among all ``n`` scores (1 = lowest; tied scores share the mean
    of their ranks), ``AUC = (sum of r_m over positives - P (P + 1) / 2) / (P Q)`` for ``P``
    positives and ``Q`` negatives. It depends only on the order of the scores, so logits,
    probabilities or any increasing function of them give the same value.

    Parameters
    ----------
    scores : torch.Tensor or array_like
        (n,) real scores, higher meaning "more likely positive"; no ``nan``.
    labels : torch.Tensor or array_like
        (n,) binary labels, 1 (or ``True``) for a positive and 0 for a negative.

    Returns
    -------
    float
        In ``[0, 1]``: 1 when every positive outscores every negative, 0.5 for constant or
        random scores, 0 when the order is exactly reversed.

    Raises
    ------
    ValueError
        If the shapes differ or are not 1-D, a score is ``nan``, a label is not 0 or 1, or one of
        the two classes is absent (the AUC compares positives with negatives: it needs both).
    """
    scores, labels = torch.as_tensor(scores), torch.as_tensor(labels)
    if scores.dim() != 1 or labels.shape != scores.shape:
        raise ValueError(f"scores and labels must be 1-D of the same length, got shapes "
                         f"{tuple(scores.shape)} and {tuple(labels.shape)}")
    scores = scores.detach().cpu().double()  # (n,)
    labels = labels.detach().cpu()
    if bool(torch.isnan(scores).any()):
        raise ValueError("scores contain nan: a nan has no rank")
    if labels.dtype != torch.bool and not bool(((labels == 0) | (labels == 1)).all()):
        raise ValueError(f"labels must be 0 or 1, got the values {torch.unique(labels)[:10].tolist()}")
    positive = labels.bool()  # (n,)
    num_positive = int(positive.sum())
    num_negative = len(positive) - num_positive
    if num_positive == 0 or num_negative == 0:
        missing = "positive (1)" if num_positive == 0 else "negative (0)"
        raise ValueError(f"ROC AUC needs both classes, but no label is {missing}")
    _, group, counts = torch.unique(scores, return_inverse=True, return_counts=True)  # sorted distinct scores
    mean_rank = counts.cumsum(0).double() - (counts.double() - 1) / 2  # (distinct,) 1-based, ties averaged
    rank_sum = mean_rank[group][positive].sum()  # sum of the positives' ranks
    return float((rank_sum - num_positive * (num_positive + 1) / 2) / (num_positive * num_negative))
