"""`ServableModule`: the shared base of every task's export.

A servable holds the training-time tokenizer and packer objects and the Keras model, and builds the
signatures: a raw-text `serving_default` (tokenize -> pack -> model -> post-process, all in-graph) and
token-id signatures in int32 and int64 for clients that tokenize themselves. Tasks subclass it and
fill in three small parts: `text_inputs`, `from_text` and `from_tokens`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import tensorflow as tf

MODEL_INPUTS = ("token_ids", "segment_ids", "padding_mask")
TOKEN_SIGNATURES = {"serving_token_ids": tf.int32, "serving_token_ids_int64": tf.int64}


def text_spec(name: str) -> tf.TensorSpec:
    return tf.TensorSpec([None], tf.string, name=name)


def trim_padding(inputs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """Drops the all-padding columns at the right: (B, T) -> (B, max real length). Same results."""
    length = tf.maximum(tf.reduce_max(tf.reduce_sum(inputs["padding_mask"], axis=1)), 1)
    return {k: v[:, :length] if k in MODEL_INPUTS else v for k, v in inputs.items()}


def backing_tf_variables(*layers) -> list[tf.Variable]:
    """The `tf.Variable`s behind the Keras variables of `layers`, to be tracked by the module.

    A Keras 3 variable exports as two graph variables: the `tf.Variable` it wraps (the one the
    signatures read) and a copy in the object graph (the one the checkpoint restores). Loaders
    that restore by object graph (`tf.saved_model.load`) cope; TF Serving's C++ loader runs the
    saver's restore op and would leave the read variables uninitialised ("Could not find
    variable ..." at the first request; tensorflow/serving#2250). Tracking the wrapped
    `tf.Variable`s puts the read ones in the checkpoint.
    """
    found: dict[int, tf.Variable] = {}
    for layer in layers:
        for variable in getattr(layer, "variables", ()):
            value = getattr(variable, "value", variable)
            if isinstance(value, tf.Variable):
                found.setdefault(id(value), value)
    return list(found.values())


class ServableModule(tf.Module):
    """Base servable: tokenizer + packer + model, signatures built from the task parts.

    Args:
        model: the Keras model (dict inputs `token_ids`, `segment_ids`, `padding_mask`).
        tokenizer: the `WordPieceTokenizer` used in training (its vocabulary becomes an asset).
        packer: the `SegmentPacker` used in training.
    """

    task: ClassVar[str] = ""
    text_inputs: ClassVar[tuple[str, ...]] = ("text",)
    # Extra signatures: key -> (bound method name, input specs, SignatureDef method name or "").
    extra_signature_specs: ClassVar[dict[str, tuple[str, tuple[tf.TensorSpec, ...], str]]] = {}

    def __init__(self, model, tokenizer, packer, name: str | None = None):
        super().__init__(name=name)
        self.model = model
        self.tokenizer = tokenizer
        self.packer = packer
        self.tf_variables = backing_tf_variables(model, tokenizer, packer)

    # ---------------------------------------------------------------- shared steps
    def run_model(self, inputs: dict[str, tf.Tensor], **extra: tf.Tensor):
        """The Keras model on int32 (B, T) inputs (plus task-specific extra inputs)."""
        x = {k: tf.cast(inputs[k], tf.int32) for k in MODEL_INPUTS}
        x.update(extra)
        return self.model(x, training=False)

    def tokenize(self, text: tf.Tensor) -> tf.RaggedTensor:
        return tf.cast(self.tokenizer(text), tf.int32)  # (B, None)

    # ---------------------------------------------------------------- task parts
    def from_text(self, **texts: tf.Tensor) -> dict[str, tf.Tensor]:
        """Raw strings (B,) -> final answers."""
        raise NotImplementedError

    def from_tokens(self, inputs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """Packed int32 (B, T) inputs -> outputs needing no text (labels, logits, ...)."""
        raise NotImplementedError

    # ---------------------------------------------------------------- signatures
    def _function(self, fn: Callable, specs: tuple[tf.TensorSpec, ...]) -> tf.types.experimental.ConcreteFunction:
        names = tuple(spec.name for spec in specs)

        def call(*args):
            return fn(**dict(zip(names, args, strict=True)))

        return tf.function(call, input_signature=list(specs)).get_concrete_function()

    def signatures(self) -> dict[str, tf.types.experimental.ConcreteFunction]:
        """All signatures, keyed as they appear in the SavedModel."""
        out = {"serving_default": self._function(self.from_text, tuple(map(text_spec, self.text_inputs)))}
        for key, dtype in TOKEN_SIGNATURES.items():
            specs = tuple(tf.TensorSpec([None, None], dtype, name=n) for n in MODEL_INPUTS)
            out[key] = self._function(lambda **x: self.from_tokens(x), specs)
        for key, (method, specs, _) in self.extra_signature_specs.items():
            out[key] = self._function(getattr(self, method), specs)
        return out

    def signature_methods(self) -> dict[str, str]:
        """SignatureDef method names other than predict (Classify / Regress APIs)."""
        return {k: m for k, (_, _, m) in self.extra_signature_specs.items() if m}
