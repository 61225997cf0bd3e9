"""The BIO tag scheme of token classification (IOB2, IOB1 tolerated), in plain Python.

One rule for everything that reads tags: the NER dataset reader (`data`), the in-graph entity
decoder of the export (`preprocessing.ner_postprocessing`) and the entity-level metrics (`metrics`).
"""

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
