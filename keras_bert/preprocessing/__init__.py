"""Preprocessing layers for `tf.data.map`, task models and serving graphs."""

from keras_bert.preprocessing.classification_preprocessor import ClassificationPreprocessor
from keras_bert.preprocessing.mlm_masker import MlmMasker as MlmMasker
from keras_bert.preprocessing.ner_preprocessor import NerPreprocessor
from keras_bert.preprocessing.pretraining_preprocessor import PretrainingPreprocessor
from keras_bert.preprocessing.segment_packer import SegmentPacker
from keras_bert.preprocessing.squad_preprocessor import SquadPreprocessor
from keras_bert.preprocessing.summarization_preprocessor import SummarizationPreprocessor
from keras_bert.preprocessing.text_preprocessor import TextPreprocessor

__all__ = [
    "ClassificationPreprocessor",
    "MlmMasker",
    "NerPreprocessor",
    "PretrainingPreprocessor",
    "SegmentPacker",
    "SquadPreprocessor",
    "SummarizationPreprocessor",
    "TextPreprocessor",
]
