"""Fill-mask: the pretraining MLM head answers each literal [MASK]."""

from keras_bert.tasks.registry import Task

TASK = Task(
    name="fill-mask",
    model="keras_bert.models.bert_pretrainer:BertPretrainer",
    preprocessor="keras_bert.preprocessing.pretraining_preprocessor:PretrainingPreprocessor",
    servable="keras_bert.tasks.fill_mask.servable:FillMaskServable",
    description="text with [MASK]s -> top-k tokens",
)
