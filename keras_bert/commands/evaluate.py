"""`keras-bert evaluate`: metrics of a fine-tuned model dir on a dataset or file; writes predictions."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from keras_bert.commands import UsageError, positive_int, require_dataset_or_file

HELP = "Evaluate a fine-tuned model (classify / ner / qa) and write its predictions."
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
    from keras_bert.data.tasks import is_dataset_name
    from keras_bert.tasks import common

    info = common.read_task_file(args.model_dir)
    task = info["task"]
    model_dir = Path(args.model_dir)
    out = Path(args.out or model_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = common.load_task_model(model_dir / common.BEST_MODEL)
    tokenizer = common.make_tokenizer(model_dir / common.VOCAB_FILE)
    config = common.RunConfig(**{k: v for k, v in info.items() if k in common.RunConfig.__dataclass_fields__})
    named = is_dataset_name(args.eval)
    if task == "classify":
        from keras_bert.preprocessing.classification_preprocessor import ClassificationPreprocessor
        from keras_bert.tasks import classify

        data = classify.load_data(args.eval if named else None, None if named else args.eval,
                                  info["label_names"])
        examples = common.subset(data.eval, args.max_eval_examples)
        pre = ClassificationPreprocessor(tokenizer, config.sequence_length, info["label_names"])
        result = classify.evaluate(model, pre, examples, info["label_names"], batch_size=args.batch_size)
        classify.write_predictions(out / "predictions.jsonl", examples, result.pop("_probabilities"),
                                   info["label_names"])
    elif task == "ner":
        from keras_bert.preprocessing.ner_preprocessor import NerPreprocessor
        from keras_bert.tasks import ner

        data = ner.load_data(args.eval if named else None, None if named else args.eval)
        examples = common.subset(data.eval, args.max_eval_examples)
        pre = NerPreprocessor(tokenizer, config.sequence_length)
        result = ner.evaluate(model, pre, examples, info["label_names"], batch_size=args.batch_size)
        ner.write_predictions(out / "predictions.conll", examples, result.pop("_predicted"))
    else:
        from keras_bert.tasks import qa

        data = qa.load_data(args.eval if named else None, None if named else args.eval)
        examples = common.subset(data.eval, args.max_eval_examples)
        config.version_2_with_negative = data.version_2_with_negative or config.version_2_with_negative
        result = qa.evaluate(model, qa.make_preprocessor(tokenizer, config), examples, config)
        qa.write_predictions(out, examples, result.pop("_predictions"))
    (out / "metrics.json").write_text(json.dumps(result, indent=1, default=float))
    print(json.dumps(result, indent=1, default=float))
    print(f"predictions written to {out}")
    return 0
