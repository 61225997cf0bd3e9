"""`BertClassifier`: sentence or sentence-pair classification from the pooled output."""

from __future__ import annotations

import keras

from keras_bert.models._task_base import DenseHeadModel


@keras.saving.register_keras_serializable(package="keras_bert")
class BertClassifier(DenseHeadModel):
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

    features = "pooled_output"  # (B, H) -> logits (B, C)
    dropout_name = "classifier_dropout"

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """Defaults: AdamW(2e-5), sparse categorical cross-entropy on logits, accuracy."""
        if optimizer == "auto":
            optimizer = keras.optimizers.AdamW(learning_rate=2e-5, weight_decay=0.01)
        if loss == "auto":
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        if metrics == "auto":
            metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)
