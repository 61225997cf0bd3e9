"""Classification preprocessing in TensorFlow ops: text (and text pair) -> packed inputs."""

from __future__ import annotations

import tensorflow as tf

from keras_bert.preprocessing._base import PackingPreprocessor


class ClassificationPreprocessor(PackingPreprocessor):
    """Tokenize one or two texts, pack `[CLS] a [SEP] (b [SEP])`, map label names to ids.

    Args:
        tokenizer: a `WordPieceTokenizer`.
        sequence_length: T.
        label_names: label vocabulary (index = class id); kept with the model.
        packer: a `SegmentPacker`; built from the tokenizer's special ids if None.

    `__call__(text, text_pair=None, label=None)`: (B,) string tensors; `label` either int ids or
    string names (looked up; an unknown name raises `InvalidArgumentError` in the graph).
    Returns x (dict of int32 (B, T)) or (x, y) with y int32 (B,).
    """

    def __init__(self, tokenizer, sequence_length: int = 128, label_names=None, packer=None):
        super().__init__(tokenizer, sequence_length, packer)
        self.label_names = list(label_names) if label_names is not None else None
        self._table = None
        if self.label_names:
            self._table = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(
                    tf.constant(self.label_names),
                    tf.range(len(self.label_names), dtype=tf.int32),
                ),
                default_value=-1,
            )

    def label_ids(self, label: tf.Tensor) -> tf.Tensor:
        """String labels (B,) -> int32 (B,); fails loudly on a name outside `label_names`."""
        if label.dtype != tf.string:
            return tf.cast(label, tf.int32)
        ids = self._table.lookup(label)
        tf.debugging.assert_non_negative(ids, message="label not in label_names")
        return ids

    def __call__(self, text: tf.Tensor, text_pair: tf.Tensor | None = None, label=None):
        a = tf.cast(self.tokenizer(text), tf.int32)
        if text_pair is None:
            x = self.packer(a)
        else:
            x = self.packer((a, tf.cast(self.tokenizer(text_pair), tf.int32)))
        x = dict(x)
        if label is None:
            return x
        return x, self.label_ids(label)
