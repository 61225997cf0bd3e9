"""Building a WordPiece vocabulary from text files (tensorflow-text's `bert_vocab_from_dataset`)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence

import tensorflow as tf
from tensorflow_text.tools.wordpiece_vocab import bert_vocab_from_dataset as bert_vocab

from keras_bert.tokenizers import normalization

logger = logging.getLogger(__name__)

# Layout of the vocabularies we build: the five specials first, ids 0-4. (Google's uncased BERT
# vocab has [PAD]=0, [unused*], [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103; `WordPieceTokenizer`
# looks the ids up by name, so both layouts work.)
SPECIAL_TOKENS: tuple[str, ...] = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def build_vocabulary(
    files: Sequence[str | os.PathLike],
    size: int,
    lowercase: bool = True,
    special_tokens: Sequence[str] = SPECIAL_TOKENS,
    batch_size: int = 1024,
    learn_params: dict | None = None,
) -> list[str]:
    """Learns a WordPiece vocabulary of at most `size` tokens from UTF-8 text files.

    Words are split exactly as `WordPieceTokenizer` splits them (the original BERT basic
    tokenizer: cleaning, CJK, lower-casing and accent stripping when `lowercase`, punctuation),
    then counted and learned by tensorflow-text's `bert_vocab_from_dataset`. Progress goes to the
    `keras_bert.tokenizers.vocabulary` logger (INFO).

    Args:
        files: text files, any layout (blank lines are skipped).
        size: target vocabulary size, specials included (an upper bound).
        lowercase: build an uncased vocabulary (pair it with `WordPieceTokenizer(lowercase=True)`).
        special_tokens: reserved tokens placed first (ids 0, 1, ...).
        batch_size: lines per batch while counting words.
        learn_params: extra arguments for tf-text's WordPiece learner.

    Returns:
        The tokens, index = id.

    Raises:
        FileNotFoundError: a corpus file is missing.
        ValueError: no files, or the corpus holds no text.
    """
    paths = [os.fspath(f) for f in files]
    if not paths:
        raise ValueError("build_vocabulary: no corpus files given.")
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise FileNotFoundError(f"build_vocabulary: corpus file(s) not found: {missing}")
    total = 0
    for path in paths:
        with open(path, "rb") as f:
            total += sum(1 for line in f if line.strip())
    if total == 0:
        raise ValueError(f"build_vocabulary: the corpus is empty (no non-blank lines in {paths}).")
    if size <= len(special_tokens):
        raise ValueError(
            f"build_vocabulary: size={size} leaves no room after {len(special_tokens)} specials."
        )

    logger.info("vocab: %d lines in %d file(s); counting words", total, len(paths))
    started = time.monotonic()
    done = [0]

    def progress(lines: tf.Tensor) -> None:
        done[0] += int(lines)
        logger.info("vocab: counted %d/%d lines (%.0f%%)", done[0], total, 100.0 * done[0] / total)

    def normalize(lines: tf.Tensor) -> tf.Tensor:
        report = tf.py_function(progress, [tf.size(lines)], [])
        with tf.control_dependencies([report]):
            words = normalization.split_words(lines, lowercase)
        # Already split and normalised: tf-text's splitter only re-splits on the spaces.
        return tf.strings.reduce_join(words, axis=-1, separator=" ")

    dataset = (
        tf.data.TextLineDataset(paths)
        .filter(lambda line: tf.strings.length(tf.strings.strip(line)) > 0)
        .batch(batch_size)
        .map(normalize)
    )
    vocab = bert_vocab.bert_vocab_from_dataset(
        dataset,
        vocab_size=int(size),
        reserved_tokens=list(special_tokens),
        bert_tokenizer_params={"lower_case": False},
        learn_params=learn_params or {},
    )
    logger.info("vocab: %d tokens learned in %.1fs", len(vocab), time.monotonic() - started)
    return list(vocab)
