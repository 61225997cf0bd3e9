"""`BertTokenTagger`: one label per token (NER) from `sequence_output`."""

from __future__ import annotations

import keras

from keras_bert.models._task_base import backbone_from_config, serialize_backbone


@keras.saving.register_keras_serializable(package="keras_bert")
class BertTokenTagger(keras.Model):
    """Dropout + dense head applied at every position.

    Args:
        backbone: a `BertBackbone`.
        num_classes: number of tags (e.g. `O`, `B-PER`, `I-PER`, ...).
        dropout: dropout rate before the head.
        label_names: optional tag vocabulary kept with the model.

    Call arguments:
        inputs: dict `token_ids`, `segment_ids`, `padding_mask`, int32 (batch, seq).
    Returns:
        logits, float32 (batch, seq, num_classes). Train with sample weights that are 0 on
        special tokens, padding and non-first sub-tokens (see `NerPreprocessor`).
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
        sequence = backbone(inputs)["sequence_output"]  # (B, T, H)
        sequence = keras.layers.Dropout(dropout, name="tagger_dropout")(sequence)
        logits = keras.layers.Dense(
            num_classes,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            name="logits",
        )(sequence)  # (B, T, C)
        super().__init__(inputs=inputs, outputs=logits, **kwargs)
        self.backbone = backbone
        self.num_classes = num_classes
        self.dropout = dropout
        self.label_names = list(label_names) if label_names is not None else None

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """Defaults: AdamW(5e-5), sparse categorical cross-entropy on logits, token accuracy.

        Pass `sample_weight` (batch, seq) in the data so ignored positions do not count.
        """
        if optimizer == "auto":
            optimizer = keras.optimizers.AdamW(learning_rate=5e-5, weight_decay=0.01)
        if loss == "auto":
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        if metrics == "auto":
            metrics = [keras.metrics.SparseCategoricalAccuracy(name="token_accuracy")]
        super().compile(
            optimizer=optimizer, loss=loss, weighted_metrics=metrics, **kwargs
        )

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
    def from_config(cls, config: dict) -> BertTokenTagger:
        return cls(**backbone_from_config(config))
