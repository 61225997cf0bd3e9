"""Classification metrics: accuracy and macro-F1 over integer labels (pure Python, no TensorFlow)."""

from __future__ import annotations

from collections.abc import Sequence


def accuracy(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """Fraction of positions where `y_pred == y_true`; both length-N integer sequences."""
    if len(y_true) != len(y_pred):
        raise ValueError(f"length mismatch: {len(y_true)} labels vs {len(y_pred)} predictions")
    if not y_true:
        return 0.0
    return sum(int(t == p) for t, p in zip(y_true, y_pred, strict=True)) / len(y_true)


def macro_f1(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int | None = None) -> float:
    """Unweighted mean of per-class F1 over the classes present in `y_true` or `y_pred`.

    A class with no true and no predicted examples is left out (scikit-learn's default when
    `labels` is not given). Pass `num_classes` to average over `range(num_classes)` instead.
    """
    if len(y_true) != len(y_pred):
        raise ValueError(f"length mismatch: {len(y_true)} labels vs {len(y_pred)} predictions")
    classes = range(num_classes) if num_classes is not None else sorted(set(y_true) | set(y_pred))
    scores = []
    for c in classes:
        tp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == c and p == c)
        fp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t != c and p == c)
        fn = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == c and p != c)
        denominator = 2 * tp + fp + fn
        scores.append(2 * tp / denominator if denominator else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def majority_baseline(y_train: Sequence[int], y_eval: Sequence[int]) -> float:
    """Accuracy on `y_eval` of always predicting the most frequent class of `y_train`."""
    majority = max(set(y_train), key=list(y_train).count)
    return accuracy(y_eval, [majority] * len(y_eval))
