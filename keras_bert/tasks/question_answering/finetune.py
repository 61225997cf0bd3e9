"""Extractive QA (SQuAD v1.1 / v2.0): windows, fine-tuning, EM/F1 evaluation, predictions."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_bert.data.tasks import TaskData, eval_split_or_file, load_task_data, read_squad
from keras_bert.data.tasks.readers import SkipReport
from keras_bert.metrics import squad_evaluate
from keras_bert.metrics.squad import best_null_threshold, cross_fitted_f1
from keras_bert.preprocessing.squad_postprocessing import nbest_answers
from keras_bert.preprocessing.squad_preprocessor import NQ, char_to_byte
from keras_bert.tasks import common


def load_data(train: str | None, evaluation: str | None) -> TaskData:
    """`train`/`evaluation`: a dataset name (QA sources `disflqa`, `quac`, `narrativeqa` joined
    with "+") or SQuAD JSON; a named `evaluation` means that dataset's held-out split."""
    if train and not Path(train).exists():
        data = load_task_data(train)
        if evaluation and evaluation != train:
            data.eval = eval_split_or_file(
                evaluation, lambda path: read_squad(path, report=data.report))
        return data
    report = SkipReport()
    train_rows = read_squad(train, report=report) if train else []
    eval_rows = read_squad(evaluation, report=report) if evaluation else []
    v2 = any(e["is_impossible"] for e in train_rows + eval_rows)
    return TaskData("qa", train_rows, eval_rows, None, report, version_2_with_negative=v2)


def _columns(examples):
    starts = [e["answers"][0]["answer_start"] if e["answers"] else -1 for e in examples]
    ends = [s + len(e["answers"][0]["text"]) if e["answers"] else -1
            for s, e in zip(starts, examples, strict=True)]
    return (tf.constant([e["question"] for e in examples]),
            tf.constant([e["context"] for e in examples]),
            tf.constant(starts, tf.int32), tf.constant(ends, tf.int32))


def _windows_fn(preprocessor):
    def fn(question, context, start_char, end_char):
        out = preprocessor.windows(
            question, context, char_to_byte(context, start_char), char_to_byte(context, end_char)
        )
        x = {k: out[k] for k in ("token_ids", "segment_ids", "padding_mask")}
        y = {"start_logits": out["start_positions"], "end_logits": out["end_positions"]}
        return x, y

    return fn


def dataset(examples, preprocessor, batch_size, shuffle=False, seed=0, negative_window_rate=1.0):
    """Training windows: (x, {start_logits, end_logits}) batches; one example -> >= 1 windows.

    `negative_window_rate` < 1 keeps only that fraction of the windows without an answer (their
    target is [CLS]), drawn afresh each epoch, as Alberti et al. (2019, "A BERT Baseline for the
    Natural Questions") do for long documents: most windows of a long context hold no answer, and
    training on all of them mostly teaches "no answer".
    """
    ds = tf.data.Dataset.from_tensor_slices(_columns(examples))
    if shuffle:
        ds = ds.shuffle(len(examples), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(64).map(_windows_fn(preprocessor), num_parallel_calls=tf.data.AUTOTUNE).unbatch()
    if negative_window_rate < 1.0:
        draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).map(
            lambda r: tf.cast(r % 1_000_000, tf.float32) / 1e6)
        ds = tf.data.Dataset.zip(ds, draws).filter(
            lambda window, draw: (window[1]["start_logits"] > 0) | (draw < negative_window_rate)
        ).map(lambda window, draw: window)
    if shuffle:
        ds = ds.shuffle(2048, seed=seed)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def count_windows(examples, preprocessor) -> tuple[int, int]:
    """(windows, windows holding an answer) over `examples`."""
    ds = tf.data.Dataset.from_tensor_slices(_columns(examples)).batch(256)
    total = answered = 0
    for _, y in ds.map(_windows_fn(preprocessor)):
        total += int(tf.size(y["start_logits"]))
        answered += int(tf.reduce_sum(tf.cast(y["start_logits"] > 0, tf.int32)))
    return total, answered


def predict(model, preprocessor, examples, config: common.RunConfig, batch_size=64) -> list[dict]:
    """n-best predictions per example (see `nbest_answers`)."""
    results = []
    for lo in range(0, len(examples), batch_size):
        chunk = examples[lo : lo + batch_size]
        q, c, _, _ = _columns(chunk)
        out = preprocessor.windows(q, c)
        x = {k: out[k] for k in ("token_ids", "segment_ids", "padding_mask")}
        logits = model.predict(x, batch_size=batch_size, verbose=0)
        results += nbest_answers(
            [e["context"] for e in chunk], np.asarray(logits["start_logits"]),
            np.asarray(logits["end_logits"]), out["token_start"].numpy(), out["token_end"].numpy(),
            out["example_index"].numpy(), n_best_size=20,
            max_answer_length=config.max_answer_length,
            null_score_diff_threshold=config.null_score_diff_threshold,
            version_2_with_negative=config.version_2_with_negative,
            relative_to_null=preprocessor.convention == NQ,
        )
    return results


