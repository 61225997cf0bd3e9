"""Strategies: mirrored over 2 logical CPUs equals the default strategy; two multi-worker processes
train together and end with identical weights. Each run is a fresh process."""

from __future__ import annotations

import numpy as np
import pytest

from keras_bert.training.callbacks import read_scalars
from tests.training._subprocess import TINY, finish_workers, run_cli, start_workers

STEPS = 6


def _batch_losses(model_dir) -> list[float]:
    scalars = read_scalars(model_dir / "logs")
    return [value for _, value in sorted(scalars["batch_loss"])]


def test_mirrored_two_cpus_matches_default_strategy(tmp_path):
    common = [*TINY, "--steps", str(STEPS), "--save-every", "3", "--jit", "off"]
    run_cli(*common, "--model-dir", str(tmp_path / "default"), "--strategy", "default")
    out = run_cli(
        *common, "--model-dir", str(tmp_path / "mirrored"),
        "--strategy", "mirrored", "--num-cpu-replicas", "2",
    )
    assert "Finished at step 6" in out.stdout
    default, mirrored = _batch_losses(tmp_path / "default"), _batch_losses(tmp_path / "mirrored")
    assert len(default) == len(mirrored) == STEPS
    assert default[-1] < default[0]  # It trains.
    # Same global batches (4 + 4 examples per replica vs 8), same init, no dropout: the losses
    # differ only by float summation order. Tolerance: rtol 1e-4.
    np.testing.assert_allclose(mirrored, default, rtol=1e-4)


WORKER = """
import sys, numpy as np
from keras_bert.training.pretrain import PretrainConfig, pretrain
cfg = PretrainConfig(model_dir=sys.argv[1], input_format="synthetic", preset="tiny",
    model_config={"vocabulary_size": 512, "dropout": 0.0, "max_sequence_length": 64},
    seq_len=32, max_predictions=5, global_batch_size=8, steps=6, save_every=3, log_every=1,
    learning_rate=1e-3, strategy="multi-worker", verbose=0)
result = pretrain(cfg)
np.savez(sys.argv[2], *result["model"].get_weights())
print("STEP", result["step"], "LOSS", result["history"][-1]["loss"])
"""


def test_multi_worker_two_processes_identical_weights(tmp_path):
    procs = start_workers(WORKER, lambda index: [str(tmp_path / "model"),
                                                 str(tmp_path / f"weights{index}.npz")])
    outputs = finish_workers(procs, timeout=240)
    for out in outputs:
        assert "STEP 6" in out
    w0, w1 = np.load(tmp_path / "weights0.npz"), np.load(tmp_path / "weights1.npz")
    assert len(w0.files) == len(w1.files) > 0
    for key in w0.files:
        np.testing.assert_array_equal(w0[key], w1[key])  # All-reduced updates: bitwise equal.
    # Chief-only outputs: the chief (worker 0) wrote the checkpoint and the final model.
    assert (tmp_path / "model" / "backup" / "training_state.npz").exists()
    assert (tmp_path / "model" / "pretrainer.keras").exists()
    # Both workers log the same globally reduced loss.
    loss = [float(out.split("LOSS")[-1]) for out in outputs]
    assert loss[0] == pytest.approx(loss[1], rel=1e-6)
