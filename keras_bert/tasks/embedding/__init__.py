"""Sentence embeddings from the backbone (mean, pooled or [CLS])."""

from keras_bert.tasks.registry import Task

TASK = Task(
    name="embedding",
    model="keras_bert.models.bert_text_embedder:BertTextEmbedder",
    preprocessor="keras_bert.preprocessing.text_preprocessor:TextPreprocessor",
    servable="keras_bert.tasks.embedding.servable:EmbeddingServable",
    description="text -> vector",
)
