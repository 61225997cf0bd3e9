"""`keras-bert` command line: parses arguments and calls the library.

Each sub-command lives in its own module under `keras_bert/commands/` (or `keras_bert.export.commands`)
exposing `HELP` (one line), `add_arguments(parser)` and `run(args) -> int`, and optionally
`DESCRIPTION` (the `--help` text above the options) and `OLD_SPELLINGS` (`{"--old-flag":
"--new-flag"}`: earlier names still accepted, never shown). Those modules import TensorFlow lazily
inside `run`, and `import keras_bert` loads nothing heavy, so `keras-bert --help`, every
`keras-bert COMMAND --help` and argument errors never load TensorFlow.

One vocabulary (docs/DESIGN.md, "Command line"): kebab-case flags, one name per concept in every
command; `serve` alone keeps `tensorflow_model_server`'s own underscore flags. The underscore
spelling of any kebab-case flag (`--sequence_length`) is accepted as an old spelling too.

User errors (`UsageError`, a missing file, a damaged or mismatched checkpoint, bad argument values)
print one `error: ...` line on stderr and exit with code 2; anything else is a bug and keeps its
traceback.
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

# Errors that are the user's to fix, reported as one line (exit code 2): (module, class name).
# Looked up only in modules already imported, so that checking an error never loads TensorFlow.
ONE_LINE_ERRORS = (
    ("keras_bert.commands", "UsageError"),
    ("keras_bert.convert.integrity", "CorruptCheckpointError"),  # a damaged checkpoint or weights
    ("keras_bert.convert.weight_map", "WeightMismatchError"),  # weights that do not fit the model
    ("keras_bert.training.checkpoints", "CheckpointMismatchError"),  # a state of another model
)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends `(default: X)` to every option's help, except where there is nothing to show (no
    default, an on/off switch, an empty list) or the help already says it (`(default ...`)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        default = action.default
        if default is None or isinstance(default, bool) or default == []:
            return action.help
        if "(default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """An `ArgumentParser` that accepts old flag spellings and reports errors on one line."""

    def __init__(self, *args, old_spellings: dict[str, str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.old_spellings = dict(old_spellings or {})

    def _respell(self, token: str) -> str:
        flag, equals, value = token.partition("=")
        new = self.old_spellings.get(flag)
        if new is None and "_" in flag:
            kebab = flag.replace("_", "-")
            new = kebab if kebab in self._option_string_actions else None
        return new + equals + value if new else token

    def parse_known_args(self, args=None, namespace=None):
        args = sys.argv[1:] if args is None else list(args)
        if "--" in args:
            end = args.index("--")
            args = [self._respell(a) if a.startswith("--") else a for a in args[:end]] + args[end:]
        else:
            args = [self._respell(a) if a.startswith("--") else a for a in args]
        return super().parse_known_args(args, namespace)

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def _load(module_name: str):
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            return None  # Sub-command not built (yet): leave it out of the parser.
        raise


def version() -> str:
    """The installed distribution's version, else the source tree's."""
    from importlib import metadata  # noqa: PLC0415

    try:
        return metadata.version("keras-bert-serving")
    except metadata.PackageNotFoundError:
        from keras_bert import __version__  # noqa: PLC0415

        return __version__


def build_parser() -> Parser:
    parser = Parser(
        prog="keras-bert",
        description="BERT from raw text to a TF Serving endpoint. "
        "`keras-bert COMMAND --help` shows a command's options and their defaults.",
    )
    parser.add_argument("--version", action="version", version=f"keras-bert {version()}",
                        help="print the version and exit")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = _load(module_name)
        if module is None:
            continue
        sub = subparsers.add_parser(
            name,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            formatter_class=HelpFormatter,
            old_spellings=getattr(module, "OLD_SPELLINGS", None),
        )
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def reported_as_one_line(error: BaseException) -> bool:
    """Whether `error` is a user error the CLI reports as one `error: ...` line (exit code 2)
    rather than a traceback (see `ONE_LINE_ERRORS`; a missing file is one too)."""
    if isinstance(error, FileNotFoundError):
        return True
    for module_name, class_name in ONE_LINE_ERRORS:
        module = sys.modules.get(module_name)
        if module is not None and isinstance(error, getattr(module, class_name)):
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except Exception as error:
        if not reported_as_one_line(error):
            raise
        print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
