"""Builds a task's servable from a model, the tokenizer and the task's training preprocessor."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from keras_bert.export.servable import ServableModule


def _packer(tokenizer, sequence_length: int):
    from keras_bert.preprocessing import SegmentPacker

    return SegmentPacker(
        sequence_length,
        start_value=tokenizer.cls_token_id,
        end_value=tokenizer.sep_token_id,
        pad_value=tokenizer.pad_token_id,
    )


def build_servable(
    task: str,
    model,
    tokenizer,
    sequence_length: int = 128,
    label_names: list[str] | None = None,
    pair: bool = False,
    doc_stride: int = 128,
    max_query_length: int = 64,
    max_answer_length: int = 30,
    version_2_with_negative: bool = False,
    null_score_diff_threshold: float = 0.0,
    max_entities: int = 16,
    top_k: int = 5,
    max_masks: int = 4,
    pooling: str = "mean",
    normalize: bool = False,
    chunk_size: int | None = None,
    max_context_bytes: int | None = None,
) -> ServableModule:
    """The servable for `task` (a key of `keras_bert.export.tasks.TASKS`) wrapping `model`.
    `chunk_size`: rows per model run (default 8192 tokens' worth); `max_context_bytes`: QA's limit
    on the context bytes of one request (default `tasks.question_answering.MAX_CONTEXT_BYTES`)."""
    from keras_bert.export import tasks
    from keras_bert.export.tasks.question_answering import MAX_CONTEXT_BYTES

    label_names = label_names or getattr(model, "label_names", None)
    if task == "classification":
        from keras_bert.preprocessing.classification_preprocessor import ClassificationPreprocessor

        pre = ClassificationPreprocessor(tokenizer, sequence_length, label_names)
        return tasks.ClassificationServable(
            model, tokenizer, pre.packer, label_names, pair, chunk_size
        )
    if task == "question-answering":
        from keras_bert.preprocessing.squad_preprocessor import SquadPreprocessor

        pre = SquadPreprocessor(
            tokenizer, sequence_length=sequence_length, doc_stride=doc_stride,
            max_query_length=max_query_length,
        )
        return tasks.QuestionAnsweringServable(
            model, pre, max_answer_length, version_2_with_negative, null_score_diff_threshold,
            chunk_size, max_context_bytes or MAX_CONTEXT_BYTES,
        )
    if task == "token-classification":
        from keras_bert.preprocessing.ner_preprocessor import NerPreprocessor

        if not label_names:
            raise ValueError("token classification needs the tag names (model.label_names or --label_names)")
        pre = NerPreprocessor(tokenizer, sequence_length)
        return tasks.TokenClassificationServable(model, pre, label_names, max_entities, chunk_size)
    if task == "fill-mask":
        return tasks.FillMaskServable(
            model, tokenizer, _packer(tokenizer, sequence_length), top_k, max_masks, chunk_size
        )
    if task == "embedding":
        return tasks.EmbeddingServable(
            model, tokenizer, _packer(tokenizer, sequence_length), pooling, normalize, chunk_size
        )
    raise ValueError(f"unknown task {task!r}; known: {sorted(tasks.TASKS)}")


def load_task_model(task: str, path: str | os.PathLike) -> Any:
    """A `.keras` task model, or for embedding / fill-mask a checkpoint folder (HF or TF1)."""
    import keras_bert.models.bert_classifier  # noqa: F401  (register the task classes)
    import keras_bert.models.bert_span_qa  # noqa: F401
    import keras_bert.models.bert_token_tagger  # noqa: F401
    from keras_bert.convert import load_model

    heads = "pretraining" if task == "fill-mask" else "none"
    return load_model(path, heads=heads)


def find_vocabulary(model_path: str | os.PathLike, vocab: str | None) -> str:
    """`vocab` if given, else `vocab.txt` beside (or inside) the model path, else MiniLM's."""
    if vocab:
        return vocab
    path = Path(model_path)
    for candidate in (path / "vocab.txt", path.parent / "vocab.txt"):
        if candidate.is_file():
            return str(candidate)
    from keras_bert.presets import minilm_dir

    return str(minilm_dir() / "vocab.txt")
