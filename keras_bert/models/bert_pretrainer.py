"""BertPretrainer: BertBackbone + masked-LM head + next-sentence head."""

from __future__ import annotations

import keras
from keras import ops

from keras_bert.layers import MaskedLMHead
from keras_bert.layers.activations import truncated_normal
from keras_bert.layers.top1_accuracy import SparseTop1Accuracy, sparse_top1_accuracy
from keras_bert.models._task_base import (
    TaskModel,
)
from keras_bert.models.bert_backbone import BertBackbone, backbone_inputs


@keras.saving.register_keras_serializable(package="keras_bert")
class BertPretrainer(TaskModel, keras.Model):
    """Masked-LM + next-sentence-prediction pretraining model.

    Args:
        backbone: a `BertBackbone`.

    Inputs: the backbone's dict plus `mask_positions` (batch, P) int32.
    Outputs: dict `mlm_logits` (batch, P, vocabulary_size) and `nsp_logits` (batch, 2), float32;
        `mlm_features` (batch, P, hidden), what the tied projection scores.
        NSP class 0 = segment B is the actual next segment, 1 = random (google-research/bert).

    Trains on `(x, y, sample_weight)` with y = {"mlm_logits": ids (batch, P), "nsp_logits": (batch,)}
    and sample_weight = {"mlm_logits": mask weights (batch, P), "nsp_logits": ones (batch,)}.
    With the default loss on TensorFlow, the MLM loss and accuracy are computed from
    `mlm_features` by `MaskedLMHead.loss` (vocabulary in chunks, gradients formed in the forward
    pass, the `mlm_logits` output unused and dropped by XLA); the logged names are Keras' own
    (`mlm_logits_loss`, `mlm_logits_accuracy`, `nsp_logits_loss`, `nsp_logits_accuracy`).
    """

    def __init__(self, backbone: BertBackbone, preprocessor=None, **kwargs):
        self.backbone = backbone
        self.mlm_head = MaskedLMHead(
            token_embedding=backbone.token_embedding,
            activation=backbone.activation,
            layer_norm_epsilon=backbone.layer_norm_epsilon,
            initializer_range=backbone.initializer_range,
            dtype=backbone.dtype_policy,
            name="mlm_head",
        )
        self.nsp_head = keras.layers.Dense(
            2,
            kernel_initializer=truncated_normal(backbone.initializer_range),
            dtype=backbone.dtype_policy,
            name="nsp_head",
        )
        encoder_inputs = backbone_inputs()
        mask_positions = keras.Input(shape=(None,), dtype="int32", name="mask_positions")
        inputs = {**encoder_inputs, "mask_positions": mask_positions}
        # The backbone's last block runs at [CLS] and the masked positions only.
        encoded = backbone(encoder_inputs, output_positions=mask_positions)
        mlm = self.mlm_head(encoded["sequence_output"], return_features=True)
        outputs = {
            "mlm_logits": mlm["logits"],
            "nsp_logits": keras.layers.Activation("linear", dtype="float32", name="nsp_logits")(
                self.nsp_head(encoded["pooled_output"])
            ),
            "mlm_features": mlm["features"],
        }
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        # The backbone's policy (the functional constructor leaves the global one): `compile`
        # then wraps the optimizer in a LossScaleOptimizer under mixed_float16.
        self.dtype_policy = backbone.dtype_policy
        self._fused_loss = False
        self.preprocessor = preprocessor  # a PretrainingPreprocessor: fit / predict on raw text
        # Logged under the names Keras gives compiled per-output losses and metrics.
        self._head_metrics = {
            name: keras.metrics.Mean(name=name)
            for name in (
                "mlm_logits_loss", "mlm_logits_accuracy", "nsp_logits_loss", "nsp_logits_accuracy"
            )
        }

    def compile(
        self,
        optimizer="auto",
        loss="auto",
        weighted_metrics="auto",
        learning_rate: float = 1e-4,
        **kwargs,
    ):
        """Defaults: AdamW (no decay on LayerNorm/bias), MLM loss averaged over mask weights, NSP loss,
        weighted MLM/NSP accuracy. With both defaults on TensorFlow, `compute_loss` computes them
        (the MLM part through `MaskedLMHead.loss`); otherwise Keras' compiled losses do."""
        if optimizer == "auto":
            optimizer = self._default_optimizer(learning_rate)
        defaults = loss == "auto" and weighted_metrics == "auto"
        self._fused_loss = defaults and keras.backend.backend() == "tensorflow"
        if self._fused_loss:
            loss = weighted_metrics = None
        if loss == "auto":
            loss = {
                "mlm_logits": keras.losses.SparseCategoricalCrossentropy(
                    from_logits=True, reduction="mean_with_sample_weight", name="mlm_loss"
                ),
                "nsp_logits": keras.losses.SparseCategoricalCrossentropy(
                    from_logits=True, name="nsp_loss"
                ),
            }
        if weighted_metrics == "auto":
            weighted_metrics = {
                "mlm_logits": [SparseTop1Accuracy(name="accuracy")],
                "nsp_logits": [SparseTop1Accuracy(name="accuracy")],
            }
        super().compile(optimizer=optimizer, loss=loss, weighted_metrics=weighted_metrics, **kwargs)

    @property
    def metrics(self) -> list:
        metrics = super().metrics
        if getattr(self, "_fused_loss", False):
            return metrics
        head_metrics = list(getattr(self, "_head_metrics", {}).values())
        return [m for m in metrics if not any(m is h for h in head_metrics)]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Default MLM + NSP loss from `mlm_features` (see the class docstring); Keras' otherwise.

        Same values as the compiled default: MLM cross-entropy averaged over the mask weights plus
        the NSP batch mean, each per replica and scaled by 1 / replicas under `tf.distribute`.
        """
        if not self._fused_loss:
            return super().compute_loss(x, y, _heads(y_pred), sample_weight, training=training)
        weights = sample_weight or {}
        mlm_weights = weights.get("mlm_logits")
        if mlm_weights is None:
            mlm_weights = ops.ones(ops.shape(y["mlm_logits"]), "float32")
        mlm_loss, mlm_correct = self.mlm_head.loss(
            y_pred["mlm_features"], y["mlm_logits"], mlm_weights
        )
        nsp_weights = weights.get("nsp_logits")
        nsp_loss = keras.losses.sparse_categorical_crossentropy(
            y["nsp_logits"], y_pred["nsp_logits"], from_logits=True
        )
        if nsp_weights is not None:
            nsp_loss = nsp_loss * ops.cast(nsp_weights, nsp_loss.dtype)
        nsp_loss = ops.mean(nsp_loss)
        nsp_correct = sparse_top1_accuracy(y["nsp_logits"], y_pred["nsp_logits"])
        batch = ops.shape(y_pred["nsp_logits"])[0]
        self._head_metrics["mlm_logits_loss"].update_state(mlm_loss, sample_weight=batch)
        self._head_metrics["nsp_logits_loss"].update_state(nsp_loss, sample_weight=batch)
        self._head_metrics["mlm_logits_accuracy"].update_state(mlm_correct, mlm_weights)
        self._head_metrics["nsp_logits_accuracy"].update_state(nsp_correct, nsp_weights)
        total = mlm_loss + nsp_loss
        if self.losses:
            total = total + ops.sum(self.losses)
        return _per_replica(total)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        # The fused loss updated the head metrics already; Keras' compiled ones see the heads only.
        if not self._fused_loss:
            y_pred = _heads(y_pred)
        return super().compute_metrics(x, y, y_pred, sample_weight)

    def _default_optimizer(self, learning_rate: float) -> keras.optimizers.Optimizer:
        """AdamW (decay 0.01, eps 1e-6, global clip 1.0), no decay on LayerNorm and biases.

        On TensorFlow it is `models.optimizer.AdamW` (what `training.optimizers.create_optimizer`
        builds for "adamw"), which clips the gradient *after* the cross-replica sum (Keras' own
        clips each replica's part under `tf.distribute`).
        """
        if keras.backend.backend() == "tensorflow":
            # TF-only edge, imported here so the model itself stays backend-neutral.
            from keras_bert.models.optimizer import AdamW, no_decay_variables  # noqa: PLC0415

            optimizer = AdamW(
                learning_rate=learning_rate, weight_decay=0.01, epsilon=1e-6, global_clipnorm=1.0
            )
            optimizer.exclude_from_weight_decay(var_list=no_decay_variables(self))
            return optimizer
        optimizer = keras.optimizers.AdamW(
            learning_rate=learning_rate, weight_decay=0.01, epsilon=1e-6, global_clipnorm=1.0
        )
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
        return optimizer


def _heads(y_pred: dict) -> dict:
    """The outputs Keras' compiled losses and metrics are keyed on (without `mlm_features`)."""
    return {name: y_pred[name] for name in ("mlm_logits", "nsp_logits")}


def _per_replica(loss):
    """Scales a replica's loss by 1 / replicas under `tf.distribute`, as Keras' losses do (the
    replicas' gradients are summed)."""
    import tensorflow as tf  # noqa: PLC0415 (only the TensorFlow backend takes this path)

    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss / replicas if replicas > 1 else loss
