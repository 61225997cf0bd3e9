"""Fill-mask servable: text with `[MASK]` -> top-k tokens and probabilities for the first mask."""

from __future__ import annotations

import tensorflow as tf
from keras_bert.export.servable import ServableModule, trim_padding

MASK_TEXT = "[MASK]"


class FillMaskServable(ServableModule):
    """`serving_default(text)` -> `tokens` string (B, top_k), `scores` float32 (B, top_k) for the
    first literal `[MASK]` in each text (user text never tokenizes to the mask id, so the literal is
    split out before tokenization and replaced by the mask id); texts without a mask get "" / -1.

    Args:
        model: a `BertPretrainer` (inputs + `mask_positions`; output `mlm_logits` (B, P, V)).
        top_k: candidates returned, fixed at export.
    """

    task = "fill-mask"

    def __init__(self, model, tokenizer, packer, top_k: int = 5):
        super().__init__(model, tokenizer, packer)
        self.top_k = int(top_k)
        self.vocabulary = tf.Variable(tokenizer.vocabulary, trainable=False, name="vocabulary")

    def from_tokens(self, inputs):
        token_ids = tf.cast(inputs["token_ids"], tf.int32)
        is_mask = tf.equal(token_ids, self.tokenizer.mask_token_id)  # (B, T)
        has_mask = tf.reduce_any(is_mask, axis=1)
        position = tf.argmax(tf.cast(is_mask, tf.int32), axis=1, output_type=tf.int32)  # (B,)
        logits = self.run_model(inputs, mask_positions=position[:, None])["mlm_logits"]
        probs = tf.nn.softmax(tf.cast(logits[:, 0], tf.float32), axis=-1)  # (B, V)
        scores, ids = tf.math.top_k(probs, k=self.top_k)
        tokens = tf.gather(self.vocabulary, ids)  # (B, top_k) vocabulary entries
        return {
            "tokens": tf.where(has_mask[:, None], tokens, ""),
            "scores": tf.where(has_mask[:, None], scores, -1.0),
        }

    def from_text(self, text):
        pieces = tf.strings.split(text, sep=MASK_TEXT)  # (B, pieces)
        ids = self.tokenize(pieces.flat_values)  # (N, None)
        mask = tf.fill([ids.nrows(), 1], tf.constant(self.tokenizer.mask_token_id, tf.int32))
        ids = tf.concat([ids, tf.RaggedTensor.from_tensor(mask)], axis=1)  # piece + [MASK]
        ids = pieces.with_flat_values(ids).merge_dims(1, 2)[:, :-1]  # (B, None), last mask dropped
        return self.from_tokens(trim_padding(dict(self.packer(ids))))
