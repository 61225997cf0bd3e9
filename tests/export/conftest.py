"""Fixtures for the export tests: `keras_bert.export` import, toy SavedModels, free ports."""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _ensure_export_package() -> None:
    """Maps `export/` to `keras_bert.export` when the editable install does not (yet) do it."""
    try:
        import keras_bert.export  # noqa: F401
    except ModuleNotFoundError:
        import keras_bert

        spec = importlib.util.spec_from_file_location(
            "keras_bert.export",
            ROOT / "export" / "__init__.py",
            submodule_search_locations=[str(ROOT / "export")],
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules["keras_bert.export"] = module
        spec.loader.exec_module(module)
        keras_bert.export = module


_ensure_export_package()


@pytest.fixture(scope="session")
def toy_base(tmp_path_factory) -> pathlib.Path:
    """A model base path with toy versions 1 and 2 (see `export_toys.py`)."""
    from export_toys import write_toy_versions

    base = tmp_path_factory.mktemp("toy") / "toy"
    write_toy_versions(base)
    return base


@pytest.fixture(scope="module")
def tokenizer(minilm_dir):
    """The real MiniLM vocabulary (uncased) with the package tokenizer."""
    from keras_bert.tokenizers.wordpiece_tokenizer import WordPieceTokenizer

    return WordPieceTokenizer(str(minilm_dir / "vocab.txt"))


@pytest.fixture(scope="module")
def models(tokenizer):
    """Tiny task models on that vocabulary (`export_models.task_models`)."""
    from export_models import task_models

    return task_models(tokenizer)
