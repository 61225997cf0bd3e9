"""Shared fine-tuning plumbing: run config, model init, optimizer, callbacks, best-model keeping,
and the train/evaluate driver `run_finetune` the task modules call."""

from __future__ import annotations

import dataclasses
import json
import math
import time
import warnings
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
from keras_bert.tasks import registry
from keras_bert.training.checkpoints import STATE_FILE, read_metadata, save_model_atomically

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
    cased: bool = False  # keep case and accents (a cased vocabulary)
    announce_resume: bool = True  # print "continuing DIR from step N" when resuming
    batch_size: int = 32
    learning_rate: float = 5e-5
    epochs: int = 3
    steps: int | None = None  # total optimizer steps; overrides epochs
    eval_every: int | None = None  # steps between evaluations (default: once per epoch)
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    strategy: str = "default"
    precision: str = "float32"  # "float32" | "mixed" | "mixed_float16" | "mixed_bfloat16"
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
    answerable_only: bool = False  # drop unanswerable questions: SQuAD v1.1, always answers
    qa_convention: str = "original"  # how windows' spans are scored (`SquadPreprocessor`)
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
    saved = read_task_file(path).get("task")
    if saved is None or registry.get(saved).name != registry.get(task).name:
        return None
    return load_task_model(path / BEST_MODEL)


def with_preprocessor(model: keras.Model, model_dir: str | Path) -> keras.Model:
    """`model` with its preprocessor: the saved one, or for a model saved before preprocessors
    travelled with models, one rebuilt from the run's `task.json` and `vocab.txt`."""
    if getattr(model, "preprocessor", None) is not None:
        return model
    import inspect

    info = read_task_file(model_dir)
    cls = registry.get(info["task"]).load("preprocessor")
    accepted = inspect.signature(cls.__init__).parameters
    options = {k: v for k, v in info.items() if k in accepted and k not in ("tokenizer", "packer")}
    tokenizer = make_tokenizer(Path(model_dir) / VOCAB_FILE, lowercase=not info.get("cased", False))
    model.preprocessor = cls(tokenizer, **options)
    return model


def make_tokenizer(vocab_path: str | Path, lowercase: bool = True):
    from keras_bert.tokenizers import WordPieceTokenizer

    return WordPieceTokenizer(vocabulary=str(vocab_path), lowercase=lowercase)


