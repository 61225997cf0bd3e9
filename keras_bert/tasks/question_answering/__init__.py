"""Extractive question answering (SQuAD v1.1 / v2.0) over long documents."""

from keras_bert.tasks.registry import Task

TASK = Task(
    name="question-answering",
    model="keras_bert.models.bert_span_qa:BertSpanQA",
    preprocessor="keras_bert.preprocessing.squad_preprocessor:SquadPreprocessor",
    servable="keras_bert.tasks.question_answering.servable:QuestionAnsweringServable",
    finetune="keras_bert.tasks.question_answering.finetune",
    aliases=("qa",),
    sequence_length=384,
    learning_rate=5e-5,
    description="question + context -> answer span",
)
