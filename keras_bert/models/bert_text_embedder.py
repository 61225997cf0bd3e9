"""`BertTextEmbedder`: one vector per text from the backbone (mean, pooled or [CLS])."""

from __future__ import annotations

import keras
from keras import ops

from keras_bert.models._task_base import (
    TaskModel,
)

POOLINGS = ("mean", "pooled", "cls")


@keras.saving.register_keras_serializable(package="keras_bert")
class BertTextEmbedder(TaskModel, keras.Model):
    """Sentence embeddings: the backbone's outputs pooled into one vector per text.

    Args:
        backbone: a `BertBackbone`.
        pooling: "mean" (masked mean of `sequence_output`, sentence-transformers), "pooled"
            (`pooled_output`) or "cls" (first token of `sequence_output`).
        normalize: L2-normalise the vectors.
        preprocessor: a `TextPreprocessor` (saved with the model); with it `predict(["text"])`.

    Call arguments:
        inputs: dict `token_ids`, `segment_ids`, `padding_mask`, int32 (batch, seq).
    Returns:
        float32 (batch, hidden).
    """

    def __init__(self, backbone: keras.Model, pooling: str = "mean", normalize: bool = False,
                 preprocessor=None, **kwargs):
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        inputs = backbone.input
        outputs = backbone(inputs)
        if pooling == "pooled":
            vector = outputs["pooled_output"]
        elif pooling == "cls":
            vector = outputs["sequence_output"][:, 0]
        else:
            mask = ops.cast(inputs["padding_mask"], outputs["sequence_output"].dtype)[:, :, None]
            total = ops.sum(outputs["sequence_output"] * mask, axis=1)
            vector = total / ops.maximum(ops.sum(mask, axis=1), 1e-9)
        vector = ops.cast(vector, "float32")
        if normalize:
            vector = vector / ops.maximum(ops.sqrt(ops.sum(vector * vector, -1, keepdims=True)), 1e-12)
        super().__init__(inputs=inputs, outputs=vector, **kwargs)
        self.backbone = backbone
        self.pooling = pooling
        self.normalize = bool(normalize)
        self.preprocessor = preprocessor

    def task_config(self) -> dict:
        return {"pooling": self.pooling, "normalize": self.normalize}

