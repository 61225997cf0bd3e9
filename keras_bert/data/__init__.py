"""Data: the bundled corpus, MLM + NSP pretraining data (static TFRecords, dynamic tf.data), tasks.

Names are imported on first use (PEP 562): importing a submodule such as `keras_bert.data.tasks`
does not pull in the pretraining modules.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "bundled_corpus_files": "keras_bert.data.corpus",
    "heldout_corpus_files": "keras_bert.data.corpus",
    "read_documents": "keras_bert.data.corpus",
    "PretrainingConfig": "keras_bert.data.pretraining_examples",
    "create_pretraining_data": "keras_bert.data.static_pretraining",
    "pretraining_dataset": "keras_bert.data.tfrecords",
    "dynamic_pretraining_dataset": "keras_bert.data.dynamic_pretraining",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'keras_bert.data' has no attribute {name!r}")
