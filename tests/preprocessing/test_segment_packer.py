"""`SegmentPacker` against a pure-Python port of google-research/bert's packing and truncation."""

from __future__ import annotations

import random

import pytest
import tensorflow as tf

from keras_bert.preprocessing import SegmentPacker

CLS, SEP, PAD = 101, 102, 0


def _truncate_seq_pair(a: list[int], b: list[int], max_length: int) -> None:
    """The original's rule: pop from the end of the longer list (B on a tie) until it fits."""
    while len(a) + len(b) > max_length:
        (a if len(a) > len(b) else b).pop()


def _reference(a: list[int], b: list[int] | None, seq_len: int) -> tuple[list, list, list]:
    a = list(a)
    if b is None:
        a = a[: seq_len - 2]
        tokens, segments = [CLS, *a, SEP], [0] * (len(a) + 2)
    else:
        b = list(b)
        _truncate_seq_pair(a, b, seq_len - 3)
        tokens = [CLS, *a, SEP, *b, SEP]
        segments = [0] * (len(a) + 2) + [1] * (len(b) + 1)
    pad = seq_len - len(tokens)
    return tokens + [PAD] * pad, segments + [0] * pad, [1] * len(tokens) + [0] * pad


def test_single_segment_layout():
    packer = SegmentPacker(6, start_value=CLS, end_value=SEP, pad_value=PAD)
    out = packer(tf.ragged.constant([[5, 6], [7, 8, 9, 10, 11, 12]], dtype=tf.int32))
    assert set(out) == {"token_ids", "segment_ids", "padding_mask"}
    assert all(v.dtype == tf.int32 and v.shape == (2, 6) for v in out.values())
    assert out["token_ids"].numpy().tolist() == [
        [CLS, 5, 6, SEP, PAD, PAD],
        [CLS, 7, 8, 9, 10, SEP],
    ]
    assert out["segment_ids"].numpy().tolist() == [[0] * 6, [0] * 6]
    assert out["padding_mask"].numpy().tolist() == [[1, 1, 1, 1, 0, 0], [1] * 6]


def test_pair_layout_and_unbatched_input():
    packer = SegmentPacker(9, start_value=CLS, end_value=SEP, pad_value=PAD)
    out = packer((tf.constant([1, 2]), tf.constant([3, 4, 5])))
    assert out["token_ids"].numpy().tolist() == [CLS, 1, 2, SEP, 3, 4, 5, SEP, PAD]
    assert out["segment_ids"].numpy().tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 0]
    assert out["padding_mask"].numpy().tolist() == [1] * 8 + [0]


def test_truncation_matches_original_on_random_lengths():
    rng = random.Random(0)
    for seq_len in (3, 4, 7, 16, 33):
        packer = SegmentPacker(seq_len, start_value=CLS, end_value=SEP, pad_value=PAD)
        a = [[rng.randrange(1000, 2000) for _ in range(rng.randint(0, 40))] for _ in range(64)]
        b = [[rng.randrange(2000, 3000) for _ in range(rng.randint(0, 40))] for _ in range(64)]
        pair = packer(
            (
                tf.ragged.constant(a, tf.int32, row_splits_dtype=tf.int64),
                tf.ragged.constant(b, tf.int32),
            )
        )
        single = packer(tf.ragged.constant(a, tf.int32))
        for i in range(64):
            want = _reference(a[i], b[i], seq_len)
            got = tuple(
                pair[k][i].numpy().tolist() for k in ("token_ids", "segment_ids", "padding_mask")
            )
            assert got == want, (seq_len, len(a[i]), len(b[i]))
            want = _reference(a[i], None, seq_len)
            got = tuple(
                single[k][i].numpy().tolist() for k in ("token_ids", "segment_ids", "padding_mask")
            )
            assert got == want


def test_too_small_sequence_length_is_a_clear_error():
    with pytest.raises(ValueError, match="too small for \\[CLS\\] and \\[SEP\\]"):
        SegmentPacker(1, start_value=CLS, end_value=SEP)
    packer = SegmentPacker(2, start_value=CLS, end_value=SEP)
    assert packer(tf.ragged.constant([[7]]))["token_ids"].numpy().tolist() == [[CLS, SEP]]
    with pytest.raises(ValueError, match="too small for 2 segment"):
        packer((tf.ragged.constant([[7]]), tf.ragged.constant([[8]])))


def test_from_tokenizer_tf_data_and_config():
    from keras_bert.tokenizers import WordPieceTokenizer

    vocab = ["[UNK]", "[PAD]", "[SEP]", "[MASK]", "[CLS]", "hello", "world"]
    tokenizer = WordPieceTokenizer(vocab)
    packer = SegmentPacker.from_tokenizer(tokenizer, sequence_length=8)
    assert (packer.start_value, packer.end_value, packer.pad_value) == (4, 2, 1)
    ds = tf.data.Dataset.from_tensor_slices((["hello world", "world"], ["hello", "x"])).batch(2)
    ds = ds.map(lambda a, b: packer((tokenizer(a), tokenizer(b))))
    out = next(iter(ds))
    assert out["token_ids"].numpy().tolist() == [[4, 5, 6, 2, 5, 2, 1, 1], [4, 6, 2, 0, 2, 1, 1, 1]]
    assert out["segment_ids"].numpy().tolist() == [
        [0, 0, 0, 0, 1, 1, 0, 0],
        [0, 0, 0, 1, 1, 0, 0, 0],
    ]
    clone = SegmentPacker.from_config(packer.get_config())
    assert clone.get_config() == packer.get_config()
    assert clone((tokenizer(tf.constant(["hello"])),))["token_ids"].numpy().tolist() == [
        [4, 5, 2, 1, 1, 1, 1, 1]
    ]
