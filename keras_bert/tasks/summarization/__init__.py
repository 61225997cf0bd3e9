"""Extractive summarization (BERTSum): a raw document -> its best sentences with offsets."""

from keras_bert.tasks.registry import Task

TASK = Task(
    name="summarization",
    model="keras_bert.models.bert_extractive_summarizer:BertExtractiveSummarizer",
    preprocessor="keras_bert.preprocessing.summarization_preprocessor:SummarizationPreprocessor",
    servable="keras_bert.tasks.summarization.servable:SummarizationServable",
    finetune="keras_bert.tasks.summarization.finetune",
    sequence_length=512,
    learning_rate=5e-5,
    description="document -> summary sentences (extractive)",
)
