"""Classification preprocessing in TensorFlow ops: text (and text pair) -> packed inputs."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_bert.preprocessing._base import PackingPreprocessor


@keras.saving.register_keras_serializable(package="keras_bert")
class ClassificationPreprocessor(PackingPreprocessor):
    """Tokenize one or two texts, pack `[CLS] a [SEP] (b [SEP])`, map label names to ids.

    Args:
        tokenizer: a `WordPieceTokenizer`.
        sequence_length: T.
        label_names: label vocabulary (index = class id); kept with the model.
        packer: a `SegmentPacker`; built from the tokenizer's special ids if None.
        pair: whether inputs are text pairs (exports then take `text` and `text_pair`).

    `__call__(text, text_pair=None, label=None)`: (B,) string tensors, each cut before tokenizing
    to what the sequence can use (same tokens as uncut); `label` either int ids or
    string names (looked up; an unknown name raises `InvalidArgumentError` in the graph).
    Returns x (dict of int32 (B, T)) or (x, y) with y int32 (B,).
    `map_batch(x, y=None, sample_weight=None)`: x a (B,) string tensor or a `(text, text_pair)`
    tuple; returns `(x, y, sample_weight)` (what `model.fit` / `predict` on raw text run).

    Examples:
    >>> pre = ClassificationPreprocessor(tokenizer, 64, ["neg", "pos"])
    >>> pre(tf.constant(["a fine film"]))["token_ids"].shape
    TensorShape([1, 64])
    """

    def __init__(self, tokenizer, sequence_length: int = 128, label_names=None, packer=None,
                 pair: bool = False, **kwargs):
        super().__init__(tokenizer, sequence_length, packer, **kwargs)
        self.label_names = list(label_names) if label_names is not None else None
        self.pair = bool(pair)
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
        """String labels (B,) -> int32 (B,); fails loudly on a name outside `label_names`.
        Real-valued labels (a regression head's targets) stay float32."""
        label = tf.convert_to_tensor(label)
        if label.dtype.is_floating:
            return tf.cast(label, tf.float32)
        if label.dtype != tf.string:
            return tf.cast(label, tf.int32)
        if self._table is None:
            raise ValueError("string labels need label_names")
        ids = self._table.lookup(label)
        tf.debugging.assert_non_negative(ids, message="label not in label_names")
        return ids

    def call(self, text: tf.Tensor, text_pair: tf.Tensor | None = None, label=None):
        a = tf.cast(self.tokenizer(self.cut(text)), tf.int32)
        if text_pair is None:
            x = self.packer(a)
        else:
            x = self.packer((a, tf.cast(self.tokenizer(self.cut(text_pair)), tf.int32)))
        x = dict(x)
        if label is None:
            return x
        return x, self.label_ids(label)

    def map_batch(self, x, y=None, sample_weight=None):
        text, text_pair = (x[0], x[1]) if isinstance(x, tuple | list) else (x, None)
        packed = self(text, text_pair)
        y = None if y is None else self.label_ids(y)
        return keras.utils.pack_x_y_sample_weight(packed, y, sample_weight)

    def get_config(self) -> dict:
        return {**super().get_config(), "label_names": self.label_names, "pair": self.pair}
