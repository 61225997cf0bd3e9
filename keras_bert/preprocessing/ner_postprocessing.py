"""NER post-processing: token tag predictions -> entities with character spans.

`decode_entities` is TensorFlow-only (in-graph, for the SavedModel export); `word_tags` maps
predictions back to the input words in Python for evaluation.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_bert.bio_tags import split_tag
from keras_bert.preprocessing.text_cut import continuation_table  # noqa: F401  (re-exported)


def decode_entities(
    text: tf.Tensor,
    logits: tf.Tensor,
    token_ids: tf.Tensor,
    token_start: tf.Tensor,
    token_end: tf.Tensor,
    label_names: list[str],
    continuation: tf.Tensor,
    max_entities: int = 16,
) -> dict[str, tf.Tensor]:
    """Decode BIO tag logits into entities, in TensorFlow ops.

    A word is a first piece plus the continuation pieces after it; its tag is the prediction on
    the first piece. An entity starts at a `B-X` word or an `I-X` word not preceded by type X
    (IOB1/IOB2 tolerant, as `keras_bert.bio_tags.tags_to_spans`).

    Args:
        text: string (B,), the original texts.
        logits: float (B, T, C) from `BertTokenTagger`.
        token_ids: int32 (B, T); token_start, token_end: int32 (B, T) byte offsets, -1 off-text.
        label_names: C tag names.
        continuation: bool (V,) from `continuation_table`.
        max_entities: entities kept per text (first ones), the rest dropped.
    Returns dict, each (B, max_entities): `entity_text` string, `entity_label` string,
        `entity_start`, `entity_end` int32 character offsets (end exclusive), `entity_score` float32
        (mean first-piece probability); padding "" / -1.
    """
    prefixes, types = zip(*(split_tag(t) for t in label_names), strict=True)
    type_names = sorted({t for t in types if t})
    prefix_table = tf.constant([{"O": 0, "B": 1, "I": 2}[p] for p in prefixes], tf.int32)
    type_table = tf.constant([type_names.index(t) if t else -1 for t in types], tf.int32)

    probs = tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)
    tags = tf.argmax(probs, axis=-1, output_type=tf.int32)  # (B, T)
    score = tf.reduce_max(probs, axis=-1)
    valid = token_start >= 0
    word_start = valid & ~tf.gather(continuation, token_ids)
    word_start |= valid & ~tf.concat([tf.zeros_like(valid[:, :1]), valid[:, :-1]], axis=1)
    word_id = tf.cumsum(tf.cast(word_start, tf.int32), axis=1) - 1  # (B, T), -1 before any word
    # Broadcast each word's first-piece tag and score onto all of its pieces.
    start_tag = tf.where(word_start, tags, 0)
    batch_rows = tf.shape(tags)[0]
    seq = tf.shape(tags)[1]
    rows = tf.repeat(tf.range(batch_rows)[:, None], seq, axis=1)
    keys = tf.stack([rows, tf.maximum(word_id, 0)], axis=-1)
    word_tag = tf.scatter_nd(
        tf.boolean_mask(keys, word_start), tf.boolean_mask(start_tag, word_start), [batch_rows, seq]
    )
    tag = tf.where(valid & (word_id >= 0), tf.gather_nd(word_tag, keys), 0)
    prefix = tf.gather(prefix_table, tag)
    etype = tf.where(valid, tf.gather(type_table, tag), -1)  # (B, T)
    inside = etype >= 0
    prev_type = tf.concat([-tf.ones_like(etype[:, :1]), etype[:, :-1]], axis=1)
    begin = word_start & inside & ((prefix == 1) | (prev_type != etype))
    entity_id = tf.cumsum(tf.cast(begin, tf.int32), axis=1) - 1  # (B, T)
    member = inside & (entity_id >= 0) & (entity_id < max_entities)

    slots = batch_rows * max_entities
    segment = tf.boolean_mask(rows * max_entities + entity_id, member)
    ent_start = tf.math.unsorted_segment_min(tf.boolean_mask(token_start, member), segment, slots)
    ent_end = tf.math.unsorted_segment_max(tf.boolean_mask(token_end, member), segment, slots)
    ent_type = tf.math.unsorted_segment_max(tf.boolean_mask(etype, member), segment, slots)
    scored = member & word_start
    segment_scored = tf.boolean_mask(rows * max_entities + entity_id, scored)
    ent_score = tf.math.unsorted_segment_mean(tf.boolean_mask(score, scored), segment_scored, slots)
    count = tf.math.unsorted_segment_sum(tf.ones_like(segment), segment, slots)
    present = tf.reshape(count > 0, [batch_rows, max_entities])
    ent_start = tf.reshape(ent_start, [batch_rows, max_entities])
    ent_end = tf.reshape(ent_end, [batch_rows, max_entities])
    ent_type = tf.reshape(ent_type, [batch_rows, max_entities])
    ent_score = tf.reshape(ent_score, [batch_rows, max_entities])

    texts = tf.repeat(text[:, None], max_entities, axis=1)
    safe_start = tf.where(present, ent_start, 0)
    safe_len = tf.where(present, ent_end - ent_start, 0)
    entity_text = tf.strings.substr(texts, safe_start, safe_len, unit="BYTE")
    char_start = tf.strings.length(
        tf.strings.substr(texts, tf.zeros_like(safe_start), safe_start, unit="BYTE"), "UTF8_CHAR"
    )
    char_end = char_start + tf.strings.length(entity_text, "UTF8_CHAR")
    labels = tf.gather(tf.constant(type_names + [""]), tf.where(present, ent_type, len(type_names)))
    return {
        "entity_text": tf.where(present, entity_text, ""),
        "entity_label": labels,
        "entity_start": tf.where(present, char_start, -1),
        "entity_end": tf.where(present, char_end, -1),
        "entity_score": tf.where(present, ent_score, -1.0),
    }


def word_tags(
    predictions: np.ndarray, word_index: np.ndarray, num_words: list[int], label_names: list[str]
) -> tuple[list[list[str]], int]:
    """Token predictions (B, T) int -> one tag per input word (Python, for evaluation).

    Words cut off by truncation get "O". Returns (tags per sentence, number of truncated words).
    """
    out, truncated = [], 0
    for row, index, n in zip(predictions, word_index, num_words, strict=True):
        tags = ["O"] * n
        seen = 0
        for pred, w in zip(row.tolist(), index.tolist(), strict=True):
            if 0 <= w < n:
                tags[w] = label_names[pred]
                seen += 1
        truncated += n - seen
        out.append(tags)
    return out, truncated
