"""One small `ServableModule` subclass per task; `TASKS` maps CLI task names to them."""

from __future__ import annotations

from keras_bert.export.tasks.classification import ClassificationServable
from keras_bert.export.tasks.embedding import EmbeddingServable
from keras_bert.export.tasks.fill_mask import FillMaskServable
from keras_bert.export.tasks.question_answering import QuestionAnsweringServable
from keras_bert.export.tasks.token_classification import TokenClassificationServable

TASKS = {
    cls.task: cls
    for cls in (
        ClassificationServable,
        QuestionAnsweringServable,
        TokenClassificationServable,
        FillMaskServable,
        EmbeddingServable,
    )
}

__all__ = [
    "TASKS",
    "ClassificationServable",
    "EmbeddingServable",
    "FillMaskServable",
    "QuestionAnsweringServable",
    "TokenClassificationServable",
]
