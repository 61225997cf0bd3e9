"""Fixtures for the pretraining-data tests: the real MiniLM vocabulary and tokenizer."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def vocab_path() -> str:
    from keras_bert.presets import minilm_dir

    return os.path.join(minilm_dir(), "vocab.txt")


@pytest.fixture(scope="session")
def tokenizer(vocab_path):
    from keras_bert.tokenizers import WordPieceTokenizer

    return WordPieceTokenizer(vocabulary=vocab_path, lowercase=True)
