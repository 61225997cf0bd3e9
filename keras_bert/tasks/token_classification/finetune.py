"""Token classification (NER): datasets, fine-tuning, entity-level evaluation, predictions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_bert.data.tasks import (
    TaskData,
    eval_split_or_file,
    load_task_data,
    read_conll,
    tag_vocabulary,
)
from keras_bert.metrics import entity_prf
from keras_bert.preprocessing.ner_postprocessing import word_tags
from keras_bert.tasks import common


def load_data(train: str | None, evaluation: str | None) -> TaskData:
    """`train`/`evaluation`: a dataset name (`tweet_ner`, `conll_sample`) or CoNLL files."""
    if train and not Path(train).exists():
        data = load_task_data(train)
        if evaluation and evaluation != train:
            data.eval = eval_split_or_file(evaluation, read_conll)
        return data
    train_rows = read_conll(train) if train else []
    eval_rows = read_conll(evaluation) if evaluation else []
    return TaskData("ner", train_rows, eval_rows, tag_vocabulary(train_rows or eval_rows))


def encode_tags(sentences, label_names: list[str]) -> list[list[int]]:
    """Tag names -> ids; a tag outside the model's tag set raises `ValueError`."""
    index = {t: i for i, t in enumerate(label_names)}
    out = []
    for n, (_, tags) in enumerate(sentences):
        unknown = [t for t in tags if t not in index]
        if unknown:
            raise ValueError(f"sentence {n}: unknown tag(s) {sorted(set(unknown))}; known: {label_names}")
        out.append([index[t] for t in tags])
    return out


def _ragged_words(sentences) -> tf.RaggedTensor:
    return tf.ragged.constant([words for words, _ in sentences], dtype=tf.string)


def dataset(sentences, label_names, preprocessor, batch_size, shuffle=False, seed=0):
    words = _ragged_words(sentences)
    tags = tf.ragged.constant(encode_tags(sentences, label_names), dtype=tf.int32)
    ds = tf.data.Dataset.from_tensor_slices((words, tags))
    if shuffle:
        ds = ds.shuffle(len(sentences), seed=seed, reshuffle_each_iteration=True)
    ds = ds.ragged_batch(batch_size).map(preprocessor, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.map(common.trim_to_longest).prefetch(tf.data.AUTOTUNE)


def predict_tags(model, preprocessor, sentences, label_names, batch_size=64):
    """Word-level predicted tags per sentence, and the count of words lost to truncation."""
    words = _ragged_words(sentences)
    ds = tf.data.Dataset.from_tensor_slices(words).ragged_batch(batch_size)
    ds = ds.map(lambda w: (preprocessor(w), preprocessor.word_index(w)))
    predictions, indices = [], []
    for x, index in ds:
        x, index = common.trim_to_longest(x, index)
        logits = model.predict_on_batch(x)
        predictions.append(np.asarray(logits).argmax(-1))
        indices.append(index.numpy())
    return word_tags(np.concatenate(predictions), np.concatenate(indices),
                     [len(w) for w, _ in sentences], label_names)


def evaluate(model, preprocessor, sentences, label_names, batch_size=64) -> dict:
    """Entity-level precision / recall / F1 (exact span + type); all-"O" baseline F1 is 0."""
    predicted, truncated = predict_tags(model, preprocessor, sentences, label_names, batch_size)
    result = entity_prf([tags for _, tags in sentences], predicted)
    result.update({"truncated_words": truncated, "num_sentences": len(sentences),
                   "all_O_baseline_f1": 0.0, "_predicted": predicted})
    return result


def write_predictions(path: Path, sentences, predicted) -> None:
    """CoNLL: word, gold tag, predicted tag."""
    with open(path, "w", encoding="utf-8") as f:
        for (words, gold), pred in zip(sentences, predicted, strict=True):
            for w, g, p in zip(words, gold, pred, strict=True):
                f.write(f"{w}\t{g}\t{p}\n")
            f.write("\n")


def finetune(data: TaskData, config: common.RunConfig) -> dict:
    """Fine-tune `BertTokenTagger`; keep the model with the best eval entity F1."""
    from keras_bert.models.bert_token_tagger import BertTokenTagger
    from keras_bert.preprocessing.ner_preprocessor import NerPreprocessor

    train = common.subset(data.train, config.max_examples, config.seed)
    evaluation = common.subset(data.eval, config.max_eval_examples, config.seed)
    label_names = data.label_names or tag_vocabulary(train)

    def build_inputs(tokenizer):
        preprocessor = NerPreprocessor(tokenizer, config.sequence_length)
        train_ds = dataset(train, label_names, preprocessor, config.batch_size, True, config.seed)
        return preprocessor, train_ds, len(train)

    result = common.run_finetune(
        "token-classification", config, train, evaluation,
        build_model=lambda backbone: BertTokenTagger(
            backbone, num_classes=len(label_names), label_names=label_names),
        build_inputs=build_inputs,
        evaluate=lambda model, pre: evaluate(model, pre, evaluation, label_names),
        metric="f1", task_extra={"label_names": label_names},
    )
    return {**result, "skipped": str(data.report)}


def save_predictions_json(path: Path, result: dict) -> None:
    Path(path).write_text(json.dumps(result, indent=1, default=float))


def evaluate_saved(model, eval_source: str, out: Path, max_examples=None, batch_size=64) -> dict:
    """`keras-bert evaluate`: a saved tagger on a dataset name (its held-out split) or CoNLL file,
    with the preprocessor saved in the model; writes `predictions.conll` to `out`."""
    from keras_bert.data.tasks import is_dataset_name

    named = is_dataset_name(eval_source)
    data = load_data(eval_source if named else None, None if named else eval_source)
    examples = common.subset(data.eval, max_examples)
    result = evaluate(model, model.preprocessor, examples, model.label_names, batch_size=batch_size)
    write_predictions(out / "predictions.conll", examples, result.pop("_predicted"))
    return result
