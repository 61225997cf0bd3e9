"""GELU forms against float64 references computed with Python's math.erf / math.tanh."""

from __future__ import annotations

import math

import numpy as np
import pytest

from keras_bert.layers.activations import gelu_approximate, gelu_exact

X = np.concatenate([np.linspace(-12, 12, 481), [-40, -6.5, 0, 1e-4, 40]]).astype("float32")
X64 = X.astype(np.float64)  # references from the exact fp32 inputs


def test_exact_gelu_matches_the_erf_definition():
    reference = np.array([0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0))) for x in X64])
    ours = np.asarray(gelu_exact(X), dtype=np.float64)
    # As in PyTorch's formula, 1 + erf cancels for x << 0: the error there is absolute, about
    # |x| * 2**-24 (< 1e-6 here, on outputs that round to 0); elsewhere it is relative, ~1e-7.
    np.testing.assert_allclose(ours, reference, rtol=2e-6, atol=1e-6)


def test_tanh_gelu_matches_its_definition_and_differs_from_exact():
    c = math.sqrt(2.0 / math.pi)
    reference = np.array([0.5 * x * (1.0 + math.tanh(c * (x + 0.044715 * x**3))) for x in X64])
    approx = np.asarray(gelu_approximate(X), dtype=np.float64)
    np.testing.assert_allclose(approx, reference, rtol=2e-6, atol=1e-6)  # same cancellation
    gap = np.max(np.abs(approx - np.asarray(gelu_exact(X))))
    assert gap == pytest.approx(4.7e-4, rel=0.1)  # the known max |tanh - erf| GELU difference
