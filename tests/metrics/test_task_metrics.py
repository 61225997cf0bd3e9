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
