"""Callbacks of both training drivers (pretraining and fine-tuning): a global step counter,
learning rate + throughput in the logs, TensorBoard scalars (`write_scalars`, the one writer),
periodic atomic checkpoints, and a PNG of the training curves over the global step."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from keras_bert.training.checkpoints import save_training_state


def current_learning_rate(optimizer: keras.optimizers.Optimizer) -> float:
    """The learning rate the optimizer applies at its current step."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)  # LossScaleOptimizer
    return float(keras.ops.convert_to_numpy(inner.learning_rate))


class StepCounter(keras.callbacks.Callback):
    """Counts batches across epochs and across resumed runs (`step` = batches consumed)."""

    def __init__(self, initial_step: int = 0) -> None:
        super().__init__()
        self.step = initial_step
        self._epoch_start = initial_step

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self._epoch_start = self.step

    def on_train_batch_end(self, batch, logs=None) -> None:
        self.step = self._epoch_start + batch + 1


OWN_KEYS = ("learning_rate", "throughput")


class ThroughputAndLearningRate(keras.callbacks.Callback):
    """Adds `learning_rate` and `throughput` (sequences/s) to the batch and epoch logs, and records
    the training curves every `record_every` global steps (the `history` list).

    Put it before `TensorBoardScalars` and the progress bar in the callback list: they read the
    same logs dict, so both scalars reach TensorBoard and the bar.

    Keras' batch logs are means since the start of the epoch (its metrics reset each epoch). A
    record at global step `s` holds, for each logged loss and metric, the mean over the steps
    since the previous record, recovered from those running means (batches weighted equally), so
    the curves run over the global step and do not restart at each epoch. `history` may be
    given the records of an earlier, resumed part of the run.
    """

    def __init__(
        self,
        global_batch_size: int,
        counter: StepCounter,
        record_every: int = 10,
        history: list[dict[str, float]] | None = None,
    ) -> None:
        super().__init__()
        self.global_batch_size = global_batch_size
        self.counter = counter
        self.record_every = max(1, record_every)
        self.history: list[dict[str, float]] = list(history or [])
        self._t0 = None
        self._step0 = 0
        self._last_throughput = 0.0
        self._running: dict[str, float] = {}  # key -> Keras' running mean at the previous batch
        self._interval: dict[str, list[float]] = {}  # key -> [sum of per-batch values, batches]

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self._running = {}

    def _accumulate(self, batch: int, logs) -> None:
        """Per-batch values from Keras' running means: v_b = (b + 1) m_b - b m_(b-1)."""
        for key, mean in logs.items():
            if key in OWN_KEYS or np.ndim(mean) != 0:
                continue
            mean = float(mean)
            value = (batch + 1) * mean - batch * self._running.get(key, mean)
            self._running[key] = mean
            total = self._interval.setdefault(key, [0.0, 0])
            total[0] += value
            total[1] += 1

    def on_train_batch_begin(self, batch, logs=None) -> None:
        if self._t0 is None:
            self._t0, self._step0 = time.perf_counter(), self.counter.step

    def on_train_batch_end(self, batch, logs=None) -> None:
        if logs is None:
            return
        self._accumulate(batch, logs)
        steps = self.counter.step - self._step0
        if steps >= self.record_every or not self.history:
            elapsed = time.perf_counter() - self._t0
            self._last_throughput = steps * self.global_batch_size / max(elapsed, 1e-9)
            self._t0, self._step0 = time.perf_counter(), self.counter.step
        logs["learning_rate"] = current_learning_rate(self.model.optimizer)
        logs["throughput"] = self._last_throughput
        if self.counter.step % self.record_every == 0:
            record = {k: total / count for k, (total, count) in self._interval.items() if count}
            record.update({k: float(logs[k]) for k in OWN_KEYS})
            self.history.append({"step": float(self.counter.step), **record})
            self._interval = {}

    def on_epoch_end(self, epoch, logs=None) -> None:
        if logs is not None:
            logs["throughput"] = self._last_throughput


