"""`BertSpanQA`: extractive question answering, start/end logits per token."""

from __future__ import annotations

import keras
from keras import ops

from keras_bert.models._task_base import (
    TaskModel,
)


@keras.saving.register_keras_serializable(package="keras_bert")
class BertSpanQA(TaskModel, keras.Model):
    """Dense(2) on `sequence_output`, split into start and end logits.

    Padding positions get a large negative logit so they are never chosen.

    Args:
        backbone: a `BertBackbone`.
        preprocessor: a `SquadPreprocessor` (saved with the model; window sizes, answer length and
            the tuned null threshold travel with it); with it, `fit((questions, contexts),
            (answer_start, answer_end))` and `predict((questions, contexts))` take raw text
            (character offsets, -1 for no answer) and predict returns per-window logits.

    Call arguments:
        inputs: dict `token_ids`, `segment_ids`, `padding_mask`, int32 (batch, seq).
    Returns:
        dict `start_logits`, `end_logits`, float32 (batch, seq). Labels are token positions
        (batch,) int32; position 0 ([CLS]) means "no answer in this window".
    """

    def __init__(self, backbone: keras.Model, preprocessor=None, **kwargs):
        inputs = backbone.input
        sequence = backbone(inputs)["sequence_output"]  # (B, T, H)
        logits = keras.layers.Dense(
            2,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            name="span_logits",
        )(sequence)  # (B, T, 2)
        mask = ops.cast(inputs["padding_mask"], logits.dtype)  # (B, T)
        penalty = (1.0 - mask) * -1e4
        start = keras.layers.Identity(name="start_logits")(logits[..., 0] + penalty)
        end = keras.layers.Identity(name="end_logits")(logits[..., 1] + penalty)
        super().__init__(
            inputs=inputs, outputs={"start_logits": start, "end_logits": end}, **kwargs
        )
        self.backbone = backbone
        self.preprocessor = preprocessor

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """Defaults: AdamW(5e-5); mean of start and end sparse cross-entropies."""
        if optimizer == "auto":
            optimizer = keras.optimizers.AdamW(learning_rate=5e-5, weight_decay=0.01)
        if loss == "auto":
            ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
            loss = {"start_logits": ce, "end_logits": ce}
        if metrics == "auto":
            metrics = None
        super().compile(
            optimizer=optimizer,
            loss=loss,
            loss_weights={"start_logits": 0.5, "end_logits": 0.5},
            metrics=metrics,
            **kwargs,
        )

