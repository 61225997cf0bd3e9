"""Fill-mask servable: text with `[MASK]`s -> top-k tokens and probabilities for each mask."""

from __future__ import annotations

import tensorflow as tf

from keras_bert.export.servable import ServableModule, trim_padding
from keras_bert.preprocessing.pretraining_preprocessor import mask_positions, masked_text_ids


class FillMaskServable(ServableModule):
    """`serving_default(text)` -> `tokens` string (B, max_masks, top_k) and `scores` float32
    (B, max_masks, top_k): candidates for each literal `[MASK]` in the text, in order. User text
    never tokenizes to the mask id, so the literal is split out before tokenization and replaced by
    the mask id (`masked_text_ids`, the preprocessor's own fill-mask path). Rows past the text's mask
    count (and masks beyond `max_masks`) are "" / -1.

    Args:
        model: a `BertPretrainer` (inputs + `mask_positions`; output `mlm_logits` (B, P, V)).
        preprocessor: its `PretrainingPreprocessor` (or any preprocessor with tokenizer and packer).
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

    def from_tokens(self, inputs):
        positions, valid = mask_positions(
            tf.cast(inputs["token_ids"], tf.int32), self.tokenizer.mask_token_id, self.max_masks)
        logits = self.run_model(inputs, mask_positions=positions)["mlm_logits"]  # (B, M, V)
        probs = tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)
        scores, ids = tf.math.top_k(probs, k=self.top_k)  # (B, M, top_k)
        tokens = tf.gather(self.vocabulary, ids)
        return {
            "tokens": tf.where(valid[:, :, None], tokens, ""),
            "scores": tf.where(valid[:, :, None], scores, -1.0),
        }

    def from_text(self, text):
        packed = dict(self.packer(masked_text_ids(self.preprocessor, text)))
        return self.map_chunks(lambda rows: self.from_tokens(trim_padding(rows)), packed)
