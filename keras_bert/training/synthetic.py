"""Synthetic pretraining batches with the real structure (smoke tests, benchmarks, no corpus)."""

from __future__ import annotations

import tensorflow as tf


def synthetic_pretraining_dataset(
    batch_size: int,
    seq_len: int = 128,
    max_predictions: int = 20,
    vocabulary_size: int = 30522,
    seed: int = 0,
    input_context: tf.distribute.InputContext | None = None,
) -> tf.data.Dataset:
    """Infinite dataset of random `(x, y, sample_weight)` batches as `BertPretrainer.fit` takes.

    Random token ids; the MLM label at each position is the (unmasked) token there, so the loss
    falls quickly (a copy task); NSP labels are random.

    Global batch k holds the same examples whatever the distribution: with `input_context`, each
    input pipeline takes its shard of every global batch and yields it in per-replica batches
    (so 1 replica x 8 and 2 replicas x 4 train on identical data). Deterministic for a seed
    (resume-safe with `skip`).
    """

    def make(index):
        s = tf.stack([tf.cast(seed, tf.int64), index])
        ids = tf.random.stateless_uniform([batch_size, seq_len], s, 5, vocabulary_size, tf.int32)
        positions = tf.random.stateless_uniform(
            [batch_size, max_predictions], s + 1, 1, seq_len - 1, tf.int32
        )
        labels = tf.gather(ids, positions, batch_dims=1)  # Learnable: predict the visible token.
        nsp = tf.random.stateless_uniform([batch_size], s + 3, 0, 2, tf.int32)
        half = seq_len // 2
        segment_ids = tf.concat(
            [tf.zeros([batch_size, half], tf.int32), tf.ones([batch_size, seq_len - half], tf.int32)], 1
        )
        x = {
            "token_ids": ids,
            "segment_ids": segment_ids,
            "padding_mask": tf.ones([batch_size, seq_len], tf.int32),
            "mask_positions": positions,
        }
        y = {"mlm_logits": labels, "nsp_logits": nsp}
        w = {
            "mlm_logits": tf.ones([batch_size, max_predictions], tf.float32),
            "nsp_logits": tf.ones([batch_size], tf.float32),
        }
        return x, y, w

    dataset = tf.data.Dataset.range(2**62).map(make)
    if input_context is not None:
        per_replica = input_context.get_per_replica_batch_size(batch_size)
        dataset = dataset.unbatch().shard(
            input_context.num_input_pipelines, input_context.input_pipeline_id
        ).batch(per_replica, drop_remainder=True)
    return dataset.prefetch(2)
