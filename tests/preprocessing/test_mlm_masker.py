"""MlmMasker: exact selection counts, 80/10/10 split, specials and padding untouched, whole words kept."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from keras_bert.preprocessing.mlm_masker import MlmMasker

PAD, UNK, CLS, SEP, MASK = 0, 1, 2, 3, 4
VOCAB = 1000
CONTINUATION = list(range(600, VOCAB))  # ids 600.. play the `##` pieces


def packed_batch(batch=256, seq=64, seed=0, continuation_share=0.0):
    """`[CLS] A [SEP] B [SEP]` + padding, lengths varying per row; (token_ids, padding_mask) int32."""
    rng = np.random.default_rng(seed)
    token_ids = np.zeros((batch, seq), np.int32)
    for r in range(batch):
        length = int(rng.integers(8, seq + 1))
        body = rng.integers(5, 600, length - 3)
        pieces = rng.random(length - 3) < continuation_share
        body[pieces] = rng.integers(600, VOCAB, pieces.sum())
        split = int(rng.integers(1, length - 3))
        token_ids[r, :length] = [CLS, *body[:split], SEP, *body[split:], SEP]
    return token_ids, (token_ids != PAD).astype(np.int32)


def make_masker(**kwargs):
    kwargs.setdefault("max_predictions", 20)
    return MlmMasker(
        vocabulary_size=VOCAB,
        mask_token_id=MASK,
        unselectable_token_ids=[CLS, SEP, PAD],
        continuation_token_ids=CONTINUATION,
        **kwargs,
    )


def run(masker, token_ids, padding_mask, seed=(1, 2)):
    out = masker(
        tf.constant(token_ids), padding_mask=tf.constant(padding_mask), seed=tf.constant(seed)
    )
    return {k: v.numpy() for k, v in out.items()}


def test_selects_ceil_rate_of_maskable_tokens_capped_and_never_specials():
    token_ids, padding_mask = packed_batch()
    out = run(make_masker(max_predictions=8), token_ids, padding_mask)
    maskable = ((padding_mask == 1) & ~np.isin(token_ids, [CLS, SEP, PAD])).sum(1)
    expected = np.minimum(8, np.ceil(maskable * 0.15)).astype(int)
    np.testing.assert_array_equal(out["mask_weights"].sum(1), expected)  # exact, row by row
    assert (expected == 8).any() and (expected < 8).any()  # both the rate and the cap bind
    rows, slots = np.nonzero(out["mask_weights"])
    positions = out["mask_positions"][rows, slots]
    assert not np.isin(token_ids[rows, positions], [CLS, SEP, PAD]).any()
    assert (padding_mask[rows, positions] == 1).all()
    np.testing.assert_array_equal(out["mask_ids"][rows, slots], token_ids[rows, positions])
    assert (out["mask_positions"][out["mask_weights"] == 0] == 0).all()
    # Only the chosen positions may change.
    changed = np.zeros_like(token_ids, bool)
    changed[rows, positions] = True
    np.testing.assert_array_equal(out["token_ids"][~changed], token_ids[~changed])
    assert (
        out["mask_positions"].dtype == out["mask_ids"].dtype == out["token_ids"].dtype == np.int32
    )
    assert out["mask_weights"].dtype == np.float32


def test_rates_80_10_10_and_15_percent():
    token_ids, padding_mask = packed_batch(batch=512, seq=128, seed=1)
    out = run(make_masker(max_predictions=128), token_ids, padding_mask, seed=(3, 4))
    rows, slots = np.nonzero(out["mask_weights"])
    shown = out["token_ids"][rows, out["mask_positions"][rows, slots]]
    truth = out["mask_ids"][rows, slots]
    maskable = ((padding_mask == 1) & ~np.isin(token_ids, [CLS, SEP, PAD])).sum()
    # 15% +-1 point (ceil per row adds < 1 token per row: ~+1.4% relative at ~62 tokens a row).
    assert abs(len(rows) / maskable - 0.15) <= 0.01
    # 80/10/10 +-2 points over ~4,800 masked tokens (s.d. of a 10% share ~0.4 point).
    assert abs((shown == MASK).mean() - 0.8) <= 0.02
    assert abs(((shown != MASK) & (shown == truth)).mean() - 0.1) <= 0.02
    assert abs(((shown != MASK) & (shown != truth)).mean() - 0.1) <= 0.02


def word_index(row):
    words, current, previous_special = [], -1, True
    for token in row:
        special = token in (CLS, SEP, PAD)
        if not special and (previous_special or token < 600):
            current += 1
        words.append(-1 if special else current)
        previous_special = special
    return np.array(words)


@pytest.mark.parametrize("max_predictions", [4, 20])
def test_whole_word_masking_keeps_words_whole_within_budget(max_predictions):
    token_ids, padding_mask = packed_batch(batch=128, seq=64, seed=2, continuation_share=0.4)
    whole = run(
        make_masker(max_predictions=max_predictions, whole_word_mask=True), token_ids, padding_mask
    )
    plain = run(make_masker(max_predictions=max_predictions), token_ids, padding_mask)
    assert (whole["mask_weights"].sum(1) <= max_predictions).all()
    assert whole["mask_weights"].sum() > 0

    def split_words(out):
        split = 0
        for r in range(len(token_ids)):
            words = word_index(token_ids[r])
            masked = np.zeros(len(words), bool)
            masked[out["mask_positions"][r][out["mask_weights"][r] > 0]] = True
            for w in np.unique(words[words >= 0]):
                members = masked[words == w]
                split += int(0 < members.sum() < len(members))
        return split

    assert split_words(whole) == 0
    assert split_words(plain) > 0  # token-level masking does split words: the check can fail


def test_whole_word_fraction_close_to_rate():
    token_ids, padding_mask = packed_batch(batch=512, seq=128, seed=5, continuation_share=0.3)
    out = run(make_masker(max_predictions=128, whole_word_mask=True), token_ids, padding_mask)
    maskable = ((padding_mask == 1) & ~np.isin(token_ids, [CLS, SEP, PAD])).sum()
    assert abs(out["mask_weights"].sum() / maskable - 0.15) <= 0.01


def test_seeded_masks_repeat_and_differ_by_seed():
    token_ids, padding_mask = packed_batch(batch=8)
    masker = make_masker()
    first, again = (
        run(masker, token_ids, padding_mask, (5, 6)),
        run(masker, token_ids, padding_mask, (5, 6)),
    )
    other = run(masker, token_ids, padding_mask, (5, 7))
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
    assert not np.array_equal(first["mask_positions"], other["mask_positions"])
    unseeded = masker(tf.constant(token_ids), padding_mask=tf.constant(padding_mask))
    assert unseeded["mask_positions"].shape == (8, 20)


def test_runs_in_tf_data_and_tf_function():
    token_ids, padding_mask = packed_batch(batch=16)
    masker = make_masker(whole_word_mask=True)
    dataset = tf.data.Dataset.from_tensor_slices((token_ids, padding_mask)).batch(8)
    dataset = dataset.map(lambda t, m: masker(t, padding_mask=m, seed=tf.constant([1, 1])))
    batches = list(dataset)
    assert len(batches) == 2 and batches[0]["mask_ids"].shape == (8, 20)
    assert batches[0]["mask_positions"].shape.as_list() == [8, 20]

    @tf.function
    def mask(t, m):
        return masker(t, padding_mask=m, seed=tf.constant([1, 1]))

    eager = run(masker, token_ids[:8], padding_mask[:8], (1, 1))
    np.testing.assert_array_equal(
        mask(token_ids[:8], padding_mask[:8])["token_ids"].numpy(), eager["token_ids"]
    )


def test_config_round_trip_and_bad_arguments():
    masker = make_masker(whole_word_mask=True, max_predictions=7)
    restored = MlmMasker.from_config(masker.get_config())
    assert restored.get_config() == masker.get_config()
    token_ids, padding_mask = packed_batch(batch=4, continuation_share=0.3)
    a, b = run(masker, token_ids, padding_mask), run(restored, token_ids, padding_mask)
    np.testing.assert_array_equal(a["token_ids"], b["token_ids"])
    with pytest.raises(ValueError, match="continuation_token_ids"):
        MlmMasker(VOCAB, MASK, [CLS, SEP, PAD], whole_word_mask=True)
    with pytest.raises(ValueError, match="max_predictions"):
        MlmMasker(VOCAB, MASK, [CLS, SEP, PAD], max_predictions=0)
