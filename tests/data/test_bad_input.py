"""Bad input gives errors that name the problem: empty corpus, bad vocab, corrupt TFRecord, tiny seq-len."""

from __future__ import annotations

import os

import pytest
import tensorflow as tf

from keras_bert.commands import pretraining_data as command
from keras_bert.data.dynamic_pretraining import dynamic_pretraining_dataset
from keras_bert.data.pretraining_examples import PretrainingConfig
from keras_bert.data.static_pretraining import create_pretraining_data
from keras_bert.data.tfrecords import pretraining_dataset, serialize_features

FEATURES = {
    "input_ids": [101, 7, 102, 8, 102, 0, 0, 0],
    "input_mask": [1] * 5 + [0] * 3,
    "segment_ids": [0, 0, 0, 1, 1, 0, 0, 0],
    "masked_lm_positions": [1, 0],
    "masked_lm_ids": [9, 0],
    "masked_lm_weights": [1.0, 0.0],
    "next_sentence_labels": [1],
}


def cli(argv: list[str]) -> int:
    from keras_bert.cli import main

    return main(["pretraining-data", *argv])


@pytest.fixture
def empty_corpus(tmp_path) -> str:
    path = tmp_path / "empty.txt"
    path.write_text("\n\n   \n")
    return str(path)


def test_empty_corpus(empty_corpus, tokenizer, tmp_path):
    with pytest.raises(ValueError, match="empty corpus"):
        create_pretraining_data(empty_corpus, tokenizer, str(tmp_path / "out"))
    assert not os.listdir(tmp_path / "out")  # no half-made empty shards left behind
    with pytest.raises(ValueError, match="empty corpus"):
        dynamic_pretraining_dataset(empty_corpus, tokenizer, 64, 5, 4)


def test_missing_corpus_file(tokenizer, tmp_path):
    missing = str(tmp_path / "nope.txt")
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        create_pretraining_data(missing, tokenizer, str(tmp_path / "out"))


def test_cli_reports_empty_corpus(empty_corpus, vocab_path, tmp_path, capsys):
    assert cli(["--corpus", empty_corpus, "--vocabulary", vocab_path, "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.startswith("error: empty corpus")  # one line, exit code 2


def test_vocab_missing_a_special_token_surfaces(tmp_path, empty_corpus, capsys):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "a", "##s"]) + "\n")
    corpus = tmp_path / "c.txt"
    corpus.write_text("the a.\nthe as.\n")
    assert cli(["--corpus", str(corpus), "--vocabulary", str(vocab), "--out", str(tmp_path / "o")]) == 2
    assert "[MASK]" in capsys.readouterr().err  # the tokenizer's error, named by the CLI


def test_seq_len_too_small(tokenizer, vocab_path, tmp_path, capsys):
    corpus = tmp_path / "c.txt"
    corpus.write_text("One sentence.\nTwo sentences.\n")
    for bad in (4, 1):
        with pytest.raises(ValueError, match=f"seq_len={bad} is too small.*\\[CLS\\]"):
            PretrainingConfig(seq_len=bad)
    with pytest.raises(ValueError, match="seq_len=4 is too small"):
        dynamic_pretraining_dataset(str(corpus), tokenizer, 4, 2, 2)
    argv = ["--corpus", str(corpus), "--vocabulary", vocab_path, "--out", str(tmp_path / "o")]
    assert cli([*argv, "--sequence-length", "3"]) == 2
    assert "seq_len=3 is too small" in capsys.readouterr().err
    PretrainingConfig(seq_len=5)  # the smallest that fits [CLS] A [SEP] B [SEP]


def _good_file(path: str, count: int = 5) -> None:
    with tf.io.TFRecordWriter(path) as writer:
        for _ in range(count):
            writer.write(serialize_features(FEATURES))


@pytest.mark.parametrize("damage", ["truncated", "garbage", "bit_flip"])
def test_corrupt_tfrecord_names_the_file(tmp_path, damage):
    good, bad = str(tmp_path / "good.tfrecord"), str(tmp_path / "bad.tfrecord")
    _good_file(good)
    _good_file(bad)
    data = bytearray(open(bad, "rb").read())
    if damage == "truncated":
        data = data[:-7]
    elif damage == "garbage":
        data = bytearray(b"this is not a TFRecord file at all\n" * 3)
    else:
        data[len(data) // 2] ^= 0x55  # inside a payload: only the CRC notices
    open(bad, "wb").write(bytes(data))
    with pytest.raises(ValueError, match="corrupt.*bad.tfrecord"):
        pretraining_dataset(str(tmp_path / "*.tfrecord"), 2, 8, 2)
    assert next(iter(pretraining_dataset(good, 2, 8, 2)))[0]["token_ids"].shape == (2, 8)


def test_no_files_match(tmp_path):
    with pytest.raises(FileNotFoundError, match="no TFRecord files match"):
        pretraining_dataset(str(tmp_path / "*.tfrecord"), 2, 8, 2)


def test_wrong_shapes_name_the_file_and_feature(tmp_path):
    path = str(tmp_path / "a.tfrecord")
    _good_file(path)
    with pytest.raises(
        ValueError, match="a.tfrecord: feature 'input_ids' has 8 values, expected 16"
    ):
        pretraining_dataset(path, 2, 16, 2)  # written with seq_len 8
    # Unchecked, TensorFlow's parser still names a mis-sized feature when the batch is read (which
    # one it reports first depends on parse order: any of the length-seq_len features).
    with pytest.raises(
        tf.errors.InvalidArgumentError, match="Key: (input_ids|input_mask|segment_ids),"
    ):
        next(iter(pretraining_dataset(path, 2, 16, 2, check_files="none")))


def test_command_module_has_no_top_level_tensorflow():
    source = open(command.__file__).read().split("def run(")[0]
    assert "import tensorflow" not in source and "keras_bert.data" not in source


def test_ids_outside_the_model_vocabulary_are_named(tmp_path):
    path = str(tmp_path / "a.tfrecord")
    _good_file(path)  # token ids up to 102
    batch = next(iter(pretraining_dataset(path, 2, 8, 2, vocabulary_size=103)))
    assert batch[0]["token_ids"].shape == (2, 8)
    with pytest.raises(tf.errors.InvalidArgumentError, match="token_ids outside the model "
                       "vocabulary of 100 ids: were these records written with another vocabulary"):
        next(iter(pretraining_dataset(path, 2, 8, 2, vocabulary_size=100)))
