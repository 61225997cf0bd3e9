"""Extract the bundled pretraining corpus from Debian's `r-cran-janeaustenr` package.

Run once by a maintainer (the output is committed under `keras_bert/resources/corpus/`):

    cd /tmp && apt-get download r-cran-janeaustenr && dpkg-deb -x r-cran-janeaustenr_*.deb janeaustenr
    python scripts/extract_corpus.py --package-root /tmp/janeaustenr --out keras_bert/resources/corpus

The R package keeps the novels in a lazy-load database (`data/Rdata.rdx` index + `data/Rdata.rdb`
blobs), each novel a character vector with one line of the Project Gutenberg text per element. A
small reader for R's XDR serialization format (only the types these files use) is included, so the
script needs nothing but the standard library.

Output format (the one `create_pretraining_data.py` reads): one sentence per line, a blank line
between documents; each chapter is one document. Sentences are split by a simple rule-based splitter.
"""

from __future__ import annotations

import argparse
import gzip
import re
import struct
import zlib
from pathlib import Path

DATA_DIR = "usr/lib/R/site-library/janeaustenr/data"

# Novels written to the training files, and the held-out one (a few chapters, for tests).
TRAIN_BOOKS = {
    "prideprejudice": "pride_and_prejudice.txt",
    "persuasion": "persuasion.txt",
    "northangerabbey": "northanger_abbey.txt",
}
HELDOUT_BOOK = ("emma", "heldout_emma.txt", 3)  # (R name, file name, number of chapters)

# --- R XDR serialization (format versions 2 and 3), the subset used by janeaustenr ------------------
_NILVALUE, _REF, _SYM, _LIST, _CHAR, _LGL, _INT, _STR, _VEC = 254, 255, 1, 2, 9, 10, 13, 16, 19


class _RReader:
    """Reads one XDR-serialized R object: NULL, symbols, pairlists, logical/int, character and list vectors."""

    def __init__(self, data: bytes):
        if data[:2] != b"X\n":
            raise ValueError("not an XDR-serialized R object")
        self.data, self.pos, self.refs = data, 2, []
        version = self._int()
        self._int(), self._int()  # R version that wrote it, minimal R version to read it.
        if version == 3:
            length = self._int()
            self.pos += length  # Skip the native encoding name.

    def _int(self) -> int:
        (value,) = struct.unpack_from(">i", self.data, self.pos)
        self.pos += 4
        return value

    def read(self):
        flags = self._int()
        kind, has_attr, has_tag = flags & 0xFF, bool(flags & (1 << 9)), bool(flags & (1 << 10))
        if kind == _NILVALUE:
            return None
        if kind == _REF:
            return self.refs[(flags >> 8) - 1]
        if kind == _SYM:
            name = self.read()
            self.refs.append(name)
            return name
        if kind == _CHAR:
            length = self._int()
            if length == -1:
                return None  # NA_character_
            text = self.data[self.pos : self.pos + length].decode("utf-8", errors="replace")
            self.pos += length
            return text
        if kind == _LIST:  # Pairlist (attributes): read attr, tag, car, then the rest.
            items = {}
            while kind == _LIST:
                if has_attr:
                    self.read()
                tag = self.read() if has_tag else None
                items[tag] = self.read()
                flags = self._int()
                kind, has_attr, has_tag = (
                    flags & 0xFF,
                    bool(flags & (1 << 9)),
                    bool(flags & (1 << 10)),
                )
            if kind != _NILVALUE:
                raise ValueError(f"unexpected pairlist terminator {kind}")
            return items
        if kind in (_LGL, _INT, _STR, _VEC):
            length = self._int()
            if kind in (_LGL, _INT):
                value = list(struct.unpack_from(f">{length}i", self.data, self.pos))
                self.pos += 4 * length
            else:
                value = [self.read() for _ in range(length)]
            if has_attr:
                attributes = self.read()
                names = attributes.get("names") if isinstance(attributes, dict) else None
                if names is not None:
                    return dict(zip(names, value, strict=True))
            return value
        raise ValueError(f"R type {kind} not supported by this small reader")


