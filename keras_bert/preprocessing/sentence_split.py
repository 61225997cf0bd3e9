"""In-graph sentence splitting with byte offsets: raw documents -> sentence spans.

A rule-based splitter in TensorFlow ops (one tensorflow-text op, `RegexSplitWithOffsets`, which
TF Serving links), so that the exported summarizer splits exactly as training did.

Rules, on whitespace-delimited words (`[\\s\\p{Zs}]+`, BERT's whitespace):
- a line break in the whitespace after a word ends the sentence (XSum / BBC text is one
  sentence per line; paragraphs in general);
- a word ending in `.`, `!`, `?` or `…` (optionally followed by closing quotes or brackets) ends
  the sentence when the next word starts with an upper-case letter, a digit or an opening quote or
  bracket, unless the word is a known abbreviation (`Mr.`, `Dr.`, `St.`, `No.`, months, ...) or an
  initial (`J.`, `U.S.`);
- the last word of a document ends its last sentence.
A sentence spans from its first word's first byte to its last word's last byte, so
`document[start:end]` is the sentence without surrounding whitespace (byte offsets into the UTF-8
string, tf-text's convention; convert to characters at the edges, as `byte_to_char_offsets` does).
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_text as tf_text

WHITESPACE = r"[\s\p{Zs}]+"
NEWLINE = r"(?s).*\n.*"
SENTENCE_END = "(?s).*[.!?\u2026][\"'\u201d\u2019)\\]]*"
OPENING = "[\"'\u201c\u2018(\\[]*"
ABBREVIATION = (
    "(?i)" + OPENING + r"(?:mr|mrs|ms|dr|prof|st|mt|gen|col|lt|sgt|capt|cpl|rev|hon|jr|sr|sen|rep|"
    r"gov|no|vs|etc|inc|ltd|co|corp|fig|approx|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\."
)
INITIALS = OPENING + r"(?:\p{L}\.)+"
STARTS_SENTENCE = OPENING + r"[\p{Lu}\p{N}].*"


def _shifted(values: tf.Tensor, row_ids: tf.Tensor, k: int, fill) -> tuple[tf.Tensor, tf.Tensor]:
    """(value at i + k, whether i + k is in the same row as i) for flat per-token values."""
    size = tf.shape(values)[0]
    index = tf.range(size) + k
    valid = index < size
    safe = tf.minimum(index, tf.maximum(size - 1, 0))
    same = valid & (tf.gather(row_ids, safe) == row_ids) if k else valid
    value = tf.where(same, tf.gather(values, safe), fill)
    return value, same


def split_sentences(text: tf.Tensor) -> tuple[tf.RaggedTensor, tf.RaggedTensor]:
    """Sentence spans of each document.

    Args:
        text: string (B,), UTF-8.
    Returns:
        (start, end): int32 ragged (B, None sentences), byte offsets into each document, end
        exclusive; a document with no word has no sentence.
    """
    text = tf.convert_to_tensor(text, tf.string)
    pieces, starts, ends = tf_text.regex_split_with_offsets(text, WHITESPACE, WHITESPACE)
    flat = pieces.flat_values  # words and whitespace runs, alternating, (M,)
    row_ids = tf.cast(pieces.value_rowids(), tf.int32)  # (M,)
    is_space = tf.strings.regex_full_match(flat, WHITESPACE)
    newline_after, _ = _shifted(tf.strings.regex_full_match(flat, NEWLINE), row_ids, 1, False)
    next_starts, has_next_word = _shifted(
        tf.strings.regex_full_match(flat, STARTS_SENTENCE), row_ids, 2, False
    )  # words are separated by exactly one whitespace run, so the next word is 2 pieces on
    abbreviation = tf.strings.regex_full_match(flat, ABBREVIATION) | tf.strings.regex_full_match(
        flat, INITIALS
    )
    punctuated = tf.strings.regex_full_match(flat, SENTENCE_END) & ~abbreviation & next_starts
    is_word = ~is_space
    ends_sentence = tf.boolean_mask(
        ~has_next_word | (newline_after & has_next_word) | punctuated, is_word
    )  # (W,) over words
    word_start = tf.cast(tf.boolean_mask(starts.flat_values, is_word), tf.int32)
    word_end = tf.cast(tf.boolean_mask(ends.flat_values, is_word), tf.int32)
    word_row = tf.boolean_mask(row_ids, is_word)
    # Every document's last word ends a sentence, so one running count numbers all sentences.
    ends_int = tf.cast(ends_sentence, tf.int32)
    sentence_id = tf.cumsum(ends_int, exclusive=True)  # (W,)
    count = tf.reduce_sum(ends_int)
    sentence_start = tf.math.unsorted_segment_min(word_start, sentence_id, count)
    sentence_end = tf.math.unsorted_segment_max(word_end, sentence_id, count)
    per_row = tf.math.unsorted_segment_sum(ends_int, word_row, tf.shape(text)[0])
    return (
        tf.RaggedTensor.from_row_lengths(sentence_start, per_row),
        tf.RaggedTensor.from_row_lengths(sentence_end, per_row),
    )


def sentence_texts(documents: list[str]) -> list[list[str]]:
    """Python lists of each document's sentences, as `split_sentences` finds them (eager)."""
    if not documents:
        return []
    start, end = split_sentences(tf.constant(documents))
    out = []
    for document, s, e in zip(documents, start.to_list(), end.to_list(), strict=True):
        raw = document.encode("utf-8")
        out.append([raw[a:b].decode("utf-8") for a, b in zip(s, e, strict=True)])
    return out


def byte_to_char_offsets(document: str, offsets) -> list[int]:
    """Byte offsets into `document`'s UTF-8 -> Python character offsets."""
    raw = document.encode("utf-8")
    return [len(raw[:b].decode("utf-8", errors="ignore")) for b in offsets]
