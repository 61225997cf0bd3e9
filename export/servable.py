"""`ServableModule`: the shared base of every task's export.

A servable holds the training-time tokenizer and packer objects and the Keras model, and builds the
signatures: a raw-text `serving_default` (tokenize -> pack -> model -> post-process, all in-graph) and
token-id signatures in int32 and int64 for clients that tokenize themselves. Tasks subclass it and
fill in three small parts: `text_inputs`, `from_text` and `from_tokens`.

Every request costs bounded memory: texts are cut before tokenizing to what the sequence can use
(`cut`, exact: same tokens as the uncut text), and the model runs on at most `chunk_size` rows
(texts or QA windows) at a time in an in-graph loop (`map_chunks`), so a request's peak memory is
that of one chunk plus its inputs and per-row results, whatever its batch or text lengths.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import tensorflow as tf

MODEL_INPUTS = ("token_ids", "segment_ids", "padding_mask")
TOKEN_SIGNATURES = {"serving_token_ids": tf.int32, "serving_token_ids_int64": tf.int64}
TOKENS_PER_RUN = 8192  # default chunk: rows x sequence length the model sees at once


def default_chunk_size(sequence_length: int) -> int:
    """Rows per model run: 64 at 128 tokens, 21 at 384 (MiniLM: ~150 MB of activations)."""
    return max(1, TOKENS_PER_RUN // int(sequence_length))


def map_chunks(
    fn: Callable[[dict[str, tf.Tensor]], dict[str, tf.Tensor]],
    inputs: dict[str, tf.Tensor],
    chunk_size: int,
) -> dict[str, tf.Tensor]:
    """`fn` on rows `[i, i + chunk_size)` of every input in turn; outputs concatenated on axis 0.

    An in-graph `tf.while_loop` (one chunk at a time: `parallel_iterations=1`), so the model's
    activations exist for one chunk only. `fn` must map n rows to n rows. An empty batch runs `fn`
    once on zero rows, so outputs keep their dtypes and inner shapes.
    """
    specs = {k: tf.TensorSpec([None, *v.shape[1:]], v.dtype) for k, v in inputs.items()}
    structure = tf.function(fn).get_concrete_function(specs).structured_outputs
    flat_specs = tf.nest.flatten(structure)
    rows = tf.shape(next(iter(inputs.values())))[0]
    num_chunks = tf.maximum((rows + chunk_size - 1) // chunk_size, 1)
    arrays = [
        tf.TensorArray(s.dtype, size=num_chunks, infer_shape=False,
                       element_shape=tf.TensorShape([None]).concatenate(s.shape[1:]))
        for s in flat_specs
    ]

    def body(i, *arrays):
        chunk = {k: v[i * chunk_size : (i + 1) * chunk_size] for k, v in inputs.items()}
        outputs = tf.nest.flatten(fn(chunk))
        return (i + 1, *[a.write(i, o) for a, o in zip(arrays, outputs, strict=True)])

    _, *arrays = tf.while_loop(
        lambda i, *_: i < num_chunks, body, [tf.constant(0), *arrays], parallel_iterations=1
    )
    return tf.nest.pack_sequence_as(structure, [a.concat() for a in arrays])


def check_token_inputs(inputs: dict[str, tf.Tensor], vocabulary_size: int) -> dict[str, tf.Tensor]:
    """Fails the request (InvalidArgumentError -> INVALID_ARGUMENT) on ids outside the model's
    ranges: token ids in [0, vocabulary_size), segment ids >= 0, padding mask 0 or 1."""
    ids = tf.cast(inputs["token_ids"], tf.int64)
    checks = [
        tf.debugging.assert_non_negative(ids, message="token_ids must be >= 0"),
        tf.debugging.assert_less(ids, tf.constant(vocabulary_size, tf.int64),
                                 message=f"token_ids must be < the vocabulary size {vocabulary_size}"),
        tf.debugging.assert_non_negative(inputs["segment_ids"], message="segment_ids must be >= 0"),
        tf.debugging.assert_equal(
            tf.reduce_all((inputs["padding_mask"] == 0) | (inputs["padding_mask"] == 1)), True,
            message="padding_mask must hold 0 or 1",
        ),
    ]
    with tf.control_dependencies(checks):
        return {k: tf.identity(v) for k, v in inputs.items()}


def check_total_bytes(text: tf.Tensor, limit: int, name: str, flag: str) -> tf.Tensor:
    """`text` unchanged, after refusing the request when its strings hold more than `limit` bytes."""
    total = tf.reduce_sum(tf.cast(tf.strings.length(text), tf.int64))
    check = tf.debugging.assert_less_equal(
        total, tf.constant(limit, tf.int64),
        message=f"{name}: more than {limit} bytes in one request, over the export limit {flag}: "
                f"send fewer or shorter texts per request, or re-export with a larger {flag}",
    )
    with tf.control_dependencies([check]):
        return tf.identity(text)


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
    """Base servable: the task's preprocessor + model, signatures built from the task parts.

    Args:
        model: the Keras model (dict inputs `token_ids`, `segment_ids`, `padding_mask`).
        preprocessor: the task's preprocessor layer used in training (`model.preprocessor`): its
            tokenizer (the vocabulary becomes an asset), packer and settings run in the graph.
        chunk_size: rows (texts, QA windows) per model run; default `TOKENS_PER_RUN` tokens.
    """

    task: ClassVar[str] = ""
    text_inputs: ClassVar[tuple[str, ...]] = ("text",)
    # Extra signatures: key -> (bound method name, input specs, SignatureDef method name or "").
    extra_signature_specs: ClassVar[dict[str, tuple[str, tuple[tf.TensorSpec, ...], str]]] = {}

    def __init__(self, model, preprocessor, chunk_size: int | None = None, name: str | None = None):
        super().__init__(name=name)
        self.model = model
        self.preprocessor = preprocessor
        self.tokenizer = preprocessor.tokenizer
        self.packer = preprocessor.packer
        self.chunk_size = int(chunk_size or default_chunk_size(self.packer.sequence_length))
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        self.tf_variables = backing_tf_variables(model, self.tokenizer, self.packer)

    def limits(self) -> dict[str, int]:
        """What one request may cost, fixed at export (written beside the SavedModel)."""
        return {"chunk_size": self.chunk_size, "sequence_length": self.packer.sequence_length}

    # ---------------------------------------------------------------- shared steps
    def run_model(self, inputs: dict[str, tf.Tensor], **extra: tf.Tensor):
        """The Keras model on int32 (B, T) inputs (plus task-specific extra inputs)."""
        x = {k: tf.cast(inputs[k], tf.int32) for k in MODEL_INPUTS}
        x.update(extra)
        return self.model(x, training=False)

    def cut(self, text: tf.Tensor, max_tokens: int | None = None) -> tf.Tensor:
        """Each text cut to a prefix with the same first `max_tokens` tokens (default: what one
        segment of the packed sequence can hold), so long strings cost what short ones do."""
        return self.preprocessor.cut(text, max_tokens)

    def map_chunks(self, fn, inputs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        return map_chunks(fn, inputs, self.chunk_size)

    def from_checked_tokens(self, inputs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """The token-id signatures: ids range-checked, then `from_tokens` chunk by chunk."""
        inputs = check_token_inputs(inputs, self.tokenizer.vocabulary_size)
        return self.map_chunks(self.from_tokens, inputs)

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
            out[key] = self._function(lambda **x: self.from_checked_tokens(x), specs)
        for key, (method, specs, _) in self.extra_signature_specs.items():
            out[key] = self._function(getattr(self, method), specs)
        return out

    def signature_methods(self) -> dict[str, str]:
        """SignatureDef method names other than predict (Classify / Regress APIs)."""
        return {k: m for k, (_, _, m) in self.extra_signature_specs.items() if m}
