"""Token classification (NER): words -> BIO tags -> entities with character offsets."""

from keras_bert.tasks.registry import Task

TASK = Task(
    name="token-classification",
    model="keras_bert.models.bert_token_tagger:BertTokenTagger",
    preprocessor="keras_bert.preprocessing.ner_preprocessor:NerPreprocessor",
    servable="keras_bert.tasks.token_classification.servable:TokenClassificationServable",
    finetune="keras_bert.tasks.token_classification.finetune",
    aliases=("ner",),
    sequence_length=128,
    learning_rate=5e-5,
    description="text -> entities",
)
