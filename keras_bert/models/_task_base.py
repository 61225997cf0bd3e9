"""Shared plumbing for task models: backbone (de)serialisation and the dropout + dense head."""

from __future__ import annotations

import keras

from keras_bert.models.bert_backbone import BertBackbone


def serialize_backbone(backbone: keras.Model) -> dict:
    return keras.saving.serialize_keras_object(backbone)


def backbone_from_config(config: dict) -> dict:
    """Return `config` with its serialized `backbone` entry turned back into a model."""
    config = dict(config)
    if isinstance(config.get("backbone"), dict):
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
    return config


class DenseHeadModel(keras.Model):
    """Base of task models with a dropout + dense `logits` head on one backbone output.

    Subclasses set `features` (the backbone output the head reads) and `dropout_name` (the
    dropout layer's name); the head layer is always named `logits` (weight import relies on it).

    Args:
        backbone: a `BertBackbone` (functional model, dict inputs).
        num_classes: number of labels.
        dropout: dropout rate before the head.
        label_names: optional label vocabulary kept with the model (index -> name).
    """

    features: str
    dropout_name: str

    def __init__(
        self,
        backbone: keras.Model,
        num_classes: int,
        dropout: float = 0.1,
        label_names: list[str] | None = None,
        **kwargs,
    ):
        inputs = backbone.input
        if self.features == "pooled_output" and isinstance(backbone, BertBackbone):
            # No sequence positions wanted: the last block runs at [CLS] only.
            none = keras.ops.zeros_like(inputs["token_ids"][:, :0])  # (B, 0)
            features = backbone(inputs, output_positions=none)[self.features]
        else:
            features = backbone(inputs)[self.features]
        features = keras.layers.Dropout(dropout, name=self.dropout_name)(features)
        logits = keras.layers.Dense(
            num_classes,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            name="logits",
        )(features)
        super().__init__(inputs=inputs, outputs=logits, **kwargs)
        self.backbone = backbone
        self.num_classes = num_classes
        self.dropout = dropout
        self.label_names = list(label_names) if label_names is not None else None

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
    def from_config(cls, config: dict) -> DenseHeadModel:
        return cls(**backbone_from_config(config))
