"""Shared fine-tuning plumbing: run config, model init, optimizer, callbacks, best-model keeping,
and the train/evaluate driver `run_finetune` the task modules call."""

from __future__ import annotations

import dataclasses
import json
import math
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import keras
import tensorflow as tf

from keras_bert.convert.integrity import (
    RESTART_ADVICE,
    CorruptCheckpointError,
    check_zip_archive,
    one_line,
    remove_stale_temporaries,
    write_atomically,
)
from keras_bert.training.checkpoints import save_model_atomically

if TYPE_CHECKING:
    from keras_bert.tokenizers import WordPieceTokenizer

Preprocessor = TypeVar("Preprocessor")

TASK_FILE = "task.json"
BEST_MODEL = "best_model.keras"
VOCAB_FILE = "vocab.txt"


@dataclasses.dataclass
class RunConfig:
    """Hyper-parameters of one fine-tuning run (CLI flags map 1:1)."""

    init: str = "all-minilm-l6-v2"
    model_dir: str = "outputs/finetune"
    sequence_length: int = 128
    batch_size: int = 32
    learning_rate: float = 5e-5
    epochs: int = 3
    steps: int | None = None  # total optimizer steps; overrides epochs
    eval_every: int | None = None  # steps between evaluations (default: once per epoch)
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    strategy: str = "default"
    # XLA for the train/predict steps: 1.33x per MiniLM step on this 2-core CPU (seq 192, batch 16),
    # where Keras' "auto" would turn it off (it disables XLA on CPU-only machines).
    jit_compile: bool | str = True
    max_examples: int | None = None
    max_eval_examples: int | None = None
    seed: int = 0
    verbose: int = 1
    # QA only
    doc_stride: int = 128
    max_query_length: int = 64
    max_answer_length: int = 30
    null_score_diff_threshold: float = 0.0
    negative_window_rate: float = 1.0  # training windows without an answer kept (1 = all)
    version_2_with_negative: bool = False  # set from the data


def load_task_model(path: str | Path) -> keras.Model:
    """Load a `.keras` task model (imports the task classes so Keras can find them)."""
    import keras_bert.models.bert_classifier  # noqa: F401
    import keras_bert.models.bert_span_qa  # noqa: F401
    import keras_bert.models.bert_token_tagger  # noqa: F401

    check_zip_archive(path, RESTART_ADVICE)  # A truncated file: one line, not Keras' traceback.
    try:
        return keras.saving.load_model(path, compile=False)  # every training path compiles itself
    except zipfile.BadZipFile as error:  # A member fails its CRC check.
        raise CorruptCheckpointError(path, f"damaged ({one_line(error)})", RESTART_ADVICE) from error


def load_backbone_and_vocab(init: str):
    """`init`: a preset name, a Hugging Face folder (config.json + weights + vocab.txt), or a model
    directory written by `keras-bert finetune` (its backbone is reused). Returns (backbone, vocab path).
    """
    from keras_bert import presets
    from keras_bert.models.bert_backbone import BertBackbone

    path = Path(init)
    if path.is_dir() and (path / BEST_MODEL).exists():
        model = load_task_model(path / BEST_MODEL)
        return model.backbone, path / VOCAB_FILE
    if path.is_dir():
        from keras_bert.convert import load_backbone

        return load_backbone(path), path / VOCAB_FILE
    if path.suffix == ".keras" and path.exists():
        model = load_task_model(path)
        return getattr(model, "backbone", model), path.parent / VOCAB_FILE
    backbone = BertBackbone.from_preset(init)
    return backbone, presets.minilm_dir() / VOCAB_FILE  # BERT uncased vocabulary


def same_task_model(init: str, task: str) -> keras.Model | None:
    """The whole best model (head included) when `init` is a `keras-bert finetune` directory of
    the same task, so that training continues it; otherwise None (a new head is built)."""
    path = Path(init)
    if not (path / BEST_MODEL).exists() or not (path / TASK_FILE).exists():
        return None
    if read_task_file(path).get("task") != task:
        return None
    return load_task_model(path / BEST_MODEL)


