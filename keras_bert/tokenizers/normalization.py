"""Character classes of the original BERT `BasicTokenizer`, as RE2 patterns for TF string ops.

google-research/bert decides per character, with Python's `unicodedata`:
- dropped: U+0000, U+FFFD and every character whose category starts with "C" except \\t \\n \\r;
- separator: space, \\t, \\n, \\r, category Zs, plus U+2028/U+2029 (not dropped, but `str.split()`
  splits on them);
- CJK ideograph: the original's code-point ranges (a word of its own);
- punctuation: ASCII 33-47, 58-64, 91-96, 123-126 or category P* (a word of its own).

The classes are generated from the running Python's `unicodedata` (not RE2's own `\\p{..}` tables,
whose Unicode version differs), so the in-graph tokenizer agrees with the Python reference by
construction. The patterns (and the code-point tables) are constants: they are baked into the
graph (and a SavedModel), so the loading process needs no Python tables. `normalize_text` /
`split_words` apply the whole original normalisation to `tf.string` tensors; with
`backend="core"` accents are stripped with the per-code-point table (`decomposition_table`)
instead of tensorflow-text's NFD op, so the graph holds core TensorFlow ops only.
"""

from __future__ import annotations

import functools
import unicodedata

import numpy as np
import tensorflow as tf

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


_CLASSES = ("dropped", "separator", "rare_separator", "punctuation", "mn")


@functools.cache
def _all_ranges() -> dict[str, list[tuple[int, int]]]:
    """One pass over all code points -> merged code-point ranges per class (cached)."""
    out: dict[str, list[tuple[int, int]]] = {name: [] for name in _CLASSES}
    for cp in range(0x110000):
        if cp in _SURROGATES:
            continue
        char = chr(cp)
        category = unicodedata.category(char)
        separator = category == "Zs" or char in " \t\n\r\u2028\u2029"
        flags = (
            ("dropped", char not in "\t\n\r" and (category[0] == "C" or char == "\ufffd")),
            ("separator", separator),
            ("rare_separator", separator and char not in " \t\n\r"),
            ("punctuation", category[0] == "P" or (cp < 128 and is_punctuation(char))),
            ("mn", category == "Mn"),
        )
        for name, hit in flags:
            if not hit:
                continue
            ranges = out[name]
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return out


def _char_class(ranges: list[tuple[int, int]] | tuple[tuple[int, int], ...]) -> str:
    parts = []
    for lo, hi in ranges:
        parts.append(f"\\x{{{lo:X}}}" if lo == hi else f"\\x{{{lo:X}}}-\\x{{{hi:X}}}")
    return "[" + "".join(parts) + "]"


# Class codes of `class_code_runs` (a character is in at most one; dropped wins over CJK).
OTHER, DROPPED, SEPARATOR, CJK, PUNCTUATION = 0, 1, 2, 3, 4


@functools.cache
def class_code_runs() -> tuple[list[int], list[int]]:
    """All code points as runs: (run start code points, class code of each run), starting at 0."""
    codes = np.zeros(0x110000, np.int8)
    for name, value in (
        ("cjk", CJK),
        ("punctuation", PUNCTUATION),
        ("separator", SEPARATOR),
        ("dropped", DROPPED),
    ):
        for lo, hi in zip(*class_ranges(name), strict=True):
            codes[lo : hi + 1] = value  # later classes override earlier ones
    starts = np.concatenate([[0], np.flatnonzero(np.diff(codes)) + 1])
    return starts.tolist(), codes[starts].astype(int).tolist()


@functools.cache
def bmp_class_codes() -> list[int]:
    """Class code of every code point U+0000-U+FFFF (index = code point)."""
    starts, codes = class_code_runs()
    out = [0] * 0x10000
    bounds = [*starts, 0x110000]
    for lo, hi, code in zip(bounds[:-1], bounds[1:], codes, strict=True):
        if lo >= 0x10000:
            break
        out[lo : min(hi, 0x10000)] = [code] * (min(hi, 0x10000) - lo)
    return out


def class_ranges(name: str) -> tuple[list[int], list[int]]:
    """Sorted (lo, hi) code-point bounds of a class: dropped, separator, cjk, punctuation, mn."""
    ranges = sorted(CJK_RANGES) if name == "cjk" else _all_ranges()[name]
    return [lo for lo, _ in ranges], [hi for _, hi in ranges]


