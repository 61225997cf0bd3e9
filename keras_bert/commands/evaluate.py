"""`keras-bert evaluate`: metrics of a fine-tuned model dir on a dataset or file; writes predictions."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from keras_bert.commands import UsageError, positive_int, require_dataset_or_file

HELP = "Evaluate a fine-tuned model (any fine-tuning task) and write its predictions."
OLD_SPELLINGS = {"--model-dir": "--model"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", dest="model_dir", metavar="DIR", required=True,
                        help="the model to read: a run directory written by `keras-bert finetune`")
    parser.add_argument("--eval", required=True,
                        help="dataset name (its held-out split) or an eval file of the task's format")
    parser.add_argument("--out", default=None, help="predictions folder (default: the --model folder)")
    parser.add_argument("--max-eval-examples", type=positive_int, default=None,
                        help="evaluate on the first N examples")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="examples per batch")


def run(args: argparse.Namespace) -> int:
    if not (Path(args.model_dir) / "task.json").is_file():
        raise UsageError(f"--model {args.model_dir}: not a `keras-bert finetune` run directory "
                         "(no task.json)")
    require_dataset_or_file(args.eval, "--eval")
    from keras_bert.tasks import common, registry

    model_dir = Path(args.model_dir)
    task = registry.get(common.read_task_file(model_dir)["task"])
    out = Path(args.out or model_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = common.with_preprocessor(common.load_task_model(model_dir / common.BEST_MODEL), model_dir)
    result = task.finetune_module().evaluate_saved(
        model, args.eval, out, max_examples=args.max_eval_examples, batch_size=args.batch_size)
    (out / "metrics.json").write_text(json.dumps(result, indent=1, default=float))
    print(json.dumps(result, indent=1, default=float))
    print(f"predictions written to {out}")
    return 0
