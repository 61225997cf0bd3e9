"""Fill-mask servable: text with `[MASK]`s -> top-k tokens and probabilities for each mask."""

from __future__ import annotations

import tensorflow as tf

from keras_bert.export.servable import ServableModule, trim_padding

MASK_TEXT = "[MASK]"


class FillMaskServable(ServableModule):
    """`serving_default(text)` -> `tokens` string (B, max_masks, top_k) and `scores` float32
    (B, max_masks, top_k): candidates for each literal `[MASK]` in the text, in order. User text
    never tokenizes to the mask id, so the literal is split out before tokenization and replaced by
    the mask id. Rows past the text's mask count (and masks beyond `max_masks`) are "" / -1.

    Args:
        model: a `BertPretrainer` (inputs + `mask_positions`; output `mlm_logits` (B, P, V)).
        top_k: candidates per mask, fixed at export.
        max_masks: masks answered per text, fixed at export.
    """

    task = "fill-mask"

    def __init__(self, model, preprocessor, top_k: int = 5, max_masks: int = 4,
                 chunk_size: int | None = None):
        super().__init__(model, preprocessor, chunk_size)
        self.top_k = int(top_k)
        self.max_masks = int(max_masks)
        self.vocabulary = tf.Variable(self.tokenizer.vocabulary, trainable=False, name="vocabulary")

    def mask_positions(self, token_ids: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """(B, T) ids -> positions (B, max_masks) of the masks in order (0 where none), valid mask."""
        length = tf.shape(token_ids)[1]
        index = tf.range(length)[None, :]
        # Masks sort first, in text order; other tokens after them (key >= length).
        key = tf.where(tf.equal(token_ids, self.tokenizer.mask_token_id), index, length + index)
        first = tf.sort(key, axis=1)[:, : self.max_masks]
        first = tf.pad(first, [[0, 0], [0, self.max_masks - tf.shape(first)[1]]],
                       constant_values=2 * length)
        valid = first < length
        return tf.where(valid, first, 0), valid

    def from_tokens(self, inputs):
        positions, valid = self.mask_positions(tf.cast(inputs["token_ids"], tf.int32))
        logits = self.run_model(inputs, mask_positions=positions)["mlm_logits"]  # (B, M, V)
        probs = tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)
        scores, ids = tf.math.top_k(probs, k=self.top_k)  # (B, M, top_k)
        tokens = tf.gather(self.vocabulary, ids)
        return {
            "tokens": tf.where(valid[:, :, None], tokens, ""),
            "scores": tf.where(valid[:, :, None], scores, -1.0),
        }

    def from_text(self, text):
        pieces = tf.strings.split(text, sep=MASK_TEXT)  # (B, pieces)
        ids = self.tokenize(self.cut(pieces.flat_values))  # (N, None), each piece cut on its own
        mask = tf.fill([ids.nrows(), 1], tf.constant(self.tokenizer.mask_token_id, tf.int32))
        ids = tf.concat([ids, tf.RaggedTensor.from_tensor(mask)], axis=1)  # piece + [MASK]
        ids = pieces.with_flat_values(ids).merge_dims(1, 2)[:, :-1]  # (B, None), last mask dropped
        packed = dict(self.packer(ids))
        return self.map_chunks(lambda rows: self.from_tokens(trim_padding(rows)), packed)
