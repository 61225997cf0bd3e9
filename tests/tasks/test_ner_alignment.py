"""NER label alignment: first sub-token labelled, others ignored; many-piece words; truncation;
in-graph entity decoding back to character spans."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from task_helpers import make_packer

from keras_bert.preprocessing.ner_postprocessing import (
    continuation_table,
    decode_entities,
    word_tags,
)
from keras_bert.preprocessing.ner_preprocessor import NerPreprocessor, text_inputs

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def make(tokenizer, seq: int) -> NerPreprocessor:
    return NerPreprocessor(tokenizer, seq, make_packer(tokenizer, seq))


def ragged(rows, dtype=None):
    return tf.ragged.constant(rows, dtype=dtype)


def test_first_piece_labelled_rest_ignored(tokenizer):
    words = [["Arnold", "Schwarzenegger", "visited", "Llanfairpwllgwyngyll", "."]]
    tags = [[1, 2, 0, 3, 0]]
    pieces = [len(p) for p in tokenizer(tf.constant(words[0])).to_list()]
    assert pieces[1] >= 3 and pieces[3] >= 4  # words split into many pieces
    pre = make(tokenizer, 32)
    x, y, weight = pre(ragged(words), ragged(tags, tf.int32))
    y, weight = y.numpy()[0], weight.numpy()[0]
    n_tokens = sum(pieces)
    firsts = 1 + np.cumsum([0] + pieces[:-1])  # position of each word's first piece after [CLS]
    np.testing.assert_array_equal(np.flatnonzero(weight), firsts)
    np.testing.assert_array_equal(y[firsts], tags[0])
    assert weight[0] == 0 and weight[n_tokens + 1] == 0  # [CLS], [SEP]
    assert int(x["padding_mask"].numpy()[0].sum()) == n_tokens + 2
    # The ids are the tokenizer's pieces in order.
    flat = np.concatenate(tokenizer(tf.constant(words[0])).to_list())
    np.testing.assert_array_equal(x["token_ids"].numpy()[0, 1 : n_tokens + 1], flat)


def test_truncation_drops_late_words_and_reports_them(tokenizer):
    words = [["Schwarzenegger"] * 6]  # many pieces each
    tags = [[1, 0, 1, 0, 1, 0]]
    per_word = len(tokenizer(tf.constant(["Schwarzenegger"])).to_list()[0])
    seq = 2 + 2 * per_word + 1  # room for two whole words and one piece of the third
    pre = make(tokenizer, seq)
    _, y, weight = pre(ragged(words), ragged(tags, tf.int32))
    assert int(weight.numpy().sum()) == 3  # third word's first piece still fits
    index = pre.word_index(ragged(words)).numpy()
    assert sorted(index[index >= 0].tolist()) == [0, 1, 2]
    predicted = np.ones((1, seq), "int32")
    tags_out, truncated = word_tags(predicted, index, [6], LABELS)
    assert truncated == 3 and tags_out[0][3:] == ["O", "O", "O"]


def test_tf_data_map(tokenizer):
    pre = make(tokenizer, 16)
    words = ragged([["John", "lives", "in", "Paris"], ["Hi"]])
    tags = ragged([[1, 0, 0, 3], [0]], tf.int32)
    ds = tf.data.Dataset.from_tensor_slices((words, tags)).batch(2).map(pre)
    x, y, w = next(iter(ds))
    assert x["token_ids"].shape == (2, 16) and y.shape == (2, 16)
    assert w.numpy().sum() == 5


def test_decode_entities_in_graph_char_spans(tokenizer):
    text = "Zoë Schwarzenegger flew to New York ."
    pre = make(tokenizer, 24)
    inputs = text_inputs(pre, tf.constant([text]))
    ids = inputs["token_ids"].numpy()[0]
    starts = inputs["token_start"].numpy()[0]
    raw = text.encode()
    # Hand-made logits: tag each word-start token by the word it starts.
    word_tag = {"zoë": 1, "schwarzenegger": 2, "new": 3, "york": 4}
    logits = np.full((1, 24, len(LABELS)), -5.0, "float32")
    logits[0, :, 0] = 5.0
    for t, s in enumerate(starts):
        if s < 0:
            continue
        word = raw[s:].decode().split(" ")[0].lower()
        if word in word_tag and raw[:s].decode()[-1:] in ("", " "):
            logits[0, t, :] = -5.0
            logits[0, t, word_tag[word]] = 5.0
    table = continuation_table(tokenizer.vocabulary)
    fn = tf.function(lambda *a: decode_entities(*a, label_names=LABELS, continuation=table, max_entities=4))
    out = fn(tf.constant([text]), logits, ids, inputs["token_start"], inputs["token_end"])
    got = [(t.decode(), lab.decode(), int(s), int(e)) for t, lab, s, e in zip(
        out["entity_text"].numpy()[0], out["entity_label"].numpy()[0],
        out["entity_start"].numpy()[0], out["entity_end"].numpy()[0], strict=True)]
    assert got[0] == ("Zoë Schwarzenegger", "PER", 0, 18)
    assert got[1] == ("New York", "LOC", 27, 35)
    assert got[2] == ("", "", -1, -1)
    assert text[got[1][2] : got[1][3]] == "New York"
    assert out["entity_score"].numpy()[0, 0] == pytest.approx(1.0, abs=1e-3)
