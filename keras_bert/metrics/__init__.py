"""Task metrics: classification, entity-level NER, SQuAD EM/F1 (pure Python); `top1` re-exports
the Keras training metric `SparseTop1Accuracy` (from `keras_bert.layers.top1_accuracy`)."""

from keras_bert.metrics.classification import accuracy, macro_f1, majority_baseline
from keras_bert.metrics.ner import entity_prf, tags_to_spans
from keras_bert.metrics.squad import exact_match, f1, normalize_answer, squad_evaluate

__all__ = [
    "accuracy",
    "entity_prf",
    "exact_match",
    "f1",
    "macro_f1",
    "majority_baseline",
    "normalize_answer",
    "squad_evaluate",
    "tags_to_spans",
]
