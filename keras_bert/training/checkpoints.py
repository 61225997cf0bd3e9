"""Training-state checkpoints written atomically: model weights, optimizer state, step.

One `.npz` file holds everything needed to resume: the model's weights, every optimizer variable
(moments, the iteration counter that positions the learning-rate schedule, loss-scale state) and
metadata (step = batches consumed, which is also the data position). It is written to a temporary
file in the same folder, flushed and fsync'ed, then `os.replace`d over the previous one, so a kill
at any moment leaves either the old or the new checkpoint, never a torn one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import keras
import numpy as np

STATE_FILE = "training_state.npz"


def save_training_state(path: str | os.PathLike, model: keras.Model, metadata: dict) -> None:
    """Atomically writes `model`'s weights, its optimizer's variables and `metadata` to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"model_{i}": np.asarray(w) for i, w in enumerate(model.get_weights())}
    for i, variable in enumerate(model.optimizer.variables):
        arrays[f"optimizer_{i}"] = keras.ops.convert_to_numpy(variable.value)
    arrays["metadata"] = np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_metadata(path: str | os.PathLike) -> dict | None:
    """The metadata of the checkpoint at `path`, or None when there is none."""
    if not os.path.exists(path):
        return None
    with np.load(path) as data:
        return json.loads(data["metadata"].tobytes().decode())


def load_training_state(path: str | os.PathLike, model: keras.Model) -> dict:
    """Restores weights and optimizer state saved by `save_training_state`; returns the metadata.

    The optimizer is built first (its variables must exist to be assigned). Under a strategy,
    call inside `strategy.scope()`: assignments reach every replica.
    """
    optimizer = model.optimizer
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    with np.load(path) as data:
        weights = [data[f"model_{i}"] for i in range(len(model.weights))]
        opt_keys = sorted(
            (k for k in data.files if k.startswith("optimizer_")), key=lambda k: int(k.split("_")[1])
        )
        if len(opt_keys) != len(optimizer.variables):
            raise ValueError(
                f"Checkpoint {path} holds {len(opt_keys)} optimizer variables, the optimizer has "
                f"{len(optimizer.variables)}: was it written with another optimizer or config?"
            )
        model.set_weights(weights)
        for key, variable in zip(opt_keys, optimizer.variables, strict=True):
            variable.assign(data[key])
        return json.loads(data["metadata"].tobytes().decode())