def make_tokenizer(vocab_path: str | Path):
    from keras_bert.tokenizers import WordPieceTokenizer

    return WordPieceTokenizer(vocabulary=str(vocab_path), lowercase=True)


def trim_to_longest(x: dict, *rest, multiple: int = 16):
    """Cut padded (B, T) batches to the longest row, rounded up to `multiple` (fewer wasted
    FLOPs on short texts; few distinct shapes). `rest`: (B, T) labels / weights cut alike."""
    longest = tf.reduce_max(tf.reduce_sum(tf.cast(x["padding_mask"], tf.int32), axis=1))
    length = tf.minimum((longest + multiple - 1) // multiple * multiple, tf.shape(x["token_ids"])[1])
    cut = {k: v[:, :length] for k, v in x.items()}
    if not rest:
        return cut
    return (cut, *(r[:, :length] if r.shape.rank == 2 else r for r in rest))


def make_optimizer(config: RunConfig, total_steps: int) -> keras.optimizers.Optimizer:
    """AdamW, linear warm-up then cosine decay to 0 (LayerNorm and bias excluded from decay)."""
    warmup = max(1, int(config.warmup_fraction * total_steps))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        decay_steps=max(1, total_steps - warmup),
        warmup_target=config.learning_rate,
        warmup_steps=warmup,
    )
    optimizer = keras.optimizers.AdamW(
        learning_rate=schedule, weight_decay=config.weight_decay, global_clipnorm=1.0
    )
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta", "layer_norm"])
    return optimizer


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The named `tf.distribute` strategy ("default": none)."""
    if name == "default":
        return tf.distribute.get_strategy()
    from keras_bert.training.strategies import create_strategy

    return create_strategy(name)


def fit_schedule(config: RunConfig, steps_per_epoch: int) -> tuple[int, int, int]:
    """(epochs, steps per Keras epoch, total steps). With `steps`, a Keras "epoch" is one
    evaluation period over a repeated dataset."""
    if config.steps:
        period = min(config.steps, config.eval_every or steps_per_epoch)
        epochs = math.ceil(config.steps / period)
        return epochs, period, epochs * period
    return config.epochs, steps_per_epoch, config.epochs * steps_per_epoch


class KeepBest(keras.callbacks.Callback):
    """Runs the task's real evaluation after each epoch, logs it to TensorBoard, keeps the best
    model as `best_model.keras` and the history in `eval_history.json`."""

    def __init__(self, evaluate: Callable[[keras.Model], dict], model_dir: Path, metric: str):
        super().__init__()
        self.evaluate_fn = evaluate
        self.model_dir = Path(model_dir)
        self.metric = metric
        self.best: float | None = None
        self.history: list[dict] = []
        self.writer = tf.summary.create_file_writer(str(self.model_dir / "logs" / "eval"))

    def on_epoch_end(self, epoch, logs=None):
        started = time.time()
        result = self.evaluate_fn(self.model)
        value = float(result[self.metric])
        result = {k: v for k, v in result.items() if isinstance(v, int | float)}
        write_scalars(self.writer, {f"eval_{k}": v for k, v in result.items()}, epoch + 1)
        improved = self.best is None or value > self.best
        if improved:
            self.best = value
            save_model_atomically(self.model, self.model_dir / BEST_MODEL)  # A kill keeps the last best.
        entry = {"epoch": epoch + 1, **result, "train": dict(logs or {}), "best": improved,
                 "eval_seconds": round(time.time() - started, 1)}
        self.history.append(entry)
        text = json.dumps(self.history, indent=1, default=float).encode()
        write_atomically(self.model_dir / "eval_history.json", lambda f: f.write(text))
        print(f"  eval after epoch {epoch + 1}: {self.metric}={value:.4f}"
              f"{' (best, saved)' if improved else ''}", flush=True)


def write_scalars(writer, scalars: dict[str, float], step: int) -> None:
    """TensorBoard scalars without the `tensorboard` package (TF 2.21 does not install it)."""
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = "scalars"
    with writer.as_default():
        for name, value in scalars.items():
            tf.summary.write(name, tf.constant(float(value), tf.float32), step=step,
                             metadata=metadata.SerializeToString())
    writer.flush()


def callbacks(model_dir: Path, keep_best: KeepBest) -> list[keras.callbacks.Callback]:
    """TensorBoard training scalars (`model_dir/logs/train`), then evaluation + best model."""
    from keras_bert.training.callbacks import StepCounter, TensorBoardScalars

    counter = StepCounter()
    return [counter, TensorBoardScalars(model_dir / "logs" / "train", counter, every=10), keep_best]


def write_task_file(model_dir: Path, task: str, config: RunConfig, extra: dict) -> None:
    text = json.dumps({"task": task, **dataclasses.asdict(config), **extra}, indent=1).encode()
    write_atomically(model_dir / TASK_FILE, lambda f: f.write(text))


def read_task_file(model_dir: str | Path) -> dict:
    path = Path(model_dir) / TASK_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: is {model_dir} a `keras-bert finetune` model dir?")
    try:
        return json.loads(path.read_bytes())
    except ValueError as error:  # Not JSON (cut short by a kill in an earlier version).
        raise CorruptCheckpointError(path, f"not valid JSON ({error})", RESTART_ADVICE) from error


def subset(items: list, limit: int | None, seed: int = 0) -> list:
    """First `limit` items after a seeded shuffle (all items when `limit` is None)."""
    if limit is None or limit >= len(items):
        return list(items)
    import random

    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    return [items[i] for i in sorted(order[:limit])]


def copy_vocab(vocab_path: Path, model_dir: Path) -> None:
    target = model_dir / VOCAB_FILE
    if Path(vocab_path).resolve() != target.resolve():
        target.write_bytes(Path(vocab_path).read_bytes())


def run_finetune(
    task: str,
    config: RunConfig,
    train: list,
    evaluation: list,
    *,
    build_model: Callable[[keras.Model], keras.Model],
    build_inputs: Callable[[WordPieceTokenizer], tuple[Preprocessor, tf.data.Dataset, int]],
    evaluate: Callable[[keras.Model, Preprocessor], dict],
    metric: str,
    task_extra: dict | None = None,
) -> dict:
    """Fine-tune a task model from `config.init`, keeping the best one in `config.model_dir`.

    Args:
        task: the task name written to `task.json`.
        config: the run's hyper-parameters.
        train: training examples (already subset).
        evaluation: evaluation examples (already subset).
        build_model: backbone -> task model (called under the strategy scope).
        build_inputs: tokenizer -> (preprocessor, training dataset, training rows per epoch).
        evaluate: (model, preprocessor) -> metrics; keys starting with `_` are dropped.
        metric: the metric that picks the best model (higher is better).
        task_extra: more `task.json` entries.

    Returns:
        The best evaluation's metrics, `num_train` and `num_eval`.
    """
    model_dir = Path(config.model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(model_dir, log=lambda line: print(line, flush=True))  # Killed saves.
    strategy = make_strategy(config.strategy)
    with strategy.scope():
        model = same_task_model(config.init, task)
        if model is not None:  # continue that run: its whole model, its vocabulary
            vocab = Path(config.init) / VOCAB_FILE
        else:
            backbone, vocab = load_backbone_and_vocab(config.init)
            model = build_model(backbone)
    tokenizer = make_tokenizer(vocab)
    copy_vocab(vocab, model_dir)
    preprocessor, train_ds, num_rows = build_inputs(tokenizer)
    epochs, period, total = fit_schedule(config, -(-num_rows // config.batch_size))
    if config.steps:
        train_ds = train_ds.repeat()
    with strategy.scope():
        model.compile(optimizer=make_optimizer(config, total), jit_compile=config.jit_compile)

    def run_eval(m: keras.Model) -> dict:
        return {k: v for k, v in evaluate(m, preprocessor).items() if not k.startswith("_")}

    keep = KeepBest(run_eval, model_dir, metric)
    write_task_file(model_dir, task, config, task_extra or {})
    model.fit(train_ds, epochs=epochs, steps_per_epoch=period if config.steps else None,
              callbacks=callbacks(model_dir, keep), verbose=config.verbose)
    best = max(keep.history, key=lambda h: h[metric])
    return {**{k: v for k, v in best.items() if k not in ("train", "best")},
            "num_train": len(train), "num_eval": len(evaluation)}
