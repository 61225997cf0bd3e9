"""WordPiece (greedy longest-match-first, `##` suffixes) in core TensorFlow ops only.

The `backend="core"` counterpart of tensorflow-text's `FastWordpieceTokenizer` (no pre-tokenization):
words in, pieces with byte offsets into each word out, so an export that uses it needs no
tensorflow-text op. The vocabulary is a `tf.lookup.StaticHashTable` (string -> id) stored in the graph.

Algorithm (the original `WordpieceTokenizer`, vectorised over all words of a batch):
1. whole-word lookup: most words are vocabulary tokens and finish here (one lookup each);
2. the others walk a `tf.while_loop`: each step takes, for every unfinished word, all candidate
   pieces at its current position (lengths from the longest vocabulary token down to 1 character),
   looks them up in one batch and keeps the longest match. A word with no match at some position
   becomes one unknown token (the original's `[UNK]` for the whole word), as does a word of more
   than `max_input_chars_per_word` characters.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

SUFFIX = "##"


class CoreWordPiece(tf.Module):
    """Words (`tf.string` (words,)) -> pieces, core TensorFlow ops only.

    Args:
        vocabulary: tokens, index = id (the first occurrence of a duplicate wins).
        unknown_token: the token a word without a full split becomes.
        max_input_chars_per_word: longer words (in characters) become the unknown token.
    """

    def __init__(
        self, vocabulary: Sequence[str], unknown_token: str, max_input_chars_per_word: int
    ):
        super().__init__(name="core_wordpiece")
        token_to_id: dict[str, int] = {}
        for i, token in enumerate(vocabulary):
            token_to_id.setdefault(token, i)
        if unknown_token not in token_to_id:
            raise ValueError(f"CoreWordPiece: {unknown_token!r} is not in the vocabulary.")
        self.unknown_id = token_to_id[unknown_token]
        self.max_input_chars_per_word = int(max_input_chars_per_word)
        heads = [len(t) for t in token_to_id if not t.startswith(SUFFIX)]
        tails = [len(t) - len(SUFFIX) for t in token_to_id if t.startswith(SUFFIX)]
        # Longest candidate piece, in characters, at the start of a word and after it.
        self.max_head_chars = max(heads, default=1)
        self.max_tail_chars = max(max(tails, default=1), 1)
        self._max_head = tf.constant(self.max_head_chars, tf.int64)
        self._max_tail = tf.constant(self.max_tail_chars, tf.int64)
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(list(token_to_id), tf.string),
                tf.constant(list(token_to_id.values()), tf.int64),
            ),
            default_value=-1,
        )

    def tokenize_with_offsets(self, words: tf.Tensor):
        """`tf.string` (words,) -> (ids, start, end): ragged (words, None) int64, start/end byte
        offsets into each word (an unknown word: one piece over the whole word; an empty word: no
        piece)."""
        words = tf.convert_to_tensor(words, tf.string)
        num_words = tf.shape(words, out_type=tf.int64)[0]
        byte_len = tf.cast(tf.strings.length(words), tf.int64)
        char_len = tf.cast(tf.strings.length(words, unit="UTF8_CHAR"), tf.int64)
        whole = self.table.lookup(words)
        too_long = char_len > self.max_input_chars_per_word
        nonempty = char_len > 0
        done = tf.logical_and(tf.logical_or(whole >= 0, too_long), nonempty)
        single_id = tf.where(too_long, tf.constant(self.unknown_id, tf.int64), whole)

        # Words left for the piece-by-piece walk, with their character boundaries in bytes.
        rest = tf.where(tf.logical_and(tf.logical_not(done), nonempty))[:, 0]  # (r,)
        rest_words = tf.gather(words, rest)
        rest_chars = tf.gather(char_len, rest)
        _, char_starts = tf.strings.unicode_decode_with_offsets(rest_words, "UTF-8")
        # bounds[b_splits[i] + c]: byte where character c of word i starts (c = chars: its end).
        b_splits = char_starts.row_splits + tf.range(tf.size(rest, out_type=tf.int64) + 1)
        r = tf.size(rest, out_type=tf.int64)
        start_index = char_starts.value_rowids() + tf.range(
            tf.size(char_starts.flat_values, out_type=tf.int64)
        )
        bounds = tf.scatter_nd(
            tf.concat([start_index, b_splits[1:] - 1], axis=0)[:, None],
            tf.concat(
                [char_starts.flat_values, tf.gather(byte_len, rest)], axis=0
            ),
            shape=b_splits[-1:],
        )

        def step(k, position, active, failed, found):
            live = tf.where(active)[:, 0]  # (a,) into rest
            pos = tf.gather(position, live)
            longest = tf.where(pos > 0, self._max_tail, self._max_head)
            count = tf.minimum(tf.gather(rest_chars, live) - pos, longest)  # >= 1
            ends = tf.ragged.range(pos + count, pos, -1)  # candidate ends, longest first
            owner = ends.value_rowids()  # (c,) into live
            end = ends.flat_values
            word = tf.gather(live, owner)
            first = tf.gather(b_splits, word)
            byte_start = tf.gather(bounds, first + tf.gather(pos, owner))
            byte_end = tf.gather(bounds, first + end)
            piece = tf.strings.substr(tf.gather(rest_words, word), byte_start, byte_end - byte_start)
            prefix = tf.where(tf.gather(pos, owner) > 0, SUFFIX, "")
            ids = self.table.lookup(tf.strings.join([prefix, piece]))
            a = tf.size(live, out_type=tf.int64)
            best_end = tf.math.unsorted_segment_max(tf.where(ids >= 0, end, -1), owner, a)
            chosen = tf.logical_and(ids >= 0, tf.equal(end, tf.gather(best_end, owner)))
            best_id = tf.math.unsorted_segment_max(tf.where(chosen, ids, -1), owner, a)
            matched = best_end >= 0
            hit = tf.where(matched)[:, 0]
            hit_word = tf.gather(live, hit)
            hit_end = tf.gather(best_end, hit)
            first_hit = tf.gather(b_splits, hit_word)
            # This step's pieces as columns: word, piece number, id, start byte, end byte.
            found = found.write(
                k,
                tf.stack(
                    [
                        hit_word,
                        tf.fill(tf.shape(hit), tf.cast(k, tf.int64)),
                        tf.gather(best_id, hit),
                        tf.gather(bounds, first_hit + tf.gather(pos, hit)),
                        tf.gather(bounds, first_hit + hit_end),
                    ],
                    axis=1,
                ),
            )
            position = tf.tensor_scatter_nd_update(position, hit_word[:, None], hit_end)
            missed = tf.gather(live, tf.where(tf.logical_not(matched))[:, 0])
            failed = tf.tensor_scatter_nd_update(
                failed, missed[:, None], tf.ones_like(missed, tf.bool)
            )
            active = tf.logical_and(
                tf.logical_not(failed), position < rest_chars
            )
            return k + 1, position, active, failed, found

        state = (
            tf.constant(0, tf.int32),
            tf.zeros([r], tf.int64),
            tf.ones([r], tf.bool),
            tf.zeros([r], tf.bool),
            tf.TensorArray(
                tf.int64, size=0, dynamic_size=True, infer_shape=False, element_shape=[None, 5]
            ),
        )
        state = tf.while_loop(
            lambda k, position, active, *_: tf.reduce_any(active),
            step,
            state,
            maximum_iterations=self.max_input_chars_per_word,
        )
        k, _, _, failed, found = state
        found = tf.cond(k > 0, found.concat, lambda: tf.zeros([0, 5], tf.int64))
        walk = tf.unstack(tf.reshape(found, [-1, 5]), 5, axis=1)  # (pieces,) each
        w_word = walk[0]
        kept = tf.where(tf.logical_not(tf.gather(failed, w_word)))[:, 0]
        w_word, w_k, w_id, w_start, w_end = (tf.gather(t, kept) for t in walk)

        # One piece for whole-word hits and unknown words (too long, or the walk failed).
        failed_words = tf.gather(rest, tf.where(failed)[:, 0])
        one = tf.concat([tf.where(done)[:, 0], failed_words], axis=0)
        one_id = tf.concat(
            [
                tf.gather(single_id, tf.where(done)[:, 0]),
                tf.fill(tf.shape(failed_words), tf.constant(self.unknown_id, tf.int64)),
            ],
            axis=0,
        )
        word = tf.concat([one, tf.gather(rest, w_word)], axis=0)
        order = tf.concat([tf.zeros_like(one), w_k], axis=0)
        values = [
            tf.concat([one_id, w_id], axis=0),
            tf.concat([tf.zeros_like(one), w_start], axis=0),
            tf.concat([tf.gather(byte_len, one), w_end], axis=0),
        ]
        counts = tf.math.unsorted_segment_sum(tf.ones_like(word), word, num_words)
        splits = tf.concat([[0], tf.cumsum(counts)], axis=0)
        index = (tf.gather(splits, word) + order)[:, None]
        ids, start, end = (
            tf.RaggedTensor.from_row_splits(
                tf.reshape(tf.scatter_nd(index, v, shape=splits[-1:]), [-1]), splits, validate=False
            )
            for v in values
        )
        return ids, start, end

    def tokenize(self, words: tf.Tensor) -> tf.RaggedTensor:
        """`tf.string` (words,) -> ragged int64 (words, None) ids."""
        return self.tokenize_with_offsets(words)[0]
