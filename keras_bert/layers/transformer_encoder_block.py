"""Post-LN transformer encoder block (BERT): self-attention, then a feed-forward network."""

from __future__ import annotations

import math

import keras
from keras import ops

from keras_bert.layers.activations import get_activation, truncated_normal
from keras_bert.layers.gather_positions import gather_positions
from keras_bert.layers.hash_dropout import HashDropout

# Added to attention scores at padded keys; finite so that a fully padded row stays NaN-free.
_MASK_PENALTY = -1e9


@keras.saving.register_keras_serializable(package="keras_bert")
class TransformerEncoderBlock(keras.layers.Layer):
    """One BERT encoder layer, post-LayerNorm.

    Query, key and value share one fused projection `qkv` whose kernel is (hidden, 3 * hidden),
    laid out [query | key | value]: one matmul instead of three.

    Args:
        num_heads: attention heads; must divide the hidden size.
        intermediate_dim: feed-forward inner size.
        dropout: dropout on the attention output and the feed-forward output.
        attention_dropout: dropout on attention probabilities (defaults to `dropout`).
        activation: "gelu" (exact erf), "gelu_approximate" (tanh) or "relu".
        layer_norm_epsilon: LayerNorm epsilon.
        initializer_range: stddev of the truncated-normal kernel initializer.

    Call arguments:
        inputs: (batch, seq, hidden) float.
        padding_mask: (batch, seq) int or bool, 1 for real tokens; optional.
        query_positions: (batch, Q) int positions whose outputs are wanted; optional. Keys and
            values still come from every token, but queries, the output projection and the
            feed-forward network run at these Q positions only (a last layer feeding heads that
            read a few positions: the same values as gathering the full output there).
        training: dropout on or off.

    Returns:
        (batch, seq, hidden), or (batch, Q, hidden) with `query_positions`; dtype of the inputs.
    """

    def __init__(
        self,
        num_heads: int,
        intermediate_dim: int,
        dropout: float = 0.1,
        attention_dropout: float | None = None,
        activation: str = "gelu",
        layer_norm_epsilon: float = 1e-12,
        initializer_range: float = 0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)
        self.intermediate_dim = int(intermediate_dim)
        self.dropout = float(dropout)
        self.attention_dropout = float(dropout if attention_dropout is None else attention_dropout)
        self.activation = activation
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.initializer_range = float(initializer_range)
        self._activation_fn = get_activation(activation)
        self.supports_masking = True

    def build(self, input_shape):
        hidden_dim = int(input_shape[-1])
        if hidden_dim % self.num_heads:
            raise ValueError(
                f"hidden size {hidden_dim} is not divisible by num_heads={self.num_heads}."
            )
        self.hidden_dim = hidden_dim
        self.head_dim = hidden_dim // self.num_heads

        def dense(units: int, name: str) -> keras.layers.Dense:
            return keras.layers.Dense(
                units,
                kernel_initializer=truncated_normal(self.initializer_range),
                dtype=self.dtype_policy,
                name=name,
            )

        def layer_norm(name: str) -> keras.layers.LayerNormalization:
            return keras.layers.LayerNormalization(
                epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name=name
            )

        self.qkv = dense(3 * hidden_dim, "qkv")
        self.attention_output = dense(hidden_dim, "attention_output")
        self.attention_layer_norm = layer_norm("attention_layer_norm")
        self.intermediate = dense(self.intermediate_dim, "intermediate")
        self.output_dense = dense(hidden_dim, "output")
        self.output_layer_norm = layer_norm("output_layer_norm")
        self.attention_probs_dropout = HashDropout(self.attention_dropout, dtype=self.dtype_policy)
        self.hidden_dropout = HashDropout(self.dropout, dtype=self.dtype_policy)

        sequence_shape = (input_shape[0], input_shape[1], hidden_dim)
        self.qkv.build(sequence_shape)
        self.attention_output.build(sequence_shape)
        self.attention_layer_norm.build(sequence_shape)
        self.intermediate.build(sequence_shape)
        self.output_dense.build((input_shape[0], input_shape[1], self.intermediate_dim))
        self.output_layer_norm.build(sequence_shape)
        self.built = True

    def _self_attention(self, x, batch, seq, padding_mask, training, queries=None):
        """(B*T, H) tokens -> (B*Q, H) attention context (before the output projection).

        Q = T, with one fused query/key/value matmul, unless `queries` (B*Q, H) are given.
        """
        heads = (self.num_heads, self.head_dim)
        if queries is None:
            qkv = ops.reshape(self.qkv(x), (batch, seq, 3, *heads))  # from (B*T, 3H)
            # Permutations as einsum, not transpose: on TF CPU, oneDNN rewrites Transpose into a
            # reorder that costs ~60 us even on a 14-token request (12 per MiniLM call); Einsum
            # stays Eigen's.
            qkv = ops.einsum("btsnd->sbntd", qkv)  # (3, B, N, T, D)
            query, key, value = qkv[0], qkv[1], qkv[2]
        else:
            kernel = ops.cast(self.qkv.kernel, x.dtype)  # (H, 3H) = [query | key | value]
            bias = ops.cast(self.qkv.bias, x.dtype)
            h = self.hidden_dim
            kv = ops.matmul(x, kernel[:, h:]) + bias[h:]  # (B*T, 2H)
            kv = ops.einsum("btsnd->sbntd", ops.reshape(kv, (batch, seq, 2, *heads)))
            key, value = kv[0], kv[1]  # (B, N, T, D)
            query = ops.matmul(queries, kernel[:, :h]) + bias[:h]  # (B*Q, H)
            query = ops.einsum("bqnd->bnqd", ops.reshape(query, (batch, -1, *heads)))
        query = query * ops.cast(1.0 / math.sqrt(self.head_dim), query.dtype)
        scores = ops.matmul(query, ops.transpose(key, (0, 1, 3, 2)))  # (B, N, Q, T)
        scores = ops.cast(scores, "float32")  # softmax in fp32 under mixed precision
        if padding_mask is not None:
            keep = ops.cast(padding_mask, "float32")[:, None, None, :]  # (B, 1, 1, T)
            scores = scores + (1.0 - keep) * _MASK_PENALTY
        probs = ops.cast(ops.softmax(scores, axis=-1), x.dtype)
        probs = self.attention_probs_dropout(probs, training=training)
        context = ops.matmul(probs, value)  # (B, N, Q, D)
        context = ops.einsum("bnqd->bqnd", context)  # (B, Q, N, D)
        return ops.reshape(context, (-1, self.hidden_dim))  # (B*Q, H)

    def call(self, inputs, padding_mask=None, query_positions=None, training=None):
        batch, seq = ops.shape(inputs)[0], ops.shape(inputs)[1]
        # Tokens flattened to (B*T, H): every dense layer is then one plain 2-D matmul rather than
        # a tensordot (a dozen shape ops each), which is most of a small batch's graph overhead.
        x = ops.reshape(inputs, (-1, self.hidden_dim))
        queries = None
        if query_positions is not None:
            queries = gather_positions(inputs, query_positions)  # (B, Q, H)
            queries = ops.reshape(queries, (-1, self.hidden_dim))
        context = self._self_attention(x, batch, seq, padding_mask, training, queries)
        attended = self.attention_output(context)  # (B*Q, H)
        residual = x if queries is None else queries
        x = self.attention_layer_norm(residual + self.hidden_dropout(attended, training=training))
        ffn = self.output_dense(self._activation_fn(self.intermediate(x)))  # (B*Q, H)
        x = self.output_layer_norm(x + self.hidden_dropout(ffn, training=training))
        return ops.reshape(x, (batch, seq if queries is None else -1, self.hidden_dim))

    def compute_output_spec(self, inputs, padding_mask=None, query_positions=None, training=None):
        shape = inputs.shape
        if query_positions is not None:
            shape = (shape[0], query_positions.shape[1], shape[2])
        return keras.KerasTensor(shape, dtype=self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_heads=self.num_heads,
            intermediate_dim=self.intermediate_dim,
            dropout=self.dropout,
            attention_dropout=self.attention_dropout,
            activation=self.activation,
            layer_norm_epsilon=self.layer_norm_epsilon,
            initializer_range=self.initializer_range,
        )
        return config
