"""Extractive summarization: XSum / JSONL data, greedy-oracle labels, fine-tuning, ROUGE
evaluation against LEAD-1, LEAD-3 and the oracle, predictions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_bert.data.tasks import TaskData, is_dataset_name, load_task_data
from keras_bert.data.tasks.xsum import read_xsum
from keras_bert.metrics.rouge import greedy_oracle, rouge
from keras_bert.preprocessing.sentence_split import sentence_texts
from keras_bert.tasks import common

ORACLE_SENTENCES = 3  # BERTSum's greedy selection size
MODEL_INPUTS = ("token_ids", "segment_ids", "padding_mask")


def load_data(train: str | None, evaluation: str | None) -> TaskData:
    """`train`/`evaluation`: the dataset name `xsum` or XSum-style JSONL files (`document`,
    `summary`, optional `id`)."""
    if train and is_dataset_name(train):
        data = load_task_data(train)
        if evaluation and evaluation != train:
            data.eval = load_task_data(evaluation).eval if is_dataset_name(evaluation) else read_xsum(evaluation)
        return data
    return TaskData("summarization", read_xsum(train) if train else [],
                    read_xsum(evaluation) if evaluation else [])


def with_sentences(examples: list[dict]) -> list[dict]:
    """Each example with `sentences` (the in-graph splitter's, on the whole document) and
    `oracle` (indices of BERTSum's greedy-oracle sentences against the summary)."""
    sentences = sentence_texts([e["document"] for e in examples])
    return [{**e, "sentences": s, "oracle": greedy_oracle(s, e["summary"], ORACLE_SENTENCES)}
            for e, s in zip(examples, sentences, strict=True)]


def oracle_labels(example: dict) -> list[int]:
    chosen = set(example["oracle"])
    return [int(i in chosen) for i in range(len(example["sentences"]))]


def trim(x: dict, *rest, multiple: int = 16):
    """`common.trim_to_longest` for the (B, T) inputs only (`sentence_positions` is (B, S))."""
    cut = common.trim_to_longest({k: x[k] for k in MODEL_INPUTS}, multiple=multiple)
    return ({**x, **cut}, *rest) if rest else {**x, **cut}


def dataset(examples, preprocessor, batch_size, shuffle=False, seed=0):
    documents = tf.constant([e["document"] for e in examples])
    labels = tf.ragged.constant([oracle_labels(e) for e in examples], dtype=tf.float32,
                                ragged_rank=1) if examples else tf.zeros([0, 0])
    ds = tf.data.Dataset.from_tensor_slices((documents, labels))
    if shuffle:
        ds = ds.shuffle(len(examples), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(preprocessor.map_batch, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.map(trim).prefetch(tf.data.AUTOTUNE)


def predict_sentences(model, preprocessor, documents: list[str], batch_size=32) -> list[dict]:
    """Per document: `logits` of its scored sentences (float32 (n,)) and their `start`, `end`
    byte offsets, in document order."""
    ds = tf.data.Dataset.from_tensor_slices(tf.constant(documents)).batch(batch_size)
    ds = ds.map(preprocessor.encode).prefetch(tf.data.AUTOTUNE)
    out = []
    for encoded in ds:
        x = trim({k: encoded[k] for k in (*MODEL_INPUTS, "sentence_positions")})
        logits = np.asarray(model.predict_on_batch(x), np.float32)
        positions = encoded["sentence_positions"].numpy()
        starts, ends = encoded["sentence_start"].numpy(), encoded["sentence_end"].numpy()
        for row in range(len(logits)):
            scored = positions[row] >= 0
            out.append({"logits": logits[row][scored], "start": starts[row][scored],
                        "end": ends[row][scored]})
    return out


def top_sentences(document: str, scored: dict, k: int) -> list[str]:
    """The `k` best-scored sentences, in document order."""
    raw = document.encode("utf-8")
    best = sorted(np.argsort(-scored["logits"], kind="stable")[:k])
    return [raw[scored["start"][i]:scored["end"][i]].decode("utf-8", errors="replace") for i in best]


def evaluate(model, preprocessor, examples, batch_size=32) -> dict:
    """ROUGE-1/2/L F1 (x100, rouge-score with stemming) of the model's top-1 and top-3 sentences
    and of LEAD-1, LEAD-3 and the greedy ORACLE, on the same examples. `rouge1` etc. = top-1."""
    examples = [e if "oracle" in e else with_sentences([e])[0] for e in examples]
    scored = predict_sentences(model, preprocessor, [e["document"] for e in examples], batch_size)
    references = [e["summary"] for e in examples]
    summaries = {
        "": [" ".join(top_sentences(e["document"], s, 1)) for e, s in zip(examples, scored, strict=True)],
        "top3_": [" ".join(top_sentences(e["document"], s, 3)) for e, s in zip(examples, scored, strict=True)],
        "lead1_": [" ".join(e["sentences"][:1]) for e in examples],
        "lead3_": [" ".join(e["sentences"][:3]) for e in examples],
        "oracle_": [" ".join(e["sentences"][i] for i in e["oracle"]) for e in examples],
    }
    result = {}
    for prefix, predicted in summaries.items():
        result.update({f"{prefix}{k}": v for k, v in rouge(predicted, references).items()})
    result["num_examples"] = len(examples)
    result["_summaries"] = summaries[""]
    return result


def write_predictions(path: Path, examples, summaries: list[str]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for e, s in zip(examples, summaries, strict=True):
            f.write(json.dumps({"id": e.get("id"), "summary": e["summary"], "predicted": s},
                               ensure_ascii=False) + "\n")


def finetune(data: TaskData, config: common.RunConfig) -> dict:
    """Fine-tune `BertExtractiveSummarizer` on greedy-oracle labels; keep the model with the best
    held-out ROUGE-1 of its top sentence."""
    from keras_bert.models.bert_extractive_summarizer import BertExtractiveSummarizer
    from keras_bert.preprocessing.summarization_preprocessor import SummarizationPreprocessor

    train = with_sentences(common.subset(data.train, config.max_examples, config.seed))
    evaluation = with_sentences(common.subset(data.eval, config.max_eval_examples, config.seed))

    def build_inputs(tokenizer):
        preprocessor = SummarizationPreprocessor(tokenizer, config.sequence_length)
        train_ds = dataset(train, preprocessor, config.batch_size, shuffle=True, seed=config.seed)
        return preprocessor, train_ds, len(train)

    result = common.run_finetune(
        "summarization", config, train, evaluation,
        build_model=lambda backbone: BertExtractiveSummarizer(backbone),
        build_inputs=build_inputs,
        evaluate=lambda model, pre: evaluate(model, pre, evaluation),
        metric="rouge1",
    )
    return {**result, "skipped": str(data.report)}


def evaluate_saved(model, eval_source: str, out: Path, max_examples=None, batch_size=32) -> dict:
    """`keras-bert evaluate`: a saved summarizer on `xsum` (its held-out split) or an XSum JSONL
    file, with the preprocessor saved in the model; writes `predictions.jsonl` to `out`."""
    named = is_dataset_name(eval_source)
    data = load_data(eval_source if named else None, None if named else eval_source)
    examples = with_sentences(common.subset(data.eval, max_examples))
    result = evaluate(model, model.preprocessor, examples, batch_size=batch_size)
    write_predictions(out / "predictions.jsonl", examples, result.pop("_summaries"))
    return result
