"""Summarization servable: raw document -> its top-k sentences, their scores and offsets."""

from __future__ import annotations

import tensorflow as tf

from keras_bert.export.servable import ServableModule, trim_padding

TOP_K = 3  # sentences returned per document by default (BERTSum's summary length)


class SummarizationServable(ServableModule):
    """`serving_default(document)` -> for each document, its `top_k` best-scored sentences:
    `sentences` string (B, k), `scores` float32 (B, k) (the model's logits, best first),
    `start_char`, `end_char` int32 (B, k) (Python character offsets, as the QA export's:
    `document[start_char:end_char] == sentence`), and `summary` string (B,): those sentences in
    document order joined by a space. Slots beyond a document's scored sentences hold "", -inf
    and -1. Sentence splitting, tokenization and packing run in the graph (the training
    `SummarizationPreprocessor`).

    `k` is fixed at export (`--top-k`); TF Serving's predict API has no optional inputs, so a
    per-request k would need a second signature: clients wanting fewer keep the first columns
    (they are best first). Token-id signatures take packed sequences with a [CLS] before every
    sentence and return `logits` float32 (B, S) and `sentence_positions` int32 (B, S) (the
    [CLS] positions found in the ids, -1 padded).

    Bounded memory: each document is cut before splitting and tokenizing to a prefix with the
    first `sequence_length - 2` tokens (no sentence after it can be scored), and the model runs
    on `chunk_size` documents at a time; a request costs its own bytes plus one chunk.

    Args:
        model: a `BertExtractiveSummarizer`.
        preprocessor: its `SummarizationPreprocessor` (sequence length, most sentences S).
        top_k: sentences returned per document.
        chunk_size: documents per model run (default: 8192 tokens' worth).
    """

    task = "summarization"
    text_inputs = ("document",)

    def __init__(self, model, preprocessor, top_k: int = TOP_K, chunk_size: int | None = None):
        super().__init__(model, preprocessor, chunk_size)
        self.top_k = int(top_k)
        if self.top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")

    def limits(self) -> dict[str, int]:
        return {**super().limits(), "max_sentences": self.preprocessor.max_sentences,
                "top_k": self.top_k}

    def _logits(self, inputs, positions) -> tf.Tensor:
        logits = tf.cast(self.run_model(inputs, sentence_positions=positions), tf.float32)
        return tf.where(positions >= 0, logits, float("-inf"))  # (B, S)

    def from_tokens(self, inputs):
        ids = tf.cast(inputs["token_ids"], tf.int32)
        length = tf.shape(ids)[1]
        order = tf.range(length)[None, :]
        key = tf.where(ids == self.tokenizer.cls_token_id, order, length + order)
        first = tf.sort(key, axis=1)[:, : self.preprocessor.max_sentences]
        first = tf.pad(first, [[0, 0], [0, self.preprocessor.max_sentences - tf.shape(first)[1]]],
                       constant_values=length)
        positions = tf.where(first < length, first, -1)  # (B, S) the markers, in order
        return {"logits": self._logits(inputs, positions), "sentence_positions": positions}

    def from_text(self, document):
        rows = self.preprocessor.encode(document)  # cut, split, tokenized, packed as in training
        return self.map_chunks(self._top_sentences, rows)

    def _top_sentences(self, rows):
        logits = self._logits(trim_padding(rows), rows["sentence_positions"])  # (n, S)
        k = min(self.top_k, self.preprocessor.max_sentences)
        scores, index = tf.math.top_k(logits, k)  # (n, k), ties: the earlier sentence
        found = scores > float("-inf")
        start = tf.where(found, tf.gather(rows["sentence_start"], index, batch_dims=1), 0)
        end = tf.where(found, tf.gather(rows["sentence_end"], index, batch_dims=1), 0)
        text = tf.broadcast_to(rows["text"][:, None], tf.shape(start))
        sentences = tf.strings.substr(text, start, end - start, unit="BYTE")
        start_char = tf.strings.length(tf.strings.substr(text, 0 * start, start, unit="BYTE"),
                                       unit="UTF8_CHAR")
        end_char = start_char + tf.strings.length(sentences, unit="UTF8_CHAR")
        in_order = tf.argsort(tf.where(found, start, tf.int32.max), axis=1, stable=True)
        ordered = tf.gather(sentences, in_order, batch_dims=1)
        ordered_found = tf.gather(found, in_order, batch_dims=1)
        summary = tf.strings.reduce_join(
            tf.ragged.boolean_mask(ordered, ordered_found), axis=1, separator=" "
        )
        return {
            "sentences": tf.where(found, sentences, ""),
            "scores": scores,
            "start_char": tf.where(found, start_char, -1),
            "end_char": tf.where(found, end_char, -1),
            "summary": summary,
        }
