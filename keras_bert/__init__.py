"""keras-bert: BERT in Keras 3, from raw text to a TF Serving endpoint.

Importing it asks TensorFlow for its pooling CPU allocator (`keras_bert.runtime`; set
`TF_CPU_ALLOCATOR_USE_BFC=false` to opt out) and nothing else: every name below loads on first use
(PEP 562), so `import keras_bert` and the `keras-bert` command line (`--help`, argument errors) stay
fast and never load TensorFlow. Keras finds the saveable classes (models, preprocessors,
tokenizer) when `.keras` files are loaded after `import keras_bert`, whatever the import order:
they are registered as soon as Keras itself is imported (at once if it already is, else by a
one-shot import hook that runs right after `keras` loads).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
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

_SAVEABLE_MODULES = ("keras_bert.models", "keras_bert.preprocessing", "keras_bert.tokenizers")


def _register_saveables() -> None:
    for module in _SAVEABLE_MODULES:
        importlib.import_module(module)


class _RegisterAfterKeras(importlib.abc.MetaPathFinder):
    """Finds `keras` with the other finders, and registers keras_bert's classes once its module
    has run (a `find_spec` that is not followed by an import, as TensorFlow's probes are, changes
    nothing)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _RegisteringLoader(spec.loader, self)
        return spec


class _RegisteringLoader(importlib.abc.Loader):
    def __init__(self, loader, finder):
        self.loader, self.finder = loader, finder

    def __getattr__(self, name):  # everything else (resources, source) from the real loader
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        if self.finder in sys.meta_path:
            sys.meta_path.remove(self.finder)
        _register_saveables()


if "keras" in sys.modules:  # Keras is loaded already: registering the classes costs nothing.
    _register_saveables()
elif not any(isinstance(finder, _RegisterAfterKeras) for finder in sys.meta_path):
    sys.meta_path.insert(0, _RegisterAfterKeras())


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'keras_bert' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_EXPORTS])
