"""Classification labels: names -> ids, and a regression head's real-valued targets kept as is."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from keras_bert.export.client import format_classification

from keras_bert.preprocessing import ClassificationPreprocessor
from keras_bert.tokenizers import WordPieceTokenizer

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad"]


def test_label_names_map_to_ids_and_real_targets_stay_real():
    named = ClassificationPreprocessor(WordPieceTokenizer(VOCAB), label_names=["neg", "pos"])
    assert named.label_ids(tf.constant(["pos", "neg"])).numpy().tolist() == [1, 0]
    regression = ClassificationPreprocessor(WordPieceTokenizer(VOCAB))
    targets = regression.label_ids(tf.constant([0.25, 3.5]))
    assert targets.dtype == tf.float32  # an int cast would train on 0 and 3
    np.testing.assert_array_equal(targets.numpy(), [0.25, 3.5])
    _, y = regression.map_batch(tf.constant(["good", "bad"]), tf.constant([0.25, 3.5]))
    np.testing.assert_array_equal(y.numpy(), [0.25, 3.5])


def test_client_prints_a_regression_export():
    assert format_classification({"score": np.array([0.25, -1.5], np.float32)}) == [
        "score=0.2500", "score=-1.5000"]
