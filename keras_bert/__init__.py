"""keras-bert: BERT in Keras 3, from raw text to a TF Serving endpoint.

Importing it asks TensorFlow for its pooling CPU allocator (`keras_bert.runtime`; set
`TF_CPU_ALLOCATOR_USE_BFC=false` to opt out) and nothing else: every name below loads on first use
(PEP 562), so `import keras_bert` and the `keras-bert` command line (`--help`, argument errors) stay
fast and never load TensorFlow. Keras finds the saveable classes (models, preprocessors,
tokenizer) when `.keras` files are loaded after `import keras_bert`, whatever the import order:
Keras' registry resolves `keras_bert>` names on their first lookup (installed at once if Keras is
loaded, else by a one-shot import hook right after `keras` loads). It also wires the one
upward call the layers need: `BertBackbone.from_preset` loads real weights through
`presets.load_weights`, which this module points at `keras_bert.convert` (imported on use).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

from keras_bert import presets
from keras_bert.runtime import prefer_pooled_cpu_allocator

prefer_pooled_cpu_allocator()  # before anything imports TensorFlow (see keras_bert/runtime.py)


def _load_preset_backbone(folder, **overrides):
    """`BertBackbone.from_preset`'s loader of real weights (`presets.load_weights`): wired here, at
    the package root above every layer, so that models import no checkpoint format (`convert`)."""
    from keras_bert.convert import load_backbone  # noqa: PLC0415 (TensorFlow loads on use only)

    return load_backbone(folder, **overrides)


presets.set_weights_loader(_load_preset_backbone)

__version__ = "0.1.0"

_EXPORTS = {
    "BertBackbone": "keras_bert.models.bert_backbone",
    "BertPretrainer": "keras_bert.models.bert_pretrainer",
    "BertClassifier": "keras_bert.models.bert_classifier",
    "BertTokenTagger": "keras_bert.models.bert_token_tagger",
    "BertSpanQA": "keras_bert.models.bert_span_qa",
    "BertTextEmbedder": "keras_bert.models.bert_text_embedder",
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


class _RegisteredOnFirstLookup(dict):
    """Keras' registry of custom objects, filling in keras_bert's classes the first time a
    `keras_bert>` name is looked up (by then every keras_bert module has finished importing)."""

    loaded = False

    def _load(self, key) -> None:
        if not self.loaded and isinstance(key, str) and key.startswith("keras_bert>"):
            type(self).loaded = True
            for module in _SAVEABLE_MODULES:
                importlib.import_module(module)

    def __contains__(self, key) -> bool:
        if not dict.__contains__(self, key):
            self._load(key)
        return dict.__contains__(self, key)

    def __getitem__(self, key):
        if not dict.__contains__(self, key):
            self._load(key)
        return dict.__getitem__(self, key)

    def get(self, key, default=None):
        return self[key] if key in self else default


def _install_lookup() -> None:
    """Makes `.keras` files load after `import keras_bert`, whatever the import order, without
    importing TensorFlow early: Keras' registry resolves keras_bert's names on first use."""
    from keras.src.saving import object_registration

    registry = object_registration.GLOBAL_CUSTOM_OBJECTS
    if not isinstance(registry, _RegisteredOnFirstLookup):
        object_registration.GLOBAL_CUSTOM_OBJECTS = _RegisteredOnFirstLookup(registry)


class _InstallAfterKeras(importlib.abc.MetaPathFinder):
    """Finds `keras` with the other finders and installs the lookup once its module has run (a
    `find_spec` not followed by an import, as TensorFlow's probes are, changes nothing)."""

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
            spec.loader = _InstallingLoader(spec.loader, self)
        return spec


class _InstallingLoader(importlib.abc.Loader):
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
        _install_lookup()


if "keras" in sys.modules:
    _install_lookup()
elif not any(isinstance(finder, _InstallAfterKeras) for finder in sys.meta_path):
    sys.meta_path.insert(0, _InstallAfterKeras())


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'keras_bert' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_EXPORTS])
