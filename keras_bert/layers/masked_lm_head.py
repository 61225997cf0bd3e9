"""Masked-LM head: logits only at the masked positions, through the tied token embedding."""

from __future__ import annotations

import keras
from keras import ops

from keras_bert.layers.activations import get_activation, truncated_normal


def gather_positions(sequence, positions):
    """Gathers vectors at `positions` per example.

    Args:
        sequence: (batch, seq, hidden).
        positions: (batch, P) int indices into `seq`.

    Returns:
        (batch, P, hidden).
    """
    batch, seq, hidden = ops.shape(sequence)[0], ops.shape(sequence)[1], ops.shape(sequence)[2]
    positions = ops.cast(positions, "int32")
    offsets = ops.arange(batch, dtype="int32")[:, None] * ops.cast(seq, "int32")  # (B, 1)
    flat = ops.reshape(sequence, (-1, hidden))  # (B*T, H)
    return ops.take(flat, positions + offsets, axis=0)  # (B, P, H)


@keras.saving.register_keras_serializable(package="keras_bert")
class MaskedLMHead(keras.layers.Layer):
    """BERT's MLM head: gather -> dense + activation -> LayerNorm -> tied embedding + bias.

    Args:
        token_embedding: the backbone's `keras.layers.Embedding`; its matrix is reused (tied) for the
            output projection. Not serialized: the owning model passes it again on load.
        activation: "gelu", "gelu_approximate" or "relu".
        layer_norm_epsilon: LayerNorm epsilon.
        initializer_range: stddev of the truncated-normal kernel initializer.

    Call arguments:
        sequence_output: (batch, seq, hidden).
        mask_positions: (batch, P) int32 positions to predict.

    Returns:
        (batch, P, vocabulary_size) float32 logits.
    """

    def __init__(
        self,
        token_embedding: keras.layers.Embedding | None = None,
        activation: str = "gelu",
        layer_norm_epsilon: float = 1e-12,
        initializer_range: float = 0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.token_embedding = token_embedding
        self.activation = activation
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.initializer_range = float(initializer_range)
        self._activation_fn = get_activation(activation)

    def build(self, sequence_output_shape, mask_positions_shape=None):
        if self.token_embedding is None:
            raise ValueError("MaskedLMHead needs the backbone's `token_embedding` layer.")
        hidden_dim = int(sequence_output_shape[-1])
        vocabulary_size = int(self.token_embedding.input_dim)
        self.transform = keras.layers.Dense(
            hidden_dim,
            kernel_initializer=truncated_normal(self.initializer_range),
            dtype=self.dtype_policy,
            name="transform",
        )
        self.transform.build((None, None, hidden_dim))
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name="layer_norm"
        )
        self.layer_norm.build((None, None, hidden_dim))
        self.bias = self.add_weight(name="bias", shape=(vocabulary_size,), initializer="zeros")
        self.built = True

    def call(self, sequence_output, mask_positions):
        x = gather_positions(sequence_output, mask_positions)  # (B, P, H)
        x = self.layer_norm(self._activation_fn(self.transform(x)))
        embeddings = ops.cast(self.token_embedding.embeddings, x.dtype)  # (V, H)
        logits = ops.matmul(x, ops.transpose(embeddings))  # (B, P, V)
        return ops.cast(logits, "float32") + ops.cast(self.bias, "float32")

    def compute_output_shape(self, sequence_output_shape, mask_positions_shape=None):
        positions = mask_positions_shape[1] if mask_positions_shape is not None else None
        return (sequence_output_shape[0], positions, int(self.token_embedding.input_dim))

    def get_config(self):
        config = super().get_config()
        config.update(
            activation=self.activation,
            layer_norm_epsilon=self.layer_norm_epsilon,
            initializer_range=self.initializer_range,
        )
        return config
