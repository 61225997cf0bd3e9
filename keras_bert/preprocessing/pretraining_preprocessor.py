"""Pretraining / fill-mask preprocessing: raw sentence pairs -> MLM + NSP batches, and text with
literal `[MASK]`s -> fill-mask inputs."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_bert.preprocessing._base import PackingPreprocessor
from keras_bert.preprocessing.mlm_masker import MlmMasker

MASK_TEXT = "[MASK]"


def masked_text_ids(preprocessor: PackingPreprocessor, text: tf.Tensor) -> tf.RaggedTensor:
    """(B,) strings with literal `[MASK]`s -> ragged (B, None) int32 ids with the mask id there.

    User text never tokenizes to the mask id, so the literal is split out first; each piece is cut
    to what the sequence can use (`preprocessor.cut`) before tokenizing."""
    tokenizer = preprocessor.tokenizer
    pieces = tf.strings.split(text, sep=MASK_TEXT)  # (B, pieces)
    ids = tf.cast(tokenizer(preprocessor.cut(pieces.flat_values)), tf.int32)  # (N, None)
    if isinstance(ids, tf.Tensor):
        ids = tf.RaggedTensor.from_tensor(ids)
    mask = tf.fill([ids.nrows(), 1], tf.constant(tokenizer.mask_token_id, tf.int32))
    ids = tf.concat([ids, tf.RaggedTensor.from_tensor(mask)], axis=1)  # piece + [MASK]
    return pieces.with_flat_values(ids).merge_dims(1, 2)[:, :-1]  # the last piece's mask dropped


def mask_positions(token_ids: tf.Tensor, mask_token_id: int, max_masks: int) -> tuple[tf.Tensor, tf.Tensor]:
    """(B, T) ids -> positions (B, max_masks) of the mask ids in order (0 where none), valid mask."""
    length = tf.shape(token_ids)[1]
    index = tf.range(length)[None, :]
    # Masks sort first, in text order; other tokens after them (key >= length).
    key = tf.where(tf.equal(token_ids, mask_token_id), index, length + index)
    first = tf.sort(key, axis=1)[:, :max_masks]
    first = tf.pad(first, [[0, 0], [0, max_masks - tf.shape(first)[1]]], constant_values=2 * length)
    valid = first < length
    return tf.where(valid, first, 0), valid


@keras.saving.register_keras_serializable(package="keras_bert")
class PretrainingPreprocessor(PackingPreprocessor):
    """MLM + NSP from raw text (what `BertPretrainer.fit` takes), and fill-mask inputs.

    Args:
        tokenizer: a `WordPieceTokenizer`.
        sequence_length: T.
        max_predictions: P, masked-LM slots per row (also the most `[MASK]`s answered).
        masked_lm_prob: share of tokens masked for training.
        whole_word_mask: mask whole words.

    `map_batch((text_a, text_b), next_sentence_label)`: pairs packed `[CLS] a [SEP] b [SEP]`,
    dynamically masked (`MlmMasker`), -> `(x, y, sample_weight)` as `BertPretrainer` trains on
    (NSP label 0 = b follows a). `map_batch(text)` without labels: the literal `[MASK]`s of each text
    become mask ids and `mask_positions` point at them (fill-mask prediction).
    """

    def __init__(self, tokenizer, sequence_length: int = 128, max_predictions: int = 20,
                 masked_lm_prob: float = 0.15, whole_word_mask: bool = False, packer=None, **kwargs):
        super().__init__(tokenizer, sequence_length, packer, **kwargs)
        self.max_predictions = int(max_predictions)
        self.masked_lm_prob = float(masked_lm_prob)
        self.whole_word_mask = bool(whole_word_mask)
        self._masker = None

    @property
    def masker(self) -> MlmMasker:
        if self._masker is None:  # built on first use: a loading tokenizer has no ids yet
            self._masker = MlmMasker.from_tokenizer(
                self.tokenizer, max_predictions=self.max_predictions,
                mask_selection_rate=self.masked_lm_prob, whole_word_mask=self.whole_word_mask)
        return self._masker

    def fill_mask_inputs(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        packed = dict(self.packer(masked_text_ids(self, text)))
        positions, _ = mask_positions(packed["token_ids"], self.tokenizer.mask_token_id,
                                      self.max_predictions)
        return {**packed, "mask_positions": positions}

    def call(self, text):
        return self.fill_mask_inputs(text)

    def map_batch(self, x, y=None, sample_weight=None):
        if y is None:
            return self.fill_mask_inputs(x[0] if isinstance(x, tuple | list) else x)
        text_a, text_b = x
        ids = [tf.cast(self.tokenizer(self.cut(t)), tf.int32) for t in (text_a, text_b)]
        packed = self.packer(tuple(ids))
        masked = self.masker(packed["token_ids"], padding_mask=packed["padding_mask"])
        inputs = {
            "token_ids": masked["token_ids"],
            "segment_ids": tf.cast(packed["segment_ids"], tf.int32),
            "padding_mask": tf.cast(packed["padding_mask"], tf.int32),
            "mask_positions": masked["mask_positions"],
        }
        labels = tf.cast(y, tf.int32)
        targets = {"mlm_logits": masked["mask_ids"], "nsp_logits": labels}
        weights = {"mlm_logits": masked["mask_weights"],
                   "nsp_logits": tf.ones_like(labels, tf.float32) if sample_weight is None
                   else tf.cast(sample_weight, tf.float32)}
        return inputs, targets, weights

    def get_config(self) -> dict:
        return {**super().get_config(), "max_predictions": self.max_predictions,
                "masked_lm_prob": self.masked_lm_prob, "whole_word_mask": self.whole_word_mask}
