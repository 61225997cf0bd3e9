"""`keras-bert vocab`: learn a WordPiece `vocab.txt` from text files."""

from __future__ import annotations

import argparse
import logging
import sys

HELP = "Build a WordPiece vocab.txt from text files ([PAD] [UNK] [CLS] [SEP] [MASK] at ids 0-4)."
OLD_SPELLINGS = {"--size": "--vocabulary-size"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Imported here: tests/tokenizers/test_vocabulary.py keeps this module's top level free of
    # keras_bert imports.
    from keras_bert.commands import positive_int  # noqa: PLC0415

    parser.add_argument("--corpus", nargs="+", required=True, metavar="FILE",
                        help="UTF-8 text files (blank lines are skipped)")
    parser.add_argument("--vocabulary-size", type=positive_int, required=True,
                        help="target vocabulary size (upper bound, special tokens included)")
    parser.add_argument("--out", required=True, help="where to write vocab.txt")
    parser.add_argument("--cased", action="store_true",
                        help="keep case and accents (default: uncased, like bert-base-uncased)")
    parser.add_argument("--batch-size", type=positive_int, default=1024,
                        help="lines per batch when counting")


def run(args: argparse.Namespace) -> int:
    from keras_bert.commands import UsageError, require_files  # noqa: PLC0415

    require_files(args.corpus, "--corpus")
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("keras_bert").setLevel(logging.INFO)
    from keras_bert.tokenizers import build_vocabulary, write_vocabulary  # noqa: PLC0415 (TF loads here)

    try:
        tokens = build_vocabulary(
            args.corpus, args.vocabulary_size, lowercase=not args.cased, batch_size=args.batch_size
        )
    except ValueError as error:
        raise UsageError(str(error)) from error
    write_vocabulary(tokens, args.out)
    print(f"Wrote {len(tokens)} tokens to {args.out}")
    return 0
