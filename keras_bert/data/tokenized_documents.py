"""Documents of sentence strings -> documents of token-id arrays, with a `WordPieceTokenizer`."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def tokenize_documents(
    documents: list[list[str]], tokenizer, batch_size: int = 2048
) -> list[list[np.ndarray]]:
    """Sentences -> int32 token-id arrays with the tokenizer; empty sentences and documents dropped."""
    sentences = [sentence for document in documents for sentence in document]
    ids: list[np.ndarray] = []
    for start in range(0, len(sentences), batch_size):
        ragged = tokenizer(tf.constant(sentences[start : start + batch_size]))
        values = ragged.flat_values.numpy().astype(np.int32)
        splits = ragged.row_splits.numpy()
        ids.extend(values[splits[i] : splits[i + 1]] for i in range(len(splits) - 1))
    tokenized, offset = [], 0
    for document in documents:
        sentences_ids = [s for s in ids[offset : offset + len(document)] if len(s) > 0]
        offset += len(document)
        if sentences_ids:
            tokenized.append(sentences_ids)
    return tokenized
