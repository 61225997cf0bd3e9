"""`SparseTop1Accuracy` against Keras' argmax-based `SparseCategoricalAccuracy`."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from keras_bert.metrics.top1 import SparseTop1Accuracy, sparse_top1_accuracy


@pytest.mark.parametrize("shape", [(6, 5), (4, 3, 7)])
def test_matches_keras_sparse_categorical_accuracy_with_weights(shape):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=shape).astype("float32")
    labels = rng.integers(0, shape[-1], size=shape[:-1])
    labels.flat[::2] = np.argmax(logits, -1).flat[::2]  # about half right, so 0 and 1 both occur
    weights = rng.uniform(0.0, 1.0, size=shape[:-1]).astype("float32")
    ours, reference = SparseTop1Accuracy(), keras.metrics.SparseCategoricalAccuracy()
    for metric in (ours, reference):
        metric.update_state(labels, logits, sample_weight=weights)
    expected = float(reference.result())
    assert 0.0 < expected < 1.0
    assert float(ours.result()) == pytest.approx(expected, abs=1e-6)


def test_per_example_values_and_trailing_label_axis():
    logits = np.array([[0.1, 2.0, -1.0], [3.0, 0.0, 0.5]], "float32")
    per_example = np.asarray(sparse_top1_accuracy(np.array([1, 2]), logits))
    np.testing.assert_array_equal(per_example, [1.0, 0.0])
    with_axis = np.asarray(sparse_top1_accuracy(np.array([[1], [2]]), logits))
    np.testing.assert_array_equal(with_axis, [1.0, 0.0])


def test_serializes():
    metric = SparseTop1Accuracy(name="mlm_accuracy")
    clone = SparseTop1Accuracy.from_config(metric.get_config())
    assert clone.name == "mlm_accuracy"
