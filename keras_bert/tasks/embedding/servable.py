"""Embedding servable: text -> one vector per text (pooled or mean over tokens)."""

from __future__ import annotations

import tensorflow as tf

from keras_bert.export.servable import ServableModule, trim_padding

POOLINGS = ("mean", "pooled", "cls")


class EmbeddingServable(ServableModule):
    """`serving_default(text)` -> `embedding` float32 (B, H).

    Args:
        model: a `BertBackbone` (dict outputs `sequence_output`, `pooled_output`).
        pooling: "mean" (masked mean of `sequence_output`, sentence-transformers), "pooled"
            (`pooled_output`) or "cls" (first token of `sequence_output`), fixed at export.
        normalize: L2-normalise the vectors.
    """

    task = "embedding"

    def __init__(self, model, preprocessor, pooling: str = "mean", normalize: bool = False,
                 chunk_size: int | None = None):
        super().__init__(model, preprocessor, chunk_size)
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.pooling = pooling
        self.normalize = bool(normalize)

    def from_tokens(self, inputs):
        outputs = self.run_model(inputs)
        if self.pooling == "pooled":
            vector = tf.cast(outputs["pooled_output"], tf.float32)
        else:
            sequence = tf.cast(outputs["sequence_output"], tf.float32)  # (B, T, H)
            if self.pooling == "cls":
                vector = sequence[:, 0]
            else:
                mask = tf.cast(inputs["padding_mask"], tf.float32)[:, :, None]  # (B, T, 1)
                vector = tf.reduce_sum(sequence * mask, 1) / tf.maximum(tf.reduce_sum(mask, 1), 1e-9)
        if self.normalize:
            vector = tf.math.l2_normalize(vector, axis=-1)
        return {"embedding": vector}

    def from_text(self, text):
        packed = self.preprocessor(text)  # cut, tokenized, packed as in training
        return self.map_chunks(lambda rows: self.from_tokens(trim_padding(rows)), packed)
