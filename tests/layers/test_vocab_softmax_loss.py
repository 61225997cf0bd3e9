"""Chunked tied-vocabulary cross-entropy against Keras' loss and accuracy on explicit logits."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert.layers.vocab_softmax_loss import vocab_softmax_cross_entropy
from keras_bert.metrics.top1 import sparse_top1_accuracy

N, H, V = 24, 16, 1000


def _inputs(seed=0, zero_weights=False):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(N, H)).astype("float32")
    embeddings = rng.normal(size=(V, H)).astype("float32") * 0.3
    bias = rng.normal(size=(V,)).astype("float32") * 0.1
    # Labels in every chunk, including the last, short one.
    labels = np.concatenate([[0, 299, 300, 999], rng.integers(0, V, N - 4)]).astype("int32")
    weights = np.zeros(N, "float32") if zero_weights else (rng.random(N) > 0.3).astype("float32")
    return features, embeddings, bias, labels, weights


def _keras_reference(features, embeddings, bias, labels, weights):
    """Loss, hits and gradients through Keras' own loss on the full (N, V) logits."""
    loss_fn = keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, reduction="mean_with_sample_weight"
    )
    f, e, b = (tf.constant(t) for t in (features, embeddings, bias))
    with tf.GradientTape() as tape:
        tape.watch([f, e, b])
        logits = tf.matmul(f, e, transpose_b=True) + b
        loss = loss_fn(labels, logits, weights)
    grads = tape.gradient(loss, [f, e, b])
    return loss.numpy(), sparse_top1_accuracy(labels, logits).numpy(), [g.numpy() for g in grads]


def _fused(features, embeddings, bias, labels, weights, chunk_size, jit=False):
    @tf.function(jit_compile=jit)
    def run(f, e, b):
        with tf.GradientTape() as tape:
            tape.watch([f, e, b])
            loss, correct = vocab_softmax_cross_entropy(f, e, b, labels, weights, chunk_size)
        return loss, correct, tape.gradient(loss, [f, e, b])

    loss, correct, grads = run(*(tf.constant(t) for t in (features, embeddings, bias)))
    return loss.numpy(), correct.numpy(), [g.numpy() for g in grads]


@pytest.mark.parametrize("chunk_size,jit", [(300, False), (4096, False), (256, True)])
def test_matches_keras_loss_accuracy_and_gradients(chunk_size, jit):
    inputs = _inputs()
    loss, correct, grads = _fused(*inputs, chunk_size, jit)
    ref_loss, ref_correct, ref_grads = _keras_reference(*inputs)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-6)
    np.testing.assert_array_equal(correct, ref_correct)
    for got, want in zip(grads, ref_grads, strict=True):  # features, embeddings, bias
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def test_correct_marks_label_at_row_maximum():
    features, embeddings, bias, labels, weights = _inputs(seed=1)
    logits = features @ embeddings.T + bias
    labels = labels.copy()
    labels[:5] = logits[:5].argmax(-1)  # certainly correct rows, some in later chunks
    _, correct, _ = _fused(features, embeddings, bias, labels, weights, 300)
    np.testing.assert_array_equal(correct, (logits.argmax(-1) == labels).astype("float32"))
    assert correct[:5].all()


def test_all_zero_weights_give_zero_loss_and_gradients():
    loss, _, grads = _fused(*_inputs(zero_weights=True), 300)
    assert loss == 0.0
    for grad in grads:
        assert np.isfinite(grad).all() and not grad.any()


def test_upstream_gradient_scales_the_precomputed_gradients():
    features, embeddings, bias, labels, weights = _inputs()
    f = tf.constant(features)
    with tf.GradientTape() as tape:
        tape.watch(f)
        loss, _ = vocab_softmax_cross_entropy(f, embeddings, bias, labels, weights, 300)
        scaled = 3.0 * loss
    np.testing.assert_allclose(
        tape.gradient(scaled, f).numpy(), 3.0 * _keras_reference(*_inputs())[2][0], rtol=1e-5
    )


def test_float16_features_are_scored_in_float32():
    features, embeddings, bias, labels, weights = _inputs()
    f = tf.constant(features.astype("float16"))
    with tf.GradientTape() as tape:
        tape.watch(f)
        loss, _ = vocab_softmax_cross_entropy(f, embeddings.astype("float16"), bias, labels,
                                              weights, 300)
    grad = tape.gradient(loss, f)
    assert loss.dtype == tf.float32 and grad.dtype == tf.float16
    ref_loss, _, ref_grads = _keras_reference(
        features.astype("float16").astype("float32"),
        embeddings.astype("float16").astype("float32"), bias, labels, weights,
    )
    np.testing.assert_allclose(loss.numpy(), ref_loss, rtol=1e-5)
    # Gradients ~1e-3 survive: formed in float32, rounded to float16 only at the end.
    np.testing.assert_allclose(grad.numpy().astype("float32"), ref_grads[0], rtol=2e-3, atol=2e-6)


def test_labels_outside_the_vocabulary_make_the_loss_nan_unless_unweighted():
    features, embeddings, bias, labels, weights = _inputs()
    weights[:3] = [0.0, 1.0, 1.0]
    ignored = labels.copy()
    ignored[0] = -100  # an unweighted slot: ignored whatever its label
    loss, _, _ = _fused(features, embeddings, bias, ignored, weights, 300)
    want, _, _ = _fused(features, embeddings, bias, labels, weights, 300)
    np.testing.assert_allclose(loss, want, rtol=1e-6)
    for bad in (V, -1):  # one past the vocabulary, negative
        wrong = labels.copy()
        wrong[1] = bad
        loss, _, _ = _fused(features, embeddings, bias, wrong, weights, 300, jit=True)
        assert np.isnan(loss), bad
