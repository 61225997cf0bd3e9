"""Extractive summarization preprocessing (BERTSum): a raw document -> one packed sequence with a
[CLS] marker before and a [SEP] after every sentence, alternating segment ids per sentence.

    [CLS] s0 tokens [SEP] [CLS] s1 tokens [SEP] [CLS] s2 ... [SEP] [PAD] ...
      0     0  ...    0     1     1 ...    1     0     0 ...

The model reads one score at each sentence's [CLS] (`sentence_positions`).

Long documents (BERTSum's choice): later sentences are truncated. Sentences are taken in order
while the whole sentence with its two markers fits in `sequence_length` tokens, and at most
`max_sentences` of them; the rest are not scored (position -1: the model gives them a large
negative logit, the export never returns them). A first sentence longer than the sequence is kept,
cut to the tokens that fit, so every non-empty document has a scored sentence.

Bounded cost: the document is cut before anything else to a prefix with the same first
`sequence_length - 2` tokens (`text_cut`): a sentence ending after the prefix cannot fit anyway
(the prefix holds at least `sequence_length - 2` tokens and every sentence adds 2 markers), so
the cut changes no result. The prefix is split into sentences in-graph (`sentence_split`),
tokenized once with byte offsets, and each token goes to the sentence its first byte falls in.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_bert.preprocessing._base import PackingPreprocessor
from keras_bert.preprocessing.sentence_split import split_sentences

MODEL_INPUTS = ("token_ids", "segment_ids", "padding_mask", "sentence_positions")


@keras.saving.register_keras_serializable(package="keras_bert")
class SummarizationPreprocessor(PackingPreprocessor):
    """Raw documents -> packed sentences with [CLS] markers (BERTSum).

    Args:
        tokenizer: a `WordPieceTokenizer`.
        sequence_length: T, tokens per document (markers included).
        max_sentences: S, most sentences scored per document (the model's score columns).

    `__call__(documents)` / `encode(documents)`: string (B,) ->
        `token_ids`, `segment_ids`, `padding_mask` int32 (B, T); `sentence_positions` int32
        (B, S), each scored sentence's [CLS] position, -1 for sentences not scored; `encode`
        also returns `sentence_start`, `sentence_end` int32 (B, S), byte offsets of those
        sentences in the document (end exclusive, -1 when not scored), and `text` string (B,),
        the cut prefix of each document those offsets index.
    `map_batch(documents, labels=None, sample_weight=None)`: labels are 0/1 per sentence of the
        document as `split_sentences` splits it (ragged (B, None) or dense (B, >= 0)); returns
        `(x, y, sample_weight)` with y float32 (B, S) and sample_weight 1.0 on scored sentences.
    """

    def __init__(self, tokenizer, sequence_length: int = 512, max_sentences: int = 64,
                 packer=None, **kwargs):
        super().__init__(tokenizer, sequence_length, packer, **kwargs)
        if self.sequence_length < 3:
            raise ValueError(f"sequence_length must be >= 3 ([CLS] token [SEP]), got {sequence_length}")
        self.max_sentences = int(max_sentences)
        if self.max_sentences < 1:
            raise ValueError(f"max_sentences must be >= 1, got {max_sentences}")

    def get_config(self) -> dict:
        return {**super().get_config(), "max_sentences": self.max_sentences}

    def encode(self, documents: tf.Tensor) -> dict[str, tf.Tensor]:
        documents = tf.convert_to_tensor(documents, tf.string)
        T, S = self.sequence_length, self.max_sentences
        cut = self.cut(documents)  # same first T - 2 tokens; byte offsets into it = into documents
        starts, ends = split_sentences(cut)  # (B, None) byte offsets
        starts, ends = starts[:, :S], ends[:, :S]
        ids, token_start, _ = self.tokenizer.tokenize_with_offsets(cut)  # (B, N)
        if isinstance(ids, tf.Tensor):
            ids = tf.RaggedTensor.from_tensor(ids)
            token_start = tf.RaggedTensor.from_tensor(token_start)
        ids = tf.cast(ids, tf.int32)
        token_start = tf.cast(token_start, tf.int32)
        # Sentence of each token: the last sentence starting at or before its first byte.
        dense_starts = starts.to_tensor(default_value=tf.int32.max)  # (B, S') sorted per row
        dense_tokens = token_start.to_tensor(default_value=-1)  # (B, N')
        sentence = tf.searchsorted(dense_starts, dense_tokens, side="right") - 1  # (B, N')
        sentence = tf.RaggedTensor.from_tensor(sentence, lengths=token_start.row_lengths())
        sentences_per_row = starts.row_lengths()  # (B,)
        # Tokens past the S-th sentence (or before the first) are dropped.
        first_sentence = tf.cumsum(sentences_per_row, exclusive=True)  # (B,) global id of row's first
        global_id = tf.cast(tf.gather(first_sentence, sentence.value_rowids()), tf.int32) + sentence.flat_values
        sentence_end = tf.gather(ends.flat_values, tf.maximum(global_id, 0))
        in_kept = (sentence.flat_values >= 0) & (token_start.flat_values < sentence_end)
        total = tf.cast(tf.reduce_sum(sentences_per_row), tf.int32)
        by_sentence = tf.RaggedTensor.from_value_rowids(
            tf.boolean_mask(ids.flat_values, in_kept), tf.boolean_mask(global_id, in_kept), nrows=total
        )  # (all sentences, L)
        lengths = tf.cast(by_sentence.row_lengths(), tf.int32) + 2  # with [CLS] and [SEP]
        lengths = tf.RaggedTensor.from_row_lengths(lengths, sentences_per_row)  # (B, S')
        offset = tf.cumsum(lengths, axis=1, exclusive=True)  # ragged cumsum: [CLS] positions
        fits = (offset + lengths <= T) | (offset == 0)  # whole sentences; the first always
        fits_flat = fits.flat_values
        cls_id = tf.constant(self.tokenizer.cls_token_id, tf.int32)
        sep_id = tf.constant(self.tokenizer.sep_token_id, tf.int32)
        marker = tf.ones_like(lengths.flat_values)[:, None]  # (all, 1)
        with_markers = tf.concat(
            [tf.RaggedTensor.from_tensor(marker * cls_id, row_splits_dtype=tf.int64),
             by_sentence.with_row_splits_dtype(tf.int64),
             tf.RaggedTensor.from_tensor(marker * sep_id, row_splits_dtype=tf.int64)], axis=1
        )  # (all, L + 2)
        sentence_number = tf.ragged.range(sentences_per_row).flat_values  # (all,) index in its row
        segment = tf.cast(sentence_number % 2, tf.int32)
        segments = with_markers.with_flat_values(
            tf.repeat(segment, with_markers.row_lengths())
        )
        kept_rows = tf.RaggedTensor.from_row_lengths(fits_flat, sentences_per_row)
        kept_per_row = tf.reduce_sum(tf.cast(kept_rows, tf.int64), axis=1)

        def pack(values: tf.RaggedTensor, pad: int) -> tf.Tensor:
            kept = tf.ragged.boolean_mask(values, fits_flat)  # (kept sentences, L + 2)
            rows = tf.RaggedTensor.from_row_lengths(kept, kept_per_row).merge_dims(1, 2)  # (B, tokens)
            return rows[:, :T].to_tensor(default_value=pad, shape=[None, T])

        token_ids = pack(with_markers, self.tokenizer.pad_token_id)
        segment_ids = pack(segments, 0)
        mask = pack(tf.ones_like(with_markers), 0)
        kept_offset = tf.ragged.boolean_mask(offset, kept_rows)  # (B, kept)
        kept_start = tf.ragged.boolean_mask(starts, kept_rows)
        kept_end = tf.ragged.boolean_mask(ends, kept_rows)
        # A first sentence longer than the sequence spans the part of it in the cut prefix.
        return {
            "text": cut,
            "token_ids": token_ids,
            "segment_ids": segment_ids,
            "padding_mask": mask,
            "sentence_positions": kept_offset.to_tensor(default_value=-1, shape=[None, S]),
            "sentence_start": kept_start.to_tensor(default_value=-1, shape=[None, S]),
            "sentence_end": kept_end.to_tensor(default_value=-1, shape=[None, S]),
        }

    def call(self, documents):
        encoded = self.encode(documents)
        return {k: encoded[k] for k in MODEL_INPUTS}

    def map_batch(self, x, y=None, sample_weight=None):
        inputs = self(x)
        if y is None:
            return inputs
        if isinstance(y, tf.RaggedTensor):
            y = y.to_tensor()
        y = tf.cast(y, tf.float32)[:, : self.max_sentences]
        y = tf.pad(y, [[0, 0], [0, self.max_sentences - tf.shape(y)[1]]])
        weight = tf.cast(inputs["sentence_positions"] >= 0, tf.float32)
        if sample_weight is not None:
            weight = weight * tf.cast(tf.reshape(sample_weight, [-1, 1]), tf.float32)
        return inputs, y, weight
