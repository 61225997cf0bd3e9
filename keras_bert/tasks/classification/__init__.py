"""Sentence / sentence-pair classification."""

from keras_bert.tasks.registry import Task

TASK = Task(
    name="classification",
    model="keras_bert.models.bert_classifier:BertClassifier",
    preprocessor="keras_bert.preprocessing.classification_preprocessor:ClassificationPreprocessor",
    servable="keras_bert.tasks.classification.servable:ClassificationServable",
    finetune="keras_bert.tasks.classification.finetune",
    aliases=("classify",),
    sequence_length=128,
    learning_rate=3e-5,
    description="text (or text pair) -> label",
)
