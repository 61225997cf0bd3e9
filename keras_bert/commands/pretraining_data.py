"""`keras-bert pretraining-data`: raw text -> sharded MLM + NSP pretraining TFRecords."""

from __future__ import annotations

import argparse

from keras_bert.commands import (
    UsageError,
    add_masking_arguments,
    positive_int,
    require_file,
    require_files,
)

HELP = (
    "Make MLM + NSP pretraining TFRecords from text (one sentence a line, blank line between docs)."
)
OLD_SPELLINGS = {
    "--vocab": "--vocabulary",
    "--seq-len": "--sequence-length",
    "--whole-word-mask": "--whole-word-masking",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", nargs="+", required=True, metavar="FILE",
                        help="text files, or 'bundled' for the bundled Jane Austen corpus")
    parser.add_argument("--vocabulary", required=True, help="WordPiece vocab.txt")
    parser.add_argument("--out", required=True, help="output folder for the .tfrecord shards")
    add_masking_arguments(parser)
    parser.add_argument("--dupe-factor", type=positive_int, default=10,
                        help="passes over the corpus with different masks")
    parser.add_argument("--short-seq-prob", type=float, default=0.1,
                        help="share of documents with a shorter target length")
    parser.add_argument("--seed", type=int, default=12345, help="random seed")
    parser.add_argument("--shards", type=positive_int, default=1, help="number of output files")
    parser.add_argument("--chunk-documents", type=positive_int, default=2000,
                        help="documents tokenized and paired at a time; bounds memory")
    parser.add_argument("--cased", dest="lowercase", action="store_false",
                        help="keep case and accents (default: uncased, like bert-base-uncased)")
    # The default, formerly spelled out; accepted, not shown.
    parser.add_argument("--lowercase", dest="lowercase", action="store_true", default=True,
                        help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    if args.corpus != ["bundled"]:
        require_files(args.corpus, "--corpus")
    require_file(args.vocabulary, "--vocabulary")
    import logging  # noqa: PLC0415

    from keras_bert.data.corpus import bundled_corpus_files  # noqa: PLC0415
    from keras_bert.data.pretraining_examples import PretrainingConfig  # noqa: PLC0415
    from keras_bert.data.static_pretraining import create_pretraining_data  # noqa: PLC0415
    from keras_bert.tokenizers import WordPieceTokenizer  # noqa: PLC0415 (TensorFlow loads here)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    corpus = bundled_corpus_files() if args.corpus == ["bundled"] else args.corpus
    try:
        config = PretrainingConfig(
            seq_len=args.sequence_length,
            max_predictions=args.max_predictions,
            masked_lm_prob=args.masked_lm_prob,
            short_seq_prob=args.short_seq_prob,
            dupe_factor=args.dupe_factor,
            whole_word_mask=args.whole_word_masking,
        )
        tokenizer = WordPieceTokenizer(vocabulary=args.vocabulary, lowercase=args.lowercase)
        info = create_pretraining_data(
            corpus,
            tokenizer,
            args.out,
            config,
            seed=args.seed,
            num_shards=args.shards,
            chunk_documents=args.chunk_documents,
        )
    except ValueError as error:
        raise UsageError(str(error)) from error
    print(
        f"Wrote {info['examples']:,} examples from {info['documents']:,} documents to "
        f"{len(info['files'])} file(s) in {args.out}"
    )
    return 0
