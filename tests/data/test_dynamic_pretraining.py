"""Dynamic path: pairs and masks drawn in tf.data, same statistics and structure as the static path."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from keras_bert.data.corpus import bundled_corpus_files, heldout_corpus_files
from keras_bert.data.dynamic_pretraining import dynamic_pretraining_dataset
from keras_bert.data.tfrecords import pretraining_dataset
from tests.data.helpers import check_structure, collect, count_split_words, mlm_statistics

SEQ_LEN, MAX_PREDICTIONS, BATCH = 128, 20, 256
PERSUASION = bundled_corpus_files()[1]
EMMA = heldout_corpus_files()[0]  # 3 chapters, 38 kB: small and quick


@pytest.fixture(scope="module", params=[False, True], ids=["token", "whole_word"])
def dynamic_data(request, tokenizer):
    dataset = dynamic_pretraining_dataset(
        PERSUASION,
        tokenizer,
        SEQ_LEN,
        MAX_PREDICTIONS,
        BATCH,
        whole_word_mask=request.param,
        seed=11,
    )
    return request.param, dataset, collect(dataset, max_batches=14)  # 3,584 examples, ~4 passes


def test_masking_statistics(dynamic_data, tokenizer):
    _, _, data = dynamic_data
    stats = mlm_statistics(data, tokenizer)
    # 15% +-1 point; 80/10/10 +-2 points (~68,000 masked tokens: s.d. of a 10% share ~0.1 point).
    assert abs(stats["masked_fraction"] - 0.15) <= 0.01, stats
    assert abs(stats["mask_share"] - 0.80) <= 0.02, stats
    assert abs(stats["unchanged_share"] - 0.10) <= 0.02, stats
    assert abs(stats["random_share"] - 0.10) <= 0.02, stats


def test_nsp_labels_balanced(dynamic_data):
    _, _, data = dynamic_data
    # +-3 points (s.d. over 3,584 examples: 0.8 point).
    assert abs(data["labels"].mean() - 0.5) <= 0.03, data["labels"].mean()


def test_layout_specials_and_limits(dynamic_data, tokenizer):
    _, _, data = dynamic_data
    check_structure(data, tokenizer, SEQ_LEN, MAX_PREDICTIONS)
    assert (data["padding_mask"].sum(1) == SEQ_LEN).mean() > 0.5


def test_whole_word_masking_never_splits_a_word(dynamic_data, tokenizer):
    whole_word, _, data = dynamic_data
    split, multi = count_split_words(data, tokenizer)
    assert multi > 1000
    assert split == 0 if whole_word else split > 0


def test_same_structure_as_the_static_reader(dynamic_data, tmp_path):
    _, dataset, _ = dynamic_data
    path = str(tmp_path / "empty.tfrecord")
    with tf.io.TFRecordWriter(path):
        pass
    static = pretraining_dataset(path, BATCH, SEQ_LEN, MAX_PREDICTIONS, check_files="none")

    def spec(dataset):
        return tf.nest.map_structure(
            lambda s: (s.dtype, tuple(s.shape.as_list()[1:])), dataset.element_spec
        )

    assert spec(dataset) == spec(static)
    batch = next(iter(dataset))
    assert batch[0]["token_ids"].shape == (BATCH, SEQ_LEN)


@pytest.fixture(scope="module")
def small_pass(tokenizer):
    """A dataset on the held-out chapters (whole-word, P=5, one pass) and its first two passes."""

    def make(**kwargs):
        return dynamic_pretraining_dataset(
            EMMA,
            tokenizer,
            64,
            5,
            16,
            whole_word_mask=True,
            seed=4,
            repeat=False,
            **kwargs,
        )

    dataset = make()
    return make, collect(dataset), collect(dataset)


def test_max_predictions_respected(small_pass):
    _, data, _ = small_pass
    counts = data["weights"].sum(1)
    assert counts.max() == 5 and (counts <= 5).all()  # ceil(0.15 * 61) = 10 wanted, capped at 5


def test_seeded_and_redrawn_every_pass(small_pass):
    make, first_pass, second_pass = small_pass
    again = collect(make())
    for name in first_pass:
        np.testing.assert_array_equal(first_pass[name], again[name])  # same seed, same batches
    assert not np.array_equal(
        first_pass["token_ids"], second_pass["token_ids"]
    )  # new pass, new draw
    assert not np.array_equal(first_pass["positions"], second_pass["positions"])


def test_input_context_gives_per_replica_batches_of_a_document_shard(small_pass):
    make, full_pass, _ = small_pass
    dataset = make(input_context=tf.distribute.InputContext(2, 1, 2))
    assert dataset.element_spec[0]["token_ids"].shape.as_list() == [8, 64]  # 16 / 2 replicas
    data = collect(dataset)
    # Pipeline 1 of 2 pairs every other document: about half of a full pass.
    assert 0.25 < len(data["labels"]) / len(full_pass["labels"]) < 0.75


def test_tiny_corpus_fills_batches_across_passes(tokenizer, tmp_path):
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("Anne smiled.\nShe read the letter.\n\nThe rain fell.\nThey walked home.\n")
    dataset = dynamic_pretraining_dataset(str(corpus), tokenizer, 16, 2, 8, seed=0)
    data = collect(dataset, max_batches=2)  # a pass makes ~2 pairs: batches span several passes
    assert data["token_ids"].shape == (16, 16)
    assert (data["weights"].sum(1) >= 1).all()
