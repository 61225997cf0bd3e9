"""Task datasets: readers for user files and loaders for the bundled real datasets."""

from keras_bert.data.tasks.readers import (
    SkipReport,
    encode_labels,
    label_vocabulary,
    read_classification,
    read_conll,
    read_squad,
    tag_vocabulary,
    write_squad,
)
from keras_bert.data.tasks.real_datasets import (
    DATASETS,
    TaskData,
    eval_split_or_file,
    is_dataset_name,
    load_task_data,
)

__all__ = [
    "DATASETS",
    "SkipReport",
    "TaskData",
    "encode_labels",
    "eval_split_or_file",
    "is_dataset_name",
    "label_vocabulary",
    "load_task_data",
    "read_classification",
    "read_conll",
    "read_squad",
    "tag_vocabulary",
    "write_squad",
]
