"""The optimizer `BertPretrainer.compile()` defaults to on TensorFlow, and the rules it shares with
the training stack: `AdamW` whose gradient clip sees the all-reduced gradient (`ClipAfterAllReduce`,
also under `training.optimizers.Lamb`) and the one no-decay rule (`no_decay_variables`).

TensorFlow-only (`tf.distribute`): models import it on the TensorFlow backend only.
`training.optimizers` builds LAMB, loss scaling and the factory `create_optimizer` on it.
"""

from __future__ import annotations

import threading

import keras
import tensorflow as tf

NO_DECAY_NAMES: tuple[str, ...] = ("bias", "gamma", "beta")

# Per replica thread (MirroredStrategy traces each replica in its own thread): gradients of the
# step being traced were already all-reduced by `_clip_gradients`.
_REDUCED = threading.local()


class ClipAfterAllReduce:
    """Mixin: under a multi-replica strategy, clip the *all-reduced* gradients.

    Keras 3.15's TensorFlow optimizer clips each replica's partial gradient (already scaled by
    1/num_replicas) and only then sums them across replicas, so `global_clipnorm` under
    `MirroredStrategy` is not the single-device clip of the global gradient. Here the sum is taken
    first (in replica context), then clipped, and the later all-reduce is skipped.
    """

    def _clip_gradients(self, grads):
        context = tf.distribute.get_replica_context()
        clipping = self.global_clipnorm or self.clipnorm or self.clipvalue
        if clipping and context is not None and context.num_replicas_in_sync > 1:
            index = [i for i, g in enumerate(grads) if g is not None]
            reduced = context.all_reduce(tf.distribute.ReduceOp.SUM, [grads[i] for i in index])
            grads = list(grads)
            for i, g in zip(index, reduced, strict=True):
                grads[i] = g
            _REDUCED.flag = True
        return super()._clip_gradients(grads)

    def _all_reduce_sum_gradients(self, grads_and_vars):
        if getattr(_REDUCED, "flag", False):
            _REDUCED.flag = False
            return list(grads_and_vars)
        return super()._all_reduce_sum_gradients(grads_and_vars)


@keras.saving.register_keras_serializable(package="keras_bert")
class AdamW(ClipAfterAllReduce, keras.optimizers.AdamW):
    """Keras AdamW whose gradient clipping sees the global (all-reduced) gradient."""


def no_decay_variables(model: keras.Model) -> list:
    """Trainable variables that take no weight decay: LayerNorm parameters and biases."""
    excluded: dict[int, object] = {}
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.LayerNormalization):
            for variable in layer.trainable_variables:
                excluded[id(variable)] = variable
    for variable in model.trainable_variables:
        if variable.name in NO_DECAY_NAMES or variable.path.rsplit("/", 1)[-1] in NO_DECAY_NAMES:
            excluded[id(variable)] = variable
    return list(excluded.values())
