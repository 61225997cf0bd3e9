"""`cut_text`: a prefix of each text whose first `max_tokens` tokens (ids and byte offsets) are the
full text's, found without tokenizing the whole text. Reference: the tokenizer on the uncut text."""

from __future__ import annotations

import random

import numpy as np
import pytest
import tensorflow as tf

from keras_bert.preprocessing.text_cut import continuation_table, cut_text
from tests.tokenizers.parity_cases import EDGE_CASES, real_sentences


@pytest.fixture(scope="module")
def tokenizer(minilm_dir):
    from keras_bert.tokenizers.wordpiece_tokenizer import WordPieceTokenizer

    return WordPieceTokenizer(str(minilm_dir / "vocab.txt"))


def _texts() -> list[str]:
    rng = random.Random(3)
    sentences = real_sentences(200)
    texts = list(EDGE_CASES)
    for _ in range(60):  # long texts made of real sentences and hard cases, cut anywhere
        parts = rng.choices(sentences + EDGE_CASES, k=rng.randint(2, 40))
        texts.append(rng.choice([" ", "", "\n", "  \t"]).join(parts))
    texts += [
        " " * 5000 + "words after a long run of spaces",  # the first budget holds no token
        "\u200b" * 3000 + "zero width run then text",
        "x" * 150 + " " + "y" * 99 + " over long words",  # over-long word -> [UNK]
        "unbelievably" * 40,  # one long word: must not be cut inside it
        "中" * 600,  # CJK: every character is a word
        "a," * 800,
        "[CLS] [SEP] [MASK] " * 50,
    ]
    return texts


@pytest.mark.parametrize("max_tokens", [1, 5, 62, 126])
def test_cut_keeps_the_first_tokens_and_offsets(tokenizer, max_tokens):
    texts = _texts()
    table = continuation_table(tokenizer.vocabulary)
    cut = cut_text(tokenizer, tf.constant(texts), max_tokens, table).numpy()
    full_ids, full_start, full_end = tokenizer.tokenize_with_offsets(tf.constant(texts))
    cut_ids, cut_start, cut_end = tokenizer.tokenize_with_offsets(tf.constant(cut))
    shorter = 0
    for i, text in enumerate(texts):
        raw = text.encode("utf-8")
        assert raw.startswith(cut[i])
        shorter += len(cut[i]) < len(raw)
        for full, part in ((full_ids, cut_ids), (full_start, cut_start), (full_end, cut_end)):
            np.testing.assert_array_equal(
                part[i][:max_tokens].numpy(), full[i][:max_tokens].numpy(), err_msg=repr(text[:80])
            )
    assert shorter > len(texts) // 3  # the cut does cut: long texts got shorter


def test_cut_bounds_the_text_tokenized(tokenizer):
    long = "The film was wonderful and long. " * 500  # 16.5 KB
    cut = cut_text(tokenizer, tf.constant([long, "short"]), 126).numpy()
    assert len(cut[0]) <= 126 * 8 * 2  # at most one doubling for plain English
    assert cut[1] == b"short"


def test_cut_runs_in_a_traced_graph(tokenizer):
    fn = tf.function(lambda t: cut_text(tokenizer, t, 10),
                     input_signature=[tf.TensorSpec([None], tf.string)])
    out = fn(tf.constant(["one two three " * 100, ""])).numpy()
    assert out[1] == b"" and 0 < len(out[0]) < 1400
