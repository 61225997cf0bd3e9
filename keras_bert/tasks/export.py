"""Builds a task's servable (the TF Serving export) from a task model and the preprocessor saved with it.

A model fine-tuned here carries its preprocessor (`model.preprocessor`: vocabulary, casing,
sequence length, labels, pair input, doc stride, query and answer lengths, the tuned null
threshold), so an export needs no flag: `build_servable(task, model)`. Options given explicitly
override the saved values, and the servable records what they changed (`servable.overrides`, which
the export command prints). A model without one (a Hugging Face or TF1 checkpoint folder for
embedding / fill-mask, or an older `.keras`) gets the task's default preprocessing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from keras_bert.export.servable import ServableModule
from keras_bert.tasks import registry

# Preprocessor settings a flag may override, per task (the rest of the options go to the servable).
PREPROCESSOR_OPTIONS = {
    "classification": ("sequence_length", "label_names", "pair"),
    "question-answering": (
        "sequence_length", "doc_stride", "max_query_length", "max_answer_length",
        "null_score_diff_threshold", "version_2_with_negative", "convention",
    ),
    "token-classification": ("sequence_length",),
    "fill-mask": ("sequence_length",),
    "embedding": ("sequence_length",),
    "summarization": ("sequence_length",),
}
SERVABLE_OPTIONS = {
    "classification": ("chunk_size",),
    "question-answering": ("chunk_size", "max_context_bytes"),
    "token-classification": ("max_entities", "chunk_size"),
    "fill-mask": ("top_k", "max_masks", "chunk_size"),
    "embedding": ("pooling", "normalize", "chunk_size"),
    "summarization": ("top_k", "chunk_size"),
}


def build_options(task: str) -> tuple[str, ...]:
    """The options `build_servable` takes for `task`."""
    return PREPROCESSOR_OPTIONS[task] + SERVABLE_OPTIONS[task]


def task_of(model) -> str | None:
    """The task a saved model serves, from its class (None for an unknown model)."""
    task = registry.task_of(model)
    return None if task is None else task.name


def resolve_preprocessor(task: str, model, tokenizer=None, **options) -> tuple[Any, list[str]]:
    """The preprocessor an export of `model` runs, and the changes options made to the saved one.

    `tokenizer` (a `WordPieceTokenizer`) replaces the saved tokenizer when given; `options` with a
    value other than None override the saved settings.
    """
    cls = registry.get(task).load("preprocessor")
    saved = getattr(model, "preprocessor", None)
    if saved is not None and not isinstance(saved, cls):
        raise ValueError(f"{task}: the model's preprocessor is a {type(saved).__name__}, not a {cls.__name__}")
    options = {k: v for k, v in options.items() if v is not None}
    changes = []
    if saved is None:
        if tokenizer is None:
            raise ValueError(f"{task}: the model carries no preprocessor; give a tokenizer (vocabulary)")
        config = {"sequence_length": registry.get(task).sequence_length}
        if task == "classification":
            config["label_names"] = getattr(model, "label_names", None)
    else:
        config = {k: v for k, v in saved.get_config().items() if k not in ("tokenizer", "name", "dtype")}
        if tokenizer is None:
            tokenizer = saved.tokenizer
        else:
            if tokenizer.lowercase != saved.tokenizer.lowercase:
                changes.append(f"lowercase: {saved.tokenizer.lowercase} -> {tokenizer.lowercase}")
            if tokenizer.vocabulary != saved.tokenizer.vocabulary:
                changes.append("vocabulary: replaced")
    for key, value in options.items():
        if saved is not None and config.get(key) != value:
            changes.append(f"{key}: {config.get(key)} -> {value}")
        config[key] = value
    return cls(tokenizer, **config), changes


def build_servable(task: str, model, tokenizer=None, **options) -> ServableModule:
    """The servable for `task` (a registered task name, `keras_bert.tasks.registry`) wrapping `model`.

    Args:
        task: the task name.
        model: the task model; its `preprocessor` (if any) gives the preprocessing.
        tokenizer: overrides the saved tokenizer (required when the model carries none).
        **options: preprocessor overrides (`PREPROCESSOR_OPTIONS`) and servable settings
            (`SERVABLE_OPTIONS`: `chunk_size` rows per model run, default 8192 tokens' worth;
            QA's `max_context_bytes`, default `question_answering.servable.MAX_CONTEXT_BYTES`;
            `max_entities`, `top_k`, `max_masks`, `pooling`, `normalize`). None means "not given".
    """
    spec = registry.get(task)
    task = spec.name
    if spec.servable is None:
        raise ValueError(f"task {task!r} has no export; exportable: {', '.join(registry.names(export=True))}")
    servable_class = spec.load("servable")
    unknown = set(options) - set(PREPROCESSOR_OPTIONS[task]) - set(SERVABLE_OPTIONS[task])
    if unknown:
        raise ValueError(f"{task}: options {sorted(unknown)} do not apply")
    pre_options = {k: options[k] for k in PREPROCESSOR_OPTIONS[task] if k in options}
    servable_options = {k: v for k, v in options.items() if k in SERVABLE_OPTIONS[task] and v is not None}
    preprocessor, changes = resolve_preprocessor(task, model, tokenizer, **pre_options)
    if task == "classification":
        label_names = preprocessor.label_names or getattr(model, "label_names", None)
        if getattr(model, "regression", False):  # one value: Regress API instead of Classify
            from keras_bert.tasks.classification.servable import RegressionServable

            servable_class = RegressionServable
        servable = servable_class(model, preprocessor, label_names, preprocessor.pair, **servable_options)
    elif task == "token-classification":
        label_names = getattr(model, "label_names", None)
        if not label_names:
            raise ValueError("token classification needs the tag names (model.label_names)")
        servable = servable_class(model, preprocessor, label_names, **servable_options)
    elif task == "embedding" and hasattr(model, "pooling"):  # a BertTextEmbedder: its own pooling
        saved = {"pooling": model.pooling, "normalize": model.normalize}
        changes += [f"{k}: {saved[k]} -> {v}" for k, v in servable_options.items()
                    if k in saved and saved[k] != v]
        servable_options = {**saved, **servable_options}
        servable = servable_class(model.backbone, preprocessor, **servable_options)
    else:
        servable = servable_class(model, preprocessor, **servable_options)
    servable.overrides = changes
    return servable


def load_task_model(task: str | None, path: str | os.PathLike) -> Any:
    """A `.keras` task model, or a checkpoint folder (Hugging Face or TF1): a fine-tuned one becomes
    its task model with the preprocessor its files imply (`keras_bert.convert.load_task`); for
    embedding / fill-mask also a bare encoder / pretraining checkpoint."""
    return load_task_model_and_source(task, path)[0]


def load_task_model_and_source(task: str | None, path: str | os.PathLike) -> tuple[Any, str | None]:
    """`load_task_model`, and for a checkpoint folder one line saying what was found in it."""
    for name in registry.names(export=True):  # register the task model and preprocessor classes
        registry.get(name).load("model"), registry.get(name).load("preprocessor")
    from keras_bert.convert import load_model_and_task

    if task == "embedding":
        return load_model_and_task(path, heads="none")[0], None
    model, found = load_model_and_task(path, heads="auto", task=task)
    return model, None if found is None else found.describe()


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