def evaluate(model, preprocessor, examples, config) -> dict:
    """SQuAD EM / F1 (official definitions) and the empty-answer baseline."""
    predictions = predict(model, preprocessor, examples, config)
    gold = {e["id"]: [a["text"] for a in e["answers"]] for e in examples}
    answers = {e["id"]: p["answer"] for e, p in zip(examples, predictions, strict=True)}
    result = squad_evaluate(gold, answers)
    if config.version_2_with_negative:
        result.update(null_threshold_figures(examples, predictions))
        if np.isfinite(result["best_f1_thresh"]):  # travels with the saved model into exports
            preprocessor.null_score_diff_threshold = float(result["best_f1_thresh"])
    empty = squad_evaluate(gold, {k: "" for k in gold})
    result["empty_answer_baseline_f1"] = empty["f1"]
    result["empty_answer_baseline_exact"] = empty["exact"]
    result["_predictions"] = predictions
    return result


def null_threshold_figures(examples, predictions) -> dict:
    """v2.0: `best_f1` / `best_f1_thresh` (the official script's, tuned on these questions) and
    `f1_crossfit`: each half of the passages answered with the threshold tuned on the other half."""
    golds = [[a["text"] for a in e["answers"]] for e in examples]
    # The best non-null span (its score is `score`; -inf when there is none, so the diff is inf).
    texts = [next((c["text"] for c in p["nbest"] if c["text"]), "") for p in predictions]
    diffs = [p["null_score"] - p["score"] for p in predictions]
    threshold, best = best_null_threshold(golds, texts, diffs)
    folds = [zlib.crc32(e["context"].encode("utf-8")) % 2 for e in examples]
    return {"best_f1": best, "best_f1_thresh": threshold,
            "f1_crossfit": cross_fitted_f1(golds, texts, diffs, folds)}


def write_predictions(model_dir: Path, examples, predictions) -> None:
    """`predictions.json` (id -> answer, the official script's input) and `nbest_predictions.json`."""
    Path(model_dir, "predictions.json").write_text(json.dumps(
        {e["id"]: p["answer"] for e, p in zip(examples, predictions, strict=True)}, ensure_ascii=False))
    Path(model_dir, "nbest_predictions.json").write_text(json.dumps(
        {e["id"]: p["nbest"][:5] for e, p in zip(examples, predictions, strict=True)},
        ensure_ascii=False, default=float))


def make_preprocessor(tokenizer, config):
    from keras_bert.preprocessing.squad_preprocessor import SquadPreprocessor

    return SquadPreprocessor(
        tokenizer, None, config.sequence_length, config.doc_stride, config.max_query_length,
        max_answer_length=config.max_answer_length,
        null_score_diff_threshold=config.null_score_diff_threshold,
        version_2_with_negative=config.version_2_with_negative,
        convention=config.qa_convention,
    )


def answerable(examples: list[dict]) -> list[dict]:
    """The questions with an answer (SQuAD v1.1 style training and evaluation)."""
    return [e for e in examples if not e["is_impossible"]]


def finetune(data: TaskData, config: common.RunConfig) -> dict:
    """Fine-tune `BertSpanQA`; keep the model with the best eval F1."""
    from keras_bert.models.bert_span_qa import BertSpanQA

    train, evaluation = data.train, data.eval
    if config.answerable_only:
        train, evaluation = answerable(train), answerable(evaluation)
        print(f"  answerable only: {len(train)} train / {len(evaluation)} eval questions")
    config.version_2_with_negative = data.version_2_with_negative and not config.answerable_only
    train = common.subset(train, config.max_examples, config.seed)
    evaluation = common.subset(evaluation, config.max_eval_examples, config.seed)

    def build_inputs(tokenizer):
        preprocessor = make_preprocessor(tokenizer, config)
        n_windows, n_answered = count_windows(train, preprocessor)
        rate = config.negative_window_rate
        per_epoch = n_answered + round(rate * (n_windows - n_answered))
        print(f"  {len(train)} training questions -> {n_windows} windows ({n_answered} with an answer"
              + (f"; ~{per_epoch} per epoch keeping {rate:.0%} of the others)" if rate < 1 else ")"))
        train_ds = dataset(train, preprocessor, config.batch_size, True, config.seed, rate)
        return preprocessor, train_ds, per_epoch

    result = common.run_finetune(
        "question-answering", config, train, evaluation, build_model=BertSpanQA,
        build_inputs=build_inputs,
        evaluate=lambda model, pre: evaluate(model, pre, evaluation, config),
        metric="f1_crossfit" if config.version_2_with_negative else "f1",
    )
    return {**result, "skipped": str(data.report)}


def evaluate_saved(model, eval_source: str, out: Path, max_examples=None, batch_size=64) -> dict:
    """`keras-bert evaluate`: a saved QA model on a dataset name (its held-out split) or SQuAD
    JSON, with the preprocessor saved in the model (windows, answer length, null threshold);
    writes `predictions.json` and `nbest_predictions.json` to `out`."""
    from keras_bert.data.tasks import is_dataset_name

    pre = model.preprocessor
    named = is_dataset_name(eval_source)
    data = load_data(eval_source if named else None, None if named else eval_source)
    examples = common.subset(data.eval, max_examples)
    config = common.RunConfig(
        sequence_length=pre.sequence_length, doc_stride=pre.doc_stride,
        max_query_length=pre.max_query_length, max_answer_length=pre.max_answer_length,
        null_score_diff_threshold=pre.null_score_diff_threshold,
        version_2_with_negative=data.version_2_with_negative or pre.version_2_with_negative,
    )
    threshold = pre.null_score_diff_threshold
    result = evaluate(model, pre, examples, config)
    pre.null_score_diff_threshold = threshold  # report, do not retune, the saved threshold
    write_predictions(out, examples, result.pop("_predictions"))
    return result
