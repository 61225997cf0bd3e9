"""keras-bert: BERT in Keras 3, from raw text to a TF Serving endpoint.

Importing it asks TensorFlow for its pooling CPU allocator (`keras_bert.runtime`; set
`TF_CPU_ALLOCATOR_USE_BFC=false` to opt out) and nothing else: every name below loads on first use
(PEP 562), so `import keras_bert` and the `keras-bert` command line (`--help`, argument errors) stay
fast and never load TensorFlow. Keras finds the model classes when `.keras` files are loaded once
`keras_bert.models` is imported: any model name here (`keras_bert.BertBackbone`),
`keras_bert.load_model`, or `import keras_bert` after Keras or TensorFlow (import order
`keras`, `keras_bert`, as isort sorts them) does that.
"""

from __future__ import annotations

import importlib
import sys

from keras_bert.runtime import prefer_pooled_cpu_allocator

prefer_pooled_cpu_allocator()  # before anything imports TensorFlow (see keras_bert/runtime.py)

__version__ = "0.1.0"

_EXPORTS = {
    "BertBackbone": "keras_bert.models.bert_backbone",
    "BertPretrainer": "keras_bert.models.bert_pretrainer",
    "BertClassifier": "keras_bert.models.bert_classifier",
    "BertTokenTagger": "keras_bert.models.bert_token_tagger",
    "BertSpanQA": "keras_bert.models.bert_span_qa",
    "WordPieceTokenizer": "keras_bert.tokenizers",
    "build_vocabulary": "keras_bert.tokenizers",
    "SegmentPacker": "keras_bert.preprocessing",
    "MlmMasker": "keras_bert.preprocessing",
    "PRESETS": "keras_bert.presets",
    "minilm_dir": "keras_bert.presets",
    "load_backbone": "keras_bert.convert",
    "load_model": "keras_bert.convert",
    "save_hf": "keras_bert.convert",
}

__all__ = sorted(_EXPORTS)

if "keras" in sys.modules:  # Keras is loaded already: registering the model classes costs nothing.
    importlib.import_module("keras_bert.models")


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'keras_bert' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_EXPORTS])