@functools.cache
def decomposition_table() -> tuple[list[int], list[int], list[int], list[int]]:
    """Characters that NFD + dropping category Mn changes, as (keys, starts, lengths, values).

    For `keys[i]` (sorted code points) the result is `values[starts[i]:starts[i] + lengths[i]]`
    (possibly empty: a lone accent); every other character stays as it is.
    """
    keys: list[int] = []
    starts: list[int] = []
    lengths: list[int] = []
    values: list[int] = []
    for cp in range(0x110000):
        if cp in _SURROGATES:
            continue
        char = chr(cp)
        hangul = 0xAC00 <= cp <= 0xD7A3  # decomposed algorithmically, not listed in the data
        if not (hangul or unicodedata.decomposition(char) or unicodedata.category(char) == "Mn"):
            continue
        out = [
            ord(c) for c in unicodedata.normalize("NFD", char) if unicodedata.category(c) != "Mn"
        ]
        if out != [cp]:
            keys.append(cp)
            starts.append(len(values))
            lengths.append(len(out))
            values.extend(out)
    return keys, starts, lengths, values


@functools.cache
def _decomposition_arrays() -> tuple[np.ndarray, ...]:
    keys, starts, lengths, values = decomposition_table()
    return (
        np.array(keys, np.int32),
        np.array(starts, np.int64),
        np.array(lengths, np.int64),
        np.array(values, np.int32),
    )


def strip_accents_by_table(x: tf.Tensor, table: tuple[tf.Tensor, ...] | None = None) -> tf.Tensor:
    """NFD + drop category Mn, per code point from `decomposition_table`, core TF ops only;
    valid UTF-8 `tf.string` (batch,) -> (batch,). `table`: that table as tensors (keys int32,
    starts int64, lengths int64, values int32), e.g. held by a tokenizer so that a SavedModel
    stores it once; made here when None.

    Equal to NFD + dropping Mn except for canonical reordering of two adjacent non-Mn combining
    marks (a per-character table cannot reorder them; no BERT vocabulary holds such a pair).
    """
    if table is None:
        table = tuple(tf.constant(a) for a in _decomposition_arrays())
    keys, starts, lengths, values = table
    cps = tf.strings.unicode_decode(x, "UTF-8")
    cp = cps.flat_values
    index = tf.minimum(tf.searchsorted(keys, cp, side="left"), tf.size(keys) - 1)
    hit = tf.equal(tf.gather(keys, index), cp)
    count = tf.where(hit, tf.gather(lengths, index), 1)  # code points each one becomes
    source = tf.where(hit, tf.gather(starts, index), 0)
    out = tf.ragged.range(count)  # (n, None) positions inside each replacement
    owner = out.value_rowids()
    new = tf.where(
        tf.gather(hit, owner),
        tf.gather(values, tf.gather(source, owner) + out.flat_values),
        tf.gather(cp, owner),
    )
    row_lengths = tf.math.unsorted_segment_sum(count, cps.value_rowids(), cps.nrows())
    return tf.strings.unicode_encode(
        tf.RaggedTensor.from_row_lengths(new, row_lengths, validate=False), "UTF-8"
    )


def dropped_class() -> str:
    """RE2 class of dropped characters."""
    return _char_class(_all_ranges()["dropped"])


def separator_class() -> str:
    """RE2 class of separator characters."""
    return _char_class(_all_ranges()["separator"])


def rare_separator_class() -> str:
    """RE2 class of separators other than the ASCII ones `tf.strings.split` already splits on."""
    return _char_class(_all_ranges()["rare_separator"])


def cjk_class() -> str:
    """RE2 class of CJK ideographs."""
    return _char_class(CJK_RANGES)


def punctuation_class() -> str:
    """RE2 class of punctuation characters."""
    return _char_class(_all_ranges()["punctuation"])


def nonspacing_mark_class() -> str:
    """RE2 class of category Mn (stripped after NFD when lower-casing)."""
    return _char_class(_all_ranges()["mn"])


