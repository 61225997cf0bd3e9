"""SQuAD exact match and F1 as the official v1.1 / v2.0 evaluation scripts define them.

Normalisation: lower case, drop punctuation (`string.punctuation`), drop the articles a/an/the
as whole words, collapse whitespace. F1 is over bag-of-tokens overlap. Each prediction takes the
max over its gold answers; an unanswerable question (no gold answers) has gold `[""]` (v2.0).
"""

from __future__ import annotations

import collections
import re
import string
from collections.abc import Mapping, Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower case, strip punctuation, articles and extra whitespace (official order)."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1(prediction: str, gold: str) -> float:
    """Token-overlap F1; if either side normalises to nothing, 1.0 when both do, else 0.0 (v2.0)."""
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    common = collections.Counter(pred_tokens) & collections.Counter(gold_tokens)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(pred_tokens)
    recall = overlap / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def max_over_gold(metric, prediction: str, golds: Sequence[str]) -> float:
    """Best score of `prediction` against any gold answer; no gold answers means gold `""`."""
    golds = [g for g in golds if normalize_answer(g)] or [""]
    return max(metric(prediction, g) for g in golds)


def squad_evaluate(
    gold_answers: Mapping[str, Sequence[str]], predictions: Mapping[str, str]
) -> dict[str, float]:
    """EM and F1 in percent over `gold_answers` (question id -> answer texts, empty = unanswerable).

    A question with no prediction scores 0, as in the official script (which warns). Also returns
    `HasAns_*`/`NoAns_*` splits when both kinds occur, and `total`, `missing`.
    """
    scores: dict[str, list[tuple[float, float]]] = {"all": [], "has": [], "no": []}
    missing = 0
    for qid, golds in gold_answers.items():
        if qid not in predictions:
            missing += 1
            em = f = 0.0
        else:
            em = max_over_gold(exact_match, predictions[qid], golds)
            f = max_over_gold(f1, predictions[qid], golds)
        scores["all"].append((em, f))
        answerable = any(normalize_answer(g) for g in golds)
        scores["has" if answerable else "no"].append((em, f))

    def mean(values: list[tuple[float, float]], k: int) -> float:
        return 100.0 * sum(v[k] for v in values) / len(values) if values else 0.0

    result = {
        "exact": mean(scores["all"], 0),
        "f1": mean(scores["all"], 1),
        "total": len(scores["all"]),
        "missing": missing,
    }
    for key, name in (("has", "HasAns"), ("no", "NoAns")):
        if scores[key]:
            result[f"{name}_exact"] = mean(scores[key], 0)
            result[f"{name}_f1"] = mean(scores[key], 1)
            result[f"{name}_total"] = len(scores[key])
    return result


def best_null_threshold(
    gold_answers: Sequence[Sequence[str]],
    best_texts: Sequence[str],
    null_minus_best: Sequence[float],
) -> tuple[float, float]:
    """SQuAD v2.0: the `null_score_diff_threshold` with the highest F1, and that F1 (percent).

    Per question: `best_texts` is the best non-null span ("" if none), `null_minus_best` the null
    score minus that span's score; the answer is the span iff `null_minus_best <= threshold`.
    Candidates are the observed differences (and -inf: always null), as the official script's
    `find_best_thresh` does.
    """
    span_f1 = [max_over_gold(f1, t, g) for t, g in zip(best_texts, gold_answers, strict=True)]
    null_f1 = [max_over_gold(f1, "", g) for g in gold_answers]
    order = sorted(range(len(best_texts)), key=lambda i: null_minus_best[i])
    total = sum(null_f1)  # threshold below every difference: all null
    best_f1, best_threshold = total, float("-inf")
    for i in order:  # raise the threshold past question i: it switches to its span
        total += span_f1[i] - null_f1[i]
        if total > best_f1:
            best_f1, best_threshold = total, float(null_minus_best[i])
    return best_threshold, 100.0 * best_f1 / max(len(best_texts), 1)


def cross_fitted_f1(
    gold_answers: Sequence[Sequence[str]],
    best_texts: Sequence[str],
    null_minus_best: Sequence[float],
    fold_of: Sequence[int],
) -> float:
    """F1 (percent) where each fold is answered with the threshold tuned on the *other* folds, so no
    question's own label picks its threshold (stricter than the official `best_f1`)."""
    total = 0.0
    for fold in sorted(set(fold_of)):
        rest = [i for i, f in enumerate(fold_of) if f != fold]
        threshold, _ = best_null_threshold([gold_answers[i] for i in rest],
                                           [best_texts[i] for i in rest],
                                           [null_minus_best[i] for i in rest])
        for i, f in enumerate(fold_of):
            if f == fold:
                answer = best_texts[i] if null_minus_best[i] <= threshold else ""
                total += max_over_gold(f1, answer, gold_answers[i])
    return 100.0 * total / max(len(best_texts), 1)
