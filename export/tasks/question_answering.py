"""Question-answering servable: (question, context) -> best answer span over all windows."""

from __future__ import annotations

import tensorflow as tf
from keras_bert.export.servable import ServableModule

from keras_bert.preprocessing.squad_postprocessing import best_answers


class QuestionAnsweringServable(ServableModule):
    """`serving_default(question, context)` -> `answer` string, `score` float32, `start_char`,
    `end_char` int32 (Python character offsets: `context[start_char:end_char] == answer`),
    `has_answer` bool, each (B,). Long contexts are split in-graph into windows with a doc stride
    (the training `SquadPreprocessor`), every window is scored and the best span of at most
    `max_answer_length` tokens is kept. Token-id signatures return `start_logits`, `end_logits`.

    Args:
        model: a `BertSpanQA`.
        preprocessor: the training `SquadPreprocessor` (tokenizer, packer, window sizes).
        max_answer_length: most tokens per answer.
        version_2_with_negative: allow "no answer" (SQuAD 2.0) using `null_score_diff_threshold`.
    """

    task = "question-answering"
    text_inputs = ("question", "context")

    def __init__(
        self,
        model,
        preprocessor,
        max_answer_length: int = 30,
        version_2_with_negative: bool = False,
        null_score_diff_threshold: float = 0.0,
    ):
        super().__init__(model, preprocessor.tokenizer, preprocessor.packer)
        self.preprocessor = preprocessor
        self.max_answer_length = int(max_answer_length)
        self.version_2_with_negative = bool(version_2_with_negative)
        self.null_score_diff_threshold = float(null_score_diff_threshold)

    def from_tokens(self, inputs):
        logits = self.run_model(inputs)
        return {k: tf.cast(logits[k], tf.float32) for k in ("start_logits", "end_logits")}

    def from_text(self, question, context):
        windows = self.preprocessor.windows(question, context)  # W >= B windows
        logits = self.from_tokens(windows)
        best = best_answers(
            context,
            logits["start_logits"],
            logits["end_logits"],
            windows["token_start"],
            windows["token_end"],
            windows["example_index"],
            max_answer_length=self.max_answer_length,
            null_score_diff_threshold=self.null_score_diff_threshold,
            version_2_with_negative=self.version_2_with_negative,
        )
        return {k: best[k] for k in ("answer", "score", "start_char", "end_char", "has_answer")}