class PeriodicCheckpoint(keras.callbacks.Callback):
    """Writes the training state (weights, optimizer, step) atomically every `save_every` steps
    (0: never mid-epoch) and at the end of every epoch. `write=False` on non-chief workers (they
    still count). `metadata()`, when given, adds entries to the state's metadata (JSON)."""

    def __init__(
        self,
        path: str | os.PathLike,
        counter: StepCounter,
        save_every: int,
        write: bool = True,
        metadata: Callable[[], dict] | None = None,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.counter = counter
        self.save_every = save_every
        self.write = write
        self.metadata = metadata
        self._last_saved = counter.step

    def _save(self) -> None:
        if self.counter.step == self._last_saved:
            return
        self._last_saved = self.counter.step
        if self.write:
            extra = self.metadata() if self.metadata is not None else {}
            save_training_state(self.path, self.model, {**extra, "step": self.counter.step})

    def on_train_batch_end(self, batch, logs=None) -> None:
        if self.save_every and self.counter.step - self._last_saved >= self.save_every:
            self._save()

    def on_epoch_end(self, epoch, logs=None) -> None:
        self._save()


class TrainingCurvePlot(keras.callbacks.Callback):
    """Writes a PNG of the recorded curves (losses, accuracies, learning rate, throughput)
    at the end of training, with matplotlib's Agg backend (no display needed)."""

    def __init__(self, path: str | os.PathLike, source: ThroughputAndLearningRate, write: bool = True):
        super().__init__()
        self.path = Path(path)
        self.source = source
        self.write = write

    def on_train_end(self, logs=None) -> None:
        if self.write and self.source.history:
            plot_training_curves(self.source.history, self.path)


def plot_training_curves(history: list[dict[str, float]], path: str | os.PathLike) -> Path:
    """Plots `history` (dicts with `step` and scalar logs) into a 2x2 PNG at `path`."""
    import matplotlib.pyplot as plt

    fig = curves_figure(history)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def curves_figure(history: list[dict[str, float]]):
    """The 2x2 matplotlib figure of `plot_training_curves`: losses, accuracies, learning rate,
    throughput, each against the global step (`history[i]["step"]`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [h["step"] for h in history]
    keys = sorted({k for h in history for k in h if k != "step"})
    panels = {
        "loss": [k for k in keys if "loss" in k],
        "accuracy": [k for k in keys if "acc" in k],
        "learning rate": [k for k in keys if k == "learning_rate"],
        "throughput (seq/s)": [k for k in keys if k == "throughput"],
    }
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    for ax, (title, names) in zip(axes.ravel(), panels.items(), strict=True):
        for name in names:
            ax.plot(steps, [h.get(name, np.nan) for h in history], label=name)
        ax.set_title(title)
        ax.set_xlabel("global step")
        if names:
            ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def write_scalars(writer, scalars: dict, step: int) -> None:
    """Writes the scalar entries of `scalars` as TensorBoard scalar summaries at `step` and
    flushes: the one summary writer of pretraining and fine-tuning (training and evaluation).

    TensorFlow's own event writer with the scalars plugin's metadata: the files open in
    `tensorboard --logdir` (installed by requirements.txt), and writing needs no `tensorboard`
    import (TF 2.21 does not install it by itself).
    """
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = "scalars"
    with writer.as_default():
        for name, value in (scalars or {}).items():
            if np.ndim(value) == 0 and not isinstance(value, str | bytes):
                tf.summary.write(
                    name, tf.constant(float(value), tf.float32), step=step,
                    metadata=metadata.SerializeToString(),
                )
    writer.flush()


class TensorBoardScalars(keras.callbacks.Callback):
    """Writes every scalar of the logs (loss, metrics, learning rate, throughput) with
    `write_scalars` under `log_dir`, every `every` global steps (`batch_*`) and at epoch ends
    (`epoch_*`), both at the global step."""

    def __init__(self, log_dir: str | os.PathLike, counter: StepCounter, every: int = 10) -> None:
        super().__init__()
        self.log_dir = str(log_dir)
        self.counter = counter
        self.every = max(1, every)
        self._writer = None

    def _write(self, prefix: str, logs, step: int) -> None:
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        write_scalars(self._writer, {f"{prefix}{k}": v for k, v in (logs or {}).items()}, step)

    def on_train_batch_end(self, batch, logs=None) -> None:
        if self.counter.step % self.every == 0:
            self._write("batch_", logs, self.counter.step)

    def on_epoch_end(self, epoch, logs=None) -> None:
        self._write("epoch_", logs, self.counter.step)

    def on_train_end(self, logs=None) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def read_scalars(log_dir: str | os.PathLike) -> dict[str, list[tuple[int, float]]]:
    """Reads back the scalars written under `log_dir`: {tag: [(step, value), ...]}."""
    import tensorflow as tf

    scalars: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(Path(log_dir).rglob("events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                tensor = tf.make_ndarray(value.tensor)
                scalars.setdefault(value.tag, []).append((int(event.step), float(tensor)))
    return scalars
