"""`keras-bert pretrain`: MLM + NSP pretraining under a tf.distribute strategy, resumable."""

from __future__ import annotations

import argparse
import glob
import json
from pathlib import Path

from keras_bert.commands import (
    PRECISION_HELP,
    PRECISIONS,
    STRATEGIES,
    UsageError,
    add_masking_arguments,
    non_negative_int,
    positive_int,
    require_file,
    require_files,
    require_strategy_environment,
    run_start_line,
)

HELP = "Pretrain BERT (MLM + NSP) from raw text or TFRecords under a tf.distribute strategy."
DESCRIPTION = (
    HELP + " Runs into --model-dir; run again with the same --model-dir to continue from its last "
    "checkpoint."
)
OLD_SPELLINGS = {
    "--train-files": "--train",
    "--seq-len": "--sequence-length",
    "--preset": "--model",
    "--config": "--model-config",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("data")
    data.add_argument(
        "--input-format", choices=("text", "tfrecord", "synthetic"), default="text",
        help="raw text with dynamic masking, static TFRecords from `keras-bert pretraining-data`, "
        "or random batches (smoke tests)",
    )
    data.add_argument("--train", nargs="+", metavar="FILE",
                      help="text files (default: the bundled corpus), or TFRecord files/patterns")
    data.add_argument("--vocabulary", help="vocab.txt for text input (default: uncased BERT's)")
    add_masking_arguments(data, note="text input: ")
    model = parser.add_argument_group("model")
    model.add_argument("--model", default="tiny",
                       help="preset to start from (its real weights where it has them, e.g. "
                       "all-minilm-l6-v2; '' for --model-config only)")
    model.add_argument(
        "--model-config", help="JSON of BertBackbone kwargs, overriding the preset's "
        "(e.g. '{\"num_layers\": 4}'), or a path to a JSON file",
    )
    run = parser.add_argument_group("run")
    run.add_argument("--model-dir", required=True,
                     help="run directory: checkpoints, logs, plot, final model (continued if it "
                     "holds a run)")
    run.add_argument("--strategy", choices=STRATEGIES, default="default",
                     help="tf.distribute strategy (multi-worker reads TF_CONFIG)")
    run.add_argument("--num-cpu-replicas", type=non_negative_int, default=0,
                     help="mirrored without GPUs: split the CPU into this many logical devices")
    run.add_argument("--tpu", help="TPU name or address for --strategy tpu")
    run.add_argument("--batch-size", type=positive_int, default=32, help="global batch size")
    run.add_argument("--steps", type=positive_int, default=1000, help="total batches (all epochs)")
    run.add_argument("--epochs", type=positive_int, help="split --steps into this many epochs")
    run.add_argument("--steps-per-epoch", type=positive_int,
                     help="steps per epoch (default: --save-every)")
    run.add_argument("--seed", type=int, default=0, help="random seed (weights, data order, masks)")
    run.add_argument("--save-every", type=positive_int, default=100,
                     help="checkpoint interval in steps")
    run.add_argument("--log-every", type=positive_int, default=10,
                     help="TensorBoard/plot interval in steps")
    opt = parser.add_argument_group("optimization")
    opt.add_argument("--optimizer", choices=("adamw", "lamb"), default="adamw", help="optimizer")
    opt.add_argument("--learning-rate", type=float, default=1e-4, help="peak learning rate")
    opt.add_argument("--warmup-steps", type=non_negative_int, default=0,
                     help="linear warm-up, in optimizer updates")
    opt.add_argument("--end-learning-rate", type=float, default=0.0,
                     help="learning rate at the last step")
    opt.add_argument("--decay-power", type=float, default=1.0,
                     help="polynomial decay power (1: linear)")
    opt.add_argument("--weight-decay", type=float, default=0.01, help="decoupled weight decay")
    opt.add_argument("--clipnorm", type=float, default=1.0, help="global-norm clip (0: off)")
    opt.add_argument("--accumulation-steps", type=positive_int, default=1,
                     help="batches per optimizer update (gradient accumulation)")
    opt.add_argument("--precision", choices=PRECISIONS, default="float32", help=PRECISION_HELP)
    opt.add_argument("--jit", choices=("auto", "on", "off"), default="auto",
                     help="XLA; auto = on, except for CPU replicas of a distributed strategy")


def _model_config(text: str | None) -> dict | None:
    if not text:
        return None
    if not text.lstrip().startswith("{"):
        require_file(text, "--model-config")
        with open(text, encoding="utf-8") as f:
            text = f.read()
    try:
        config = json.loads(text)
    except ValueError as error:
        raise UsageError(f"--model-config is not JSON: {error}") from None
    if not isinstance(config, dict):
        raise UsageError("--model-config must be a JSON object of BertBackbone arguments")
    return config


def check_args(args: argparse.Namespace) -> None:
    """UsageError for what can be told wrong before TensorFlow loads."""
    if args.input_format != "text" and (args.whole_word_masking or args.masked_lm_prob != 0.15):
        raise UsageError(
            "--whole-word-masking and --masked-lm-prob apply to --input-format text (TFRecords are "
            "masked when written: `keras-bert pretraining-data --whole-word-masking`)"
        )
    if args.input_format == "tfrecord":
        if not args.train:
            raise UsageError("--input-format tfrecord needs --train FILE_OR_PATTERN ...")
        for pattern in args.train:
            if not glob.glob(pattern):
                raise UsageError(f"--train {pattern}: no such file")
    elif args.input_format == "text":
        require_files(args.train, "--train")
    require_file(args.vocabulary, "--vocabulary")
    if not args.model and not args.model_config:
        raise UsageError("give --model PRESET or --model-config")
    if args.model:
        from keras_bert.presets import PRESETS  # noqa: PLC0415 (no TensorFlow)

        if args.model not in PRESETS:
            raise UsageError(f"--model {args.model}: unknown preset (presets: {', '.join(PRESETS)})")
    require_strategy_environment(args.strategy)
    _model_config(args.model_config)


def config_from_args(args: argparse.Namespace):
    """`PretrainConfig` from parsed arguments."""
    from keras_bert.training.pretrain import PretrainConfig  # noqa: PLC0415

    steps_per_epoch = args.steps_per_epoch
    if args.epochs:
        steps_per_epoch = -(-args.steps // args.epochs)
    train_files = args.train
    if args.input_format == "tfrecord" and train_files and len(train_files) == 1:
        train_files = train_files[0]
    return PretrainConfig(
        model_dir=args.model_dir, input_format=args.input_format, train_files=train_files,
        vocabulary=args.vocabulary, preset=args.model or None,
        model_config=_model_config(args.model_config),
        seq_len=args.sequence_length, max_predictions=args.max_predictions,
        masked_lm_prob=args.masked_lm_prob, whole_word_mask=args.whole_word_masking,
        global_batch_size=args.batch_size, steps=args.steps, steps_per_epoch=steps_per_epoch,
        learning_rate=args.learning_rate, warmup_steps=args.warmup_steps,
        end_learning_rate=args.end_learning_rate, decay_power=args.decay_power,
        weight_decay=args.weight_decay, optimizer=args.optimizer,
        global_clipnorm=args.clipnorm or None, accumulation_steps=args.accumulation_steps,
        precision=args.precision, jit_compile={"auto": "auto", "on": True, "off": False}[args.jit],
        strategy=args.strategy, num_cpu_replicas=args.num_cpu_replicas, tpu=args.tpu,
        seed=args.seed, save_every=args.save_every, log_every=args.log_every,
    )


def run(args: argparse.Namespace) -> int:
    check_args(args)
    if args.strategy == "mirrored" and args.num_cpu_replicas > 1:
        # Logical CPUs must exist before TensorFlow initialises: split first thing.
        from keras_bert.training.strategies import configure_logical_cpus  # noqa: PLC0415

        configure_logical_cpus(args.num_cpu_replicas)
    from keras_bert.training.checkpoints import STATE_FILE  # noqa: PLC0415
    from keras_bert.training.pretrain import pretrain  # noqa: PLC0415

    config = config_from_args(args)
    # `pretrain` keeps its training state in MODEL_DIR/backup/ and resumes from it.
    print(run_start_line(args.model_dir, Path(args.model_dir) / "backup" / STATE_FILE), flush=True)
    try:
        result = pretrain(config)
    except RuntimeError as error:
        if args.strategy == "tpu":  # No TPU found at --tpu.
            raise UsageError(str(error)) from error
        raise
    last = result["history"][-1] if result["history"] else {}
    summary = {k: round(v, 4) for k, v in last.items() if "loss" in k or "acc" in k}
    print(f"Finished at step {result['step']} (resumed from {result['resumed_from']}): {summary}")
    print(f"Model, checkpoints, logs and training_curves.png in {args.model_dir}")
    return 0
