"""`SegmentPacker`: `[CLS] A [SEP] (B [SEP])` with google-research/bert truncation and padding."""

from __future__ import annotations

import keras
import tensorflow as tf
import tensorflow_text as tf_text


@keras.saving.register_keras_serializable(package="keras_bert")
class SegmentPacker(keras.layers.Layer):
    """Packs one or two token-id segments into fixed-length BERT inputs.

    Truncation is longest-first (the lengths of tf-text's `RoundRobinTrimmer` and of the original
    `_truncate_seq_pair`: drop from the end of the longer segment, of B on a tie; computed in
    core TensorFlow ops, so an export with the core tokenizer has no tensorflow-text op); then
    `combine_segments` adds start/end ids and `pad_model_inputs` pads.

    Args:
        sequence_length: total length of the packed sequence, specials included.
        start_value: id put first (`[CLS]`).
        end_value: id put after each segment (`[SEP]`).
        pad_value: id used for padding (`[PAD]`).

    Call arguments:
        inputs: ragged or dense int ids `(batch, None)`, or a tuple/list of two of them (A, B);
            a rank-1 tensor is one unbatched example.

    Returns:
        dict of int32 `(batch, sequence_length)` tensors (`(sequence_length,)` unbatched):
        `token_ids`, `segment_ids` (0 for `[CLS]` A `[SEP]`, 1 for B `[SEP]`, 0 on padding),
        `padding_mask` (1 on real tokens).

    Examples:
    >>> packer = SegmentPacker(8, start_value=101, end_value=102, pad_value=0)
    >>> packer((tf.ragged.constant([[1, 2, 3, 4]]), tf.ragged.constant([[5, 6, 7]])))["token_ids"]
    ... # [[101, 1, 2, 3, 102, 5, 6, 102]]
    """

    def __init__(
        self,
        sequence_length: int,
        start_value: int,
        end_value: int,
        pad_value: int = 0,
        **kwargs,
    ):
        kwargs.setdefault("dtype", "int32")
        super().__init__(trainable=False, **kwargs)
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        if int(sequence_length) < 2:
            raise ValueError(
                f"SegmentPacker: sequence_length={sequence_length} is too small for [CLS] and [SEP] "
                "(need at least 2 for one segment, 3 for a pair)."
            )
        self.sequence_length = int(sequence_length)
        self.start_value = int(start_value)
        self.end_value = int(end_value)
        self.pad_value = int(pad_value)
        self.built = True

    @classmethod
    def from_tokenizer(cls, tokenizer, sequence_length: int, **kwargs) -> SegmentPacker:
        """Packer using the tokenizer's `[CLS]`, `[SEP]` and `[PAD]` ids."""
        return cls(
            sequence_length,
            start_value=tokenizer.cls_token_id,
            end_value=tokenizer.sep_token_id,
            pad_value=tokenizer.pad_token_id,
            **kwargs,
        )

    def call(self, inputs) -> dict[str, tf.Tensor]:
        segments = list(inputs) if isinstance(inputs, (tuple, list)) else [inputs]
        if not 1 <= len(segments) <= 2:
            raise ValueError(f"SegmentPacker takes one or two segments, got {len(segments)}.")
        if self.sequence_length < len(segments) + 1:
            raise ValueError(
                f"SegmentPacker: sequence_length={self.sequence_length} is too small for "
                f"{len(segments)} segment(s): [CLS] and {len(segments)} [SEP] need "
                f"{len(segments) + 1}."
            )
        unbatched = _rank(segments[0]) == 1
        segments = [_as_ragged(s, unbatched) for s in segments]  # (batch, None) int64
        budget = self.sequence_length - (len(segments) + 1)  # room left after the specials
        trimmed = _trim_longest_first(segments, budget)  # core ops (portable exports)
        token_ids, segment_ids = tf_text.combine_segments(
            trimmed, start_of_sequence_id=self.start_value, end_of_segment_id=self.end_value
        )
        token_ids, padding_mask = tf_text.pad_model_inputs(
            token_ids, max_seq_length=self.sequence_length, pad_value=self.pad_value
        )
        segment_ids, _ = tf_text.pad_model_inputs(segment_ids, max_seq_length=self.sequence_length)
        outputs = {
            "token_ids": tf.cast(token_ids, tf.int32),
            "segment_ids": tf.cast(segment_ids, tf.int32),
            "padding_mask": tf.cast(padding_mask, tf.int32),
        }
        if unbatched:
            outputs = {k: v[0] for k, v in outputs.items()}
        return outputs

    def compute_output_spec(self, inputs):
        spec = keras.KerasTensor((None, self.sequence_length), dtype="int32")
        return {"token_ids": spec, "segment_ids": spec, "padding_mask": spec}

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "sequence_length": self.sequence_length,
                "start_value": self.start_value,
                "end_value": self.end_value,
                "pad_value": self.pad_value,
            }
        )
        config.pop("trainable", None)
        return config


def _rank(x) -> int:
    return x.shape.rank if isinstance(x, tf.RaggedTensor) else tf.convert_to_tensor(x).shape.rank


def _as_ragged(x, unbatched: bool) -> tf.RaggedTensor:
    if not isinstance(x, tf.RaggedTensor):
        x = tf.convert_to_tensor(x)
        x = tf.RaggedTensor.from_tensor(x[tf.newaxis] if unbatched else x)
    elif unbatched:
        x = x[tf.newaxis]
    return tf.cast(x, tf.int64)


def _trim_longest_first(segments: list[tf.RaggedTensor], budget: int) -> list[tf.RaggedTensor]:
    """Keeps at most `budget` ids in all: A gets ceil(budget / 2) or what B leaves, B the rest."""
    if len(segments) == 1:
        return [segments[0][:, :budget]]
    a, b = segments
    len_a, len_b = a.row_lengths(), b.row_lengths()
    keep_a = tf.minimum(len_a, tf.maximum(budget - len_b, (budget + 1) // 2))
    keep_b = tf.minimum(len_b, budget - keep_a)
    return [
        tf.ragged.boolean_mask(s, tf.ragged.range(n) < keep[:, None])
        for s, n, keep in ((a, len_a, keep_a), (b, len_b, keep_b))
    ]