def read_lazyload_db(data_dir: Path) -> dict[str, list[str]]:
    """Returns {object name: character vector} from an R lazy-load database."""
    index = _RReader(gzip.decompress((data_dir / "Rdata.rdx").read_bytes())).read()
    blob = (data_dir / "Rdata.rdb").read_bytes()
    objects = {}
    for name, (offset, length) in index["variables"].items():
        # Each entry: 4-byte big-endian uncompressed size, then a zlib stream.
        objects[name] = _RReader(zlib.decompress(blob[offset + 4 : offset + length])).read()
    return objects


# --- text -> documents of sentences -----------------------------------------------------------------
_CHAPTER = re.compile(r"^\s*(CHAPTER|Chapter)\s+[IVXLC\d]+\.?\s*$")
# Editorial matter after the novel's end (a modern edition's note in Northanger Abbey): dropped.
_BACK_MATTER = re.compile(r"^\s*A NOTE ON THE TEXT\s*$")
_ABBREVIATIONS = {"Mr", "Mrs", "Ms", "Dr", "St", "Col", "Capt", "Gen", "Sir", "Rev", "Esq", "Lt"}
# A sentence ends at . ! or ? (optionally followed by closing quotes or brackets) before whitespace.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]_]*\s+")


def split_sentences(paragraph: str) -> list[str]:
    """Rule-based splitter: breaks after . ! ? when the next word starts a sentence."""
    sentences, start = [], 0
    for match in _SENTENCE_END.finditer(paragraph):
        before = paragraph[start : match.start()].split()
        word = before[-1].rstrip(".") if before else ""
        following = paragraph[match.end() : match.end() + 2]
        if word.strip("\"'“‘_") in _ABBREVIATIONS:
            continue
        if not following or not (following[0].isupper() or following[0] in "\"'“‘_("):
            continue
        sentences.append(paragraph[start : match.end()].strip())
        start = match.end()
    sentences.append(paragraph[start:].strip())
    return [s for s in sentences if s]


def chapters(lines: list[str]) -> list[list[str]]:
    """Splits a novel into chapters, each a list of sentences (front matter before chapter 1 dropped)."""
    documents, paragraphs, paragraph, inside = [], [], [], False

    def flush_paragraph():
        if paragraph:
            paragraphs.append(" ".join(paragraph))
            paragraph.clear()

    for line in lines:
        line = (line or "").strip()
        if _BACK_MATTER.match(line):
            break
        if _CHAPTER.match(line):
            flush_paragraph()
            if inside and paragraphs:
                documents.append([s for p in paragraphs for s in split_sentences(p)])
            paragraphs.clear()
            inside = True
        elif not inside:
            continue
        elif line:
            paragraph.append(line)
        else:
            flush_paragraph()
    flush_paragraph()
    if paragraphs:
        documents.append([s for p in paragraphs for s in split_sentences(p)])
    return [d for d in documents if d]


def write_documents(path: Path, documents: list[list[str]]) -> None:
    path.write_text("\n\n".join("\n".join(doc) for doc in documents) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package-root", required=True, help="folder the .deb was extracted into")
    parser.add_argument("--out", required=True, help="output folder")
    args = parser.parse_args()
    books = read_lazyload_db(Path(args.package_root) / DATA_DIR)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, file_name in TRAIN_BOOKS.items():
        documents = chapters(books[name])
        write_documents(out / file_name, documents)
        size = (out / file_name).stat().st_size
        print(f"{file_name}: {len(documents)} documents, {size / 1e6:.2f} MB")
    name, file_name, count = HELDOUT_BOOK
    write_documents(out / file_name, chapters(books[name])[:count])
    print(f"{file_name}: {count} documents, {(out / file_name).stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
