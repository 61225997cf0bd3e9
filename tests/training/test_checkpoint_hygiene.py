"""Checkpoint hygiene: a save killed mid-write leaves a temporary file that the next start removes
(and resumes from the last complete checkpoint); a truncated or unreadable training state fails
with one line naming the file and what to do, and leaves the model as it was."""

from __future__ import annotations

import io
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
import zipfile

import keras
import numpy as np
import pytest

from keras_bert.cli import main
from keras_bert.convert.integrity import remove_stale_temporaries
from keras_bert.training.checkpoints import (
    CheckpointMismatchError,
    CorruptCheckpointError,
    load_training_state,
    read_metadata,
    save_model_atomically,
    save_training_state,
)
from keras_bert.training.pretrain import PretrainConfig, pretrain
from tests.training._subprocess import ROOT, env

ADVICE = "remove it to start over, or restore a backup copy of it"


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def _tiny_model(units: int = 8, seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Dense(units)(inputs)))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    model.fit(np.ones((8, 4)), np.ones((8, 2)), epochs=1, verbose=0)  # Non-trivial optimizer state.
    return model


def _pretrain_config(model_dir, steps: int) -> PretrainConfig:
    return PretrainConfig(
        model_dir=str(model_dir),
        input_format="synthetic",
        preset="tiny",
        model_config={"vocabulary_size": 128, "dropout": 0.0, "max_sequence_length": 16},
        seq_len=16,
        max_predictions=2,
        global_batch_size=4,
        steps=steps,
        save_every=2,
        jit_compile=False,
        verbose=0,
        save_final=False,
    )


# The real `save_training_state` on a model with one large weight, saving steps 1, 2, 3, ...
_SAVER = textwrap.dedent("""
    import sys, types
    import numpy as np
    from keras_bert.training.checkpoints import save_training_state
    weight = np.zeros(32 * 2**20, np.float32)  # 128 MiB: a write takes long enough to be hit
    model = types.SimpleNamespace(get_weights=lambda: [weight], optimizer=types.SimpleNamespace(variables=[]))
    step = 0
    while True:
        step += 1
        weight[:] = step
        save_training_state(sys.argv[1], model, {"step": step})
        print(step, flush=True)
""")


