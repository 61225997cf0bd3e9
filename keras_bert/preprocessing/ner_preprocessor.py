"""NER preprocessing in TensorFlow ops: words + word tags -> packed pieces + aligned labels.

Each word's label goes to its first WordPiece; its other pieces, [CLS], [SEP] and padding get
-1 (ignored: sample weight 0). Sentences longer than `sequence_length - 2` pieces are truncated;
words cut off get no prediction (`word_index` tells which words survived).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_bert.preprocessing._base import PackingPreprocessor

IGNORE = -1


@keras.saving.register_keras_serializable(package="keras_bert")
class NerPreprocessor(PackingPreprocessor):
    """Align word-level tags to WordPiece tokens.

    Args:
        tokenizer: a `WordPieceTokenizer` (called on (N,) strings -> ragged (N, None) int32 ids).
        sequence_length: T, tokens per packed sequence.
        packer: a `SegmentPacker`; built from the tokenizer's special ids if None.

    `__call__(words, labels=None)`:
        words: ragged string (B, None words); labels: ragged int (B, None) tag ids or None.
    Returns (x, y, sample_weight) when labels are given, else x:
        x: dict `token_ids`, `segment_ids`, `padding_mask` int32 (B, T);
        y: int32 (B, T), tag id on each word's first piece, 0 elsewhere;
        sample_weight: float32 (B, T), 1.0 on first pieces of kept words, 0.0 elsewhere.
    `word_index(words)`: int32 (B, T), index of the word whose first piece sits at each position,
        -1 elsewhere (maps token predictions back to words).
    """

    def _pieces(self, words: tf.RaggedTensor) -> tf.RaggedTensor:
        """(B, words) strings -> (B, words, pieces) int32; a word with no pieces becomes [UNK]."""
        pieces = tf.cast(self.tokenizer(words.flat_values), tf.int32)  # (N, None)
        if isinstance(pieces, tf.Tensor):
            pieces = tf.RaggedTensor.from_tensor(pieces)
        lengths = pieces.row_lengths()  # (N,)
        unk = tf.fill([tf.size(lengths), 1], tf.constant(self.tokenizer.unk_token_id, tf.int32))
        padded = tf.concat([pieces, tf.RaggedTensor.from_tensor(unk)], axis=1)  # (N, len + 1)
        keep = tf.ragged.range(lengths + 1) < tf.maximum(lengths, 1)[:, None]
        pieces = tf.ragged.boolean_mask(padded, keep)  # (N, max(len, 1))
        return tf.RaggedTensor.from_row_splits(pieces, words.row_splits)

    def _align(self, words: tf.RaggedTensor, per_word: tf.Tensor):
        """Spread one int value per word onto pieces: value on the first piece, -1 on the rest."""
        pieces = self._pieces(words)  # (B, W, P)
        piece_number = tf.ragged.range(pieces.values.row_lengths())  # (N, P)
        first = piece_number == 0
        spread = tf.repeat(per_word, pieces.values.row_lengths())  # (N*P,)
        spread = piece_number.with_flat_values(
            tf.where(first.flat_values, spread, IGNORE)
        )  # (N, P)
        spread = pieces.with_values(spread).merge_dims(1, 2)  # (B, tokens)
        tokens = pieces.merge_dims(1, 2)  # (B, tokens)
        keep = self.sequence_length - 2
        return tokens[:, :keep], spread[:, :keep]

    def _pad(self, values: tf.RaggedTensor) -> tf.Tensor:
        """[-1] + values + [-1], padded with -1 to (B, T)."""
        rows = tf.ones_like(values.row_lengths())
        edge = tf.RaggedTensor.from_row_lengths(tf.fill([tf.size(rows)], IGNORE), rows)
        row = tf.concat([edge, values, edge], axis=1)
        return row.to_tensor(default_value=IGNORE, shape=[None, self.sequence_length])

    def word_index(self, words: tf.RaggedTensor) -> tf.Tensor:
        word_numbers = tf.ragged.range(words.row_lengths()).flat_values
        _, spread = self._align(words, tf.cast(word_numbers, tf.int32))
        return self._pad(spread)

    def map_batch(self, x, y=None, sample_weight=None):
        """x: ragged (B, words) strings with y word tag ids (training), or (B,) raw strings
        (prediction: split and aligned as `text_inputs`). Returns `(x, y, sample_weight)`."""
        if isinstance(x, tf.RaggedTensor):
            if y is None:
                return self(x)
            inputs, targets, weights = self(x, tf.cast(y, tf.int32))
            return inputs, targets, weights if sample_weight is None else weights * sample_weight
        if y is not None:
            raise ValueError("token classification trains on word lists with word tags, not raw text")
        inputs = text_inputs(self, x)
        return {k: inputs[k] for k in ("token_ids", "segment_ids", "padding_mask")}

    def call(self, words: tf.RaggedTensor, labels: tf.RaggedTensor | None = None):
        if labels is None:
            dummy = tf.zeros_like(words.flat_values, dtype=tf.int32)
            tokens, _ = self._align(words, dummy)
            return self.packer(tokens)
        tokens, spread = self._align(words, tf.cast(labels.flat_values, tf.int32))
        x = self.packer(tokens)
        aligned = self._pad(spread)  # (B, T)
        y = tf.maximum(aligned, 0)
        sample_weight = tf.cast(aligned >= 0, tf.float32)
        return x, y, sample_weight


def text_inputs(preprocessor: NerPreprocessor, text: tf.Tensor) -> dict[str, tf.Tensor]:
    """Raw text (B,) string -> packed inputs plus byte offsets, for in-graph NER on user text.

    Returns dict `token_ids`, `segment_ids`, `padding_mask` int32 (B, T) and `token_start`,
    `token_end` int32 (B, T): byte span of each token in `text`, -1 on [CLS]/[SEP]/padding.
    """
    text = preprocessor.cut(text)  # offsets into the cut text are offsets into `text`
    ids, start, end = preprocessor.tokenizer.tokenize_with_offsets(text)
    keep = preprocessor.sequence_length - 2
    ids = tf.cast(ids[:, :keep], tf.int32)
    out = dict(preprocessor.packer(ids))
    out["token_start"] = preprocessor._pad(tf.cast(start[:, :keep], tf.int32))
    out["token_end"] = preprocessor._pad(tf.cast(end[:, :keep], tf.int32))
    return out
