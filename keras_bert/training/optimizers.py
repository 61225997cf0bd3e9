"""The optimizers of both training drivers (pretraining and fine-tuning): AdamW (Keras) wired the
BERT way, LAMB implemented here, and one factory, `create_optimizer`.

Weight decay (and LAMB's layer adaptation) skips LayerNorm parameters and biases, as
google-research/bert does. Which variables those are is decided from the model's layers
(`keras.layers.LayerNormalization` instances) and from variable names (`bias`, `gamma`, `beta`):
`no_decay_variables`, the one rule for pretraining and fine-tuning.

Gradient clipping sees the all-reduced (global) gradient under `tf.distribute`
(`ClipAfterAllReduce`). `AdamW`, `ClipAfterAllReduce` and `no_decay_variables` live in
`keras_bert.models.optimizer` (the optimizer `BertPretrainer.compile()` defaults to: models import
no training code) and are importable from here too. A model that computes in float16 (`mixed_float16`) gets its optimizer
wrapped in `LossScaleOptimizer`, whose overflow check spans all replicas.
"""

from __future__ import annotations

from collections.abc import Iterable

import keras
import tensorflow as tf
from keras import ops

from keras_bert.models.optimizer import AdamW, ClipAfterAllReduce, no_decay_variables
from keras_bert.training.gradient_accumulation import accumulation_kwargs


@keras.saving.register_keras_serializable(package="keras_bert")
class Lamb(ClipAfterAllReduce, keras.optimizers.Optimizer):
    """LAMB (You et al. 2019, "Large Batch Optimization for Deep Learning"), Algorithm 2.

    Per variable `w` with gradient `g` at update `t`:
        m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
        r = (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) + weight_decay * w
        trust = ||w|| / ||r||  (1 where either norm is 0)
        w = w - lr * trust * r
    Variables excluded with `exclude_from_weight_decay` get neither decay nor the trust ratio
    (trust = 1), like tensorflow-addons' default `exclude_from_layer_adaptation`.

    Args:
        learning_rate: float or `LearningRateSchedule`.
        beta_1, beta_2, epsilon: Adam moments' constants.
        weight_decay: decay rate added to the update (inside the trust ratio, not decoupled).
        **kwargs: other `keras.optimizers.Optimizer` arguments (`global_clipnorm`,
            `gradient_accumulation_steps`, ...).
    """

    def __init__(
        self,
        learning_rate=1e-3,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-6,
        weight_decay: float | None = 0.01,
        name: str = "lamb",
        **kwargs,
    ) -> None:
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list) -> None:
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"]
        )

    def _apply_weight_decay(self, variables) -> None:
        """LAMB folds the decay into the update (see `update_step`), not decoupled."""

    def update_step(self, gradient, variable, learning_rate) -> None:
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        self.assign(m, self.beta_1 * m + (1.0 - self.beta_1) * gradient)
        self.assign(v, self.beta_2 * v + (1.0 - self.beta_2) * ops.square(gradient))
        m_hat = m / (1.0 - ops.power(ops.cast(self.beta_1, dtype), step))
        v_hat = v / (1.0 - ops.power(ops.cast(self.beta_2, dtype), step))
        update = m_hat / (ops.sqrt(v_hat) + self.epsilon)
        if self._use_weight_decay(variable):
            if self.weight_decay:
                update = update + ops.cast(self.weight_decay, dtype) * variable
            w_norm = ops.sqrt(ops.sum(ops.square(variable)))
            u_norm = ops.sqrt(ops.sum(ops.square(update)))
            trust = ops.where(
                ops.logical_and(w_norm > 0.0, u_norm > 0.0), w_norm / u_norm, ops.ones_like(w_norm)
            )
            update = trust * update
        self.assign_sub(variable, lr * update)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config


def computes_in_float16(model: keras.Model) -> bool:
    """True when any layer of `model` computes in float16 (its gradients need loss scaling)."""
    return any(layer.compute_dtype == "float16" for layer in model._flatten_layers(include_self=True))


@keras.saving.register_keras_serializable(package="keras_bert")
class LossScaleOptimizer(keras.optimizers.LossScaleOptimizer):
    """Keras' dynamic loss scaling, with the finite-gradient check agreed by all replicas.

    Keras 3.15 checks each replica's *partial* gradient, and on strategies that merge calls
    (`MirroredStrategy`) acts on replica 0's answer alone: an overflow on another replica then
    reaches the summed gradient and the weights. Here a step is skipped (and the scale halved) on
    every replica as soon as any replica sees a non-finite gradient.
    """

    def check_finite(self, grads):
        finite = super().check_finite(grads)
        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync <= 1:
            return finite
        bad = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.cast(tf.logical_not(finite), tf.float32))
        return tf.equal(bad, 0.0)


def create_optimizer(
    name: str,
    learning_rate,
    *,
    weight_decay: float = 0.01,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-6,
    global_clipnorm: float | None = 1.0,
    accumulation_steps: int = 1,
    no_decay: Iterable | None = None,
    model: keras.Model | None = None,
    loss_scale: bool | None = None,
) -> keras.optimizers.Optimizer:
    """AdamW or LAMB with BERT's settings: the optimizer of pretraining and fine-tuning.

    Args:
        name: "adamw" or "lamb".
        learning_rate: float or schedule, in optimizer *updates*.
        weight_decay: decay rate (0 disables).
        global_clipnorm: clip the (all-reduced) gradient to this global norm (None disables).
        accumulation_steps: micro-batches per update (gradient accumulation).
        no_decay: variables excluded from decay. Default: `no_decay_variables(model)` when `model`
            is given. Must be known here: Keras forbids changing the exclusion once the optimizer
            is built.
        model: the model to train (call under its strategy's scope): its decay exclusions and
            whether it needs loss scaling.
        loss_scale: wrap in `LossScaleOptimizer` (dynamic loss scaling). Default: when `model`
            computes in float16 (`mixed_float16`).
    """
    kwargs = dict(
        beta_1=beta_1,
        beta_2=beta_2,
        epsilon=epsilon,
        weight_decay=float(weight_decay or 0.0),
        global_clipnorm=global_clipnorm,
        **accumulation_kwargs(learning_rate, accumulation_steps),
    )
    if name == "adamw":
        optimizer = AdamW(**kwargs)
    elif name == "lamb":
        optimizer = Lamb(**kwargs)
    else:
        raise ValueError(f"Unknown optimizer {name!r}: expected 'adamw' or 'lamb'.")
    if no_decay is None and model is not None:
        no_decay = no_decay_variables(model)
    if no_decay is not None:
        optimizer.exclude_from_weight_decay(var_list=list(no_decay))
    if loss_scale is None:
        loss_scale = model is not None and computes_in_float16(model)
    if loss_scale:
        optimizer = LossScaleOptimizer(optimizer)
    return optimizer
