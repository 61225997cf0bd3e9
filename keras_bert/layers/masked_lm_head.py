"""Masked-LM head: logits only at the masked positions, through the tied token embedding."""

from __future__ import annotations

import keras
from keras import ops

from keras_bert.layers.activations import get_activation, truncated_normal
from keras_bert.layers.gather_positions import gather_positions
from keras_bert.layers.vocab_softmax_loss import vocab_softmax_cross_entropy


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
        mask_positions: (batch, P) int32 positions to predict; None when `sequence_output` holds
            the (batch, P, hidden) vectors at those positions already.
        return_features: also return the activations the tied projection scores, so that a
            training loss can score them with `loss` instead of reading the logits.

    Returns:
        (batch, P, vocabulary_size) float32 logits; with `return_features`, a dict of those
        (`logits`) and `features` (batch, P, hidden).
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

    def call(self, sequence_output, mask_positions=None, return_features: bool = False):
        x = sequence_output
        if mask_positions is not None:
            x = gather_positions(sequence_output, mask_positions)  # (B, P, H)
        x = self.layer_norm(self._activation_fn(self.transform(x)))
        embeddings = ops.cast(self.token_embedding.embeddings, x.dtype)  # (V, H)
        logits = ops.matmul(x, ops.transpose(embeddings))  # (B, P, V)
        logits = ops.cast(logits, "float32") + ops.cast(self.bias, "float32")
        return {"logits": logits, "features": x} if return_features else logits

    def loss(self, features, labels, weights):
        """MLM loss and top-1 hits of `features`, the vocabulary scored in chunks (logits written
        once, read once; see `vocab_softmax_loss`).

        Args:
            features: (batch, P, hidden) from `call(..., return_features=True)`.
            labels: (batch, P) int token ids; weights: (batch, P) float mask weights.

        Returns:
            () float32 cross-entropy averaged over `weights` (as Keras'
            `SparseCategoricalCrossentropy(reduction="mean_with_sample_weight")` on the logits),
            and (batch, P) float32 1.0 where the label's logit is the largest.
        """
        hidden = ops.shape(features)[-1]
        loss, correct = vocab_softmax_cross_entropy(
            ops.reshape(features, (-1, hidden)),
            self.token_embedding.embeddings,
            self.bias,
            ops.reshape(labels, (-1,)),
            ops.reshape(weights, (-1,)),
        )
        return loss, ops.reshape(correct, ops.shape(labels))

    def compute_output_spec(
        self, sequence_output, mask_positions=None, return_features: bool = False
    ):
        batch, positions = sequence_output.shape[0], sequence_output.shape[1]
        if mask_positions is not None:
            positions = mask_positions.shape[1]
        vocabulary_size = int(self.token_embedding.input_dim)
        logits = keras.KerasTensor((batch, positions, vocabulary_size), dtype="float32")
        if not return_features:
            return logits
        hidden = sequence_output.shape[-1]
        features = keras.KerasTensor((batch, positions, hidden), dtype=self.compute_dtype)
        return {"logits": logits, "features": features}

    def get_config(self):
        config = super().get_config()
        config.update(
            activation=self.activation,
            layer_norm_epsilon=self.layer_norm_epsilon,
            initializer_range=self.initializer_range,
        )
        return config
