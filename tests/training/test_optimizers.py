"""AdamW and LAMB match NumPy reference updates; weight decay skips LayerNorm and biases.

Tolerance: float32 optimizer vs float64 NumPy over 5 steps, rtol 1e-5 / atol 1e-6.
"""

import keras
import numpy as np
import pytest

from keras_bert.training.optimizers import Lamb, create_optimizer, no_decay_variables
from keras_bert.training.schedules import WarmupPolynomialDecay

B1, B2, EPS, WD, CLIP = 0.9, 0.999, 1e-6, 0.1, 1.0
STEPS = 5
RTOL, ATOL = 1e-5, 1e-6


def _schedule():
    return WarmupPolynomialDecay(1e-2, total_steps=8, warmup_steps=2)


def _lr(t):  # Reference schedule: linear warmup over 2 updates, linear decay to 0 at 8.
    return 1e-2 * t / 2 if t < 2 else 1e-2 * (1 - (t - 2) / 6)


def _data():
    rng = np.random.RandomState(0)
    kernel = rng.randn(3, 4)
    bias = rng.randn(4)
    grads = [(rng.randn(3, 4) * 2.0, rng.randn(4) * 2.0) for _ in range(STEPS)]  # norms > CLIP
    return kernel, bias, grads


def _run(optimizer_name):
    kernel0, bias0, grads = _data()
    kernel = keras.Variable(kernel0.astype("float32"), name="kernel")
    bias = keras.Variable(bias0.astype("float32"), name="bias")
    opt = create_optimizer(
        optimizer_name, _schedule(), weight_decay=WD, beta_1=B1, beta_2=B2, epsilon=EPS,
        global_clipnorm=CLIP, no_decay=[bias],
    )
    for gk, gb in grads:
        opt.apply_gradients([(gk.astype("float32"), kernel), (gb.astype("float32"), bias)])
    return np.asarray(kernel), np.asarray(bias)


def _clipped(gk, gb):
    norm = np.sqrt(np.sum(gk**2) + np.sum(gb**2))
    scale = min(1.0, CLIP / norm)
    return gk * scale, gb * scale


def test_adamw_matches_numpy_reference():
    kernel, bias, grads = _data()
    state = {"k": [0.0, 0.0], "b": [0.0, 0.0]}
    for t0, (gk, gb) in enumerate(grads):
        t, lr = t0 + 1, _lr(t0)
        gk, gb = _clipped(gk, gb)
        kernel = kernel - kernel * WD * lr  # Decoupled decay: kernel only (bias excluded).
        new = {}
        for key, w, g in (("k", kernel, gk), ("b", bias, gb)):
            m, v = state[key]
            m = B1 * m + (1 - B1) * g
            v = B2 * v + (1 - B2) * g * g
            state[key] = [m, v]
            alpha = lr * np.sqrt(1 - B2**t) / (1 - B1**t)  # Keras' Adam form of bias correction.
            new[key] = w - alpha * m / (np.sqrt(v) + EPS)
        kernel, bias = new["k"], new["b"]
    got_kernel, got_bias = _run("adamw")
    np.testing.assert_allclose(got_kernel, kernel, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(got_bias, bias, rtol=RTOL, atol=ATOL)


def test_lamb_matches_numpy_reference():
    kernel, bias, grads = _data()
    state = {"k": [0.0, 0.0], "b": [0.0, 0.0]}
    for t0, (gk, gb) in enumerate(grads):
        t, lr = t0 + 1, _lr(t0)
        gk, gb = _clipped(gk, gb)
        new = {}
        for key, w, g in (("k", kernel, gk), ("b", bias, gb)):
            m, v = state[key]
            m = B1 * m + (1 - B1) * g
            v = B2 * v + (1 - B2) * g * g
            state[key] = [m, v]
            r = (m / (1 - B1**t)) / (np.sqrt(v / (1 - B2**t)) + EPS)
            if key == "k":  # Decay and trust ratio for the kernel; the bias is excluded.
                r = r + WD * w
                r = r * (np.linalg.norm(w) / np.linalg.norm(r))
            new[key] = w - lr * r
        kernel, bias = new["k"], new["b"]
    got_kernel, got_bias = _run("lamb")
    np.testing.assert_allclose(got_kernel, kernel, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(got_bias, bias, rtol=RTOL, atol=ATOL)


def test_lamb_trust_ratio_is_active():
    # Guard against a reference that would also pass without layer adaptation: with trust ratio
    # the kernel's step norm is lr * ||w|| (scale-free); plain Adam's would differ.
    kernel = keras.Variable(np.full((4, 4), 10.0, "float32"), name="kernel")
    opt = Lamb(learning_rate=0.1, weight_decay=0.0)
    before = np.asarray(kernel).copy()
    opt.apply_gradients([(np.ones((4, 4), "float32"), kernel)])
    step = np.linalg.norm(np.asarray(kernel) - before)
    assert step == pytest.approx(0.1 * np.linalg.norm(before), rel=1e-4)


def test_no_decay_variables_finds_layernorm_and_biases():
    inputs = keras.Input((3,))
    h = keras.layers.Dense(4, name="dense")(inputs)
    h = keras.layers.LayerNormalization(name="norm")(h)
    outputs = keras.layers.Dense(2, use_bias=False, name="head")(h)
    model = keras.Model(inputs, outputs)
    paths = sorted(v.path for v in no_decay_variables(model))
    assert paths == ["dense/bias", "norm/beta", "norm/gamma"]


def test_weight_decay_exclusion_applies_in_adamw():
    # Zero gradients: Adam's step is 0, so any change is the decay alone.
    kernel = keras.Variable(np.ones((2, 2), "float32"), name="kernel")
    bias = keras.Variable(np.ones((2,), "float32"), name="bias")
    gamma = keras.Variable(np.ones((2,), "float32"), name="gamma")
    opt = create_optimizer("adamw", 0.1, weight_decay=0.5, global_clipnorm=None, no_decay=[bias, gamma])
    zeros = [np.zeros((2, 2), "float32"), np.zeros(2, "float32"), np.zeros(2, "float32")]
    opt.apply_gradients(zip(zeros, [kernel, bias, gamma], strict=True))
    np.testing.assert_allclose(np.asarray(kernel), 1 - 0.1 * 0.5, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(bias), 1.0)
    np.testing.assert_allclose(np.asarray(gamma), 1.0)


def test_gradient_accumulation_updates_every_n_and_averages():
    w = keras.Variable(np.zeros(2, "float32"), name="w")
    opt = create_optimizer(
        "adamw", 0.1, weight_decay=0.0, global_clipnorm=None, accumulation_steps=2
    )
    opt.apply_gradients([(np.array([1.0, 3.0], "float32"), w)])
    np.testing.assert_array_equal(np.asarray(w), 0.0)  # No update after one micro-batch.
    opt.apply_gradients([(np.array([3.0, 1.0], "float32"), w)])
    # One Adam step on the mean gradient (2, 2): w = -lr * sign ~ -0.1 each.
    np.testing.assert_allclose(np.asarray(w), [-0.1, -0.1], rtol=1e-4)
    assert int(np.asarray(opt.iterations)) == 1


def test_unknown_optimizer_raises():
    with pytest.raises(ValueError, match="adamw"):
        create_optimizer("sgd", 0.1)
