"""The one training stack that pretraining (`training.pretrain`) and fine-tuning
(`tasks.common.run_finetune`) both run on.

    strategy (`strategies.create_strategy`)
    -> model built under `strategy.scope()`, in the run's dtype policy (`precision`)
    -> `compile_for_fit`: the optimizer from `optimizers.create_optimizer(model=...)` (gradient
       clipped after the all-reduce, one no-decay rule, `LossScaleOptimizer` under
       `mixed_float16`), XLA where the strategy allows it (`strategies.resolve_jit`), the
       multi-worker fix (`multi_worker.enable_multi_worker_fit`)
    -> `restore`: weights, optimizer state and step of an interrupted run (`checkpoints`)
    -> `training_callbacks`: global step, learning rate + throughput, TensorBoard scalars,
       the driver's own callbacks (fine-tuning's evaluation), periodic checkpoints, the curves PNG
    -> `fit_segments`: `model.fit` from the restored step to the end, epoch numbering kept; a
       driver whose input is one stream of global batches feeds each replica its slice of every
       batch (`replica_slices`), so distributed runs see the single-device batches.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import tensorflow as tf

from keras_bert.training import callbacks as cb
from keras_bert.training.checkpoints import load_training_state, read_metadata
from keras_bert.training.multi_worker import build_from_input_spec, enable_multi_worker_fit
from keras_bert.training.strategies import is_multi_worker, resolve_jit


def compile_for_fit(
    model: keras.Model,
    optimizer: keras.optimizers.Optimizer,
    strategy: tf.distribute.Strategy,
    jit_compile: bool | str = "auto",
    **compile_kwargs,
) -> None:
    """`model.compile` under `strategy.scope()` with the XLA rule of `resolve_jit`, then the
    fixes of `multi_worker`: a distributed model builds from its input's spec (no batch drawn),
    and the multi-worker fix (a no-op unless the strategy spans several workers)."""
    with strategy.scope():
        model.compile(optimizer=optimizer, jit_compile=resolve_jit(jit_compile, strategy), **compile_kwargs)
    build_from_input_spec(model)
    enable_multi_worker_fit(model)


def restore(state_path: str | os.PathLike, model: keras.Model, strategy: tf.distribute.Strategy) -> dict | None:
    """Loads the training state at `state_path` into the compiled `model` (weights, optimizer
    variables: its iteration counter positions the learning-rate schedule) and returns its
    metadata (`step` = batches consumed, ...); None when there is no state (a fresh run)."""
    if read_metadata(state_path) is None:
        return None
    with strategy.scope():
        return load_training_state(state_path, model)


def plan_segments(initial_step: int, total_steps: int, steps_per_epoch: int) -> list[tuple[int, int, int, int]]:
    """Splits the remaining steps into `fit` calls that keep epoch numbering across a resume.

    Returns `(initial_epoch, epochs, steps_per_epoch, first_step)` tuples: the rest of a
    partly done epoch, then the full epochs, then a final short epoch if `total_steps` is not a
    multiple of `steps_per_epoch`.
    """
    segments = []
    step = initial_step
    while step < total_steps:
        epoch, done = divmod(step, steps_per_epoch)
        if done or total_steps - step < steps_per_epoch:
            n = min(steps_per_epoch - done, total_steps - step)
            segments.append((epoch, epoch + 1, n, step))
            step += n
        else:
            full = (total_steps - step) // steps_per_epoch
            segments.append((epoch, epoch + full, steps_per_epoch, step))
            step += full * steps_per_epoch
    return segments


def fit_segments(
    model: keras.Model,
    dataset_from: Callable[[int], object],
    *,
    initial_step: int,
    total_steps: int,
    steps_per_epoch: int,
    callbacks: Sequence[keras.callbacks.Callback],
    verbose: int | str = "auto",
) -> None:
    """Trains from `initial_step` to `total_steps` (global batches) in epochs of
    `steps_per_epoch`. `dataset_from(first_step)`: the (infinite, deterministic) training input
    positioned at `first_step`, i.e. with the batches already consumed skipped."""
    for initial_epoch, epochs, steps, first_step in plan_segments(initial_step, total_steps, steps_per_epoch):
        model.fit(
            dataset_from(first_step), initial_epoch=initial_epoch, epochs=epochs,
            steps_per_epoch=steps, callbacks=list(callbacks), verbose=verbose,
            shuffle=False,  # the input is already shuffled, deterministically (Keras would warn)
        )


def replica_slices(
    strategy: tf.distribute.Strategy, dataset_from: Callable[[int], tf.data.Dataset]
) -> Callable[[int], object]:
    """Wraps `dataset_from(first_step)` (global batches, the same on every worker) so that each
    replica of `strategy` trains on its slice of every global batch: replica r of N takes rows
    [r * B // N, (r + 1) * B // N) of a batch of B rows. The replicas together see exactly the
    batches a single process sees (same rows, same order), so a distributed run reproduces the
    single-device one. (Keras' own `experimental_distribute_dataset` rewrites the pipeline to
    shard it, and under `MultiWorkerMirroredStrategy` the rewritten seeded shuffle yields another
    order.) Without several replicas, `dataset_from` itself is returned.
    """
    replicas = strategy.num_replicas_in_sync
    if replicas == 1 and not is_multi_worker(strategy):
        return dataset_from

    def sliced(first_step: int):
        def pipeline(context: tf.distribute.InputContext) -> tf.data.Dataset:
            local = replicas // context.num_input_pipelines  # replicas fed by this pipeline
            first = context.input_pipeline_id * local

            def take(batch, replica: int):
                rows = tf.shape(tf.nest.flatten(batch)[0])[0]
                start, end = rows * replica // replicas, rows * (replica + 1) // replicas
                return tf.nest.map_structure(lambda t: t[start:end], batch)

            def parts(*batch):
                batch = batch if len(batch) > 1 else batch[0]
                pieces = [tf.data.Dataset.from_tensors(take(batch, first + j)) for j in range(local)]
                out = pieces[0]
                for piece in pieces[1:]:
                    out = out.concatenate(piece)
                return out

            return dataset_from(first_step).flat_map(parts).prefetch(tf.data.AUTOTUNE)

        return strategy.distribute_datasets_from_function(pipeline)

    return sliced


def training_callbacks(
    *,
    counter: cb.StepCounter,
    global_batch_size: int,
    log_dir: str | os.PathLike,
    state_path: str | os.PathLike,
    plot_path: str | os.PathLike,
    record_every: int,
    save_every: int,
    chief: bool = True,
    history: list[dict] | None = None,
    metadata: Callable[[], dict] | None = None,
    save_curves: bool = False,
    before_checkpoint: Sequence[keras.callbacks.Callback] = (),
) -> tuple[list[keras.callbacks.Callback], cb.ThroughputAndLearningRate]:
    """The callbacks of a training run, in the order they must run, and the curve recorder.

    `counter` (global step) -> learning rate + throughput into the logs, curves recorded every
    `record_every` steps (`history`: records of the resumed part) -> TensorBoard scalars under
    `log_dir` (chief only) -> `before_checkpoint` (e.g. fine-tuning's evaluation, so the state
    saved after it knows its result) -> training state at `state_path` every `save_every` steps
    and each epoch end (chief writes; `metadata()` adds entries, `save_curves` the recorded curves
    as `curves`, so a resumed run plots the whole run) -> the curves PNG at `plot_path` when
    training ends (chief).
    """
    scalars = cb.ThroughputAndLearningRate(global_batch_size, counter, record_every, history=history)

    def state_metadata() -> dict:
        extra = metadata() if metadata is not None else {}
        return {**extra, "curves": scalars.history} if save_curves else extra

    callbacks: list[keras.callbacks.Callback] = [counter, scalars]
    if chief:
        callbacks.append(cb.TensorBoardScalars(Path(log_dir), counter, record_every))
    callbacks += list(before_checkpoint)
    callbacks += [
        cb.PeriodicCheckpoint(state_path, counter, save_every, write=chief, metadata=state_metadata),
        cb.TrainingCurvePlot(plot_path, scalars, write=chief),
    ]
    return callbacks, scalars


__all__ = [
    "compile_for_fit",
    "fit_segments",
    "plan_segments",
    "replica_slices",
    "restore",
    "training_callbacks",
]
