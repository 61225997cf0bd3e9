"""Fixtures for task tests: the real MiniLM vocabulary with the package tokenizer and packer."""

from __future__ import annotations

import pytest
from task_helpers import make_tokenizer


@pytest.fixture(scope="session")
def tokenizer():
    return make_tokenizer()
