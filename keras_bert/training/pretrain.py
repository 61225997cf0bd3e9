"""Pretraining driver (Python API behind `keras-bert pretrain`).

`pretrain(PretrainConfig(...))` builds the strategy, the model under `strategy.scope()`, the
optimizer and schedule, resumes from `model_dir` if a training state is there, runs `model.fit`
with per-replica input pipelines, and saves the final model (`.keras` and a Hugging Face folder).
It runs on the training stack fine-tuning shares (`training.stack`).

Data per replica: the input is built by a function of a `tf.distribute.InputContext`
(global batch -> per-replica batch, one shard per input pipeline) and handed to
`strategy.distribute_datasets_from_function`; Keras 3.15 `fit` accepts that dataset under
`MirroredStrategy` and, with `multi_worker.enable_multi_worker_fit`, under
`MultiWorkerMirroredStrategy`. Under the default strategy the same function is called with a
single-pipeline context and `fit` gets a plain `tf.data.Dataset`.

Resume: the state file holds weights, optimizer state (its iteration counter positions the
learning-rate schedule) and the step (= batches consumed). Input pipelines are deterministic for a
seed, so the data position is restored by skipping the batches already consumed. On start the
temporary files of a save killed mid-write are removed (one printed line says which); a truncated
or unreadable state file stops the run with `CorruptCheckpointError` (one line: file, damage, what
to do) before anything is trained.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

import keras
import tensorflow as tf

from keras_bert.training import callbacks as cb
from keras_bert.training.checkpoints import (
    STATE_FILE,
    remove_stale_temporaries,
    save_model_atomically,
)
from keras_bert.training.optimizers import create_optimizer
from keras_bert.training.precision import resolve_policy
from keras_bert.training.schedules import WarmupPolynomialDecay
from keras_bert.training.stack import (
    compile_for_fit,
    fit_segments,
    plan_segments,
    restore,
    training_callbacks,
)
from keras_bert.training.strategies import create_strategy, is_chief

DatasetFn = Callable[[tf.distribute.InputContext], tf.data.Dataset]


@dataclasses.dataclass
class PretrainConfig:
    """Everything a pretraining run needs. Steps count global batches (micro-batches when
    `accumulation_steps > 1`; the optimizer updates every `accumulation_steps` of them)."""

    model_dir: str
    input_format: str = "text"  # "text" (dynamic masking), "tfrecord", or "synthetic"
    train_files: list[str] | str | None = None  # text files (default: bundled corpus) or TFRecords
    vocabulary: str | None = None  # vocab.txt for "text" input (default: uncased BERT's)
    preset: str | None = "tiny"
    model_config: dict | None = None  # explicit BertBackbone kwargs (override the preset's)
    seq_len: int = 128
    max_predictions: int = 20
    masked_lm_prob: float = 0.15  # "text" input: share of tokens masked
    whole_word_mask: bool = False  # "text" input: mask a word's ## pieces with it
    global_batch_size: int = 32
    steps: int = 1000
    steps_per_epoch: int | None = None  # default: save_every (or steps)
    learning_rate: float = 1e-4
    warmup_steps: int = 0  # optimizer updates
    end_learning_rate: float = 0.0
    decay_power: float = 1.0
    weight_decay: float = 0.01
    optimizer: str = "adamw"  # "adamw" | "lamb"
    global_clipnorm: float | None = 1.0
    accumulation_steps: int = 1
    precision: str = "float32"  # "float32" | "mixed" | "mixed_float16" | "mixed_bfloat16"
    jit_compile: bool | str = "auto"
    strategy: str = "default"
    num_cpu_replicas: int = 0
    tpu: str | None = None
    seed: int = 0
    save_every: int = 100
    log_every: int = 10
    verbose: int | str = "auto"
    save_final: bool = True


def _build_backbone(config: PretrainConfig, dtype: str):
    """The preset (its real weights where it has them, e.g. continued pretraining of MiniLM) with
    `model_config` overrides, or a fresh `BertBackbone(**model_config)` without a preset."""
    from keras_bert.models import BertBackbone

    overrides = dict(config.model_config or {})
    if config.preset:
        return BertBackbone.from_preset(config.preset, **overrides, dtype=dtype)
    if not overrides:
        raise ValueError("Give a preset or an explicit model_config.")
    return BertBackbone(**overrides, dtype=dtype)


def make_dataset_fn(config: PretrainConfig, vocabulary_size: int) -> DatasetFn:
    """Per-pipeline dataset factory for `config.input_format` (global batch in, local batch out)."""
    fmt = config.input_format
    if fmt == "synthetic":
        from keras_bert.training.synthetic import synthetic_pretraining_dataset

        return lambda ctx: synthetic_pretraining_dataset(
            config.global_batch_size, config.seq_len, config.max_predictions, vocabulary_size,
            seed=config.seed, input_context=ctx,
        )
    if fmt == "tfrecord":
        from keras_bert.data.tfrecords import pretraining_dataset

        return lambda ctx: pretraining_dataset(
            config.train_files, config.global_batch_size, config.seq_len, config.max_predictions,
            seed=config.seed, input_context=ctx, vocabulary_size=vocabulary_size,
        )
    if fmt == "text":
        from keras_bert.data.corpus import bundled_corpus_files
        from keras_bert.data.dynamic_pretraining import dynamic_pretraining_dataset
        from keras_bert.presets import minilm_dir
        from keras_bert.tokenizers import WordPieceTokenizer

        files = config.train_files or bundled_corpus_files()
        # Default: the uncased BERT vocabulary (30522 ids) shipped with the MiniLM package.
        vocabulary = config.vocabulary or str(minilm_dir() / "vocab.txt")
        tokenizer = WordPieceTokenizer(vocabulary=vocabulary)
        if tokenizer.vocabulary_size > vocabulary_size:
            raise ValueError(
                f"The vocabulary has {tokenizer.vocabulary_size} tokens, the model "
                f"{vocabulary_size}: set model_config vocabulary_size."
            )
        return lambda ctx: dynamic_pretraining_dataset(
            files, tokenizer, config.seq_len, config.max_predictions, config.global_batch_size,
            seed=config.seed, input_context=ctx, masked_lm_prob=config.masked_lm_prob,
            whole_word_mask=config.whole_word_mask,
        )
    raise ValueError(f"Unknown input_format {fmt!r}: expected 'text', 'tfrecord' or 'synthetic'.")


def _distributed_input(strategy, dataset_fn: DatasetFn, skip: int):
    def per_pipeline(ctx: tf.distribute.InputContext) -> tf.data.Dataset:
        return dataset_fn(ctx).skip(skip)

    if strategy is tf.distribute.get_strategy():  # The default (no) strategy: a plain dataset.
        return per_pipeline(tf.distribute.InputContext(1, 0, 1))
    return strategy.distribute_datasets_from_function(per_pipeline)


def build_pretrainer(config: PretrainConfig, strategy: tf.distribute.Strategy) -> keras.Model:
    """BertPretrainer built under `strategy.scope()` in the configured precision, compiled by the
    training stack (`stack.compile_for_fit`) with the shared optimizer factory."""
    from keras_bert.models import BertPretrainer

    policy = resolve_policy(config.precision, strategy)
    with strategy.scope():
        backbone = _build_backbone(config, policy)
        model = BertPretrainer(backbone)
        updates = max(1, config.steps // config.accumulation_steps)
        schedule = WarmupPolynomialDecay(
            config.learning_rate, updates, min(config.warmup_steps, updates),
            config.end_learning_rate, config.decay_power,
        )
        optimizer = create_optimizer(
            config.optimizer, schedule, weight_decay=config.weight_decay,
            global_clipnorm=config.global_clipnorm, accumulation_steps=config.accumulation_steps,
            model=model,
        )
    compile_for_fit(model, optimizer, strategy, config.jit_compile)
    return model


def pretrain(config: PretrainConfig, dataset_fn: DatasetFn | None = None) -> dict:
    """Runs (or resumes) pretraining. Returns {"model", "step", "history", "resumed_from"}.

    `dataset_fn(input_context)` overrides `config.input_format`: it must return an infinite,
    deterministic dataset of per-replica `(x, y, sample_weight)` batches.
    """
    keras.utils.set_random_seed(config.seed)
    strategy = create_strategy(config.strategy, num_cpu_replicas=config.num_cpu_replicas, tpu=config.tpu)
    chief = is_chief(strategy)
    model_dir = Path(config.model_dir)
    state_path = model_dir / "backup" / STATE_FILE
    model = build_pretrainer(config, strategy)
    if chief:  # Leftovers of a save killed mid-write (only the chief writes).
        for folder in (state_path.parent, model_dir, model_dir / "hf"):
            remove_stale_temporaries(folder, log=lambda line: print(line, flush=True))
    initial_step = 0
    saved = restore(state_path, model, strategy)
    if saved is not None:
        initial_step = int(saved["step"])
        print(f"Resuming from {state_path} at step {initial_step}/{config.steps}.", flush=True)
    if dataset_fn is None:
        dataset_fn = make_dataset_fn(config, model.backbone.vocabulary_size)

    counter = cb.StepCounter(initial_step)
    callbacks, scalars = training_callbacks(
        counter=counter, global_batch_size=config.global_batch_size, log_dir=model_dir / "logs",
        state_path=state_path, plot_path=model_dir / "training_curves.png",
        record_every=config.log_every, save_every=config.save_every, chief=chief,
    )
    steps_per_epoch = config.steps_per_epoch or min(config.save_every or config.steps, config.steps)
    fit_segments(
        model, lambda first_step: _distributed_input(strategy, dataset_fn, first_step),
        initial_step=initial_step, total_steps=config.steps, steps_per_epoch=steps_per_epoch,
        callbacks=callbacks, verbose=config.verbose if chief else 0,
    )
    if chief and config.save_final:
        save_final_model(model, model_dir)
    return {"model": model, "step": counter.step, "history": scalars.history, "resumed_from": initial_step}


def save_final_model(model: keras.Model, model_dir: str | os.PathLike) -> None:
    """Writes `pretrainer.keras` and a Hugging Face folder (`hf/`) under `model_dir`."""
    from keras_bert.convert import save_hf

    model_dir = Path(model_dir)
    save_model_atomically(model, model_dir / "pretrainer.keras")
    save_hf(model, model_dir / "hf")


__all__ = ["PretrainConfig", "build_pretrainer", "make_dataset_fn", "plan_segments", "pretrain"]
