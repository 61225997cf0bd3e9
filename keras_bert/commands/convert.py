"""`keras-bert convert`: a Hugging Face folder or original TF1 checkpoint -> a `.keras` file (or back)."""

from __future__ import annotations

import argparse

HELP = "Convert a Hugging Face or original BERT checkpoint to .keras (or a .keras/HF folder to HF)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="source", required=True,
                        help="checkpoint: HF folder, TF1 folder/prefix, .keras file, or a preset name")
    parser.add_argument("--out", required=True, help="output: PATH.keras, or a folder with --to hf")
    parser.add_argument("--format", choices=("auto", "hf", "tf1", "keras"), default="auto",
                        help="input format (default: detected)")
    parser.add_argument("--to", choices=("keras", "hf"), default="keras", help="output format")
    parser.add_argument("--heads", choices=("auto", "pretraining", "none"), default="auto",
                        help="keep the MLM/NSP heads (auto: when the checkpoint has them)")


def run(args: argparse.Namespace) -> int:
    from keras_bert import convert, presets  # noqa: PLC0415 (TensorFlow loads here)

    source = args.source
    if source in presets.PRESETS:
        source = presets.weights_dir(source) or source
    model = convert.load_model(
        source, format=None if args.format == "auto" else args.format, heads=args.heads
    )
    if args.to == "hf":
        convert.save_hf(model, args.out)
    else:
        if not str(args.out).endswith(".keras"):
            raise SystemExit(f"--out must end with .keras (got {args.out!r}).")
        model.save(args.out)
    kind = type(model).__name__
    print(f"Converted {source} -> {args.out} ({kind}, {model.count_params():,} parameters)")
    return 0
