"""Both data paths feed `BertPretrainer.fit`, and the loss falls within a few steps."""

from __future__ import annotations

import keras

from keras_bert.data.corpus import heldout_corpus_files
from keras_bert.data.dynamic_pretraining import dynamic_pretraining_dataset
from keras_bert.data.pretraining_examples import PretrainingConfig
from keras_bert.data.static_pretraining import create_pretraining_data
from keras_bert.data.tfrecords import pretraining_dataset

SEQ_LEN, MAX_PREDICTIONS, BATCH = 64, 10, 16
EMMA = heldout_corpus_files()[0]  # 3 chapters, 38 kB: small and quick


def test_static_then_dynamic_data_train_the_pretrainer(tokenizer, tmp_path):
    from keras_bert.models import BertBackbone, BertPretrainer

    corpus = EMMA
    config = PretrainingConfig(seq_len=SEQ_LEN, max_predictions=MAX_PREDICTIONS, dupe_factor=3)
    create_pretraining_data(corpus, tokenizer, str(tmp_path), config, seed=0, num_shards=2)
    static = pretraining_dataset(
        str(tmp_path / "*.tfrecord"), BATCH, SEQ_LEN, MAX_PREDICTIONS, seed=0
    )
    dynamic = dynamic_pretraining_dataset(
        corpus, tokenizer, SEQ_LEN, MAX_PREDICTIONS, BATCH, whole_word_mask=True, seed=0
    )

    keras.utils.set_random_seed(0)
    backbone = BertBackbone(
        vocabulary_size=tokenizer.vocabulary_size,
        num_layers=2,
        num_heads=2,
        hidden_dim=32,
        intermediate_dim=64,
        max_sequence_length=SEQ_LEN,
        dropout=0.0,
    )
    pretrainer = BertPretrainer(backbone)
    pretrainer.compile(learning_rate=2e-3, jit_compile=False)  # XLA would cost more than it saves
    # One model for both paths: tracing the train step dominates the cost of this test, and the
    # second fit reusing it also shows that the two paths give the same input signature.
    static_losses = pretrainer.fit(static, steps_per_epoch=8, epochs=3, verbose=0).history["loss"]
    dynamic_losses = pretrainer.fit(dynamic, steps_per_epoch=8, epochs=3, verbose=0).history["loss"]

    # Untrained: MLM ~ln(30522) = 10.3 plus NSP ~0.69. A few steps at lr 2e-3 learn at least the
    # token frequencies, so each epoch's mean loss is below the one before.
    assert static_losses[0] > 9.0, static_losses
    assert static_losses[-1] < static_losses[0] - 0.5, static_losses
    assert dynamic_losses[-1] < dynamic_losses[0] - 0.3, dynamic_losses
    for losses in (static_losses, dynamic_losses):
        assert all(b < a for a, b in zip(losses, losses[1:], strict=False)), losses
