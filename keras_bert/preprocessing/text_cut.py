"""Cut raw text before tokenizing it, to what a sequence of `max_tokens` tokens can use.

Tokenizing a 16 KB string whole to keep its first 128 tokens costs what 16 KB costs (and the
per-code-point offset path several times that); `cut_text` keeps a prefix that gives the same
first `max_tokens` tokens, with the same byte offsets, at a cost bounded by those tokens.

How the prefix is chosen (exact, no guess about bytes per token): start from
`max_tokens * CHARS_PER_TOKEN` characters, tokenize the prefix, and count the tokens that come
before the start of its last word (a token that is not a `##` continuation). Those belong to
words that end inside the prefix, so the full text tokenizes them identically: a word is cut off
by whitespace, punctuation or a CJK character, and cutting the text only removes characters after
them. When fewer than `max_tokens` such tokens exist and the text was cut, the budget doubles for
that row and the loop runs again; a text whose whole length fits is never cut. Typical text needs
one pass; whitespace-padded or pathological input needs at most log2(len / start) more passes,
each no larger than twice the prefix finally needed.
"""

from __future__ import annotations

import tensorflow as tf

CHARS_PER_TOKEN = 8  # first budget per token: WordPiece averages ~4-5 characters per token in English


def continuation_table(vocabulary: list[str]) -> tf.Tensor:
    """bool (V,): True for WordPiece continuation pieces (`##x`)."""
    return tf.constant([token.startswith("##") for token in vocabulary], dtype=tf.bool)


def _tokens_before_last_word(ids: tf.RaggedTensor, continuation: tf.Tensor) -> tf.Tensor:
    """(B, None) ids -> int32 (B,): index of each row's last word-initial token (0 if none)."""
    starts_word = tf.logical_not(tf.gather(continuation, ids.flat_values))
    positions = tf.ragged.range(ids.row_lengths()).flat_values
    marked = ids.with_flat_values(tf.where(starts_word, positions, tf.zeros_like(positions)))
    return tf.cast(tf.reduce_max(marked, axis=1), tf.int32)  # empty rows reduce to the dtype's min


def cut_text(
    tokenizer,
    text: tf.Tensor,
    max_tokens: int,
    continuation: tf.Tensor | None = None,
    chars_per_token: int = CHARS_PER_TOKEN,
) -> tf.Tensor:
    """The shortest tried prefix of each string whose first `max_tokens` tokens are the text's.

    Args:
        tokenizer: a `WordPieceTokenizer` (called on (B,) strings -> ragged int ids).
        text: string (B,).
        max_tokens: tokens the caller keeps of each text (e.g. `sequence_length - 2`).
        continuation: bool (V,) `continuation_table(tokenizer.vocabulary)`; built if None.
        chars_per_token: first budget in characters per kept token.
    Returns:
        string (B,), each a prefix of the input: `tokenize(cut)[:, :max_tokens]` equals
        `tokenize(text)[:, :max_tokens]`, and byte offsets into it are offsets into `text`.
    """
    if continuation is None:
        continuation = continuation_table(tokenizer.vocabulary)
    text = tf.convert_to_tensor(text, tf.string)
    full_chars = tf.strings.length(text, unit="UTF8_CHAR")
    first = tf.minimum(full_chars, max_tokens * chars_per_token)

    def needs_more(budget: tf.Tensor) -> tf.Tensor:
        cut = budget < full_chars
        # Only cut rows are tokenized here; a row that fits whole is never grown, and tokenizing
        # it would double the work of every short request (the caller tokenizes the result).
        prefix = tf.strings.substr(
            text, tf.zeros_like(budget), tf.where(cut, budget, 0), unit="UTF8_CHAR"
        )
        ids = tokenizer(prefix)
        if isinstance(ids, tf.Tensor):  # a dense (B, n) result when every row has n tokens
            ids = tf.RaggedTensor.from_tensor(ids)
        safe = _tokens_before_last_word(ids, continuation)
        return cut & (safe < max_tokens)

    def body(budget: tf.Tensor, grow: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        budget = tf.where(grow, tf.minimum(2 * budget, full_chars), budget)
        return budget, needs_more(budget)

    budget, _ = tf.while_loop(
        lambda _, grow: tf.reduce_any(grow), body, [first, needs_more(first)], parallel_iterations=1
    )
    return tf.strings.substr(text, tf.zeros_like(budget), budget, unit="UTF8_CHAR")
