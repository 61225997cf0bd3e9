"""`SparseTop1Accuracy`, a Keras training metric: it lives beside the loss it mirrors, in
`keras_bert.layers.top1_accuracy` (models compile with it and know no `metrics`); this path still
imports it, as do `.keras` files that name this module."""

from keras_bert.layers.top1_accuracy import SparseTop1Accuracy, sparse_top1_accuracy

__all__ = ["SparseTop1Accuracy", "sparse_top1_accuracy"]
