"""SQuAD windows in TensorFlow ops: (question, context) -> packed windows with doc stride.

Usable in `tf.data.map` (after `.batch`, followed by `.unbatch()` since one example may give
several windows) and inside a `tf.function` / SavedModel. Offsets are **bytes** into the UTF-8
context (tf-text convention); `char_to_byte` / `byte_to_char` convert at the edges.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_bert.preprocessing._base import PackingPreprocessor


def char_to_byte(text: tf.Tensor, char_offset: tf.Tensor) -> tf.Tensor:
    """Byte offset of character `char_offset` in each UTF-8 string. (B,) string, (B,) int -> (B,) int32.

    Negative offsets (unanswerable) pass through unchanged.
    """
    char_offset = tf.cast(char_offset, tf.int32)
    prefix = tf.strings.substr(
        text, tf.zeros_like(char_offset), tf.maximum(char_offset, 0), unit="UTF8_CHAR"
    )
    return tf.where(char_offset < 0, char_offset, tf.strings.length(prefix, unit="BYTE"))


def byte_to_char(text: tf.Tensor, byte_offset: tf.Tensor) -> tf.Tensor:
    """Character offset of byte `byte_offset` (a character boundary). (B,), (B,) -> (B,) int32."""
    byte_offset = tf.cast(byte_offset, tf.int32)
    prefix = tf.strings.substr(
        text, tf.zeros_like(byte_offset), tf.maximum(byte_offset, 0), unit="BYTE"
    )
    return tf.where(byte_offset < 0, byte_offset, tf.strings.length(prefix, unit="UTF8_CHAR"))


def _fill_rows(lengths: tf.Tensor, value: int) -> tf.RaggedTensor:
    """Ragged (N, lengths[i]) int32 filled with `value`."""
    lengths = tf.cast(lengths, tf.int64)
    return tf.RaggedTensor.from_row_lengths(
        tf.fill([tf.reduce_sum(lengths)], tf.constant(value, tf.int32)), lengths
    )


ORIGINAL = "original"
HF_PIPELINE = "hf-pipeline"
NQ = "nq"
CONVENTIONS = (ORIGINAL, HF_PIPELINE, NQ)


@keras.saving.register_keras_serializable(package="keras_bert")
class SquadPreprocessor(PackingPreprocessor):
    """Tokenize, truncate the question, split the context into overlapping windows and pack.

    Args:
        tokenizer: a `WordPieceTokenizer` (needs `tokenize_with_offsets` and special-token ids).
        packer: a `SegmentPacker(sequence_length, cls, sep, pad)`; built from the tokenizer if None.
        sequence_length: tokens per window, T.
        doc_stride: with the "original" convention, context tokens between successive window
            starts (google-research/bert's `doc_stride`); with "hf-pipeline", context tokens two
            successive windows share (Hugging Face's `doc_stride`, the tokenizer's `stride`).
        max_query_length: question tokens kept (the rest dropped).
        max_answer_length, null_score_diff_threshold, version_2_with_negative: how answers are
            read from the windows' logits (`squad_postprocessing`); kept here so the settings a
            model was trained and tuned with travel with it into evaluation and exports.
        convention: whose windowing and answer scoring: "original" (google-research/bert's
            run_squad.py, ours: `doc_stride` is the step, a span scores the sum of its start and
            end logits, best across windows; null = [CLS] sum, lowest over windows),
            "hf-pipeline" (transformers' `QuestionAnsweringPipeline`: `doc_stride` is the overlap,
            per-window softmax of start and end logits over the context and [CLS], a span scores
            the product of its probabilities, widened to whole words, equal texts summed across
            candidates; null = [CLS] product, lowest over windows, answered empty only when it
            beats the best span, `handle_impossible_answer` being `version_2_with_negative`)
            or "nq" (the Natural Questions BERT baseline, Alberti et al. 2019: the original's
            windows, but a span scores its start and end logits minus its own window's [CLS]
            start and end logits, so the windows of a long document compete on how much each
            prefers its span to "no answer" there, which is what training on answer-less windows
            teaches; null = 0, so `null_score_diff_threshold` applies to minus that margin).
            Models imported from a Hugging Face folder keep "hf-pipeline". One difference stays:
            the pipeline (fast tokenizer) keeps whole questions, ours cut them to
            `max_query_length` tokens.

    `windows(question, context, answer_start, answer_end)` takes (B,) tensors and returns a dict of
    W >= B windows:
        token_ids, segment_ids, padding_mask: int32 (W, T), `[CLS] question [SEP] context [SEP]`;
        example_index: int32 (W,), which input example the window came from;
        token_start, token_end: int32 (W, T), byte span in the context of each context token,
            -1 for [CLS], question, [SEP] and padding;
        start_positions, end_positions: int32 (W,), only when answers are given: token positions of
            the answer in the window, 0 ([CLS]) when unanswerable or not wholly inside this window.
    `answer_start`/`answer_end` are byte offsets (end exclusive), -1 for unanswerable.
    """

    def __init__(
        self,
        tokenizer,
        packer=None,
        sequence_length: int = 384,
        doc_stride: int = 128,
        max_query_length: int = 64,
        max_answer_length: int = 30,
        null_score_diff_threshold: float = 0.0,
        version_2_with_negative: bool = False,
        convention: str = ORIGINAL,
        **kwargs,
    ):
        if convention not in CONVENTIONS:
            raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
        if max_query_length + 3 >= sequence_length:
            raise ValueError(
                f"max_query_length={max_query_length} leaves no room for context in "
                f"sequence_length={sequence_length}"
            )
        if doc_stride <= 0:
            raise ValueError(f"doc_stride must be positive, got {doc_stride}")
        if convention == HF_PIPELINE and doc_stride >= sequence_length - max_query_length - 3:
            raise ValueError(
                f"doc_stride={doc_stride} (the overlap of windows, hf-pipeline convention) leaves no "
                f"step in windows of {sequence_length} tokens with questions of up to "
                f"{max_query_length} tokens"
            )
        super().__init__(tokenizer, sequence_length, packer, **kwargs)
        self.doc_stride = int(doc_stride)
        self.max_query_length = int(max_query_length)
        self.max_answer_length = int(max_answer_length)
        self.null_score_diff_threshold = float(null_score_diff_threshold)
        self.version_2_with_negative = bool(version_2_with_negative)
        self.convention = convention

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "doc_stride": self.doc_stride,
            "max_query_length": self.max_query_length,
            "max_answer_length": self.max_answer_length,
            "null_score_diff_threshold": self.null_score_diff_threshold,
            "version_2_with_negative": self.version_2_with_negative,
            "convention": self.convention,
        }

    def call(self, question, context):
        return self.windows(question, context)

    def map_batch(self, x, y=None, sample_weight=None):
        """x `(question, context)` (B,) strings; y `(answer_start, answer_end)` character offsets
        (-1: no answer) or None. Returns W >= B windows: (x, {start_logits, end_logits} positions)."""
        question, context = x
        if y is None:
            out = self.windows(question, context)
            targets = None
        else:
            start, end = y
            out = self.windows(question, context, char_to_byte(context, start), char_to_byte(context, end))
            targets = {"start_logits": out["start_positions"], "end_logits": out["end_positions"]}
        inputs = {k: out[k] for k in ("token_ids", "segment_ids", "padding_mask")}
        return keras.utils.pack_x_y_sample_weight(inputs, targets, None)

    def windows(
        self,
        question: tf.Tensor,
        context: tf.Tensor,
        answer_start: tf.Tensor | None = None,
        answer_end: tf.Tensor | None = None,
    ) -> dict[str, tf.Tensor]:
        question = self.cut(question, self.max_query_length)  # contexts are windowed, never cut
        q_ids, _, _ = self.tokenizer.tokenize_with_offsets(question)
        q_ids = tf.cast(q_ids[:, : self.max_query_length], tf.int32)  # (B, <=Q)
        c_ids, c_start, c_end = self.tokenizer.tokenize_with_offsets(context)  # (B, N_b)
        c_ids = tf.cast(c_ids, tf.int32)
        c_start, c_end = tf.cast(c_start, tf.int32), tf.cast(c_end, tf.int32)

        q_len = tf.cast(q_ids.row_lengths(), tf.int32)  # (B,)
        n_ctx = tf.cast(c_ids.row_lengths(), tf.int32)  # (B,)
        span = self.sequence_length - q_len - 3  # context tokens per window, (B,)
        if self.convention == HF_PIPELINE:  # doc_stride is the overlap: step = window - overlap
            step = tf.maximum(span - self.doc_stride, 1)  # (B,); >= 1 by the check in __init__
        else:
            step = tf.fill(tf.shape(span), tf.constant(self.doc_stride, tf.int32))  # (B,)
        extra = tf.maximum(n_ctx - span, 0)
        num_windows = 1 + (extra + step - 1) // step  # (B,)

        example_index = tf.repeat(tf.range(tf.size(num_windows)), num_windows)  # (W,)
        window_number = tf.ragged.range(num_windows).flat_values  # (W,)
        win_start = window_number * tf.gather(step, example_index)  # first context token, (W,)
        win_len = tf.minimum(
            tf.gather(span, example_index), tf.gather(n_ctx, example_index) - win_start
        )  # (W,)
        base = tf.cast(tf.gather(c_ids.row_starts(), example_index), tf.int32) + win_start
        flat_index = tf.ragged.range(base, base + win_len)  # (W, win_len) into flat values
        w_ids = tf.gather(c_ids.flat_values, flat_index)
        w_start = tf.gather(c_start.flat_values, flat_index)
        w_end = tf.gather(c_end.flat_values, flat_index)
        w_q = tf.gather(q_ids, example_index)  # (W, Q_b)

        packed = self.packer((w_q, w_ids))
        lead = tf.gather(q_len, example_index) + 2  # [CLS] q [SEP] before the context, (W,)
        ones = tf.ones_like(lead)
        shape = [None, self.sequence_length]

        def offsets(values: tf.RaggedTensor) -> tf.Tensor:
            row = tf.concat([_fill_rows(lead, -1), values, _fill_rows(ones, -1)], axis=1)
            return row.to_tensor(default_value=-1, shape=shape)  # (W, T)

        out = {
            "token_ids": packed["token_ids"],
            "segment_ids": packed["segment_ids"],
            "padding_mask": packed["padding_mask"],
            "example_index": example_index,
            "token_start": offsets(w_start),
            "token_end": offsets(w_end),
        }
        if answer_start is not None:
            a_start = tf.cast(answer_start, tf.int32)
            a_end = tf.cast(answer_end, tf.int32)
            # First token ending after the answer start; last token starting before its end.
            tok_s = tf.reduce_sum(tf.cast(c_end <= a_start[:, None], tf.int32), axis=1)
            tok_e = tf.reduce_sum(tf.cast(c_start < a_end[:, None], tf.int32), axis=1) - 1
            s = tf.gather(tok_s, example_index) - win_start
            e = tf.gather(tok_e, example_index) - win_start
            answerable = tf.gather(a_start, example_index) >= 0
            inside = answerable & (s >= 0) & (e < win_len) & (s <= e)
            out["start_positions"] = tf.where(inside, s + lead, 0)
            out["end_positions"] = tf.where(inside, e + lead, 0)
        return out
