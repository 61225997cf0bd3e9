"""Raw text -> sharded MLM + NSP pretraining TFRecords (the `keras-bert pretraining-data` command).

Streaming: the corpus is read and tokenized `chunk_documents` documents at a time, and only the
token ids of the current chunk are held in memory (int32 arrays, one per sentence). Random "next"
segments are drawn from the same chunk, as the original script draws them from the files given to
one run (its README advises splitting a large corpus into shards and running it per shard).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import tensorflow as tf

from keras_bert.data.corpus import read_documents
from keras_bert.data.pretraining_examples import (
    PretrainingConfig,
    PretrainingExampleBuilder,
    SpecialTokens,
    chunked,
    instance_to_features,
)
from keras_bert.data.tfrecords import ShardedTFRecordWriter, serialize_features
from keras_bert.data.tokenized_documents import tokenize_documents

logger = logging.getLogger(__name__)


def create_pretraining_data(
    corpus_files: str | Sequence[str],
    tokenizer,
    out_dir: str,
    config: PretrainingConfig | None = None,
    seed: int = 12345,
    num_shards: int = 1,
    chunk_documents: int = 2000,
) -> dict:
    """Writes pretraining TFRecords for `corpus_files`; returns {"files", "examples", "documents"}.

    Args:
        corpus_files: text in the pretraining format (one sentence a line, blank line between docs).
        tokenizer: a `WordPieceTokenizer` (special ids and `vocabulary` are read from it).
        out_dir: folder for `pretraining-XXXXX-of-NNNNN.tfrecord` shards.
        config: the recipe's knobs (default `PretrainingConfig()`); seed: makes the output
            reproducible.
        chunk_documents: documents tokenized and paired at a time (bounds memory).

    Raises:
        ValueError: the corpus holds no text.
    """
    config = config or PretrainingConfig()
    special = SpecialTokens.from_tokenizer(tokenizer)
    builder = PretrainingExampleBuilder(config, special, seed=seed)
    total_docs = total_examples = 0
    started = time.time()
    with ShardedTFRecordWriter(out_dir, num_shards) as writer:
        for chunk_index, chunk in enumerate(chunked(read_documents(corpus_files), chunk_documents)):
            documents = tokenize_documents(chunk, tokenizer)
            logger.info(
                "chunk %d: tokenized %d documents (%d sentences); pairing and masking x%d",
                chunk_index + 1,
                len(documents),
                sum(len(d) for d in documents),
                config.dupe_factor,
            )
            for instance in builder.instances(documents):
                features = instance_to_features(
                    instance, config.seq_len, config.max_predictions, special.pad_id
                )
                writer.write(serialize_features(features))
            total_docs += len(documents)
            total_examples = writer.count
            logger.info(
                "chunk %d: %d documents so far, %d examples written (%.0f examples/s)",
                chunk_index + 1,
                total_docs,
                total_examples,
                total_examples / max(time.time() - started, 1e-6),
            )
        paths = list(writer.paths)
    if total_examples == 0:
        for path in paths:
            tf.io.gfile.remove(path)
        files = [corpus_files] if isinstance(corpus_files, str) else list(corpus_files)
        raise ValueError(f"empty corpus: no text to make examples from in {files}")
    return {"files": paths, "examples": total_examples, "documents": total_docs}