def test_sigkill_during_a_save_leaves_a_temporary_that_the_next_start_removes(tmp_path):
    state = tmp_path / "backup" / "training_state.npz"
    folder = state.parent
    leftovers = []
    for _attempt in range(3):  # A kill that lands between two writes leaves nothing: try again.
        log = open(tmp_path / "saver.log", "w+")  # noqa: SIM115 (read back below on failure)
        proc = subprocess.Popen(
            [sys.executable, "-c", _SAVER, str(state)],
            env=env(),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            first = proc.stdout.readline().strip()
            assert first == "1", (tmp_path / "saver.log").read_text()[-2000:]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # Kill as soon as the next write has started.
                leftovers = [p for p in folder.glob(".tmp-*.npz") if p.stat().st_size > 0]
                if leftovers:
                    proc.send_signal(signal.SIGKILL)
                    break
                time.sleep(0.001)
        finally:
            proc.kill()
            proc.wait()
            log.close()
        assert proc.returncode == -signal.SIGKILL
        leftovers = sorted(folder.glob(".tmp-*.npz"))
        if leftovers:
            break
    assert len(leftovers) == 1, "three kills all missed the write"
    assert leftovers[0].name.startswith(f".tmp-{proc.pid}-")  # The dead writer's pid.

    # The last complete checkpoint is intact, whatever the kill interrupted.
    step = read_metadata(state)["step"]
    assert step >= 1
    with np.load(state) as data:
        assert np.all(data["model_0"] == step)

    lines = []
    removed = remove_stale_temporaries(folder, log=lines.append)
    assert removed == leftovers and not leftovers[0].exists()
    assert len(lines) == 1 and leftovers[0].name in lines[0] and str(folder) in lines[0]
    assert sorted(p.name for p in folder.iterdir()) == ["training_state.npz"]


def test_next_start_removes_only_our_stale_temporaries_and_resumes(tmp_path, capsys):
    config = _pretrain_config(tmp_path / "run", steps=4)
    assert pretrain(config)["step"] == 4
    backup = tmp_path / "run" / "backup"
    dead = _dead_pid()
    stale = [
        backup / f".tmp-{dead}-abc_12xy.npz",  # What a kill during save_training_state leaves.
        backup / ".tmp-k2j4h5g6.npz",  # The name earlier versions used.
        tmp_path / "run" / f".tmp-{dead}-q1w2e3r4.keras",  # A killed pretrainer.keras save.
    ]
    for path in stale:
        path.write_bytes(b"PK\x03\x04 torn")
    alive = backup / f".tmp-{os.getppid()}-zzzzzzzz.npz"  # A live process may be writing it.
    others = [
        backup / "notes.tmp-1-a.npz",
        backup / ".tmp-readme.txt",
        backup / "training_state.npz.orig",
    ]
    for path in [alive, *others]:
        path.write_bytes(b"not ours")
    capsys.readouterr()

    result = pretrain(_pretrain_config(tmp_path / "run", steps=6))
    out = capsys.readouterr().out
    assert (result["resumed_from"], result["step"]) == (4, 6)  # Resumed from the complete state.
    assert not any(p.exists() for p in stale)
    assert alive.exists() and all(p.exists() for p in others)
    removal_lines = [line for line in out.splitlines() if line.startswith("Removed")]
    assert len(removal_lines) == 2  # One line per folder that had leftovers.
    assert "2 leftover" in removal_lines[0] and str(backup) in removal_lines[0]
    assert "Kept" in out and alive.name in out
    assert read_metadata(backup / "training_state.npz")["step"] == 6


@pytest.fixture
def saved_state(tmp_path):
    path = tmp_path / "training_state.npz"
    save_training_state(path, _tiny_model(), {"step": 7})
    return path, path.read_bytes()


def _member_data_offset(data: bytes, member: str) -> int:
    """Where `member`'s bytes start in the zip archive `data` (after its local header)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        offset = zf.getinfo(member).header_offset
    name_len, extra_len = struct.unpack_from("<HH", data, offset + 26)
    return offset + 30 + name_len + extra_len


def _damage(data: bytes, how: str) -> bytes:
    model_0 = _member_data_offset(data, "model_0.npy")  # .npy header (128 bytes), then the kernel
    if how == "flipped_byte":
        flipped = bytearray(data)
        flipped[model_0 + 128 + 4] ^= 0xFF
        return bytes(flipped)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        directory = zf.start_dir
    return {
        "empty": b"",
        "random": np.random.default_rng(0).bytes(5000),
        "cut_in_magic": data[:2],
        "cut_in_first_header": data[:20],
        "cut_in_member": data[: model_0 + 50],
        "cut_in_middle": data[: len(data) // 2],
        "cut_before_directory": data[:directory],
        "cut_last_byte": data[:-1],
    }[how]


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("empty", "empty file (0 bytes)"),
        ("random", "not a zip archive (5000 bytes starting with "),
        ("cut_in_magic", "not a zip archive (2 bytes starting with b'PK')"),
        ("cut_in_first_header", "truncated: 20 bytes, cut inside the header of a member at byte 0"),
        ("cut_in_member", "bytes (member 'model_0.npy' is cut)"),
        ("cut_in_middle", "truncated: "),
        ("cut_before_directory", "the archive's directory (at its end) is missing"),
        ("cut_last_byte", "the archive's directory (at its end) is cut"),
        ("flipped_byte", "damaged (BadZipFile: Bad CRC-32 for file 'model_0.npy')"),
    ],
)
def test_damaged_training_state_fails_with_one_line_and_loads_nothing(saved_state, how, expected):
    path, data = saved_state
    path.write_bytes(_damage(data, how))
    model = _tiny_model(seed=1)
    before = [w.copy() for w in model.get_weights()]
    optimizer_before = [np.array(v.value) for v in model.optimizer.variables]

    loaders = {
        "read_metadata": lambda: read_metadata(path),
        "load_training_state": lambda: load_training_state(path, model),
    }
    for name, load in loaders.items():
        if how == "flipped_byte" and name == "read_metadata":
            assert load()["step"] == 7  # Only the damaged member fails its check.
            continue
        with pytest.raises(CorruptCheckpointError) as info:
            load()
        message = str(info.value)
        assert "\n" not in message
        assert message.startswith(f"{path}: "), message
        assert expected in message and message.endswith(f"; {ADVICE}."), message
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)
    for old, variable in zip(optimizer_before, model.optimizer.variables, strict=True):
        np.testing.assert_array_equal(old, np.array(variable.value))


def test_state_of_another_model_is_refused_before_anything_is_assigned(tmp_path):
    path = tmp_path / "training_state.npz"
    save_training_state(path, _tiny_model(units=8), {"step": 3})
    model = _tiny_model(units=6, seed=1)  # Same number of variables, other shapes.
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(
        CheckpointMismatchError, match=r"does not fit the model: 3 variable\(s\)"
    ) as info:
        load_training_state(path, model)
    assert "\n" not in str(info.value) and "(4, 6) vs (4, 8)" in str(info.value)
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)

    other_optimizer = _tiny_model(units=8, seed=1)  # Same model, SGD instead of Adam.
    other_optimizer.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = [w.copy() for w in other_optimizer.get_weights()]
    with pytest.raises(CheckpointMismatchError, match=r"optimizer variables, the optimizer has"):
        load_training_state(path, other_optimizer)
    for old, new in zip(before, other_optimizer.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)  # Checked before the model's weights are assigned.


def test_cli_pretrain_on_a_truncated_state_prints_one_line_and_exits_2(tmp_path, capsys):
    state = tmp_path / "run" / "backup" / "training_state.npz"
    state.parent.mkdir(parents=True)
    save_training_state(state, _tiny_model(), {"step": 2})
    state.write_bytes(state.read_bytes()[:1234])
    code = main(
        [
            "pretrain",
            "--input-format",
            "synthetic",
            "--preset",
            "tiny",
            "--config",
            '{"vocabulary_size": 128, "max_sequence_length": 16}',
            "--seq-len",
            "16",
            "--max-predictions",
            "2",
            "--batch-size",
            "4",
            "--steps",
            "2",
            "--jit",
            "off",
            "--model-dir",
            str(tmp_path / "run"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"error: {state}: truncated: 1234 "), err
    assert err.rstrip().endswith(f"{ADVICE}.")


def test_cli_finetune_from_a_truncated_best_model_cleans_up_then_prints_one_line(tmp_path, capsys):
    previous = tmp_path / "previous"  # A `keras-bert finetune` dir whose best model was cut short.
    previous.mkdir()
    (previous / "task.json").write_text(json.dumps({"task": "classify"}))
    (previous / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n")
    best = previous / "best_model.keras"
    _tiny_model().save(best)
    best.write_bytes(best.read_bytes()[:3000])
    (tmp_path / "train.csv").write_text("text,label\nhello,a\nhello,b\n")
    out = tmp_path / "out"
    out.mkdir()
    stale = out / f".tmp-{_dead_pid()}-a1b2c3d4.keras"  # A best-model save killed mid-write.
    stale.write_bytes(b"PK\x03\x04")
    code = main(
        [
            "finetune",
            "classify",
            "--init",
            str(previous),
            "--train",
            str(tmp_path / "train.csv"),
            "--model-dir",
            str(out),
            "--quiet",
        ]
    )
    captured = capsys.readouterr()
    assert code == 2
    assert (
        not stale.exists()
        and f"Removed 1 leftover temporary file(s) of an interrupted save in {out}" in captured.out
    )
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith(
        f"error: {best}: truncated: 3000 "
    ) and captured.err.rstrip().endswith(f"{ADVICE}.")


def test_keras_save_is_atomic(tmp_path):
    path = tmp_path / "best_model.keras"
    model = _tiny_model()
    save_model_atomically(model, path)
    first = path.read_bytes()
    np.testing.assert_array_equal(
        keras.saving.load_model(path).get_weights()[0], model.get_weights()[0]
    )

    def killed_midway(filepath, *args, **kwargs):  # Writes part of the file, then dies.
        with open(filepath, "wb") as f:
            f.write(first[:100])
        raise KeyboardInterrupt

    model.save = killed_midway
    with pytest.raises(KeyboardInterrupt):
        save_model_atomically(model, path)
    assert path.read_bytes() == first  # The previous best model is whole.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best_model.keras"]

    from keras_bert.tasks.common import KeepBest  # Fine-tuning keeps its best model this way.

    keep = KeepBest(lambda m: {"accuracy": 0.5}, tmp_path, "accuracy")
    keep.set_model(_tiny_model(seed=2))
    keep.on_epoch_end(0, {"loss": 1.0})
    assert keras.saving.load_model(path).count_params() == model.count_params()
    assert json.loads((tmp_path / "eval_history.json").read_text())[0]["best"] is True
    assert not list(tmp_path.glob(".tmp-*"))
