"""Dynamic MLM + NSP pretraining data: pairs and masks re-drawn on every pass, in `tf.data`.

Pipeline: the corpus is tokenized once (token ids of the whole corpus are held in memory, int32;
use the static TFRecord path for corpora that do not fit). Each pass over the dataset then
1. draws NSP pairs with the same recipe as the static path (`create_pairs_from_document`: chunking,
   short targets, 50% actual next / 50% random document, longest-first trimming) from a
   `from_generator` source whose random state moves on with every pass;
2. batches them ragged, packs `[CLS] A [SEP] B [SEP]` with `SegmentPacker`;
3. masks in the graph with `MlmMasker` (tensorflow-text `RandomItemSelector`/`MaskValuesChooser`),
   seeded per batch from `tf.data.Dataset.random(seed, rerandomize_each_iteration=True)`.
Same `seed`, same batches; a new pass, new pairs and masks.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from keras_bert.data.corpus import read_documents
from keras_bert.data.pretraining_examples import PretrainingConfig, create_pairs_from_document
from keras_bert.data.tokenized_documents import tokenize_documents
from keras_bert.preprocessing.mlm_masker import MlmMasker
from keras_bert.preprocessing.segment_packer import SegmentPacker


class _PairSource:
    """Callable generator of NSP pairs; every call (one pass) draws with a new, seeded state."""

    def __init__(self, documents, seq_len, short_seq_prob, seed, num_shards=1, shard_index=0):
        self.documents, self.seq_len, self.short_seq_prob = documents, seq_len, short_seq_prob
        self.seed, self.num_shards, self.shard_index = seed, num_shards, shard_index
        self.passes = 0

    def __call__(self):
        # One permutation per pass shared by all input pipelines, each taking every k-th document.
        rng = random.Random(f"{self.seed}/{self.passes}")
        self.passes += 1
        order = list(range(len(self.documents)))
        rng.shuffle(order)
        pair_rng = random.Random(f"{self.seed}/{self.passes - 1}/{self.shard_index}")
        for index in order[self.shard_index :: self.num_shards]:
            pairs = create_pairs_from_document(
                self.documents, index, self.seq_len, self.short_seq_prob, pair_rng
            )
            for tokens_a, tokens_b, is_random_next in pairs:
                yield (
                    np.asarray(tokens_a, np.int32),
                    np.asarray(tokens_b, np.int32),
                    np.int32(is_random_next),
                )


def dynamic_pretraining_dataset(
    files: str | Sequence[str],
    tokenizer,
    seq_len: int,
    max_predictions: int,
    batch_size: int,
    whole_word_mask: bool = False,
    seed: int | None = None,
    input_context: tf.distribute.InputContext | None = None,
    masked_lm_prob: float = 0.15,
    short_seq_prob: float = 0.1,
    shuffle_buffer: int = 1000,
    repeat: bool = True,
) -> tf.data.Dataset:
    """Pretraining batches drawn afresh on every pass from raw text files.

    Args:
        files: text in the pretraining format (one sentence a line, blank line between documents).
        tokenizer: a `WordPieceTokenizer`.
        seq_len, max_predictions: packed length and prediction slots P.
        batch_size: global batch size (per-replica with `input_context`).
        whole_word_mask: mask whole words (`##` pieces with their word).
        seed: same seed, same sequence of batches; None draws one.
        input_context: from `distribute_datasets_from_function`: documents sharded by pipeline.
        masked_lm_prob, short_seq_prob: as in the static recipe.
        shuffle_buffer: pairs shuffled across documents within a pass.
        repeat: loop over passes forever (each pass new pairs and masks); False gives one pass per
            iteration of the dataset (a new iteration is a new pass).

    Returns:
        `(x, y, sample_weight)` batches with the structure and dtypes of
        `keras_bert.data.tfrecords.pretraining_dataset`.

    Raises:
        ValueError: empty corpus, or `seq_len` too small for `[CLS] A [SEP] B [SEP]`.
    """
    config = PretrainingConfig(
        seq_len=seq_len,
        max_predictions=max_predictions,
        masked_lm_prob=masked_lm_prob,
        short_seq_prob=short_seq_prob,
        dupe_factor=1,
        whole_word_mask=whole_word_mask,
    )
    documents = tokenize_documents(list(read_documents(files)), tokenizer)
    if not documents:
        raise ValueError(f"empty corpus: no text to make examples from in {files}")
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    num_shards, shard_index = 1, 0
    if input_context is not None:
        batch_size = input_context.get_per_replica_batch_size(batch_size)
        num_shards, shard_index = input_context.num_input_pipelines, input_context.input_pipeline_id
    source = _PairSource(documents, seq_len, config.short_seq_prob, seed, num_shards, shard_index)
    pairs = tf.data.Dataset.from_generator(
        source,
        output_signature=(
            tf.TensorSpec([None], tf.int32),  # tokens A
            tf.TensorSpec([None], tf.int32),  # tokens B
            tf.TensorSpec([], tf.int32),  # 1 = B is random
        ),
    )
    pairs = pairs.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:  # Before batching: batches run across passes, so even a tiny corpus fills them.
        pairs = pairs.repeat()
    pairs = pairs.ragged_batch(batch_size, drop_remainder=True)
    batch_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    dataset = tf.data.Dataset.zip((pairs, batch_seeds))

    packer = SegmentPacker(
        sequence_length=seq_len,
        start_value=tokenizer.cls_token_id,
        end_value=tokenizer.sep_token_id,
        pad_value=tokenizer.pad_token_id,
    )
    masker = MlmMasker.from_tokenizer(
        tokenizer,
        max_predictions=max_predictions,
        mask_selection_rate=masked_lm_prob,
        whole_word_mask=whole_word_mask,
    )

    def pack_and_mask(batch, batch_seed):
        tokens_a, tokens_b, labels = batch  # (B, (a)), (B, (b)), (B,)
        packed = packer((tokens_a, tokens_b))  # dict of (B, seq_len) int32
        masked = masker(packed["token_ids"], padding_mask=packed["padding_mask"], seed=batch_seed)
        x = {
            "token_ids": masked["token_ids"],
            "segment_ids": tf.cast(packed["segment_ids"], tf.int32),
            "padding_mask": tf.cast(packed["padding_mask"], tf.int32),
            "mask_positions": masked["mask_positions"],
        }
        y = {"mlm_logits": masked["mask_ids"], "nsp_logits": labels}
        sample_weight = {
            "mlm_logits": masked["mask_weights"],
            "nsp_logits": tf.ones_like(labels, dtype=tf.float32),
        }
        # Static shapes (drop_remainder=True): (B, seq_len), (B, P), (B,).
        for name, tensor in x.items():
            tensor.set_shape([batch_size, max_predictions if name == "mask_positions" else seq_len])
        for tensors in (y, sample_weight):
            tensors["mlm_logits"].set_shape([batch_size, max_predictions])
            tensors["nsp_logits"].set_shape([batch_size])
        return x, y, sample_weight

    dataset = dataset.map(pack_and_mask, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)
