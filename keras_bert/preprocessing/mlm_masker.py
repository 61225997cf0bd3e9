"""MlmMasker: in-graph masked-LM masking on tensorflow-text's `RandomItemSelector` / `MaskValuesChooser`."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf
import tensorflow_text as tf_text


class _SeededMaskValuesChooser(tf_text.MaskValuesChooser):
    """`MaskValuesChooser` whose 80/10/10 draws come from stateless ops seeded per call."""

    def __init__(self, vocab_size, mask_token, mask_token_rate, random_token_rate, seed):
        super().__init__(vocab_size, mask_token, mask_token_rate, random_token_rate)
        self._seed = seed  # (2,) int64

    def get_mask_values(self, masked_lm_ids: tf.RaggedTensor) -> tf.RaggedTensor:
        ids = masked_lm_ids.flat_values
        seeds = tf.random.experimental.stateless_split(self._seed, 2)
        uniform = tf.random.stateless_uniform(tf.shape(ids), seeds[0])
        random_ids = tf.random.stateless_uniform(
            tf.shape(ids), seeds[1], minval=0, maxval=self.vocab_size, dtype=ids.dtype
        )
        values = tf.where(uniform < self._mask_token_rate, tf.cast(self.mask_token, ids.dtype), ids)
        inject = (uniform >= self._mask_token_rate) & (
            uniform < self._mask_token_rate + self.random_token_rate
        )
        return masked_lm_ids.with_flat_values(tf.where(inject, random_ids, values))


@keras.saving.register_keras_serializable(package="keras_bert")
class MlmMasker(keras.layers.Layer):
    """Picks tokens for masked-LM training and masks them, in the graph (usable in `tf.data.map`).

    `ceil(mask_selection_rate * n)` of the n maskable items of each row are picked (at most
    `max_predictions`); an item is a token, or with `whole_word_mask` a word (a token and the `##`
    pieces after it; never split, and words are dropped while their pieces would exceed
    `max_predictions`). Each picked token becomes `mask_token_id` (`mask_token_rate`), a uniformly
    random id in [0, vocabulary_size) (`random_token_rate`) or stays. Tokens in
    `unselectable_token_ids` ([CLS], [SEP], [PAD]) and padding are never picked.

    Args:
        vocabulary_size: size of the vocabulary (random replacements are drawn from it).
        mask_token_id: id of [MASK].
        unselectable_token_ids: ids never masked, e.g. `[cls, sep, pad]`.
        max_predictions: P, the number of prediction slots per row.
        mask_selection_rate, mask_token_rate, random_token_rate: 0.15 / 0.8 / 0.1 as in BERT.
        whole_word_mask: mask whole words.
        continuation_token_ids: ids of the `##` pieces (needed for `whole_word_mask`).

    Call arguments:
        token_ids: (batch, seq) int, packed `[CLS] A [SEP] B [SEP]` plus padding.
        padding_mask: optional (batch, seq), 1 on real tokens.
        seed: optional (2,) int seed for stateless randomness (same seed, same masks); without it
            a seed is drawn from the global generator.

    Returns:
        dict `token_ids` (batch, seq) int32 (masked), `mask_positions`, `mask_ids` (batch, P) int32
        (ascending positions, zero-padded), `mask_weights` (batch, P) float32 (1 = real prediction).

    Examples:
    >>> masker = MlmMasker(vocabulary_size=100, mask_token_id=4, unselectable_token_ids=[0, 2, 3],
    ...                    max_predictions=3)
    >>> out = masker(tf.constant([[2, 10, 11, 12, 13, 3, 0]]), seed=tf.constant([1, 2]))
    >>> out["mask_positions"].shape
    TensorShape([1, 3])
    """

    def __init__(
        self,
        vocabulary_size: int,
        mask_token_id: int,
        unselectable_token_ids: Sequence[int],
        max_predictions: int = 20,
        mask_selection_rate: float = 0.15,
        mask_token_rate: float = 0.8,
        random_token_rate: float = 0.1,
        whole_word_mask: bool = False,
        continuation_token_ids: Sequence[int] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if whole_word_mask and continuation_token_ids is None:
            raise ValueError("whole_word_mask=True needs continuation_token_ids (the ## pieces)")
        if max_predictions < 1:
            raise ValueError(f"max_predictions={max_predictions} must be >= 1")
        if mask_token_rate + random_token_rate > 1:
            raise ValueError("mask_token_rate + random_token_rate must be <= 1")
        self.vocabulary_size = int(vocabulary_size)
        self.mask_token_id = int(mask_token_id)
        self.unselectable_token_ids = [int(i) for i in unselectable_token_ids]
        self.max_predictions = int(max_predictions)
        self.mask_selection_rate = float(mask_selection_rate)
        self.mask_token_rate = float(mask_token_rate)
        self.random_token_rate = float(random_token_rate)
        self.whole_word_mask = bool(whole_word_mask)
        self.continuation_token_ids = (
            None if continuation_token_ids is None else [int(i) for i in continuation_token_ids]
        )
        continuation = [False] * self.vocabulary_size
        for token_id in self.continuation_token_ids or []:
            continuation[token_id] = True
        self._continuation = tf.constant(continuation, tf.bool)  # (vocabulary_size,)

    @classmethod
    def from_tokenizer(cls, tokenizer, max_predictions: int = 20, **kwargs) -> MlmMasker:
        """Built from a `WordPieceTokenizer`'s special ids and `##` pieces."""
        continuation = [i for i, token in enumerate(tokenizer.vocabulary) if token.startswith("##")]
        return cls(
            vocabulary_size=tokenizer.vocabulary_size,
            mask_token_id=tokenizer.mask_token_id,
            unselectable_token_ids=[
                tokenizer.cls_token_id,
                tokenizer.sep_token_id,
                tokenizer.pad_token_id,
            ],
            max_predictions=max_predictions,
            continuation_token_ids=continuation,
            **kwargs,
        )

    def call(self, token_ids, padding_mask=None, seed=None):
        token_ids = tf.cast(token_ids, tf.int32)  # (B, T)
        shape = tf.shape(token_ids)
        if padding_mask is None:
            lengths = tf.fill(shape[:1], shape[1])
        else:
            lengths = tf.reduce_sum(tf.cast(padding_mask, tf.int32), axis=1)  # (B,)
        if seed is None:
            seed = tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int32)
        seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 2)

        pieces = tf.RaggedTensor.from_tensor(token_ids, lengths=lengths)  # (B, (n))
        flat = pieces.flat_values  # (N,)
        position = tf.ragged.range(lengths).flat_values  # (N,) position within its row
        special = tf.reduce_any(flat[:, None] == tf.constant(self.unselectable_token_ids)[None], 1)
        previous_special = tf.concat([[True], special[:-1]], axis=0)
        if self.whole_word_mask:
            continues = tf.gather(self._continuation, flat)
        else:
            continues = tf.zeros_like(special)
        # A word starts at every token that does not continue the (non-special) token before it.
        starts = ~continues | special | previous_special | (position == 0)  # (N,)
        word_of_piece = tf.cumsum(tf.cast(starts, tf.int32)) - 1  # (N,)
        words_per_row = tf.reduce_sum(pieces.with_flat_values(tf.cast(starts, tf.int32)), axis=1)
        # Items to select from: (B, (words)), each word represented by its first token's id.
        words = tf.RaggedTensor.from_row_lengths(tf.boolean_mask(flat, starts), words_per_row)
        num_words = tf.shape(words.flat_values)[0]
        word_lengths = tf.math.unsorted_segment_sum(tf.ones_like(flat), word_of_piece, num_words)

        keys = tf.random.stateless_uniform([num_words], seeds[0])  # a random priority per word

        def shuffle(word_index):  # (n,) flat word indices of one row, in random-priority order
            return tf.gather(word_index, tf.argsort(tf.gather(keys, word_index)))

        selector = tf_text.RandomItemSelector(
            max_selections_per_batch=self.max_predictions,
            selection_rate=self.mask_selection_rate,
            unselectable_ids=self.unselectable_token_ids,
            shuffle_fn=shuffle,
        )
        selected = selector.get_selection_mask(words, axis=1).flat_values  # (W,) bool
        if self.whole_word_mask:
            selected &= self._fits_budget(selected, keys, word_lengths, words_per_row)
        piece_selected = tf.gather(selected, word_of_piece)  # (N,)

        chooser = _SeededMaskValuesChooser(
            self.vocabulary_size,
            self.mask_token_id,
            self.mask_token_rate,
            self.random_token_rate,
            seeds[1],
        )
        chosen = tf.boolean_mask(flat, piece_selected)  # (K,)
        values = chooser.get_mask_values(
            tf.RaggedTensor.from_row_lengths(chosen, tf.shape(chosen)[:1])
        )
        new_flat = tf.tensor_scatter_nd_update(flat, tf.where(piece_selected), values.flat_values)

        selected_rows = pieces.with_flat_values(piece_selected)  # (B, (n))
        masked = tf.where(
            selected_rows.to_tensor(False, shape=shape),
            pieces.with_flat_values(new_flat).to_tensor(0, shape=shape),
            token_ids,
        )
        out_shape = tf.stack([shape[0], self.max_predictions])
        positions = tf.ragged.boolean_mask(pieces.with_flat_values(position), selected_rows)
        mask_ids = tf.ragged.boolean_mask(pieces, selected_rows)
        return {
            "token_ids": masked,
            "mask_positions": positions.to_tensor(0, shape=out_shape),
            "mask_ids": mask_ids.to_tensor(0, shape=out_shape),
            "mask_weights": tf.ones_like(positions, tf.float32).to_tensor(0.0, shape=out_shape),
        }

    def _fits_budget(self, selected, keys, word_lengths, words_per_row):
        """(W,) bool: selected words kept, in priority order, while their pieces fit `max_predictions`."""
        pad_key = tf.constant(2.0)  # After every real key (keys lie in [0, 1)).
        dense_keys = tf.RaggedTensor.from_row_lengths(
            tf.where(selected, keys, pad_key), words_per_row
        ).to_tensor(pad_key)  # (B, Wmax)
        dense_lengths = tf.RaggedTensor.from_row_lengths(
            tf.where(selected, word_lengths, 0), words_per_row
        ).to_tensor(0)  # (B, Wmax)
        order = tf.argsort(dense_keys, axis=1)
        fits = (
            tf.cumsum(tf.gather(dense_lengths, order, batch_dims=1), axis=1) <= self.max_predictions
        )
        fits = tf.gather(fits, tf.argsort(order, axis=1), batch_dims=1)  # back to word order
        return tf.RaggedTensor.from_tensor(fits, lengths=words_per_row).flat_values

    def compute_output_spec(self, token_ids, padding_mask=None, seed=None):
        batch, seq = token_ids.shape[0], token_ids.shape[1]
        slots = (batch, self.max_predictions)
        return {
            "token_ids": keras.KerasTensor((batch, seq), dtype="int32"),
            "mask_positions": keras.KerasTensor(slots, dtype="int32"),
            "mask_ids": keras.KerasTensor(slots, dtype="int32"),
            "mask_weights": keras.KerasTensor(slots, dtype="float32"),
        }

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "mask_token_id": self.mask_token_id,
                "unselectable_token_ids": self.unselectable_token_ids,
                "max_predictions": self.max_predictions,
                "mask_selection_rate": self.mask_selection_rate,
                "mask_token_rate": self.mask_token_rate,
                "random_token_rate": self.random_token_rate,
                "whole_word_mask": self.whole_word_mask,
                "continuation_token_ids": self.continuation_token_ids,
            }
        )
        return config
