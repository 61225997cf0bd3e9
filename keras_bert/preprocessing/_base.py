"""Shared plumbing for task preprocessors: Keras layers holding the tokenizer and the packer.

A task preprocessor is a Keras layer (`get_config`, the tokenizer's vocabulary saved as an asset)
stored on its task model (`model.preprocessor`), so that what a model was trained with travels in
its `.keras` file: the same object runs in training (`tf.data.map`), evaluation, `model.predict`
on raw strings and the exported SavedModel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import keras

if TYPE_CHECKING:
    from keras_bert.preprocessing.segment_packer import SegmentPacker
    from keras_bert.tokenizers import WordPieceTokenizer


class PackingPreprocessor(keras.layers.Layer):
    """Base of preprocessors that tokenize and pack into sequences of `sequence_length` tokens.

    Args:
        tokenizer: a `WordPieceTokenizer` (its vocabulary and casing travel with the preprocessor).
        sequence_length: T, tokens per packed sequence.
        packer: a `SegmentPacker`; built from the tokenizer's special ids if None.

    Subclasses implement `map_batch(x, y=None, sample_weight=None)`: one batch of raw inputs (and
    optional labels) -> `(x, y, sample_weight)` as the task model trains on them; task models call
    it when `fit` / `evaluate` / `predict` get raw text.
    """

    def __init__(
        self,
        tokenizer: WordPieceTokenizer,
        sequence_length: int = 128,
        packer: SegmentPacker | None = None,
        **kwargs,
    ):
        kwargs.setdefault("dtype", "int32")
        super().__init__(trainable=False, **kwargs)
        self._convert_input_args = False  # strings and ragged tensors stay as they are
        self._allow_non_tensor_positional_args = True
        self.tokenizer = tokenizer
        self._packer = packer  # built on first use when None: a loading tokenizer has no ids yet
        self.sequence_length = int(sequence_length)
        self.built = True

    @property
    def packer(self):
        if self._packer is None:
            from keras_bert.preprocessing.segment_packer import SegmentPacker

            self._packer = SegmentPacker(
                self.sequence_length,
                start_value=self.tokenizer.cls_token_id,
                end_value=self.tokenizer.sep_token_id,
                pad_value=self.tokenizer.pad_token_id,
            )
        return self._packer

    def cut(self, text, max_tokens: int | None = None):
        """Each text cut before tokenizing to a prefix with the same first `max_tokens` tokens
        (default: what one segment of the sequence can hold), so a long string costs what a
        short one does and gives the same result (`preprocessing.text_cut`)."""
        from keras_bert.preprocessing.text_cut import continuation_table, cut_text

        if max_tokens is None:
            max_tokens = self.sequence_length - 2
        return cut_text(self.tokenizer, text, max_tokens, continuation_table(self.tokenizer.vocabulary))

    def map_batch(self, x, y=None, sample_weight=None):
        raise NotImplementedError

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("trainable", None)
        config.update({
            "tokenizer": keras.saving.serialize_keras_object(self.tokenizer),
            "sequence_length": self.sequence_length,
        })
        return config

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        config["tokenizer"] = keras.saving.deserialize_keras_object(config["tokenizer"])
        return cls(**config)
