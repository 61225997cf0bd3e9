"""`BertClassifier`: sentence or sentence-pair classification from the pooled output."""

from __future__ import annotations

import keras

from keras_bert.models._task_base import backbone_from_config, serialize_backbone


@keras.saving.register_keras_serializable(package="keras_bert")
class BertClassifier(keras.Model):
    """Dropout + dense head on `pooled_output`.

    Args:
        backbone: a `BertBackbone` (functional model, dict inputs).
        num_classes: number of labels.
        dropout: dropout rate before the head.
        label_names: optional label vocabulary kept with the model (index -> name).

    Call arguments:
        inputs: dict `token_ids`, `segment_ids`, `padding_mask`, int32 (batch, seq).
    Returns:
        logits, float32 (batch, num_classes).

    Examples:
    >>> model = BertClassifier(BertBackbone.from_preset("tiny"), num_classes=2)
    """

    def __init__(
        self,
        backbone: keras.Model,
        num_classes: int,
        dropout: float = 0.1,
        label_names: list[str] | None = None,
        **kwargs,
    ):
        inputs = backbone.input
        pooled = backbone(inputs)["pooled_output"]  # (B, H)
        pooled = keras.layers.Dropout(dropout, name="classifier_dropout")(pooled)
        logits = keras.layers.Dense(
            num_classes,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            name="logits",
        )(pooled)  # (B, C)
        super().__init__(inputs=inputs, outputs=logits, **kwargs)
        self.backbone = backbone
        self.num_classes = num_classes
        self.dropout = dropout
        self.label_names = list(label_names) if label_names is not None else None

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """Defaults: AdamW(2e-5), sparse categorical cross-entropy on logits, accuracy."""
        if optimizer == "auto":
            optimizer = keras.optimizers.AdamW(learning_rate=2e-5, weight_decay=0.01)
        if loss == "auto":
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        if metrics == "auto":
            metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": serialize_backbone(self.backbone),
            "num_classes": self.num_classes,
            "dropout": self.dropout,
            "label_names": self.label_names,
        }

    @classmethod
    def from_config(cls, config: dict) -> BertClassifier:
        return cls(**backbone_from_config(config))
