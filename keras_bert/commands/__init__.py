"""What the `keras-bert` sub-commands share: the user-error exception, value types and checks.

Nothing here imports TensorFlow: the checks run before a command loads it, so a mistyped dataset
name or a missing file is reported in a fraction of a second (see `keras_bert/cli.py`).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterable
from pathlib import Path

# `tf.distribute` strategies a training command can run under (`keras_bert.training.strategies`).
STRATEGIES = ("default", "one-device", "mirrored", "multi-worker", "tpu")
PRECISIONS = ("float32", "mixed", "mixed_float16", "mixed_bfloat16")
PRECISION_HELP = "'mixed': float16 on GPU, bfloat16 on CPU/TPU; float16 trains with loss scaling"
# `SquadPreprocessor.convention`: how a QA model's windows are cut and their spans scored.
QA_CONVENTIONS = ("original", "nq", "hf-pipeline")
# What `finetune` trains with: "hf-pipeline" (the overlap stride) is kept for imported HF folders.
QA_TRAINING_CONVENTIONS = ("original", "nq")
QA_CONVENTION_HELP = (
    "question-answering: whose windowing and answer scoring: original (google-research/bert: "
    "--doc-stride is the step between windows, spans score summed logits), nq (the same windows; "
    "a span scores its margin over its own window's [CLS], as the Natural Questions BERT baseline: "
    "fairer across the many windows of a long document) or hf-pipeline (transformers' QA pipeline: "
    "--doc-stride is the overlap, spans score the product of per-window probabilities)")


class UsageError(Exception):
    """A mistake in what the user asked for (a missing file, an unknown name, a bad value): the
    CLI prints `error: MESSAGE` as one line on stderr and exits with code 2, no traceback."""


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def probability(text: str) -> float:
    """argparse type: a float strictly between 0 and 1."""
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), got {text}")
    return value


def add_masking_arguments(parser, note: str = "") -> None:
    """The masked-LM example flags, with one name, default and help wherever examples are made
    (`pretrain` from text, `pretraining-data`); `note` prefixes the help of the masking ones."""
    parser.add_argument("--sequence-length", type=positive_int, default=128,
                        help="tokens per example, [CLS] and [SEP]s included")
    parser.add_argument("--max-predictions", type=positive_int, default=20,
                        help="most masked tokens per sequence")
    parser.add_argument("--masked-lm-prob", type=probability, default=0.15,
                        help=f"{note}share of tokens masked")
    parser.add_argument("--whole-word-masking", action="store_true",
                        help=f"{note}mask whole words (a word's ## pieces with it)")


def require_file(path: str | os.PathLike | None, flag: str) -> None:
    """UsageError unless `path` (given with `flag`) exists; None passes (the flag was not given)."""
    if path is not None and not Path(path).exists():
        raise UsageError(f"{flag} {path}: no such file or directory")


def require_files(paths: Iterable[str] | None, flag: str) -> None:
    for path in paths or ():
        require_file(path, flag)


def require_dataset_or_file(value: str | None, flag: str) -> None:
    """UsageError unless `value` is an existing file or a bundled dataset name."""
    if value is None or Path(value).exists():
        return
    from keras_bert.data.tasks.real_datasets import DATASETS, QA_SOURCES, is_dataset_name  # noqa: PLC0415

    if not is_dataset_name(value):
        names = [*sorted(DATASETS), *sorted(QA_SOURCES), "disflqa+quac"]
        raise UsageError(
            f"{flag} {value}: neither a file nor a dataset name (datasets: {', '.join(names)}; "
            "QA sources join with '+')"
        )


def require_strategy_environment(strategy: str) -> None:
    """multi-worker reads its cluster from TF_CONFIG: UsageError when it is missing or not JSON."""
    if strategy != "multi-worker":
        return
    example = '{"cluster": {"worker": ["host1:port", "host2:port"]}, "task": {"type": "worker", "index": 0}}'
    if "TF_CONFIG" not in os.environ:
        raise UsageError(f"--strategy multi-worker needs the TF_CONFIG environment variable (e.g. {example})")
    try:
        json.loads(os.environ["TF_CONFIG"])
    except ValueError as error:
        raise UsageError(f"TF_CONFIG is not JSON ({error}); e.g. {example}") from None


def run_start_line(model_dir: str | os.PathLike, state_file: str | os.PathLike | None, markers=()) -> str:
    """First line of a training run: `continuing DIR (step N)` when `model_dir` holds a run (its
    training state at `state_file`, or one of `markers` such as task.json), else `starting DIR`."""
    model_dir = Path(model_dir)
    if state_file is not None and Path(state_file).exists():
        from keras_bert.training.checkpoints import read_metadata  # noqa: PLC0415 (loads Keras)

        step = (read_metadata(state_file) or {}).get("step")
        return f"continuing {model_dir}" + ("" if step is None else f" (step {step})")
    if any((model_dir / marker).exists() for marker in markers):
        return f"continuing {model_dir}"
    return f"starting {model_dir}"
