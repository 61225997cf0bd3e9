"""`keras-bert pretrain`: MLM + NSP pretraining under a tf.distribute strategy, resumable."""

from __future__ import annotations

import argparse
import json

HELP = "Pretrain BERT (MLM + NSP) from raw text or TFRecords under a tf.distribute strategy."

STRATEGIES = ("default", "one-device", "mirrored", "multi-worker", "tpu")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("data")
    data.add_argument(
        "--input-format", choices=("text", "tfrecord", "synthetic"), default="text",
        help="raw text with dynamic masking (default: the bundled corpus), static TFRecords from "
        "`keras-bert pretraining-data`, or random batches (smoke tests)",
    )
    data.add_argument("--train-files", nargs="+", help="text files, or TFRecord files/patterns")
    data.add_argument("--vocabulary", help="vocab.txt for text input (default: uncased BERT's)")
    data.add_argument("--seq-len", type=int, default=128)
    data.add_argument("--max-predictions", type=int, default=20)
    model = parser.add_argument_group("model")
    model.add_argument("--preset", default="tiny", help="preset name ('' for --config only)")
    model.add_argument(
        "--config", help="JSON of BertBackbone kwargs, overriding the preset's "
        "(e.g. '{\"num_layers\": 4}'), or a path to a JSON file",
    )
    run = parser.add_argument_group("run")
    run.add_argument("--model-dir", required=True, help="checkpoints, logs, plot, final model")
    run.add_argument("--strategy", choices=STRATEGIES, default="default")
    run.add_argument("--num-cpu-replicas", type=int, default=0,
                     help="mirrored without GPUs: split the CPU into this many logical devices")
    run.add_argument("--tpu", help="TPU name or address for --strategy tpu")
    run.add_argument("--batch-size", type=int, default=32, help="global batch size")
    run.add_argument("--steps", type=int, default=1000, help="total batches (all epochs)")
    run.add_argument("--epochs", type=int, help="split --steps into this many epochs")
    run.add_argument("--steps-per-epoch", type=int, help="steps per epoch (default: --save-every)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--save-every", type=int, default=100, help="checkpoint interval in steps")
    run.add_argument("--log-every", type=int, default=10, help="TensorBoard/plot interval in steps")
    opt = parser.add_argument_group("optimization")
    opt.add_argument("--optimizer", choices=("adamw", "lamb"), default="adamw")
    opt.add_argument("--learning-rate", type=float, default=1e-4)
    opt.add_argument("--warmup-steps", type=int, default=0, help="in optimizer updates")
    opt.add_argument("--end-learning-rate", type=float, default=0.0)
    opt.add_argument("--decay-power", type=float, default=1.0, help="1 = linear decay")
    opt.add_argument("--weight-decay", type=float, default=0.01)
    opt.add_argument("--clipnorm", type=float, default=1.0, help="global-norm clip (0: off)")
    opt.add_argument("--accumulation-steps", type=int, default=1,
                     help="batches per optimizer update (gradient accumulation)")
    opt.add_argument("--precision", choices=("float32", "mixed", "mixed_float16", "mixed_bfloat16"),
                     default="float32", help="'mixed': float16 on GPU, bfloat16 on CPU/TPU")
    opt.add_argument("--jit", choices=("auto", "on", "off"), default="auto",
                     help="XLA; auto = on, except for CPU replicas of a distributed strategy")


def config_from_args(args: argparse.Namespace):
    """`PretrainConfig` from parsed arguments."""
    from keras_bert.training.pretrain import PretrainConfig  # noqa: PLC0415

    model_config = None
    if args.config:
        text = args.config
        if not text.lstrip().startswith("{"):
            with open(text, encoding="utf-8") as f:
                text = f.read()
        model_config = json.loads(text)
    steps_per_epoch = args.steps_per_epoch
    if args.epochs:
        steps_per_epoch = -(-args.steps // args.epochs)
    train_files = args.train_files
    if args.input_format == "tfrecord" and train_files and len(train_files) == 1:
        train_files = train_files[0]
    return PretrainConfig(
        model_dir=args.model_dir, input_format=args.input_format, train_files=train_files,
        vocabulary=args.vocabulary, preset=args.preset or None, model_config=model_config,
        seq_len=args.seq_len, max_predictions=args.max_predictions,
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
    if args.strategy == "mirrored" and args.num_cpu_replicas > 1:
        # Logical CPUs must exist before TensorFlow initialises: split first thing.
        from keras_bert.training.strategies import configure_logical_cpus  # noqa: PLC0415

        configure_logical_cpus(args.num_cpu_replicas)
    from keras_bert.training.pretrain import pretrain  # noqa: PLC0415

    try:
        result = pretrain(config_from_args(args))
    except RuntimeError as error:
        if args.strategy == "tpu":
            print(f"error: {error}")
            return 2
        raise
    last = result["history"][-1] if result["history"] else {}
    summary = {k: round(v, 4) for k, v in last.items() if "loss" in k or "acc" in k}
    print(f"Finished at step {result['step']} (resumed from {result['resumed_from']}): {summary}")
    print(f"Model, checkpoints, logs and training_curves.png in {args.model_dir}")
    return 0
