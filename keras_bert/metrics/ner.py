"""Entity-level NER metrics: precision/recall/F1 on exact span + type.

Tags are read by the one BIO rule of `keras_bert.bio_tags` (`split_tag`, `tags_to_spans`, also
importable from here).
"""

from __future__ import annotations

from collections.abc import Sequence

from keras_bert.bio_tags import Span, split_tag, tags_to_spans

__all__ = ["Span", "entity_prf", "split_tag", "tags_to_spans"]


def entity_prf(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]
) -> dict[str, float]:
    """Micro precision/recall/F1 over entities: a prediction counts only with exact span and type.

    Args:
        gold, predicted: one tag sequence per sentence, equal lengths sentence by sentence.
    Returns:
        dict with `precision`, `recall`, `f1`, `num_gold`, `num_predicted`, `num_correct`.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences vs {len(predicted)} predicted")
    n_gold = n_pred = n_correct = 0
    for index, (g, p) in enumerate(zip(gold, predicted, strict=True)):
        if len(g) != len(p):
            raise ValueError(f"sentence {index}: {len(g)} gold tags vs {len(p)} predicted")
        gold_spans, pred_spans = set(tags_to_spans(g)), set(tags_to_spans(p))
        n_gold += len(gold_spans)
        n_pred += len(pred_spans)
        n_correct += len(gold_spans & pred_spans)
    precision = n_correct / n_pred if n_pred else 0.0
    recall = n_correct / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "num_gold": n_gold,
        "num_predicted": n_pred,
        "num_correct": n_correct,
    }
