"""Mixed-precision policy choice: float16 with loss scaling on GPU, bfloat16 on CPU/TPU."""

from __future__ import annotations

import keras
import tensorflow as tf

PRECISIONS: tuple[str, ...] = ("float32", "mixed", "mixed_float16", "mixed_bfloat16")


def resolve_policy(precision: str, strategy: tf.distribute.Strategy | None = None) -> str:
    """Maps `precision` to a Keras dtype policy name.

    "mixed" picks `mixed_bfloat16` under a TPU strategy or on a host without GPUs, and
    `mixed_float16` on GPUs. Keras `compile()` wraps the optimizer in a `LossScaleOptimizer`
    by itself when the model's policy is `mixed_float16`.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"Unknown precision {precision!r}: expected one of {PRECISIONS}.")
    if precision != "mixed":
        return precision
    if isinstance(strategy, tf.distribute.TPUStrategy) or not tf.config.list_physical_devices("GPU"):
        return "mixed_bfloat16"
    return "mixed_float16"


class dtype_policy:
    """Context manager: sets the global Keras dtype policy while models are built, then restores it."""

    def __init__(self, policy: str) -> None:
        self.policy = policy

    def __enter__(self) -> None:
        self._previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy(self.policy)

    def __exit__(self, *exc) -> None:
        keras.config.set_dtype_policy(self._previous)
