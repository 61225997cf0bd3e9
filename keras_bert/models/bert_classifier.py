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
        regression: one real-valued output (`num_classes=1`) trained with mean squared error
            (Hugging Face's `problem_type="regression"`); exports answer TF Serving's Regress API.

    Call arguments:
        inputs: dict `token_ids`, `segment_ids`, `padding_mask`, int32 (batch, seq).
    Returns:
        logits, float32 (batch, num_classes) (the predicted value (batch, 1) for regression).

    Examples:
    >>> model = BertClassifier(BertBackbone.from_preset("tiny"), num_classes=2)
    """

    features = "pooled_output"  # (B, H) -> logits (B, C)
    dropout_name = "classifier_dropout"

    def __init__(self, backbone: keras.Model, num_classes: int, dropout: float = 0.1,
                 label_names: list[str] | None = None, preprocessor=None, regression: bool = False,
                 **kwargs):
        if regression and num_classes != 1:
            raise ValueError(f"a regression head has one output, got num_classes={num_classes}")
        super().__init__(backbone, num_classes, dropout, label_names, preprocessor, **kwargs)
        self.regression = bool(regression)

    def task_config(self) -> dict:
        return {**super().task_config(), "regression": self.regression}

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """Defaults: AdamW(2e-5), sparse categorical cross-entropy on logits, accuracy (regression:
        mean squared error, mean absolute error)."""
        if optimizer == "auto":
            optimizer = keras.optimizers.AdamW(learning_rate=2e-5, weight_decay=0.01)
        if self.regression:
            loss = keras.losses.MeanSquaredError() if loss == "auto" else loss
            metrics = [keras.metrics.MeanAbsoluteError(name="mae")] if metrics == "auto" else metrics
        if loss == "auto":
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        if metrics == "auto":
            metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)
