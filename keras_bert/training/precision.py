"""Mixed-precision policy choice: float16 with loss scaling on GPU, bfloat16 on CPU/TPU."""

from __future__ import annotations

import keras
import tensorflow as tf

PRECISIONS: tuple[str, ...] = ("float32", "mixed", "mixed_float16", "mixed_bfloat16")


def resolve_policy(precision: str, strategy: tf.distribute.Strategy | None = None) -> str:
    """Maps `precision` to a Keras dtype policy name.

    "mixed" picks `mixed_bfloat16` under a TPU strategy or on a host without GPUs, and
    `mixed_float16` on GPUs. Under `mixed_float16`, `optimizers.create_optimizer(model=...)`
    wraps the optimizer in a `LossScaleOptimizer`.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"Unknown precision {precision!r}: expected one of {PRECISIONS}.")
    if precision != "mixed":
        return precision
    if isinstance(strategy, tf.distribute.TPUStrategy) or not tf.config.list_physical_devices("GPU"):
        return "mixed_bfloat16"
    return "mixed_float16"


def apply_policy(model: keras.Model, policy: str) -> keras.Model:
    """Sets the dtype policy of `model` and of every layer in it (outputs included), in place.

    For a model built or loaded with another policy (fine-tuning from a float32 checkpoint in
    `mixed_bfloat16`): variables stay as they are (float32 under every policy named in
    `PRECISIONS`), layers compute in the new dtype from their next call on, exactly as a model
    built under `policy` does. The backbone saves the policy in its config, so a `.keras` file of
    the model reloads with it. Left alone: the task's `preprocessor` (it makes integer ids),
    quantized layers and layers of a non-float policy. Returns `model`.
    """
    if policy not in PRECISIONS or policy == "mixed":
        raise ValueError(f"Expected a policy name, one of {PRECISIONS[:1] + PRECISIONS[2:]}; got {policy!r}.")
    preprocessor = getattr(model, "preprocessor", None)
    skip = set()
    if isinstance(preprocessor, keras.layers.Layer):
        skip = {id(layer) for layer in preprocessor._flatten_layers(include_self=True)}
    for layer in model._flatten_layers(include_self=True):
        current = layer.dtype_policy
        if (
            id(layer) in skip
            or current.quantization_mode is not None
            or current.name == policy
            or current.name not in _FLOAT_POLICIES
        ):
            continue
        layer.dtype_policy = policy
    return model


_FLOAT_POLICIES = ("float32", "float16", "bfloat16", "mixed_float16", "mixed_bfloat16")


class dtype_policy:
    """Context manager: sets the global Keras dtype policy while models are built, then restores it."""

    def __init__(self, policy: str) -> None:
        self.policy = policy

    def __enter__(self) -> None:
        self._previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy(self.policy)

    def __exit__(self, *exc) -> None:
        keras.config.set_dtype_policy(self._previous)
