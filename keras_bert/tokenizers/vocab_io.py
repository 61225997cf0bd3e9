"""Reading and writing WordPiece vocabularies (one token per line, line number = id)."""

from __future__ import annotations

import os
from collections.abc import Sequence


def read_vocabulary(path: str | os.PathLike) -> list[str]:
    """Reads a `vocab.txt`: one token per line, surrounding whitespace stripped (as the original)."""
    with open(path, encoding="utf-8") as f:
        tokens = [line.strip() for line in f.read().split("\n")]
    while tokens and tokens[-1] == "":
        tokens.pop()  # trailing newline(s)
    return tokens


def write_vocabulary(tokens: Sequence[str], path: str | os.PathLike) -> None:
    """Writes one token per line (UTF-8, `\\n` line ends)."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for token in tokens:
            f.write(token + "\n")
