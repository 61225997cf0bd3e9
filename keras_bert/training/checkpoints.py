"""Training-state checkpoints written atomically: model weights, optimizer state, step.

One `.npz` file holds everything needed to resume: the model's weights, every optimizer variable
(moments, the iteration counter that positions the learning-rate schedule, loss-scale state) and
metadata (step = batches consumed, which is also the data position). It is written to a temporary
file in the same folder (`.tmp-<pid>-*.npz`), flushed and fsync'ed, then `os.replace`d over the
previous one, so a kill at any moment leaves either the old or the new checkpoint, never a torn
one. A SIGKILL during the write leaves the temporary file: `remove_stale_temporaries(folder)`,
called by the training drivers when they start, deletes it.

A file that is truncated or unreadable anyway (a copy cut short, a full disk, a file from
elsewhere) raises `CorruptCheckpointError` with one line naming the file, the damage and what to
do; a checkpoint of another model or optimizer raises `CheckpointMismatchError`. Both are raised
before anything is assigned: a failed load leaves the model and optimizer as they were.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from pathlib import Path

import keras
import numpy as np

from keras_bert.convert.integrity import (
    RESTART_ADVICE,
    CorruptCheckpointError,
    atomic_file,
    one_line,
    remove_stale_temporaries,
    write_atomically,
    zip_damage,
)

STATE_FILE = "training_state.npz"

# What np.load and reading its members raise on a damaged file (ValueError: "pickled data" for
# bytes that are not a zip archive, a bad .npy header, bad metadata JSON).
_READ_ERRORS = (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, zlib.error)


class CheckpointMismatchError(ValueError):
    """A training state that does not fit the model or optimizer it is loaded into (one line)."""


def save_training_state(path: str | os.PathLike, model: keras.Model, metadata: dict) -> None:
    """Atomically writes `model`'s weights, its optimizer's variables and `metadata` to `path`."""
    arrays = {f"model_{i}": np.asarray(w) for i, w in enumerate(model.get_weights())}
    for i, variable in enumerate(model.optimizer.variables):
        arrays[f"optimizer_{i}"] = keras.ops.convert_to_numpy(variable.value)
    arrays["metadata"] = np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8)
    write_atomically(path, lambda f: np.savez(f, **arrays))


def save_model_atomically(model: keras.Model, path: str | os.PathLike) -> None:
    """`model.save(path)` (a `.keras` file) through a temporary file and a rename: a kill during
    the save leaves the previous file whole (Keras itself writes in place)."""
    with atomic_file(path, suffix=".keras") as tmp:
        model.save(str(tmp))


def _corrupt(path: Path, error: BaseException) -> CorruptCheckpointError:
    problem = zip_damage(path) or f"damaged ({type(error).__name__}: {one_line(error)})"
    return CorruptCheckpointError(path, problem, RESTART_ADVICE)


def _read(path: Path, keys_wanted: bool) -> tuple[dict, list[np.ndarray], list[np.ndarray]]:
    """(metadata, model arrays, optimizer arrays) of the file, all read into memory, or a
    `CorruptCheckpointError`. Arrays only when `keys_wanted`."""
    if not path.is_file():
        raise FileNotFoundError(f"No training state at {path}.")

    def ordered(data, prefix: str) -> list[np.ndarray]:
        keys = sorted(
            (k for k in data.files if k.startswith(prefix)), key=lambda k: int(k.split("_")[1])
        )
        return [data[k] for k in keys]

    try:
        with np.load(path) as data:
            metadata = json.loads(data["metadata"].tobytes().decode())
            if not isinstance(metadata, dict):
                raise ValueError(f"its metadata is not a JSON object: {metadata!r:.80}")
            if not keys_wanted:
                return metadata, [], []
            return metadata, ordered(data, "model_"), ordered(data, "optimizer_")
    except _READ_ERRORS as error:
        raise _corrupt(path, error) from error


def read_metadata(path: str | os.PathLike) -> dict | None:
    """The metadata of the checkpoint at `path`, or None when there is none."""
    path = Path(path)
    if not path.exists():
        return None
    return _read(path, keys_wanted=False)[0]


def _check_fits(path: Path, what: str, arrays: list[np.ndarray], variables: list) -> None:
    if len(arrays) != len(variables):
        raise CheckpointMismatchError(
            f"{path} holds {len(arrays)} {what} variables, the {what} has {len(variables)}: was it "
            "written with another model, optimizer or config? Use another model dir, or remove it to "
            "start over."
        )
    wrong = [
        f"{v.path} {tuple(v.shape)} vs {a.shape}"
        for a, v in zip(arrays, variables, strict=True)
        if tuple(a.shape) != tuple(v.shape)
    ]
    if wrong:
        raise CheckpointMismatchError(
            f"{path} does not fit the {what}: {len(wrong)} variable(s) of another shape ("
            f"{'; '.join(wrong[:3])}{'; ...' if len(wrong) > 3 else ''}). Use another model dir, or "
            "remove it to start over."
        )


def load_training_state(path: str | os.PathLike, model: keras.Model) -> dict:
    """Restores weights and optimizer state saved by `save_training_state`; returns the metadata.

    The optimizer is built first (its variables must exist to be assigned). Under a strategy,
    call inside `strategy.scope()`: assignments reach every replica. The whole file is read and
    checked against the model and optimizer before anything is assigned.

    Raises:
        CorruptCheckpointError: the file is truncated or unreadable.
        CheckpointMismatchError: it was written for another model or optimizer.
    """
    path = Path(path)
    optimizer = model.optimizer
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    metadata, weights, slots = _read(path, keys_wanted=True)
    _check_fits(path, "model", weights, model.weights)
    _check_fits(path, "optimizer", slots, optimizer.variables)
    model.set_weights(weights)
    for value, variable in zip(slots, optimizer.variables, strict=True):
        variable.assign(value)
    return metadata


__all__ = [
    "STATE_FILE",
    "CheckpointMismatchError",
    "CorruptCheckpointError",
    "load_training_state",
    "read_metadata",
    "remove_stale_temporaries",
    "save_model_atomically",
    "save_training_state",
]
