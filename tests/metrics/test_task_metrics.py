"""Metrics on hand-checked cases, following the official SQuAD v1.1/v2.0 script definitions."""

from __future__ import annotations

import pytest

from keras_bert.metrics import (
    accuracy,
    entity_prf,
    exact_match,
    f1,
    macro_f1,
    majority_baseline,
    normalize_answer,
    squad_evaluate,
    tags_to_spans,
)


def test_normalize_answer_matches_official_steps():
    # lower -> strip punctuation -> remove articles -> collapse whitespace
    assert normalize_answer("The  Quick, brown-fox!") == "quick brownfox"
    assert normalize_answer("An apple a day") == "apple day"
    assert normalize_answer("theater") == "theater"  # article removal is whole-word only
    assert normalize_answer("  ") == ""


def test_squad_f1_and_exact_match_hand_checked():
    # pred {cat, sat}, gold {cat, sat, on}: P = 1, R = 2/3, F1 = 0.8
    assert f1("the cat sat", "a cat sat on") == pytest.approx(0.8)
    assert exact_match("The Cat.", "cat") == 1.0
    assert exact_match("cat", "cats") == 0.0
    # repeated tokens count with multiplicity (Counter intersection)
    assert f1("a a b", "a b b") == pytest.approx(2 * (2 / 3) * (2 / 3) / (4 / 3))
    # v2.0 empty handling
    assert f1("", "") == 1.0 and f1("paris", "") == 0.0 and f1("", "paris") == 0.0


def test_squad_evaluate_max_over_gold_missing_and_no_answer():
    gold = {"q1": ["Denver Broncos", "The Denver Broncos"], "q2": [], "q3": ["Paris"], "q4": ["x y"]}
    predictions = {"q1": "Broncos", "q2": "", "q3": "in Paris"}
    result = squad_evaluate(gold, predictions)
    # q1: EM 0, F1 = 2*(1)*(1/2)/(1.5) = 2/3; q2: EM 1, F1 1; q3: EM 0, F1 2/3; q4 missing: 0, 0
    assert result["exact"] == pytest.approx(100 * 1 / 4)
    assert result["f1"] == pytest.approx(100 * (2 / 3 + 1 + 2 / 3 + 0) / 4)
    assert result["missing"] == 1
    assert result["NoAns_total"] == 1 and result["NoAns_exact"] == 100.0
    assert result["HasAns_total"] == 3


def test_tags_to_spans_iob2_and_iob1():
    assert tags_to_spans(["B-PER", "I-PER", "O", "B-LOC"]) == [("PER", 0, 2), ("LOC", 3, 4)]
    # stray I- opens an entity; a type change splits
    assert tags_to_spans(["I-ORG", "I-ORG", "I-LOC"]) == [("ORG", 0, 2), ("LOC", 2, 3)]
    # B- right after the same type starts a new entity
    assert tags_to_spans(["B-PER", "B-PER"]) == [("PER", 0, 1), ("PER", 1, 2)]
    with pytest.raises(ValueError, match="X-PER"):
        tags_to_spans(["X-PER"])


def test_entity_prf_exact_span_and_type():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "O", "O", "B-LOC"], ["B-LOC", "O"]]
    # correct: LOC(3,4) only. predicted 3, gold 3.
    result = entity_prf(gold, pred)
    assert result["num_correct"] == 1 and result["num_gold"] == 3 and result["num_predicted"] == 3
    assert result["precision"] == pytest.approx(1 / 3) and result["f1"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        entity_prf([["O"]], [["O", "O"]])


def test_accuracy_macro_f1_majority():
    y_true = [0, 0, 1, 1, 2]
    y_pred = [0, 1, 1, 1, 0]
    assert accuracy(y_true, y_pred) == pytest.approx(3 / 5)
    # class 0: tp1 fp1 fn1 -> 0.5; class 1: tp2 fp1 fn0 -> 0.8; class 2: tp0 fn1 -> 0
    assert macro_f1(y_true, y_pred) == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    assert majority_baseline([1, 1, 0], [1, 0, 0, 0]) == pytest.approx(0.25)


def _f1_at(golds, texts, diffs, threshold):
    from keras_bert.metrics.squad import squad_evaluate

    answers = {str(i): (t if d <= threshold else "") for i, (t, d) in enumerate(zip(texts, diffs, strict=True))}
    return squad_evaluate({str(i): g for i, g in enumerate(golds)}, answers)["f1"]


def test_best_null_threshold_matches_brute_force_sweep():
    import numpy as np

    from keras_bert.metrics.squad import best_null_threshold

    rng = np.random.RandomState(0)
    words = ["the cat", "a dog", "red house", "blue sea", "old mill"]
    golds = [[] if rng.rand() < 0.3 else [words[rng.randint(5)]] for _ in range(60)]
    texts = [words[rng.randint(5)] for _ in golds]
    diffs = list(rng.randn(60) * 3)
    threshold, best = best_null_threshold(golds, texts, diffs)
    # Independent check: the official definition evaluated at every candidate threshold.
    sweep = {t: _f1_at(golds, texts, diffs, t) for t in [-np.inf, *diffs]}
    assert best == pytest.approx(max(sweep.values()), abs=1e-9)
    assert _f1_at(golds, texts, diffs, threshold) == pytest.approx(best, abs=1e-9)
    # Hand-checked: one answerable (span right) and one unanswerable (span wrong) question.
    t, f = best_null_threshold([["old mill"], []], ["old mill", "a dog"], [1.0, 2.0])
    assert (t, f) == (1.0, 100.0)  # answer the first (diff 1 <= 1), abstain on the second (2 > 1)


def test_cross_fitted_f1_never_uses_a_questions_own_fold():
    from keras_bert.metrics.squad import cross_fitted_f1

    # Fold 0 wants "always answer", fold 1 "never answer": each gets the other's choice, so both
    # folds score 0 -- whereas a threshold tuned on all questions would get 50.
    golds = [["old mill"], ["old mill"], [], []]
    texts = ["old mill", "old mill", "a dog", "a dog"]
    diffs = [5.0, 5.0, -5.0, -5.0]
    assert cross_fitted_f1(golds, texts, diffs, [0, 0, 1, 1]) == 0.0
