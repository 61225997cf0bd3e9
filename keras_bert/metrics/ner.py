"""Entity-level NER metrics: BIO/IOB2 tags -> spans, precision/recall/F1 on exact span + type."""

from __future__ import annotations

from collections.abc import Sequence

Span = tuple[str, int, int]  # (type, first word index, last word index + 1)


def split_tag(tag: str) -> tuple[str, str]:
    """`"B-PER"` -> `("B", "PER")`; `"O"` -> `("O", "")`. Raises ValueError on other shapes."""
    if tag == "O":
        return "O", ""
    prefix, sep, entity_type = tag.partition("-")
    if not sep or prefix not in ("B", "I") or not entity_type:
        raise ValueError(f"tag {tag!r} is not 'O', 'B-TYPE' or 'I-TYPE'")
    return prefix, entity_type


def tags_to_spans(tags: Sequence[str]) -> list[Span]:
    """Decode one sentence of BIO tags into entity spans.

    IOB2 and IOB1 are both accepted: an `I-X` that follows `O` or another type opens a new entity
    (the conlleval convention), so a stray `I-` is never dropped.
    """
    spans: list[Span] = []
    current: list | None = None  # [type, start]
    for i, tag in enumerate(tags):
        prefix, entity_type = split_tag(tag)
        continues = prefix == "I" and current is not None and current[0] == entity_type
        if current is not None and not continues:
            spans.append((current[0], current[1], i))
            current = None
        if prefix != "O" and not continues:
            current = [entity_type, i]
    if current is not None:
        spans.append((current[0], current[1], len(tags)))
    return spans


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
