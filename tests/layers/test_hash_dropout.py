"""HashDropout: Bernoulli(rate) drops, inverted scaling, fresh masks per call, identity at inference."""

import numpy as np
import pytest
import tensorflow as tf

from keras_bert.layers import HashDropout


@pytest.mark.parametrize("rate", [0.1, 0.5])
def test_drop_fraction_scaling_and_independence(rate):
    layer = HashDropout(rate, seed=3)
    x = np.ones((64, 4, 32, 32), "float32")  # 262,144 elements: std of the fraction ~1e-3
    a, b = layer(x, training=True).numpy(), layer(x, training=True).numpy()
    for out in (a, b):
        assert abs((out == 0).mean() - rate) < 0.005
        np.testing.assert_allclose(out[out != 0], 1.0 / (1.0 - rate), rtol=1e-6)
    both = ((a == 0) & (b == 0)).mean()
    assert abs(both - rate * rate) < 0.005  # two calls draw independent masks
    # No structure along any axis: per-position drop rates stay near `rate`.
    assert np.abs((a == 0).mean(axis=(0, 1, 2)) - rate).max() < 0.05


def test_identity_at_inference_and_same_under_xla():
    layer = HashDropout(0.1)
    x = np.random.default_rng(0).normal(size=(8, 16)).astype("float32")
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    compiled = tf.function(lambda t: layer(t, training=True), jit_compile=True)
    out = compiled(tf.ones((128, 512))).numpy()
    assert abs((out == 0).mean() - 0.1) < 0.01


def test_invalid_rate():
    with pytest.raises(ValueError, match=r"dropout rate must be in \[0, 1\)"):
        HashDropout(1.0)
