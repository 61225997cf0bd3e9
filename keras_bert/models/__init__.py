"""Models: the backbone and the task models built on it."""

from keras_bert.models.bert_backbone import BertBackbone
from keras_bert.models.bert_classifier import BertClassifier
from keras_bert.models.bert_extractive_summarizer import BertExtractiveSummarizer
from keras_bert.models.bert_pretrainer import BertPretrainer
from keras_bert.models.bert_span_qa import BertSpanQA
from keras_bert.models.bert_text_embedder import BertTextEmbedder
from keras_bert.models.bert_token_tagger import BertTokenTagger

__all__ = [
    "BertBackbone",
    "BertClassifier",
    "BertExtractiveSummarizer",
    "BertPretrainer",
    "BertSpanQA",
    "BertTextEmbedder",
    "BertTokenTagger",
]
