"""Character classes of the original BERT `BasicTokenizer`, as RE2 patterns for TF string ops.

google-research/bert decides per character, with Python's `unicodedata`:
- dropped: U+0000, U+FFFD and every character whose category starts with "C" except \\t \\n \\r;
- separator: space, \\t, \\n, \\r, category Zs, plus U+2028/U+2029 (not dropped, but `str.split()`
  splits on them);
- CJK ideograph: the original's code-point ranges (a word of its own);
- punctuation: ASCII 33-47, 58-64, 91-96, 123-126 or category P* (a word of its own).

The classes are generated from the running Python's `unicodedata` (not RE2's own `\\p{..}` tables,
whose Unicode version differs), so the in-graph tokenizer agrees with the Python reference by
construction. The patterns are plain strings: they are baked into the graph (and a SavedModel) as
op attributes, so the loading process needs no Python tables.
"""

from __future__ import annotations

import functools
import unicodedata

# The original's `_is_chinese_char` ranges (CJK Unified Ideographs and extensions, compatibility).
CJK_RANGES: tuple[tuple[int, int], ...] = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)
_SURROGATES = range(0xD800, 0xE000)  # never in valid UTF-8; RE2 rejects them in classes


def is_dropped(char: str) -> bool:
    """True for characters the original `_clean_text` removes."""
    if char in "\t\n\r":
        return False
    return char in ("\x00", "\ufffd") or unicodedata.category(char).startswith("C")


def is_separator(char: str) -> bool:
    """True for characters that end a word (whitespace in the original)."""
    return char in " \t\n\r\u2028\u2029" or unicodedata.category(char) == "Zs"


def is_cjk(char: str) -> bool:
    """True for the original's CJK ideograph ranges."""
    cp = ord(char)
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


def is_punctuation(char: str) -> bool:
    """True for the original's punctuation (ASCII symbols and category P*)."""
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _ranges(predicate) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for cp in range(0x110000):
        if cp in _SURROGATES or not predicate(chr(cp)):
            continue
        if out and out[-1][1] == cp - 1:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return out


def _char_class(ranges: list[tuple[int, int]] | tuple[tuple[int, int], ...]) -> str:
    parts = []
    for lo, hi in ranges:
        parts.append(f"\\x{{{lo:X}}}" if lo == hi else f"\\x{{{lo:X}}}-\\x{{{hi:X}}}")
    return "[" + "".join(parts) + "]"


@functools.cache
def dropped_class() -> str:
    """RE2 class of dropped characters."""
    return _char_class(_ranges(is_dropped))


@functools.cache
def separator_class() -> str:
    """RE2 class of separator characters."""
    return _char_class(_ranges(is_separator))


@functools.cache
def rare_separator_class() -> str:
    """RE2 class of separators other than the ASCII ones `tf.strings.split` already splits on."""
    return _char_class(_ranges(lambda c: c not in " \t\n\r" and is_separator(c)))


@functools.cache
def cjk_class() -> str:
    """RE2 class of CJK ideographs."""
    return _char_class(CJK_RANGES)


@functools.cache
def punctuation_class() -> str:
    """RE2 class of punctuation characters."""
    return _char_class(_ranges(is_punctuation))


@functools.cache
def nonspacing_mark_class() -> str:
    """RE2 class of category Mn (stripped after NFD when lower-casing)."""
    return _char_class(_ranges(lambda c: unicodedata.category(c) == "Mn"))
