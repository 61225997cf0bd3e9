"""Dropout whose mask comes from a counter-based integer hash: same semantics, far cheaper on CPU.

Keras' dropout draws its mask from the backend's stateless RNG (Philox/ThreeFry), which XLA on CPU
expands into dozens of integer rounds per element: in a BERT training step that RNG alone costs about
as much as the matmuls. Here each element's uniform number is a murmur3-style finaliser of
(element index, fresh per-call seed): a handful of vectorisable integer ops per element.
"""

from __future__ import annotations

import keras
from keras import ops

_BITS = 24  # uniform numbers with 24 bits of resolution: keep-probability error < 6e-8


def _as_int32(value: int) -> int:
    """Two's-complement int32 view of an unsigned 32-bit constant."""
    return value - (1 << 32) if value >= (1 << 31) else value


def _logical_shift_right(x, bits: int):
    return ops.bitwise_and(ops.right_shift(x, bits), (1 << (32 - bits)) - 1)


def hash_uniform_bits(shape, seed):
    """int32 tensor of `shape` with values uniform in [0, 2**24), a hash of (index, seed)."""
    size = 1
    for dim in shape:
        size = size * dim
    x = ops.reshape(ops.arange(size, dtype="int32"), shape)
    x = x * _as_int32(0x9E3779B9) + seed  # Weyl sequence: distinct, well-spread inputs
    x = ops.bitwise_xor(x, _logical_shift_right(x, 16))
    x = x * _as_int32(0x85EBCA6B)
    x = ops.bitwise_xor(x, _logical_shift_right(x, 13))
    x = x * _as_int32(0xC2B2AE35)
    x = ops.bitwise_xor(x, _logical_shift_right(x, 16))
    return _logical_shift_right(x, 32 - _BITS)


@keras.saving.register_keras_serializable(package="keras_bert")
class HashDropout(keras.layers.Layer):
    """Inverted dropout: zeroes each element with probability `rate`, scales the rest by 1/(1-rate).

    Args:
        rate: drop probability in [0, 1).
        seed: seed of the per-call seed generator.

    Call arguments:
        inputs: any float tensor; training: apply dropout only when True.
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate}.")
        self.rate = float(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        seed = keras.random.randint((), 0, 2**31 - 1, seed=self.seed_generator, dtype="int32")
        threshold = int(round(self.rate * (1 << _BITS)))
        keep = ops.greater_equal(hash_uniform_bits(ops.shape(inputs), seed), threshold)
        scale = ops.cast(1.0 / (1.0 - self.rate), inputs.dtype)
        return ops.where(keep, inputs * scale, ops.zeros_like(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, seed=self.seed)
        return config
