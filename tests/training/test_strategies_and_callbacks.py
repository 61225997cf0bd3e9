"""TPU fails fast with a clear message; TensorBoard scalars and the curve plot are written."""

from __future__ import annotations

import time

import pytest

from keras_bert.training.callbacks import plot_training_curves, read_scalars
from keras_bert.training.pretrain import PretrainConfig, pretrain
from keras_bert.training.strategies import create_strategy


def test_tpu_without_tpu_fails_fast_with_clear_message():
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="no TPU found"):
        create_strategy("tpu")
    assert time.monotonic() - start < 30


def test_unknown_strategy_and_missing_tf_config_raise(monkeypatch):
    with pytest.raises(ValueError, match="Unknown strategy"):
        create_strategy("horovod")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG"):
        create_strategy("multi-worker")


def test_tensorboard_scalars_and_plot_written(tmp_path):
    result = pretrain(PretrainConfig(
        model_dir=str(tmp_path), input_format="synthetic", preset="tiny",
        model_config={"vocabulary_size": 128, "dropout": 0.0, "max_sequence_length": 16},
        seq_len=16, max_predictions=2, global_batch_size=4, steps=4, save_every=2, log_every=1,
        warmup_steps=2, jit_compile=False, verbose=0, save_final=False,
    ))
    scalars = read_scalars(tmp_path / "logs")
    for tag in ("batch_loss", "batch_mlm_logits_accuracy", "batch_nsp_logits_accuracy",
                "batch_learning_rate", "batch_throughput", "epoch_loss"):
        assert tag in scalars, sorted(scalars)
    lr = dict(scalars["batch_learning_rate"])
    assert lr[1] == pytest.approx(5e-5)  # After 1 update: half the 2-update warmup of 1e-4.
    assert all(v > 0 for _, v in scalars["batch_throughput"])
    assert len(result["history"]) == 4
    png = plot_training_curves(result["history"], tmp_path / "curves.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
