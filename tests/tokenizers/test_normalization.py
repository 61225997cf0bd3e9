"""The in-graph character classes and case mapping agree with Python's `unicodedata`, per code point.

Covers the whole BMP and plane 1, and every 13th code point above (the parity tests cover text).
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest
import tensorflow as tf

from keras_bert.tokenizers import normalization as N

CODE_POINTS = [
    cp
    for cp in list(range(0x20000)) + list(range(0x20000, 0x110000, 13))
    if not 0xD800 <= cp < 0xE000
]


# Capital letters added in Unicode 14 (Python 3.11's tables) that TensorFlow's ICU (Unicode 13) does
# not lower-case: Glagolitic U+2C2F, Latin U+A7C0/A7D0/A7D6/A7D8, Vithkuqi U+10570-10595. Ids
# differ only for a vocabulary that holds their lower-case forms (BERT/MiniLM vocabularies do not).
ICU_LOWERCASE_GAPS = {0x2C2F, 0xA7C0, 0xA7D0, 0xA7D6, 0xA7D8} | (
    set(range(0x10570, 0x10596)) - {0x1057B, 0x1058B, 0x10593}
)


@pytest.fixture(scope="module")
def chars():
    strings = [chr(cp) for cp in CODE_POINTS]
    return strings, tf.constant([s.encode("utf-8") for s in strings])


@pytest.mark.parametrize(
    "pattern, predicate",
    [
        (N.dropped_class, N.is_dropped),
        (N.separator_class, N.is_separator),
        (N.cjk_class, N.is_cjk),
        (N.punctuation_class, N.is_punctuation),
        (N.nonspacing_mark_class, lambda c: unicodedata.category(c) == "Mn"),
    ],
    ids=["dropped", "separator", "cjk", "punctuation", "Mn"],
)
def test_re2_class_equals_python_predicate(chars, pattern, predicate):
    strings, tensor = chars
    got = tf.strings.regex_full_match(tensor, pattern()).numpy()
    want = np.array([predicate(c) for c in strings])
    wrong = [hex(ord(strings[i])) for i in np.flatnonzero(got != want)[:10]]
    assert wrong == []


def test_lowercase_nfd_strip_equals_python_per_character(chars):
    strings, tensor = chars
    kept = [i for i, c in enumerate(strings) if not N.is_dropped(c)]
    got = N._lower_nfd_strip(tf.gather(tensor, kept)).numpy()
    wrong = []
    for i, g in zip(kept, got, strict=True):
        lowered = unicodedata.normalize("NFD", strings[i].lower())
        want = "".join(c for c in lowered if unicodedata.category(c) != "Mn")
        if g.decode("utf-8") != want:
            wrong.append(ord(strings[i]))
    assert set(wrong) <= ICU_LOWERCASE_GAPS, [hex(cp) for cp in set(wrong) - ICU_LOWERCASE_GAPS]


def test_lower_case_keeps_one_character_except_dotted_capital_i(chars):
    # tokenize_with_offsets relies on this to line characters up after lower-casing in context.
    strings, tensor = chars
    kept = [i for i, c in enumerate(strings) if not N.is_dropped(c)]
    lengths = tf.strings.length(
        tf.strings.lower(tf.gather(tensor, kept), encoding="utf-8"), unit="UTF8_CHAR"
    ).numpy()
    longer = [hex(ord(strings[kept[j]])) for j in np.flatnonzero(lengths != 1)]
    assert longer == ["0x130"]


def test_fast_wordpiece_pretokenizer_splits_only_where_we_do(chars):
    # `WordPieceTokenizer.__call__` lets tf-text's FastWordpiece split the normalised text; that is
    # exact only if it splits nowhere else than our separators/punctuation/CJK, or at characters
    # our cleaning has already dropped.
    import tensorflow_text as tf_text

    strings = [c for c in chars[0] if c not in "qz"]
    vocab = ["[UNK]", "q", "##z"]
    wordpiece = tf_text.FastWordpieceTokenizer(
        vocab, no_pretokenization=False, token_out_type=tf.string
    )
    pieces = wordpiece.tokenize(tf.constant([("q" + c + "z").encode() for c in strings]))
    splits = {ord(c) for c, n in zip(strings, pieces.row_lengths().numpy(), strict=True) if n != 1}
    ours = {
        ord(c)
        for c in strings
        if N.is_separator(c) or N.is_punctuation(c) or N.is_cjk(c) or N.is_dropped(c)
    }
    assert splits <= ours, sorted(hex(cp) for cp in splits - ours)[:20]
    assert {ord(c) for c in strings if N.is_punctuation(c) or N.is_cjk(c)} <= splits
