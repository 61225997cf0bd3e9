"""`keras-bert convert`: a Hugging Face folder or original TF1 checkpoint -> a `.keras` file (or back)."""

from __future__ import annotations

import argparse
from pathlib import Path

from keras_bert.commands import UsageError, require_file

HELP = ("Convert a Hugging Face or original BERT checkpoint (fine-tuned ones become their task model "
        "with its preprocessor) to .keras, or a .keras/HF folder to a Hugging Face folder.")
OLD_SPELLINGS = {"--from": "--model"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", dest="source", metavar="MODEL", required=True,
                        help="the model to read: a Hugging Face folder, an original TF1 checkpoint "
                             "(folder or prefix), a .keras file, or a preset name")
    parser.add_argument("--out", required=True,
                        help="where to write: PATH.keras, or a folder with --to hf")
    parser.add_argument("--format", choices=("auto", "hf", "tf1", "keras"), default="auto",
                        help="format of --model (auto: detected from the files)")
    parser.add_argument("--to", choices=("keras", "hf"), default="keras", help="output format")
    parser.add_argument("--heads", choices=("auto", "pretraining", "none"), default="auto",
                        help="auto: a fine-tuned checkpoint becomes its task model with its "
                             "preprocessor (task from config.json's architectures or the head "
                             "tensors; labels, casing, sequence length from its files), a "
                             "pretraining one a pretrainer, a bare encoder a backbone; pretraining: "
                             "backbone + MLM/NSP heads; none: backbone only")


def run(args: argparse.Namespace) -> int:
    from keras_bert import presets  # noqa: PLC0415 (no TensorFlow)

    source = args.source
    if source not in presets.PRESETS and not Path(f"{source}.index").exists():  # TF1 prefix
        require_file(source, "--model")
    if args.to == "keras" and not str(args.out).endswith(".keras"):
        raise UsageError(f"--out must end with .keras (got {args.out!r}), or give --to hf")
    from keras_bert import convert  # noqa: PLC0415 (TensorFlow loads here)

    if source in presets.PRESETS:
        source = presets.weights_dir(source) or source
    try:
        model, found = convert.load_model_and_task(
            source, format=None if args.format == "auto" else args.format, heads=args.heads
        )
    except ValueError as error:
        if isinstance(error, convert.CorruptCheckpointError | convert.WeightMismatchError):
            raise
        raise UsageError(str(error)) from None
    if found is not None:
        print(found.describe())
    if args.to == "hf":
        convert.save_hf(model, args.out)
    else:
        model.save(args.out)
    kind = type(model).__name__
    print(f"Converted {source} -> {args.out} ({kind}, {model.count_params():,} parameters)")
    return 0
