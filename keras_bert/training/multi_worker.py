"""Make Keras 3 `model.fit` work under `MultiWorkerMirroredStrategy` (TF 2.21 + Keras 3.15).

Two things in Keras' TensorFlow trainer break with more than one worker (keras-team/keras
issue 20585; tensorflow/tensorflow issue 72388):

1. `_maybe_symbolic_build` averages the first distributed batch with an eager
   `strategy.reduce("MEAN", batch, axis=None)` just to learn its shapes. Eager cross-worker
   reduction of a `PerReplica` value fails ("Attempt to convert a value (PerReplica...) to a
   Tensor"). Fix: build from the input's element spec (only shapes and dtypes matter).
2. The train/test functions reduce the step's metric results with
   `strategy.reduce("MEAN", value, axis=0)`; metric results are scalars, so the collective
   fails ("Invalid reduction dimension 0 for input with 0 dimensions"). Fix: the step returns
   each scalar as shape (1,), so the same reduction averages it over all replicas of all
   workers and yields a scalar again.

Both fixes are installed on one model instance (instance attributes; the class and other models
are untouched), only when the strategy spans several workers. Everything else (callbacks,
progress bar, checkpoints, `distribute_datasets_from_function` datasets) is stock `fit`.

The first fix also matters on one worker (`build_from_input_spec`, installed for every
distributed model by `stack.compile_for_fit`): to draw that first batch Keras makes an extra
iterator over the input, and each iterator of a seeded `shuffle(reshuffle_each_iteration=True)`
draws the next order, so a distributed `fit` would train on other batches than a single device.

Evaluation code that needs every prediction in order (fine-tuning's per-epoch evaluation) runs
inside `local_predict(model)`: `predict` then runs on this worker alone, on all of the data,
reading the local copy of the (identical) weights.
"""

from __future__ import annotations

import contextlib
import types

import keras
import tensorflow as tf
from keras import tree

from keras_bert.training.strategies import is_multi_worker


def _spec_leaf(spec):
    """A shape-and-dtype leaf for `_symbolic_build`: the first replica's spec of a per-replica one."""
    specs = getattr(spec, "_value_specs", None)  # PerReplicaSpec (several local replicas)
    return specs[0] if specs else spec


def _symbolic_build_from_spec(self, iterator=None, data_batch=None) -> None:
    """`_maybe_symbolic_build` without drawing a batch: Keras' `_symbolic_build` reads only the
    shapes and dtypes, which the distributed input's element spec holds."""
    if data_batch is None and iterator is not None:
        dataset = getattr(iterator, "_distributed_dataset", None)
        if dataset is not None:
            data_batch = tree.map_structure(_spec_leaf, dataset.element_spec)
        else:  # Another epoch iterator: the first local replica's batch.
            strategy = self.distribute_strategy
            for _, _, it in iterator:
                data_batch = tree.map_structure(
                    lambda v: strategy.experimental_local_results(v)[0]
                    if isinstance(v, tf.distribute.DistributedValues) else v,
                    next(it),
                )
                break
    with self.distribute_strategy.scope():
        self._symbolic_build(data_batch=data_batch)


def build_from_input_spec(model: keras.Model) -> bool:
    """Makes `model` (only it) build for `fit` from its input's element spec, drawing no batch
    and making no extra iterator (see the module docstring). Returns True when installed (the
    model was created under a `tf.distribute` strategy), False when Keras builds lazily anyway."""
    if getattr(model, "_distribute_strategy", None) is None:
        return False
    model._maybe_symbolic_build = types.MethodType(_symbolic_build_from_spec, model)
    return True


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
    build_from_input_spec(model)
    model.train_step = lambda data: _vectorize_scalars(train_step(data))
    model.test_step = lambda data: _vectorize_scalars(test_step(data))
    model.train_function = None
    model.test_function = None
    model._keras_bert_multi_worker = True
    return True


@contextlib.contextmanager
def local_predict(model: keras.Model):
    """Within the block, `model.predict` runs on this worker alone (no cross-worker split or
    gather) when the model trains under a multi-worker strategy; otherwise nothing changes."""
    if not getattr(model, "_keras_bert_multi_worker", False):
        yield model
        return
    strategy = model._distribute_strategy
    model._distribute_strategy = None  # -> the default strategy (callbacks run outside scope)
    model.predict_function = None
    try:
        yield model
    finally:
        model._distribute_strategy = strategy
        model.predict_function = None
