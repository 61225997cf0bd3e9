"""Fault tolerance: a run killed with SIGKILL and started again with the same command resumes
from its last checkpoint (step > 0) and ends where an uninterrupted run ends."""

from __future__ import annotations

import signal
import subprocess
import time

import numpy as np
import pytest

from keras_bert.training.checkpoints import read_metadata
from keras_bert.training.pretrain import PretrainConfig, plan_segments, pretrain
from tests.training._subprocess import ROOT, TINY, cli, env, run_cli

STEPS, SAVE_EVERY, STEPS_PER_EPOCH = 40, 5, 20


def test_plan_segments_resumes_mid_epoch():
    assert plan_segments(0, 40, 20) == [(0, 2, 20, 0)]
    assert plan_segments(15, 40, 20) == [(0, 1, 5, 15), (1, 2, 20, 20)]
    assert plan_segments(0, 45, 20) == [(0, 2, 20, 0), (2, 3, 5, 40)]
    assert plan_segments(42, 45, 20) == [(2, 3, 3, 42)]
    assert plan_segments(45, 45, 20) == []


def test_kill_9_then_rerun_resumes_and_matches_uninterrupted(tmp_path):
    model_dir = tmp_path / "run"
    args = [
        *TINY, "--steps", str(STEPS), "--save-every", str(SAVE_EVERY),
        "--steps-per-epoch", str(STEPS_PER_EPOCH), "--jit", "off", "--model-dir", str(model_dir),
    ]
    state = model_dir / "backup" / "training_state.npz"
    proc = subprocess.Popen(cli(*args), env=env(), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 150
        killed_at = None
        while time.monotonic() < deadline and proc.poll() is None:
            meta = read_metadata(state) if state.exists() else None
            if meta and meta["step"] >= SAVE_EVERY:
                proc.send_signal(signal.SIGKILL)
                killed_at = meta["step"]
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert killed_at is not None, "the first run ended before a checkpoint could be seen"
    assert proc.returncode == -signal.SIGKILL
    assert read_metadata(state)["step"] < STEPS  # Killed mid-run, not after the end.
    assert not (model_dir / "pretrainer.keras").exists()

    out = run_cli(*args).stdout
    resumed = int(out.split("Resuming from")[1].split("at step ")[1].split("/")[0])
    assert 0 < resumed < STEPS
    assert f"Finished at step {STEPS} (resumed from {resumed})" in out
    assert read_metadata(state)["step"] == STEPS
    assert (model_dir / "pretrainer.keras").exists() and (model_dir / "hf").is_dir()

    # Same data position, optimizer state and schedule position: the weights equal those of an
    # uninterrupted run (in this process; no dropout, no XLA). Tolerance: atol 1e-5.
    reference = pretrain(PretrainConfig(
        model_dir=str(tmp_path / "reference"), input_format="synthetic", preset="tiny",
        model_config={"vocabulary_size": 512, "dropout": 0.0, "max_sequence_length": 64},
        seq_len=32, max_predictions=5, global_batch_size=8, learning_rate=1e-3, warmup_steps=2,
        log_every=1, seed=3, steps=STEPS, save_every=SAVE_EVERY, steps_per_epoch=STEPS_PER_EPOCH,
        jit_compile=False, verbose=0, save_final=False,
    ))["model"]
    with np.load(state) as data:
        resumed_weights = [data[f"model_{i}"] for i in range(len(reference.weights))]
    for got, want in zip(resumed_weights, reference.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_rerun_after_completion_trains_no_more(tmp_path):
    config = PretrainConfig(
        model_dir=str(tmp_path / "run"), input_format="synthetic", preset="tiny",
        model_config={"vocabulary_size": 128, "dropout": 0.0, "max_sequence_length": 16},
        seq_len=16, max_predictions=2, global_batch_size=4, steps=4, save_every=2,
        jit_compile=False, verbose=0, save_final=False,
    )
    first = pretrain(config)
    assert (first["resumed_from"], first["step"]) == (0, 4)
    second = pretrain(config)
    assert (second["resumed_from"], second["step"]) == (4, 4)
    assert second["history"] == []  # Nothing trained.


pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
