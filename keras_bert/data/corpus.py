"""The bundled corpus and a streaming reader for the pretraining text format.

Format (google-research/bert `create_pretraining_data.py`): one sentence per line, a blank line
between documents; the end of a file also ends a document.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent.parent / "resources" / "corpus"
_TRAIN_FILES = ("pride_and_prejudice.txt", "persuasion.txt", "northanger_abbey.txt")
_HELDOUT_FILES = ("heldout_emma.txt",)


def bundled_corpus_files() -> list[str]:
    """Paths of the bundled training corpus (three Jane Austen novels, ~1.6 MB, public domain)."""
    return [str(CORPUS_DIR / name) for name in _TRAIN_FILES]


def heldout_corpus_files() -> list[str]:
    """Paths of the bundled held-out text (the first chapters of *Emma*), kept out of training."""
    return [str(CORPUS_DIR / name) for name in _HELDOUT_FILES]


def read_documents(files: str | Iterable[str]) -> Iterator[list[str]]:
    """Streams documents, each a list of non-empty sentence strings, one file at a time.

    Raises:
        FileNotFoundError: a file does not exist (named in the message).
    """
    files = [files] if isinstance(files, str) else list(files)
    for path in files:
        if not Path(path).is_file():
            raise FileNotFoundError(f"corpus file not found: {path}")
    for path in files:
        document: list[str] = []
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                line = line.strip()
                if line:
                    document.append(line)
                elif document:
                    yield document
                    document = []
        if document:
            yield document
