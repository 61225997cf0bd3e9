"""`keras-bert pretraining-data`: raw text -> sharded MLM + NSP pretraining TFRecords."""

from __future__ import annotations

import argparse

HELP = (
    "Make MLM + NSP pretraining TFRecords from text (one sentence a line, blank line between docs)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--corpus",
        nargs="+",
        required=True,
        help="text files, or 'bundled' for the bundled Jane Austen corpus",
    )
    parser.add_argument("--vocab", required=True, help="WordPiece vocab.txt")
    parser.add_argument("--out", required=True, help="output folder for the .tfrecord shards")
    parser.add_argument(
        "--seq-len", type=int, default=128, help="max sequence length (default 128)"
    )
    parser.add_argument(
        "--max-predictions",
        type=int,
        default=20,
        help="max masked tokens per sequence (default 20)",
    )
    parser.add_argument("--whole-word-mask", action="store_true", help="mask whole words")
    parser.add_argument(
        "--dupe-factor",
        type=int,
        default=10,
        help="passes over the corpus with different masks (default 10)",
    )
    parser.add_argument(
        "--short-seq-prob",
        type=float,
        default=0.1,
        help="share of documents with a shorter target length (default 0.1)",
    )
    parser.add_argument(
        "--masked-lm-prob", type=float, default=0.15, help="share of tokens masked (default 0.15)"
    )
    parser.add_argument("--seed", type=int, default=12345, help="random seed (default 12345)")
    parser.add_argument("--shards", type=int, default=1, help="number of output files (default 1)")
    parser.add_argument(
        "--chunk-documents",
        type=int,
        default=2000,
        help="documents tokenized and paired at a time; bounds memory (default 2000)",
    )
    case = parser.add_mutually_exclusive_group()
    case.add_argument(
        "--lowercase",
        dest="lowercase",
        action="store_true",
        default=True,
        help="lower-case and strip accents (uncased vocab, the default)",
    )
    case.add_argument("--cased", dest="lowercase", action="store_false", help="keep case")


def run(args: argparse.Namespace) -> int:
    import logging  # noqa: PLC0415

    from keras_bert.data.corpus import bundled_corpus_files  # noqa: PLC0415
    from keras_bert.data.pretraining_examples import PretrainingConfig  # noqa: PLC0415
    from keras_bert.data.static_pretraining import create_pretraining_data  # noqa: PLC0415
    from keras_bert.tokenizers import WordPieceTokenizer  # noqa: PLC0415 (TensorFlow loads here)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    corpus = bundled_corpus_files() if args.corpus == ["bundled"] else args.corpus
    try:
        config = PretrainingConfig(
            seq_len=args.seq_len,
            max_predictions=args.max_predictions,
            masked_lm_prob=args.masked_lm_prob,
            short_seq_prob=args.short_seq_prob,
            dupe_factor=args.dupe_factor,
            whole_word_mask=args.whole_word_mask,
        )
        tokenizer = WordPieceTokenizer(vocabulary=args.vocab, lowercase=args.lowercase)
        info = create_pretraining_data(
            corpus,
            tokenizer,
            args.out,
            config,
            seed=args.seed,
            num_shards=args.shards,
            chunk_documents=args.chunk_documents,
        )
    except (ValueError, FileNotFoundError) as error:
        raise SystemExit(f"keras-bert pretraining-data: {error}") from error
    print(
        f"Wrote {info['examples']:,} examples from {info['documents']:,} documents to "
        f"{len(info['files'])} file(s) in {args.out}"
    )
    return 0
