"""Tiny task models on the real MiniLM vocabulary, exported once per test session."""

from __future__ import annotations

import pathlib

import keras
import numpy as np
from keras import ops
from keras_bert.export.writer import export_servable

from keras_bert.tasks.export import build_servable

TINY = dict(num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32, max_sequence_length=512)
NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
CLASS_LABELS = ["negative", "neutral", "positive"]
QA_OPTIONS = dict(sequence_length=64, doc_stride=24, max_query_length=16, max_answer_length=10)
MARKER_QA_OPTIONS = dict(sequence_length=128, doc_stride=64, max_query_length=16, max_answer_length=8)
# Requests the export tests send (long contexts: several QA windows each).
QUESTIONS = ["Who spoke in Paris?", "Was ist Zürich?"]
CONTEXTS = [
    "Anna spoke in Paris about café culture and the naïve art of the 1900s. " * 3,
    "Zürich ist eine Stadt in der Schweiz. Ünïcödé und Emoji ☕ stehen hier. " * 4,
]
MASKED = ["Paris is the [MASK] of France.", "no mask here", "[MASK] [MASK] starts"]


def tiny_backbone(tokenizer):
    from keras_bert.models import BertBackbone

    keras.utils.set_random_seed(7)
    return BertBackbone(vocabulary_size=tokenizer.vocabulary_size, **TINY)


def task_models(tokenizer) -> dict[str, tuple[object, dict]]:
    from keras_bert.models import BertPretrainer
    from keras_bert.models.bert_classifier import BertClassifier
    from keras_bert.models.bert_span_qa import BertSpanQA
    from keras_bert.models.bert_token_tagger import BertTokenTagger

    return {
        "classification": (
            BertClassifier(tiny_backbone(tokenizer), 3, label_names=CLASS_LABELS), {"pair": True}
        ),
        "question-answering": (BertSpanQA(tiny_backbone(tokenizer)), QA_OPTIONS),
        "token-classification": (
            BertTokenTagger(tiny_backbone(tokenizer), len(NER_LABELS), label_names=NER_LABELS),
            {"max_entities": 8},
        ),
        "fill-mask": (BertPretrainer(tiny_backbone(tokenizer)), {"top_k": 4}),
        "embedding": (tiny_backbone(tokenizer), {"pooling": "mean"}),
    }


def marker_qa_model(start_id: int, end_id: int) -> keras.Model:
    """A span model whose logits pick `start_id` .. `end_id` tokens wherever they occur.

    Stands in for a trained `BertSpanQA` (same inputs and outputs) so that which window holds the
    answer is known: tests the in-graph windowing and span selection, not the network.
    """
    names = ("token_ids", "segment_ids", "padding_mask")
    inputs = {n: keras.Input(shape=(None,), dtype="int32", name=n) for n in names}
    ids = inputs["token_ids"]
    context = ops.cast(inputs["segment_ids"], "float32")
    start = 20.0 * ops.cast(ops.equal(ids, start_id), "float32") * context
    end = 20.0 * ops.cast(ops.equal(ids, end_id), "float32") * context
    return keras.Model(inputs, {"start_logits": start - 5.0, "end_logits": end - 5.0})


def export_all(tokenizer, models: dict, base: pathlib.Path) -> dict[str, pathlib.Path]:
    paths = {}
    for task, (model, options) in models.items():
        servable = build_servable(task, model, tokenizer, **options)
        paths[task] = export_servable(servable, base / task / "1")
    return paths


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)
