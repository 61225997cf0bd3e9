"""Question-answering servable: (question, context) -> best answer span over all windows."""

from __future__ import annotations

import tensorflow as tf

from keras_bert.export.servable import ServableModule, check_total_bytes
from keras_bert.preprocessing.squad_postprocessing import (
    select_answers,
    select_answers_hf,
    window_best_spans,
    window_top_spans_hf,
)
from keras_bert.preprocessing.squad_preprocessor import HF_PIPELINE, NQ
from keras_bert.preprocessing.text_cut import continuation_table

MAX_CONTEXT_BYTES = 512 * 1024  # default limit on the context bytes of one request


class QuestionAnsweringServable(ServableModule):
    """`serving_default(question, context)` -> `answer` string, `score` float32, `start_char`,
    `end_char` int32 (Python character offsets: `context[start_char:end_char] == answer`),
    `has_answer` bool, each (B,). Long contexts are split in-graph into windows with a doc stride
    (the training `SquadPreprocessor`); windows are scored `chunk_size` at a time, each window
    keeps only its best span of at most `max_answer_length` tokens, and each example's answer is
    the best over its windows. Token-id signatures return `start_logits`, `end_logits`.
    Windowing and scoring follow the preprocessor's `convention`: "original" (google-research/bert:
    summed logits, `score` is that sum), "nq" (the same spans, compared across windows by their
    margin over their own window's [CLS]; `score` is that margin) or "hf-pipeline" (transformers'
    QA pipeline: per-window probabilities, a window keeps its 12 best word-aligned spans, `score`
    is the answer's probability, or the null score when the answer is empty).

    Bounded memory: one chunk of windows in the model at a time; the windows' token ids and byte
    offsets (~24 bytes per window token) and the tokenized contexts grow with the request's
    context bytes, which are refused above `max_context_bytes` (INVALID_ARGUMENT naming the limit).
    Questions are cut before tokenizing to what `max_query_length` tokens use.

    Args:
        model: a `BertSpanQA`.
        preprocessor: the training `SquadPreprocessor` (tokenizer, packer, window sizes, and how
            answers are read: `max_answer_length`, `version_2_with_negative` (allow "no answer"),
            the tuned `null_score_diff_threshold`).
        chunk_size: windows per model run (default: 8192 tokens' worth).
        max_context_bytes: most UTF-8 bytes of context in one request (all examples together).
    """

    task = "question-answering"
    text_inputs = ("question", "context")

    def __init__(
        self,
        model,
        preprocessor,
        chunk_size: int | None = None,
        max_context_bytes: int = MAX_CONTEXT_BYTES,
    ):
        super().__init__(model, preprocessor, chunk_size)
        self.max_context_bytes = int(max_context_bytes)
        self.hf_pipeline = getattr(preprocessor, "convention", None) == HF_PIPELINE
        if self.hf_pipeline:
            self.continuation = tf.Variable(
                continuation_table(self.tokenizer.vocabulary), trainable=False, name="continuation")

    def limits(self) -> dict[str, int]:
        return {**super().limits(), "max_context_bytes": self.max_context_bytes}

    def from_tokens(self, inputs):
        logits = self.run_model(inputs)
        return {k: tf.cast(logits[k], tf.float32) for k in ("start_logits", "end_logits")}

    def _window_spans(self, windows):
        logits = self.from_tokens(windows)
        return window_best_spans(
            logits["start_logits"], logits["end_logits"], windows["token_start"],
            max_answer_length=self.preprocessor.max_answer_length,
        )

    def _window_spans_hf(self, windows):
        logits = self.from_tokens(windows)
        return window_top_spans_hf(
            logits["start_logits"], logits["end_logits"], windows["token_ids"],
            windows["token_start"], windows["token_end"], tf.convert_to_tensor(self.continuation),
            max_answer_length=self.preprocessor.max_answer_length,
        )

    def from_text(self, question, context):
        context = check_total_bytes(context, self.max_context_bytes, "context", "max_context_bytes")
        windows = self.preprocessor.windows(question, context)  # W >= B windows, questions cut
        if self.hf_pipeline:
            model_inputs = ("token_ids", "segment_ids", "padding_mask", "token_start", "token_end")
            spans = self.map_chunks(self._window_spans_hf, {k: windows[k] for k in model_inputs})
            best = select_answers_hf(
                context, spans, windows["example_index"],
                null_score_diff_threshold=self.preprocessor.null_score_diff_threshold,
                version_2_with_negative=self.preprocessor.version_2_with_negative,
            )
            return {k: best[k] for k in ("answer", "score", "start_char", "end_char", "has_answer")}
        model_inputs = ("token_ids", "segment_ids", "padding_mask", "token_start")
        spans = self.map_chunks(self._window_spans, {k: windows[k] for k in model_inputs})
        best = select_answers(
            context,
            spans,
            windows["token_start"],
            windows["token_end"],
            windows["example_index"],
            null_score_diff_threshold=self.preprocessor.null_score_diff_threshold,
            version_2_with_negative=self.preprocessor.version_2_with_negative,
            relative_to_null=self.preprocessor.convention == NQ,
        )
        return {k: best[k] for k in ("answer", "score", "start_char", "end_char", "has_answer")}
