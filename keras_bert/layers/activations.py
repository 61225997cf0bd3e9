"""Activations by name, following the checkpoint's semantics rather than its label."""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import ops

_SQRT_HALF = 0.7071067811865476

# Hugging Face `hidden_act` values -> our names. HF "gelu" is the exact erf form; google-research/bert
# computes the tanh approximation whatever its config says (its importer passes "gelu_approximate").
HF_ACTIVATIONS = {
    "gelu": "gelu",
    "gelu_python": "gelu",
    "gelu_new": "gelu_approximate",
    "gelu_fast": "gelu_approximate",
    "gelu_pytorch_tanh": "gelu_approximate",
    "relu": "relu",
}


def gelu_exact(x):
    """GELU with the erf form: x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt(2))).

    Written out as PyTorch computes it rather than through `ops.gelu`, which TensorFlow evaluates
    with erfc: XLA:CPU lowers erfc to three fusions over the tensor, erf to one.
    """
    return 0.5 * x * (1.0 + ops.erf(x * ops.cast(_SQRT_HALF, x.dtype)))


def gelu_approximate(x):
    """GELU with the tanh approximation (google-research/bert, keras-hub)."""
    return ops.gelu(x, approximate=True)


_ACTIVATIONS: dict[str, Callable] = {
    "gelu": gelu_exact,
    "gelu_approximate": gelu_approximate,
    "relu": ops.relu,
}


def get_activation(name: str) -> Callable:
    """Returns the activation function for `name` ("gelu", "gelu_approximate" or "relu")."""
    if name not in _ACTIVATIONS:
        raise ValueError(f"Unknown activation {name!r}; expected one of {sorted(_ACTIVATIONS)}.")
    return _ACTIVATIONS[name]


def truncated_normal(stddev: float) -> keras.initializers.Initializer:
    """BERT's weight initializer."""
    return keras.initializers.TruncatedNormal(stddev=stddev)
