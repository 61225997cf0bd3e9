"""Reference: the google-research/bert tokenizer (`BasicTokenizer` + `WordpieceTokenizer`) in plain
Python, rewritten from its published behaviour, with no Hugging Face deviations (no NFC pass, no
`never_split`, lower-casing per whitespace token). This is what "the original" means in the tests.
"""

from __future__ import annotations

import unicodedata

_CJK = (
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
)  # fmt: skip


def _whitespace(ch: str) -> bool:
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _control(ch: str) -> bool:
    return ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")


def _punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _cjk(ch: str) -> bool:
    return any(lo <= ord(ch) <= hi for lo, hi in _CJK)


def basic_tokenize(text: str | bytes, lowercase: bool = True) -> list[str]:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "ignore")  # the original's convert_to_unicode
    cleaned = "".join(
        " " if _whitespace(ch) else ch
        for ch in text
        if not (ord(ch) == 0 or ord(ch) == 0xFFFD or _control(ch))
    )
    spaced = "".join(f" {ch} " if _cjk(ch) else ch for ch in cleaned)
    words: list[str] = []
    for token in spaced.split():
        if lowercase:
            token = token.lower()
            token = "".join(
                c for c in unicodedata.normalize("NFD", token) if unicodedata.category(c) != "Mn"
            )
        run: list[str] = []
        for ch in token:
            if _punctuation(ch):
                if run:
                    words.append("".join(run))
                    run = []
                words.append(ch)
            else:
                run.append(ch)
        if run:
            words.append("".join(run))
    return " ".join(words).split()


def wordpiece(
    word: str, vocab: dict[str, int], unk: str = "[UNK]", max_chars: int = 100
) -> list[str]:
    if len(word) > max_chars:
        return [unk]
    pieces, start = [], 0
    while start < len(word):
        end, found = len(word), None
        while start < end:
            candidate = ("##" if start > 0 else "") + word[start:end]
            if candidate in vocab:
                found = candidate
                break
            end -= 1
        if found is None:
            return [unk]
        pieces.append(found)
        start = end
    return pieces


def tokenize_ids(text: str | bytes, vocab: dict[str, int], lowercase: bool = True) -> list[int]:
    return [vocab[p] for w in basic_tokenize(text, lowercase) for p in wordpiece(w, vocab)]
