"""Pretraining (MLM + NSP) from raw text: `keras-bert pretrain` (`keras_bert.training.pretrain`)."""

from keras_bert.tasks.registry import Task

TASK = Task(
    name="pretraining",
    model="keras_bert.models.bert_pretrainer:BertPretrainer",
    preprocessor="keras_bert.preprocessing.pretraining_preprocessor:PretrainingPreprocessor",
    servable=None,  # exported as fill-mask
    description="masked-LM + next-sentence pretraining",
)
