"""BertPretrainer: BertBackbone + masked-LM head + next-sentence head."""

from __future__ import annotations

import keras

from keras_bert.layers import MaskedLMHead
from keras_bert.layers.activations import truncated_normal
from keras_bert.metrics.top1 import SparseTop1Accuracy
from keras_bert.models.bert_backbone import BertBackbone


def backbone_inputs() -> dict:
    """Fresh symbolic inputs matching `BertBackbone`'s input dict."""
    return {
        name: keras.Input(shape=(None,), dtype="int32", name=name)
        for name in ("token_ids", "segment_ids", "padding_mask")
    }


@keras.saving.register_keras_serializable(package="keras_bert")
class BertPretrainer(keras.Model):
    """Masked-LM + next-sentence-prediction pretraining model.

    Args:
        backbone: a `BertBackbone`.

    Inputs: the backbone's dict plus `mask_positions` (batch, P) int32.
    Outputs: dict `mlm_logits` (batch, P, vocabulary_size) and `nsp_logits` (batch, 2), float32.
        NSP class 0 = segment B is the actual next segment, 1 = random (google-research/bert).

    Trains on `(x, y, sample_weight)` with y = {"mlm_logits": ids (batch, P), "nsp_logits": (batch,)}
    and sample_weight = {"mlm_logits": mask weights (batch, P), "nsp_logits": ones (batch,)}.
    """

    def __init__(self, backbone: BertBackbone, **kwargs):
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
        inputs = backbone_inputs()
        inputs["mask_positions"] = keras.Input(shape=(None,), dtype="int32", name="mask_positions")
        encoded = backbone({k: inputs[k] for k in ("token_ids", "segment_ids", "padding_mask")})
        outputs = {
            "mlm_logits": self.mlm_head(encoded["sequence_output"], inputs["mask_positions"]),
            "nsp_logits": keras.layers.Activation("linear", dtype="float32", name="nsp_logits")(
                self.nsp_head(encoded["pooled_output"])
            ),
        }
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

    def compile(
        self,
        optimizer="auto",
        loss="auto",
        weighted_metrics="auto",
        learning_rate: float = 1e-4,
        **kwargs,
    ):
        """Defaults: AdamW (no decay on LayerNorm/bias), MLM loss averaged over mask weights, NSP loss,
        weighted MLM/NSP accuracy."""
        if optimizer == "auto":
            optimizer = self._default_optimizer(learning_rate)
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

    def _default_optimizer(self, learning_rate: float) -> keras.optimizers.Optimizer:
        """AdamW (decay 0.01, eps 1e-6, global clip 1.0), no decay on LayerNorm and biases.

        On TensorFlow it is `training.optimizers.AdamW`, which clips the gradient *after* the
        cross-replica sum (Keras' own clips each replica's part under `tf.distribute`).
        """
        if keras.backend.backend() == "tensorflow":
            # TF-only edge, imported here so the model itself stays backend-neutral.
            from keras_bert.training.optimizers import (  # noqa: PLC0415
                create_optimizer,
                no_decay_variables,
            )

            return create_optimizer("adamw", learning_rate, no_decay=no_decay_variables(self))
        optimizer = keras.optimizers.AdamW(
            learning_rate=learning_rate, weight_decay=0.01, epsilon=1e-6, global_clipnorm=1.0
        )
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
        return optimizer

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
        }

    @classmethod
    def from_config(cls, config: dict) -> BertPretrainer:
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)