def trim_to_longest(x: dict, *rest, multiple: int = 16):
    """Cut padded (B, T) batches to the longest row, rounded up to `multiple` (fewer wasted
    FLOPs on short texts; few distinct shapes). `rest`: (B, T) labels / weights cut alike."""
    longest = tf.reduce_max(tf.reduce_sum(tf.cast(x["padding_mask"], tf.int32), axis=1))
    length = tf.minimum((longest + multiple - 1) // multiple * multiple, tf.shape(x["token_ids"])[1])
    cut = {k: v[:, :length] for k, v in x.items()}
    if not rest:
        return cut
    return (cut, *(r[:, :length] if r.shape.rank == 2 else r for r in rest))


def make_optimizer(
    config: RunConfig, total_steps: int, model: keras.Model | None = None
) -> keras.optimizers.Optimizer:
    """Pretraining's optimizer factory (`training.optimizers.create_optimizer`) with fine-tuning's
    schedule: AdamW, linear warm-up then cosine decay to 0, gradient clipped to global norm 1.0
    after the cross-replica sum; with `model` (call under its strategy's scope): no decay on its
    LayerNorm parameters and biases, and loss scaling when it computes in float16."""
    from keras_bert.training.optimizers import create_optimizer

    warmup = max(1, int(config.warmup_fraction * total_steps))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        decay_steps=max(1, total_steps - warmup),
        warmup_target=config.learning_rate,
        warmup_steps=warmup,
    )
    return create_optimizer(
        "adamw", schedule, weight_decay=config.weight_decay, global_clipnorm=1.0, model=model
    )


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The named `tf.distribute` strategy ("default": none)."""
    if name == "default":
        return tf.distribute.get_strategy()
    from keras_bert.training.strategies import create_strategy

    return create_strategy(name)


def fit_schedule(config: RunConfig, steps_per_epoch: int) -> tuple[int, int, int]:
    """(epochs, steps per Keras epoch, total steps). With `steps`, a Keras "epoch" is one
    evaluation period over a repeated dataset; the periods are evened out so that the total is
    `steps` (at most `epochs - 1` more), not a whole number of `eval_every`/data passes."""
    if config.steps:
        period = min(config.steps, config.eval_every or steps_per_epoch)
        epochs = math.ceil(config.steps / period)
        period = math.ceil(config.steps / epochs)
        return epochs, period, epochs * period
    return config.epochs, steps_per_epoch, config.epochs * steps_per_epoch


class KeepBest(keras.callbacks.Callback):
    """Runs the task's real evaluation after each epoch (evaluation period), logs it to
    TensorBoard at the global step, keeps the best model as `best_model.keras` and the history in
    `eval_history.json`.

    Under a multi-worker strategy every worker evaluates on all of the data (`local_predict`:
    same weights, same result) and only the chief (`write=True`) writes files. `state()` is what a
    resumed run needs back (`restore(state)`): the best value and the history.
    """

    def __init__(self, evaluate: Callable[[keras.Model], dict], model_dir: Path, metric: str, *,
                 counter=None, write: bool = True):
        super().__init__()
        self.evaluate_fn = evaluate
        self.model_dir = Path(model_dir)
        self.metric = metric
        self.counter = counter  # `training.callbacks.StepCounter` (global step) or None
        self.write = write
        self.best: float | None = None
        self.history: list[dict] = []
        self.writer = None

    def state(self) -> dict:
        return {"best": self.best, "eval_history": self.history}

    def restore(self, state: dict) -> None:
        self.best = state.get("best")
        self.history = list(state.get("eval_history", []))

    def on_epoch_end(self, epoch, logs=None):
        from keras_bert.training.callbacks import write_scalars
        from keras_bert.training.multi_worker import local_predict

        started = time.time()
        with local_predict(self.model):
            result = self.evaluate_fn(self.model)
        value = float(result[self.metric])
        result = {k: v for k, v in result.items() if isinstance(v, int | float)}
        step = self.counter.step if self.counter is not None else epoch + 1
        improved = self.best is None or value > self.best
        if improved:
            self.best = value
        train = {}
        for k, v in (logs or {}).items():
            try:
                train[k] = float(v)
            except (TypeError, ValueError):
                pass
        entry = {"epoch": epoch + 1, "step": step, **result, "train": train, "best": improved,
                 "eval_seconds": round(time.time() - started, 1)}
        self.history.append(entry)
        if not self.write:
            return
        if self.writer is None:
            self.writer = tf.summary.create_file_writer(str(self.model_dir / "logs" / "eval"))
        write_scalars(self.writer, {f"eval_{k}": v for k, v in result.items()}, step)
        if improved:
            save_model_atomically(self.model, self.model_dir / BEST_MODEL)  # A kill keeps the last best.
        text = json.dumps(self.history, indent=1, default=float).encode()
        write_atomically(self.model_dir / "eval_history.json", lambda f: f.write(text))
        print(f"  eval after epoch {epoch + 1}: {self.metric}={value:.4f}"
              f"{' (best, saved)' if improved else ''}", flush=True)


def write_scalars(writer, scalars: dict[str, float], step: int) -> None:
    """TensorBoard scalars: `training.callbacks.write_scalars`, the writer both drivers share."""
    from keras_bert.training.callbacks import write_scalars as write

    write(writer, scalars, step)


def callbacks(model_dir: Path, keep_best: KeepBest, *, counter, batch_size: int, period: int,
              chief: bool = True, history: list[dict] | None = None):
    """The training stack's callbacks (`training.stack.training_callbacks`) for fine-tuning:
    global step, learning rate + throughput, TensorBoard scalars (`model_dir/logs/train`), then
    the evaluation + best model, the training state (`model_dir/backup`, each evaluation period)
    and `training_curves.png`. Returns (callbacks, curve recorder)."""
    from keras_bert.training.stack import training_callbacks

    return training_callbacks(
        counter=counter, global_batch_size=batch_size, log_dir=model_dir / "logs" / "train",
        state_path=model_dir / "backup" / STATE_FILE, plot_path=model_dir / "training_curves.png",
        record_every=max(1, min(10, period)), save_every=0, chief=chief, history=history,
        metadata=keep_best.state, save_curves=True, before_checkpoint=[keep_best],
    )


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
    # Span and token heads never read the pooler: its weights stay as loaded (and are saved, so
    # the backbone can start a classifier later). Keras would say so once per run.
    warnings.filterwarnings("ignore", message=r"Gradients do not exist for variables \['pooler/")
    model_dir = Path(config.model_dir)
    state_path = model_dir / "backup" / STATE_FILE  # The training state of an interrupted run.
    saved = read_metadata(state_path)  # A damaged file: one line (CorruptCheckpointError).
    if saved is not None and config.announce_resume:  # (the CLI says so on its first line)
        print(f"continuing {model_dir} from step {saved['step']}", flush=True)
    model_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(model_dir, log=lambda line: print(line, flush=True))  # Killed saves.
    keras.utils.set_random_seed(config.seed)
    strategy = make_strategy(config.strategy)
    with strategy.scope():
        model = same_task_model(config.init, task)
        if model is not None:  # continue that run: its whole model, its vocabulary
            vocab = Path(config.init) / VOCAB_FILE
        else:
            backbone, vocab = load_backbone_and_vocab(config.init)
            model = build_model(backbone)
    tokenizer = make_tokenizer(vocab, lowercase=not config.cased)
    copy_vocab(vocab, model_dir)
    preprocessor, train_ds, num_rows = build_inputs(tokenizer)
    model.preprocessor = preprocessor  # saved with the model: evaluation and export read it
    epochs, period, total = fit_schedule(config, -(-num_rows // config.batch_size))
    # The training stack (`training.stack`), as pretraining runs it.
    from keras_bert.training.callbacks import StepCounter
    from keras_bert.training.precision import apply_policy, resolve_policy
    from keras_bert.training.stack import compile_for_fit, fit_segments, replica_slices, restore
    from keras_bert.training.strategies import is_chief

    with strategy.scope():  # The backbone computes in the run's precision (heads as built).
        apply_policy(getattr(model, "backbone", model), resolve_policy(config.precision, strategy))
        optimizer = make_optimizer(config, total, model)
    compile_for_fit(model, optimizer, strategy, config.jit_compile)
    chief = is_chief(strategy)
    if chief:
        remove_stale_temporaries(state_path.parent, log=lambda line: print(line, flush=True))
    saved = restore(state_path, model, strategy) or {}
    initial_step = int(saved.get("step", 0))

    def run_eval(m: keras.Model) -> dict:
        return {k: v for k, v in evaluate(m, preprocessor).items() if not k.startswith("_")}

    counter = StepCounter(initial_step)
    keep = KeepBest(run_eval, model_dir, metric, counter=counter, write=chief)
    keep.restore(saved)
    write_task_file(model_dir, task, config, task_extra or {})
    run_callbacks, _ = callbacks(model_dir, keep, counter=counter, batch_size=config.batch_size,
                                 period=period, chief=chief, history=saved.get("curves"))
    # An infinite, seeded input: its position is the number of batches consumed (the step); each
    # replica trains on its slice of every global batch.
    fit_segments(model, replica_slices(strategy, lambda first: train_ds.repeat().skip(first)),
                 initial_step=initial_step, total_steps=total, steps_per_epoch=period,
                 callbacks=run_callbacks, verbose=config.verbose if chief else 0)
    best = max(keep.history, key=lambda h: h[metric])
    return {**{k: v for k, v in best.items() if k not in ("train", "best")},
            "num_train": len(train), "num_eval": len(evaluation)}
