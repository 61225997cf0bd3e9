"""`keras-bert` command line: parses arguments and calls the library.

Each sub-command lives in its own module under `keras_bert/commands/` (or `keras_bert.export.commands`)
exposing `HELP` (one line), `add_arguments(parser)` and `run(args) -> int`. Those modules import
TensorFlow lazily inside `run`, so `keras-bert --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, str] = {
    "demo": "keras_bert.commands.demo",
    "convert": "keras_bert.commands.convert",
    "vocab": "keras_bert.commands.vocab",
    "pretraining-data": "keras_bert.commands.pretraining_data",
    "pretrain": "keras_bert.commands.pretrain",
    "finetune": "keras_bert.commands.finetune",
    "evaluate": "keras_bert.commands.evaluate",
    "export": "keras_bert.export.commands.export",
    "serve": "keras_bert.export.commands.serve",
    "predict": "keras_bert.export.commands.predict",
}


def _load(module_name: str):
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            return None  # Sub-command not built (yet): leave it out of the parser.
        raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keras-bert",
        description="BERT from raw text to a TF Serving endpoint.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = _load(module_name)
        if module is None:
            continue
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def _reported_as_one_line(error: BaseException) -> bool:
    """Whether `error` is a user error the CLI reports as one `error: ...` line (exit code 2)
    rather than a traceback: a damaged checkpoint or weights file, or one that does not fit."""
    from keras_bert.convert.integrity import CorruptCheckpointError  # noqa: PLC0415
    from keras_bert.convert.weight_map import WeightMismatchError  # noqa: PLC0415
    from keras_bert.training.checkpoints import CheckpointMismatchError  # noqa: PLC0415

    return isinstance(error, CorruptCheckpointError | WeightMismatchError | CheckpointMismatchError)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except Exception as error:
        if not _reported_as_one_line(error):
            raise
        print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
