"""`keras-bert vocab`: learn a WordPiece `vocab.txt` from text files."""

from __future__ import annotations

import argparse
import logging
import sys

HELP = "Build a WordPiece vocab.txt from text files ([PAD] [UNK] [CLS] [SEP] [MASK] at ids 0-4)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--corpus",
        nargs="+",
        required=True,
        metavar="FILE",
        help="UTF-8 text files (blank lines are skipped)",
    )
    parser.add_argument(
        "--size", type=int, required=True, help="target vocabulary size (upper bound)"
    )
    parser.add_argument("--out", required=True, help="where to write vocab.txt")
    parser.add_argument(
        "--cased",
        action="store_true",
        help="keep case and accents (default: uncased, like bert-base-uncased)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=1024, help="lines per batch when counting"
    )


def run(args: argparse.Namespace) -> int:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("keras_bert").setLevel(logging.INFO)
    from keras_bert.tokenizers import build_vocabulary, write_vocabulary  # noqa: PLC0415 (TF loads here)

    try:
        tokens = build_vocabulary(
            args.corpus, args.size, lowercase=not args.cased, batch_size=args.batch_size
        )
    except (ValueError, FileNotFoundError) as error:
        print(f"keras-bert vocab: {error}", file=sys.stderr)
        return 2
    write_vocabulary(tokens, args.out)
    print(f"Wrote {len(tokens)} tokens to {args.out}")
    return 0
