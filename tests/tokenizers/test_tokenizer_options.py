"""`strip_accents` and `tokenize_chinese_chars` against Hugging Face's `BertTokenizer` (slow, Python).

Same settings on both sides, on the parity texts (`test_wordpiece_parity.TEXTS`). The slow tokenizer
adds an NFC pass the original BERT tokenizer does not have, so it is compared with ours on
NFC(text) (as in `test_cased_ids_equal_hf_slow_up_to_its_nfc_pass`); both of our paths (`__call__`
and `tokenize_with_offsets`) must give its ids exactly.
"""

from __future__ import annotations

import unicodedata

import pytest
import tensorflow as tf

from keras_bert.tokenizers import WordPieceTokenizer
from tests.tokenizers.test_wordpiece_parity import TEXTS, cased, uncased  # noqa: F401 (fixtures)

transformers = pytest.importorskip("transformers")

NFC_TEXTS = [unicodedata.normalize("NFC", t) for t in TEXTS]
SETTINGS = [  # (vocabulary, lowercase, strip_accents, tokenize_chinese_chars)
    ("uncased", True, False, True),
    ("uncased", True, None, False),
    ("uncased", True, True, True),
    ("cased", False, True, True),
    ("cased", False, None, False),
    ("cased", False, False, True),
]


def _hf_slow(path: str, lowercase: bool, strip_accents, tokenize_chinese_chars: bool):
    slow = transformers.BertTokenizer(
        path,
        do_lower_case=lowercase,
        strip_accents=strip_accents,
        tokenize_chinese_chars=tokenize_chinese_chars,
    )
    slow.basic_tokenizer.never_split = set()  # typed "[CLS]" is text, as in the original
    return [slow.convert_tokens_to_ids(slow._tokenize(t, split_special_tokens=True)) for t in TEXTS]


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: "-".join(map(str, s)))
def test_ids_equal_hf_slow_with_the_same_settings(setting, request):
    vocabulary, lowercase, strip_accents, tokenize_chinese_chars = setting
    path, base, _, _ = request.getfixturevalue(vocabulary)
    tokenizer = WordPieceTokenizer(
        base.vocabulary,
        lowercase=lowercase,
        strip_accents=strip_accents,
        tokenize_chinese_chars=tokenize_chinese_chars,
    )
    want = _hf_slow(path, lowercase, strip_accents, tokenize_chinese_chars)
    got = tokenizer(tf.constant(NFC_TEXTS)).to_list()
    with_offsets = tokenizer.tokenize_with_offsets(tf.constant(NFC_TEXTS))[0].to_list()
    wrong = [repr(TEXTS[i])[:60] for i in range(len(TEXTS)) if got[i] != want[i]]
    assert wrong == []
    assert with_offsets == got
    # The setting is not ignored: only the one equal to the default gives the default's ids.
    default_like = (strip_accents is None or strip_accents == lowercase) and tokenize_chinese_chars
    assert (got == default_ids_of(base)) == default_like


def default_ids_of(tokenizer: WordPieceTokenizer) -> list[list[int]]:
    return tokenizer(tf.constant(NFC_TEXTS)).to_list()


def test_defaults_are_the_original_and_round_trip_through_config(uncased):  # noqa: F811
    _, tokenizer, _, _ = uncased
    assert tokenizer.strip_accents is None and tokenizer.tokenize_chinese_chars is True
    explicit = WordPieceTokenizer(tokenizer.vocabulary, strip_accents=True)
    assert explicit(tf.constant(TEXTS)).to_list() == tokenizer(tf.constant(TEXTS)).to_list()
    config = WordPieceTokenizer(
        tokenizer.vocabulary, lowercase=False, strip_accents=True, tokenize_chinese_chars=False
    ).get_config()
    clone = WordPieceTokenizer.from_config(config)
    assert (clone.lowercase, clone.strip_accents, clone.tokenize_chinese_chars) == (
        False,
        True,
        False,
    )
    clone.set_vocabulary(tokenizer.vocabulary)
    text = tf.constant(["Café 中文"])  # cased vocabulary, accents stripped, CJK inside words
    ids, start, end = (t.to_list()[0] for t in clone.tokenize_with_offsets(text))
    assert clone(text).to_list()[0] == ids
    assert [clone.id_to_token(i) for i in ids] == ["[UNK]", "中", "##文"]  # "Cafe" not in vocab
    assert (start, end) == ([0, 6, 9], [5, 9, 12])
