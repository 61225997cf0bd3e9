"""BertBackbone: embeddings + a stack of post-LN encoder blocks + the [CLS] pooler."""

from __future__ import annotations

import keras
from keras import ops

from keras_bert import presets
from keras_bert.layers import HashDropout, PositionEmbedding, TransformerEncoderBlock
from keras_bert.layers.activations import truncated_normal


def backbone_inputs() -> dict:
    """Fresh symbolic inputs matching `BertBackbone`'s input dict."""
    return {
        name: keras.Input(shape=(None,), dtype="int32", name=name)
        for name in ("token_ids", "segment_ids", "padding_mask")
    }


@keras.saving.register_keras_serializable(package="keras_bert")
class BertBackbone(keras.Model):
    """The BERT encoder as a functional Keras model.

    Args:
        vocabulary_size: WordPiece vocabulary size.
        num_layers: encoder blocks.
        num_heads: attention heads per block.
        hidden_dim: model width.
        intermediate_dim: feed-forward inner size.
        max_sequence_length: learned positions.
        num_segments: segment (token type) vocabulary.
        dropout: hidden dropout.
        attention_dropout: attention-probability dropout (defaults to `dropout`).
        activation: "gelu" (exact, Hugging Face), "gelu_approximate" (tanh, google-research/bert).
        layer_norm_epsilon: LayerNorm epsilon.
        initializer_range: truncated-normal stddev.
        dtype: dtype policy, e.g. "mixed_bfloat16".

    Inputs: dict of int32 (batch, seq): `token_ids`, `segment_ids`, `padding_mask` (1 = real token).
    Outputs: dict `sequence_output` (batch, seq, hidden), `pooled_output` (batch, hidden) =
        tanh(dense(sequence_output[:, 0])).
    Called with `output_positions` (batch, P) int32, `sequence_output` is (batch, P, hidden) at
        those positions: the last block then runs its queries and feed-forward network at [CLS]
        and those P positions only (what pretraining heads read), same values.

    Example:
        >>> backbone = BertBackbone.from_preset("tiny")
        >>> ids = np.array([[2, 7, 3, 0]], "int32")
        >>> out = backbone({"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": ids > 0})
    """

    def __init__(
        self,
        vocabulary_size: int,
        num_layers: int,
        num_heads: int,
        hidden_dim: int,
        intermediate_dim: int,
        max_sequence_length: int = 512,
        num_segments: int = 2,
        dropout: float = 0.1,
        attention_dropout: float | None = None,
        activation: str = "gelu",
        layer_norm_epsilon: float = 1e-12,
        initializer_range: float = 0.02,
        dtype=None,
        **kwargs,
    ):
        init = truncated_normal(initializer_range)
        # Layers first (kept as attributes for weight import/export and tied heads).
        self.token_embedding = keras.layers.Embedding(
            vocabulary_size, hidden_dim, embeddings_initializer=init, dtype=dtype,
            name="token_embedding",
        )
        self.position_embedding = PositionEmbedding(
            max_sequence_length, initializer_range, dtype=dtype, name="position_embedding"
        )
        self.segment_embedding = keras.layers.Embedding(
            num_segments, hidden_dim, embeddings_initializer=init, dtype=dtype,
            name="segment_embedding",
        )
        self.embeddings_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=dtype, name="embeddings_layer_norm"
        )
        self.embeddings_dropout = HashDropout(dropout, dtype=dtype, name="embeddings_dropout")
        self.transformer_layers = [
            TransformerEncoderBlock(
                num_heads=num_heads,
                intermediate_dim=intermediate_dim,
                dropout=dropout,
                attention_dropout=attention_dropout,
                activation=activation,
                layer_norm_epsilon=layer_norm_epsilon,
                initializer_range=initializer_range,
                dtype=dtype,
                name=f"transformer_layer_{i}",
            )
            for i in range(num_layers)
        ]
        self.pooler = keras.layers.Dense(
            hidden_dim, activation="tanh", kernel_initializer=init, dtype=dtype, name="pooler"
        )

        # Functional graph.
        inputs = backbone_inputs()
        super().__init__(inputs=inputs, outputs=self._encode(inputs), dtype=dtype, **kwargs)
        if dtype is not None:
            # Keras' functional constructor drops `dtype`: keep the policy the layers compute
            # with, so `get_config` (and a `.keras` file) records it and `compile` sees it.
            self.dtype_policy = dtype

        self.vocabulary_size = int(vocabulary_size)
        self.num_layers = int(num_layers)
        self.num_heads = int(num_heads)
        self.hidden_dim = int(hidden_dim)
        self.intermediate_dim = int(intermediate_dim)
        self.max_sequence_length = int(max_sequence_length)
        self.num_segments = int(num_segments)
        self.dropout = float(dropout)
        self.attention_dropout = None if attention_dropout is None else float(attention_dropout)
        self.activation = activation
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.initializer_range = float(initializer_range)

    def _encode(self, inputs: dict, output_positions=None, training=None) -> dict:
        """The forward pass (symbolic for the functional graph, or eager/traced); see the class."""
        tokens = self.token_embedding(inputs["token_ids"])  # (B, T, H)
        x = tokens + self.position_embedding(tokens) + self.segment_embedding(inputs["segment_ids"])
        x = self.embeddings_dropout(self.embeddings_layer_norm(x), training=training)
        *blocks, last = self.transformer_layers
        for block in blocks:
            x = block(x, padding_mask=inputs["padding_mask"], training=training)  # (B, T, H)
        if output_positions is None:
            x = last(x, padding_mask=inputs["padding_mask"], training=training)
            return {"sequence_output": x, "pooled_output": self.pooler(x[:, 0, :])}
        cls = ops.zeros_like(inputs["token_ids"][:, :1], dtype="int32")  # [CLS], for the pooler
        query_positions = ops.concatenate(
            [cls, ops.cast(output_positions, "int32")], axis=1
        )  # (B, 1 + P)
        x = last(x, inputs["padding_mask"], query_positions, training=training)  # (B, 1 + P, H)
        return {"sequence_output": x[:, 1:, :], "pooled_output": self.pooler(x[:, 0, :])}

    def call(self, inputs, training=None, mask=None, output_positions=None):
        if output_positions is None:
            return super().call(inputs, training=training, mask=mask)
        return self._encode(inputs, output_positions, training=training)

    def compute_output_spec(self, inputs, training=None, mask=None, output_positions=None):
        if output_positions is None:
            return super().compute_output_spec(inputs)
        batch, positions = output_positions.shape
        return {
            "sequence_output": keras.KerasTensor(
                (batch, positions, self.hidden_dim), dtype=self.compute_dtype
            ),
            "pooled_output": keras.KerasTensor((batch, self.hidden_dim), dtype=self.compute_dtype),
        }

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
            "vocabulary_size": self.vocabulary_size,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "hidden_dim": self.hidden_dim,
            "intermediate_dim": self.intermediate_dim,
            "max_sequence_length": self.max_sequence_length,
            "num_segments": self.num_segments,
            "dropout": self.dropout,
            "attention_dropout": self.attention_dropout,
            "activation": self.activation,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "initializer_range": self.initializer_range,
        }

    @classmethod
    def from_config(cls, config: dict) -> BertBackbone:
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.dtype_policies.deserialize(config["dtype"])
        return cls(**config)

    @classmethod
    def from_preset(cls, name: str, load_weights: bool = True, **overrides) -> BertBackbone:
        """Builds a preset by name; loads real weights where the preset has them (through
        `presets.load_weights`: `keras_bert.convert` reads them, models know no checkpoint format)."""
        entry = presets.get_preset(name)
        if load_weights and presets.weights_dir(name) is not None:
            return presets.load_weights(name, **overrides)
        return cls(**{**entry["config"], **overrides})

    def dummy_inputs(self, batch: int = 2, seq: int = 8) -> dict:
        """Small valid inputs, for building and smoke tests."""
        ids = ops.ones((batch, seq), dtype="int32")
        return {"token_ids": ids, "segment_ids": ops.zeros_like(ids), "padding_mask": ids}
