"""`BertExtractiveSummarizer`: BERTSum's sentence scorer, one logit per sentence marker."""

from __future__ import annotations

import keras
from keras import ops

from keras_bert.models._task_base import TaskModel
from keras_bert.models.bert_backbone import BertBackbone

NOT_SCORED = -1e4  # logit of padding / unscored sentence slots (finite: BCE stays finite)


@keras.saving.register_keras_serializable(package="keras_bert")
class SentenceBinaryCrossentropy(keras.losses.Loss):
    """Sigmoid cross-entropy per sentence slot (B, S), averaged over the sample weights (scored
    sentences), not over all slots: a batch's loss does not shrink with its padding."""

    def __init__(self, name="sentence_binary_crossentropy", reduction="mean_with_sample_weight",
                 **kwargs):
        super().__init__(name=name, reduction=reduction, **kwargs)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        return ops.binary_crossentropy(y_true, y_pred, from_logits=True)  # (B, S)


@keras.saving.register_keras_serializable(package="keras_bert")
class BertExtractiveSummarizer(TaskModel, keras.Model):
    """Scores every sentence of a document in one pass (BERTSum, Liu & Lapata 2019).

    The document is packed as `[CLS] s0 [SEP] [CLS] s1 [SEP] ...` with alternating segment ids
    (`SummarizationPreprocessor`); the backbone's output at each sentence's [CLS] goes through
    dropout and a dense layer to one logit. The backbone's last block runs at those positions only
    (`output_positions`). Train with sigmoid binary cross-entropy on greedy-oracle labels, weighted
    0 on unscored slots (the preprocessor's `map_batch` gives those weights).

    Args:
        backbone: a `BertBackbone`.
        dropout: dropout rate before the head.
        preprocessor: a `SummarizationPreprocessor` (saved with the model).

    Call arguments:
        inputs: dict `token_ids`, `segment_ids`, `padding_mask` int32 (B, T) and
            `sentence_positions` int32 (B, S), -1 for slots without a sentence.
    Returns:
        logits float32 (B, S); `NOT_SCORED` (-1e4) where `sentence_positions` is -1.
    """

    def __init__(self, backbone: keras.Model, dropout: float = 0.1, preprocessor=None, **kwargs):
        inputs = dict(backbone.input)
        positions = keras.Input(shape=(None,), dtype="int32", name="sentence_positions")
        scored = ops.greater_equal(positions, 0)  # (B, S)
        safe = ops.maximum(positions, 0)
        if isinstance(backbone, BertBackbone):  # last block at the markers only
            features = backbone(inputs, output_positions=safe)["sequence_output"]  # (B, S, H)
        else:
            sequence = backbone(inputs)["sequence_output"]  # (B, T, H)
            features = ops.take_along_axis(sequence, ops.expand_dims(safe, -1), axis=1)
        features = keras.layers.Dropout(dropout, name="summarizer_dropout")(features)
        logits = keras.layers.Dense(
            1, kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02), name="logits"
        )(features)[..., 0]  # (B, S)
        logits = ops.where(scored, ops.cast(logits, "float32"), NOT_SCORED)
        super().__init__(inputs={**inputs, "sentence_positions": positions}, outputs=logits, **kwargs)
        self.backbone = backbone
        self.dropout = float(dropout)
        self.preprocessor = preprocessor

    def task_config(self) -> dict:
        return {"dropout": self.dropout}

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """Defaults: AdamW(5e-5), per-sentence sigmoid cross-entropy on logits, weighted accuracy
        (pass the preprocessor's sample weights so unscored slots do not count)."""
        if optimizer == "auto":
            optimizer = keras.optimizers.AdamW(learning_rate=5e-5, weight_decay=0.01)
        if loss == "auto":
            loss = SentenceBinaryCrossentropy()
        if metrics == "auto":
            metrics = [keras.metrics.BinaryAccuracy(name="sentence_accuracy", threshold=0.0)]
        super().compile(optimizer=optimizer, loss=loss, weighted_metrics=metrics, **kwargs)
