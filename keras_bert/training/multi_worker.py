"""Make Keras 3 `model.fit` work under `MultiWorkerMirroredStrategy` (TF 2.21 + Keras 3.15).

Two things in Keras' TensorFlow trainer break with more than one worker (keras-team/keras
issue 20585; tensorflow/tensorflow issue 72388):

1. `_maybe_symbolic_build` averages the first distributed batch with an eager
   `strategy.reduce("MEAN", batch, axis=None)` just to learn its shapes. Eager cross-worker
   reduction of a `PerReplica` value fails ("Attempt to convert a value (PerReplica...) to a
   Tensor"). Fix: build from the first local replica's batch (only shapes and dtypes matter).
2. The train/test functions reduce the step's metric results with
   `strategy.reduce("MEAN", value, axis=0)`; metric results are scalars, so the collective
   fails ("Invalid reduction dimension 0 for input with 0 dimensions"). Fix: the step returns
   each scalar as shape (1,), so the same reduction averages it over all replicas of all
   workers and yields a scalar again.

Both fixes are installed on one model instance (instance attributes; the class and other models
are untouched), only when the strategy spans several workers. Everything else (callbacks,
progress bar, checkpoints, `distribute_datasets_from_function` datasets) is stock `fit`.
"""

from __future__ import annotations

import types

import keras
import tensorflow as tf
from keras import tree

from keras_bert.training.strategies import is_multi_worker


def _symbolic_build_from_local_replica(self, iterator=None, data_batch=None) -> None:
    strategy = self.distribute_strategy

    def first_local(value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    if iterator is not None:
        for _, _, it in iterator:
            data_batch = tree.map_structure(first_local, next(it))
            break
    with self.distribute_strategy.scope():
        self._symbolic_build(data_batch=data_batch)


def _vectorize_scalars(outputs):
    return tree.map_structure(
        lambda t: tf.reshape(t, [1]) if isinstance(t, tf.Tensor) and t.shape.rank == 0 else t,
        outputs,
    )


def enable_multi_worker_fit(model: keras.Model) -> bool:
    """Patches `model` (only it) so `fit`/`evaluate` run under a multi-worker strategy.

    Call after `compile()` and before `fit()`. Returns True when the patch was installed, False
    when the model's strategy is not multi-worker (nothing to do).
    """
    if not is_multi_worker(model.distribute_strategy):
        return False
    if getattr(model, "_keras_bert_multi_worker", False):
        return True
    train_step, test_step = model.train_step, model.test_step
    model._maybe_symbolic_build = types.MethodType(_symbolic_build_from_local_replica, model)
    model.train_step = lambda data: _vectorize_scalars(train_step(data))
    model.test_step = lambda data: _vectorize_scalars(test_step(data))
    model.train_function = None
    model.test_function = None
    model._keras_bert_multi_worker = True
    return True
