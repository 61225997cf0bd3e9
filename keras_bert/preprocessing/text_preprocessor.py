"""Single-text preprocessing: text -> `[CLS] text [SEP]` packed inputs (embedding, fill-mask)."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_bert.preprocessing._base import PackingPreprocessor


@keras.saving.register_keras_serializable(package="keras_bert")
class TextPreprocessor(PackingPreprocessor):
    """Tokenize (after cutting to what the sequence can use) and pack one text per row.

    Args:
        tokenizer: a `WordPieceTokenizer`.
        sequence_length: T.
        packer: a `SegmentPacker`; built from the tokenizer's special ids if None.

    `__call__(text)`: (B,) strings -> dict `token_ids`, `segment_ids`, `padding_mask` int32 (B, T).
    """

    def call(self, text):
        return dict(self.packer(tf.cast(self.tokenizer(self.cut(text)), tf.int32)))

    def map_batch(self, x, y=None, sample_weight=None):
        return keras.utils.pack_x_y_sample_weight(self(x), y, sample_weight)
