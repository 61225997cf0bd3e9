"""`BertTokenTagger`: one label per token (NER) from `sequence_output`."""

from __future__ import annotations

import keras

from keras_bert.models._task_base import DenseHeadModel


@keras.saving.register_keras_serializable(package="keras_bert")
class BertTokenTagger(DenseHeadModel):
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

    features = "sequence_output"  # (B, T, H) -> logits (B, T, C)
    dropout_name = "tagger_dropout"

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
