"""Learned absolute position embedding."""

from __future__ import annotations

import keras
from keras import ops

from keras_bert.layers.activations import truncated_normal


@keras.saving.register_keras_serializable(package="keras_bert")
class PositionEmbedding(keras.layers.Layer):
    """Adds nothing: returns the learned position vectors for a sequence.

    Args:
        max_sequence_length: number of learned positions.
        initializer_range: stddev of the truncated-normal initializer.

    Call arguments:
        inputs: any tensor of shape (batch, seq, ...); only `seq` is used.

    Returns:
        (1, seq, hidden) position vectors, broadcastable over the batch.
    """

    def __init__(self, max_sequence_length: int, initializer_range: float = 0.02, **kwargs):
        super().__init__(**kwargs)
        self.max_sequence_length = int(max_sequence_length)
        self.initializer_range = float(initializer_range)

    def build(self, input_shape):
        hidden_dim = input_shape[-1]
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.max_sequence_length, hidden_dim),
            initializer=truncated_normal(self.initializer_range),
        )
        self.built = True

    def call(self, inputs):
        seq_len = ops.shape(inputs)[1]
        return ops.expand_dims(self.embeddings[:seq_len], 0)  # (1, T, H)

    def compute_output_shape(self, input_shape):
        return (1, input_shape[1], input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            max_sequence_length=self.max_sequence_length,
            initializer_range=self.initializer_range,
        )
        return config
