"""Sentence / sentence-pair classification: datasets, fine-tuning, evaluation, predictions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_bert.data.tasks import (
    TaskData,
    encode_labels,
    eval_split_or_file,
    label_vocabulary,
    load_task_data,
)
from keras_bert.data.tasks.readers import read_classification
from keras_bert.metrics import accuracy, macro_f1, majority_baseline
from keras_bert.tasks import common


def load_data(train: str | None, evaluation: str | None, label_names=None) -> TaskData:
    """`train`/`evaluation`: a dataset name from `keras_bert.data.tasks.DATASETS` or a
    CSV/TSV/JSONL file (`text`, optional `text_pair`, `label`)."""
    if train and not Path(train).exists():
        data = load_task_data(train)
        if evaluation and evaluation != train:
            data.eval = eval_split_or_file(evaluation, read_classification)
        return data
    train_rows = read_classification(train) if train else []
    eval_rows = read_classification(evaluation) if evaluation else []
    names = label_names or label_vocabulary(train_rows or eval_rows)
    return TaskData("classify", train_rows, eval_rows, names)


def _tensors(examples: list[dict], label_names: list[str]):
    texts = tf.constant([e["text"] for e in examples])
    pairs = [e.get("text_pair") for e in examples]
    has_pair = any(p is not None for p in pairs)
    pair = tf.constant([p or "" for p in pairs]) if has_pair else None
    labels = tf.constant(encode_labels(examples, label_names), tf.int32)
    return texts, pair, labels


def dataset(examples, label_names, preprocessor, batch_size, shuffle=False, seed=0, labels=True):
    texts, pair, y = _tensors(examples, label_names) if labels else (
        tf.constant([e["text"] for e in examples]),
        tf.constant([e.get("text_pair") or "" for e in examples])
        if any(e.get("text_pair") is not None for e in examples) else None,
        tf.zeros([len(examples)], tf.int32),
    )
    columns = (texts, y) if pair is None else (texts, pair, y)
    ds = tf.data.Dataset.from_tensor_slices(columns)
    if shuffle:
        ds = ds.shuffle(len(examples), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if pair is None:
        ds = ds.map(lambda t, y: preprocessor(t, label=y), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(lambda t, p, y: preprocessor(t, p, label=y), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.map(common.trim_to_longest).prefetch(tf.data.AUTOTUNE)


def predict_probabilities(model, preprocessor, examples, batch_size=64) -> np.ndarray:
    """(N, C) float32 softmax probabilities."""
    ds = dataset(examples, None, preprocessor, batch_size, labels=False).map(lambda x, y: x)
    logits = model.predict(ds, verbose=0)
    return tf.nn.softmax(logits, axis=-1).numpy()


def evaluate(model, preprocessor, examples, label_names, train_examples=None, batch_size=64) -> dict:
    """accuracy, macro_f1 (and the majority-class baseline when train labels are given)."""
    probs = predict_probabilities(model, preprocessor, examples, batch_size)
    y_true = encode_labels(examples, label_names)
    y_pred = probs.argmax(-1).tolist()
    result = {"accuracy": accuracy(y_true, y_pred),
              "macro_f1": macro_f1(y_true, y_pred, len(label_names)), "num_examples": len(y_true)}
    if train_examples:
        result["majority_baseline"] = majority_baseline(encode_labels(train_examples, label_names), y_true)
    result["_probabilities"] = probs
    return result


def write_predictions(path: Path, examples, probabilities: np.ndarray, label_names) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for e, p in zip(examples, probabilities, strict=True):
            row = {"text": e["text"], "text_pair": e.get("text_pair"), "label": e.get("label"),
                   "predicted": label_names[int(p.argmax())],
                   "probabilities": {n: round(float(v), 5) for n, v in zip(label_names, p, strict=True)}}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def finetune(data: TaskData, config: common.RunConfig) -> dict:
    """Fine-tune `BertClassifier` from `config.init` on `data.train`; evaluate on `data.eval` after
    each epoch, keep the best model; return the best model's metrics (+ baseline)."""
    from keras_bert.models.bert_classifier import BertClassifier
    from keras_bert.preprocessing.classification_preprocessor import ClassificationPreprocessor

    train = common.subset(data.train, config.max_examples, config.seed)
    evaluation = common.subset(data.eval, config.max_eval_examples, config.seed)
    label_names = data.label_names or label_vocabulary(train)

    def build_inputs(tokenizer):
        pair = any(e.get("text_pair") is not None for e in train)
        preprocessor = ClassificationPreprocessor(
            tokenizer, config.sequence_length, label_names, pair=pair)
        train_ds = dataset(train, label_names, preprocessor, config.batch_size, shuffle=True,
                           seed=config.seed)
        return preprocessor, train_ds, len(train)

    return common.run_finetune(
        "classification", config, train, evaluation,
        build_model=lambda backbone: BertClassifier(
            backbone, num_classes=len(label_names), label_names=label_names),
        build_inputs=build_inputs,
        evaluate=lambda model, pre: evaluate(model, pre, evaluation, label_names, train),
        metric="accuracy", task_extra={"label_names": label_names},
    )


def evaluate_saved(model, eval_source: str, out: Path, max_examples=None, batch_size=64) -> dict:
    """`keras-bert evaluate`: a saved classifier on a dataset name (its held-out split) or file,
    with the preprocessor saved in the model; writes `predictions.jsonl` to `out`."""
    from keras_bert.data.tasks import is_dataset_name

    label_names = model.preprocessor.label_names or model.label_names
    named = is_dataset_name(eval_source)
    data = load_data(eval_source if named else None, None if named else eval_source, label_names)
    examples = common.subset(data.eval, max_examples)
    result = evaluate(model, model.preprocessor, examples, label_names, batch_size=batch_size)
    write_predictions(out / "predictions.jsonl", examples, result.pop("_probabilities"), label_names)
    return result
