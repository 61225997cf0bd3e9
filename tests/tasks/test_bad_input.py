"""Bad input gives a clear error or a counted, reported skip; never a silent wrong label."""

from __future__ import annotations

import json

import pytest
import tensorflow as tf

from keras_bert.data.tasks import (
    SkipReport,
    encode_labels,
    read_classification,
    read_conll,
    read_squad,
    write_squad,
)
from keras_bert.preprocessing.classification_preprocessor import ClassificationPreprocessor


def squad_file(tmp_path, answers):
    context = "The Eiffel Tower is in Paris."
    data = {"version": "v2.0", "data": [{"title": "t", "paragraphs": [{"context": context, "qas": [
        {"id": f"q{i}", "question": "where?", "answers": a, "is_impossible": not a}
        for i, a in enumerate(answers)]}]}]}
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(data))
    return path


def test_squad_answer_not_matching_answer_start(tmp_path):
    path = squad_file(tmp_path, [[{"text": "Paris", "answer_start": 23}],
                                 [{"text": "Paris", "answer_start": 3}], []])
    with pytest.raises(ValueError, match="does not match context at answer_start=3"):
        read_squad(path, strict=True)
    report = SkipReport()
    examples = read_squad(path, report=report)
    assert [e["id"] for e in examples] == ["q0", "q2"]
    assert report.counts == {"answer text does not match answer_start": 1,
                             "question without a usable answer": 1}
    assert examples[1]["is_impossible"] and examples[1]["answers"] == []


def test_squad_round_trip(tmp_path):
    examples = read_squad(squad_file(tmp_path, [[{"text": "Paris", "answer_start": 23}], []]))
    out = tmp_path / "again.json"
    write_squad(examples, out)
    assert read_squad(out, strict=True) == examples


def test_unknown_label(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text("text\tlabel\ngood film\tpos\nbad film\tneg\nodd film\tneutral\n")
    rows = read_classification(path)
    with pytest.raises(ValueError, match="unknown label 'neutral'"):
        encode_labels(rows, ["neg", "pos"])
    missing = tmp_path / "bad.csv"
    missing.write_text("text,label\nfine,pos\n,neg\n")
    with pytest.raises(ValueError, match="bad.csv:3"):
        read_classification(missing)


def test_unknown_label_in_graph(tokenizer):
    pre = ClassificationPreprocessor(tokenizer, 8, ["neg", "pos"],
                                     packer=__import__("task_helpers").make_packer(tokenizer, 8))
    _, y = pre(tf.constant(["a", "b"]), label=tf.constant(["pos", "neg"]))
    assert y.numpy().tolist() == [1, 0]
    with pytest.raises(tf.errors.InvalidArgumentError, match="label not in label_names"):
        pre(tf.constant(["a"]), label=tf.constant(["neutral"]))


def test_malformed_conll_line(tmp_path):
    path = tmp_path / "ner.conll"
    path.write_text("John B-PER\nlives O\n\nMary B-PER\nbroken\n\nParis X-LOC\n\nRome B-LOC\n")
    with pytest.raises(ValueError, match="ner.conll:5: expected token and tag"):
        read_conll(path)
    report = SkipReport()
    sentences = read_conll(path, strict=False, report=report)
    assert sentences == [(["John", "lives"], ["B-PER", "O"]), (["Rome"], ["B-LOC"])]
    assert report.counts == {"malformed line": 2}
