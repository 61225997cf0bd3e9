"""`WordPieceTokenizer` API: shapes, specials, config, tf.data / tf.function, .keras and SavedModel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import keras
import pytest
import tensorflow as tf

from keras_bert.tokenizers import WordPieceTokenizer, write_vocabulary

VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "the",
    "qu",
    "##ick",
    "fox",
    ",",
    "!",
    "##s",
    "cafe",
    "中",
]
TEXTS = ["The quick fox!", "", "Café, the foxs 中 jumps", "[CLS] qu"]


@pytest.fixture(scope="module")
def tokenizer():
    return WordPieceTokenizer(VOCAB)


def test_call_returns_ragged_int32_ids(tokenizer):
    ids = tokenizer(tf.constant(TEXTS))
    assert isinstance(ids, tf.RaggedTensor) and ids.dtype == tf.int32
    assert ids.shape.rank == 2 and ids.nrows() == 4
    assert ids.to_list() == [[5, 6, 7, 8, 10], [], [12, 9, 5, 8, 11, 13, 1], [1, 1, 1, 6]]
    assert tokenizer(tf.constant("the fox")).numpy().tolist() == [5, 8]  # scalar -> 1-D


def test_special_token_ids_are_looked_up():
    assert WordPieceTokenizer(VOCAB).cls_token_id == 2
    shuffled = VOCAB[5:] + ["[MASK]", "[SEP]", "[CLS]", "[UNK]", "[PAD]"]
    tok = WordPieceTokenizer(shuffled)
    n = len(VOCAB) - 5
    assert (tok.mask_token_id, tok.sep_token_id, tok.cls_token_id) == (n, n + 1, n + 2)
    assert (tok.unk_token_id, tok.pad_token_id) == (n + 3, n + 4)
    assert tok(tf.constant(["the zzz"])).to_list() == [[0, n + 3]]


def test_conventional_bert_layout(minilm_dir):
    tok = WordPieceTokenizer(os.path.join(str(minilm_dir), "vocab.txt"))
    assert tok.vocabulary_size == 30522
    ids = (
        tok.pad_token_id,
        tok.unk_token_id,
        tok.cls_token_id,
        tok.sep_token_id,
        tok.mask_token_id,
    )
    assert ids == (0, 100, 101, 102, 103)


@pytest.mark.parametrize("missing", ["[CLS]", "[MASK]", "[UNK]"])
def test_missing_special_token_is_a_clear_error(missing):
    with pytest.raises(ValueError, match=rf"\{missing[:-1]}\]"):
        WordPieceTokenizer([t for t in VOCAB if t != missing])


def test_token_id_lookups(tokenizer):
    assert tokenizer.token_to_id("##ick") == 7 and tokenizer.id_to_token(7) == "##ick"
    assert tokenizer.vocabulary == VOCAB and tokenizer.vocabulary_size == len(VOCAB)
    with pytest.raises(KeyError):
        tokenizer.token_to_id("nope")
    with pytest.raises(IndexError):
        tokenizer.id_to_token(len(VOCAB))


def test_detokenize(tokenizer):
    ids = tokenizer(tf.constant(["The quick fox!", "the foxs"]))
    assert tokenizer.detokenize(ids).numpy().tolist() == [b"the quick fox !", b"the foxs"]
    assert tokenizer.detokenize(tf.constant([5, 6, 7])).numpy() == b"the quick"


def test_vocabulary_file_and_list_agree(tmp_path, tokenizer):
    path = tmp_path / "vocab.txt"
    path.write_text(
        "\r\n".join(VOCAB) + "\r\n", encoding="utf-8"
    )  # CRLF is stripped, as the original
    from_file = WordPieceTokenizer(str(path))
    assert from_file.vocabulary == VOCAB
    assert from_file(tf.constant(TEXTS)).to_list() == tokenizer(tf.constant(TEXTS)).to_list()
    assert from_file.detokenize(tf.constant([[6, 7]])).numpy().tolist() == [b"quick"]


def test_tf_function_and_tf_data_match_eager(tokenizer):
    eager = tokenizer(tf.constant(TEXTS)).to_list()
    traced = tf.function(lambda x: tokenizer(x))(tf.constant(TEXTS)).to_list()
    ds = tf.data.Dataset.from_tensor_slices(TEXTS).batch(2).map(tokenizer)
    mapped = [row for batch in ds for row in batch.to_list()]
    unbatched = [
        r.numpy().tolist() for r in tf.data.Dataset.from_tensor_slices(TEXTS).map(tokenizer)
    ]
    assert traced == eager and mapped == eager and unbatched == eager
    ds = tf.data.Dataset.from_tensor_slices(TEXTS).batch(4).map(tokenizer.tokenize_with_offsets)
    ids, starts, ends = next(iter(ds))
    assert ids.to_list() == eager
    assert starts.to_list()[0] == [0, 4, 6, 10, 13] and ends.to_list()[0] == [3, 6, 9, 13, 14]


def test_config_round_trip_and_keras_file(tmp_path, tokenizer):
    config = tokenizer.get_config()
    assert json.loads(json.dumps(config))["vocabulary"] is None  # an asset, not config
    clone = WordPieceTokenizer.from_config(config)
    with pytest.raises(ValueError, match="no vocabulary"):
        _ = clone.vocabulary
    clone.set_vocabulary(tokenizer.vocabulary)
    assert clone(tf.constant(TEXTS)).to_list() == tokenizer(tf.constant(TEXTS)).to_list()
    tokenizer.save_assets(str(tmp_path))
    cased = WordPieceTokenizer.from_config({**config, "lowercase": False})
    cased.load_assets(str(tmp_path))
    assert cased.vocabulary == VOCAB
    assert cased(tf.constant(["The the"])).to_list() == [[1, 5]]

    inputs = keras.Input(shape=(), dtype="string")
    model = keras.Model(inputs, tokenizer(inputs))
    model.save(tmp_path / "tok.keras")
    loaded = keras.saving.load_model(tmp_path / "tok.keras")
    assert loaded(tf.constant(TEXTS)).to_list() == tokenizer(tf.constant(TEXTS)).to_list()


def test_savedmodel_loads_with_only_tensorflow_and_tf_text(tmp_path):
    vocab_path = tmp_path / "src" / "vocab.txt"
    vocab_path.parent.mkdir()
    write_vocabulary(VOCAB, vocab_path)
    tok = WordPieceTokenizer(str(vocab_path))

    class Servable(tf.Module):
        def __init__(self):
            super().__init__()
            self.tokenizer = tok

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def tokenize(self, text):
            ids, starts, ends = self.tokenizer.tokenize_with_offsets(text)
            return {
                "ids": self.tokenizer(text).to_tensor(-1),
                "offset_ids": ids.to_tensor(-1),
                "starts": starts.to_tensor(-1),
                "text": self.tokenizer.detokenize(ids),
            }

    export = tmp_path / "saved"
    tf.saved_model.save(Servable(), str(export))
    os.remove(vocab_path)  # the loaded model must use its own asset copy
    assert (export / "assets" / "vocab.txt").read_text().split() == VOCAB

    script = textwrap.dedent(
        f"""
        import json, sys
        import tensorflow as tf
        import tensorflow_text  # registers the tf-text ops
        model = tf.saved_model.load({str(export)!r})
        out = model.tokenize(tf.constant({TEXTS!r}))
        assert not [m for m in sys.modules if m.startswith("keras_bert")]
        print(json.dumps({{k: v.numpy().tolist() if k != "text" else [t.decode() for t in v.numpy()]
                          for k, v in out.items()}}))
        """
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    eager = tok(tf.constant(TEXTS)).to_tensor(-1).numpy().tolist()
    assert out["ids"] == eager and out["offset_ids"] == eager
    assert out["starts"][0] == [0, 4, 6, 10, 13, -1, -1]
    assert out["text"] == [t.decode() for t in tok.detokenize(tok(tf.constant(TEXTS))).numpy()]