def normalize_text(
    x: tf.Tensor,
    lowercase: bool,
    strip_accents: bool | None = None,
    tokenize_chinese_chars: bool = True,
    backend: str = "tf_text",
    accent_table: tuple[tf.Tensor, ...] | None = None,
) -> tf.Tensor:
    """The original `BasicTokenizer` on whole strings: `tf.string` (batch,) -> (batch,) normalised
    text whose words are separated by ASCII whitespace.

    Words come out normalised (lower-cased when `lowercase`; NFD with accents stripped when
    `strip_accents`, which None sets to `lowercase`); punctuation and (when
    `tokenize_chinese_chars`) CJK characters are words of their own. Invalid UTF-8 is dropped (the
    original decodes with `errors="ignore"`). `backend`: "tf_text" strips accents with
    tensorflow-text's NFD op, "core" with `strip_accents_by_table` (core TensorFlow only; its
    `accent_table`).
    """
    strip = lowercase if strip_accents is None else bool(strip_accents)
    # Only strings with non-ASCII bytes can hold invalid UTF-8: those get invalid bytes -> U+FFFD
    # (dropped with the other cleaned characters); pure ASCII skips the transcoding pass.
    wide = tf.where(tf.logical_not(tf.strings.regex_full_match(x, r"[\x00-\x7f]*")))
    valid = tf.strings.unicode_transcode(
        tf.gather_nd(x, wide),
        "UTF-8",
        "UTF-8",
        errors="replace",
        replacement_char=0xFFFD,
        replace_control_characters=False,
    )
    x = tf.tensor_scatter_nd_update(x, wide, valid)
    x = tf.strings.regex_replace(x, dropped_class(), "")
    # Separators other than " \t\n\r" (which `split` handles) become spaces; CJK gets spaces.
    cjk = f"{cjk_class()}|" if tokenize_chinese_chars else ""
    if lowercase or strip:
        if tokenize_chinese_chars:
            x = tf.strings.regex_replace(x, f"({cjk_class()})|{rare_separator_class()}", r" \1 ")
        else:
            x = tf.strings.regex_replace(x, rare_separator_class(), " ")
        x = _lower_nfd_strip(x, wide, lowercase, strip, backend, accent_table)
        x = tf.strings.regex_replace(x, f"({punctuation_class()})", r" \1 ")
    else:
        x = tf.strings.regex_replace(
            x, f"({cjk}{punctuation_class()})|{rare_separator_class()}", r" \1 "
        )
    return x  # only ASCII whitespace is left


def split_words(
    x: tf.Tensor,
    lowercase: bool,
    strip_accents: bool | None = None,
    tokenize_chinese_chars: bool = True,
    backend: str = "tf_text",
) -> tf.RaggedTensor:
    """`normalize_text` split into words: `tf.string` (batch,) -> ragged (batch, words)."""
    return tf.strings.split(
        normalize_text(x, lowercase, strip_accents, tokenize_chinese_chars, backend)
    )


def lower(x: tf.Tensor) -> tf.Tensor:
    """Python `str.lower` on `tf.string` (batch,): ASCII-only strings cheaply, the rest with ICU."""
    non_ascii = _non_ascii(x)
    unicode_part = tf.strings.lower(tf.gather_nd(x, non_ascii), encoding="utf-8")
    return tf.tensor_scatter_nd_update(tf.strings.lower(x), non_ascii, unicode_part)


def _lower_nfd_strip(
    x: tf.Tensor,
    wide: tf.Tensor | None = None,
    lowercase: bool = True,
    strip: bool = True,
    backend: str = "tf_text",
    accent_table: tuple[tf.Tensor, ...] | None = None,
) -> tf.Tensor:
    """Python `str.lower` (when `lowercase`), NFD and drop category Mn (when `strip`);
    `tf.string` (batch,) -> (batch,).

    Lower-casing runs after cleaning and before punctuation splitting, so Python's final-sigma
    rule sees the same context (the whitespace token) as in the original. ASCII-only strings (most
    text) take the cheap ASCII path; the others (`wide`: their indices (k, 1), found here when
    not given) go through ICU.
    """
    non_ascii = _non_ascii(x) if wide is None else wide
    unicode_part = tf.gather_nd(x, non_ascii)
    if lowercase:
        unicode_part = tf.strings.lower(unicode_part, encoding="utf-8")
    if strip and backend == "core":
        unicode_part = strip_accents_by_table(unicode_part, accent_table)
    elif strip:
        import tensorflow_text as tf_text  # noqa: PLC0415 (only the tf_text backend needs it)

        unicode_part = tf_text.normalize_utf8(unicode_part, "NFD")
        unicode_part = tf.strings.regex_replace(unicode_part, nonspacing_mark_class(), "")
    ascii_part = tf.strings.lower(x) if lowercase else x
    return tf.tensor_scatter_nd_update(ascii_part, non_ascii, unicode_part)


def _non_ascii(x: tf.Tensor) -> tf.Tensor:
    """Indices (k, 1) of the valid UTF-8 strings in `x` that have a non-ASCII character."""
    return tf.where(tf.strings.length(x) != tf.strings.length(x, unit="UTF8_CHAR"))
