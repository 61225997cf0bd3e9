"""`keras-bert export TASK --model MODEL --out BASE/NAME/VERSION`: raw-text SavedModel for TF Serving."""

from __future__ import annotations

import argparse

HELP = "Export a model as a raw-text-in, answers-out SavedModel for TF Serving."
TASK_NAMES = ("classification", "question-answering", "token-classification", "fill-mask", "embedding")
OLD_SPELLINGS = {"--vocab": "--vocabulary", "--no_lowercase": "--cased", "--no-lowercase": "--cased"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from keras_bert.commands import non_negative_int, positive_int  # noqa: PLC0415 (no TensorFlow)

    parser.add_argument("task", choices=TASK_NAMES, help="what the SavedModel answers")
    parser.add_argument("--model", required=True,
                        help="the model to read: a .keras task model (embedding / fill-mask: also a "
                             "Hugging Face or TF1 checkpoint folder)")
    parser.add_argument("--out", required=True,
                        help="BASE/NAME/VERSION to write (VERSION numeric, must not exist)")
    parser.add_argument("--vocabulary", dest="vocab", metavar="PATH",
                        help="vocab.txt (default: beside the model, else MiniLM's)")
    parser.add_argument("--cased", dest="no_lowercase", action="store_true",
                        help="keep case and accents (a cased vocabulary; default: uncased)")
    parser.add_argument("--sequence-length", type=positive_int, default=None,
                        help="tokens per example (default: 128; question-answering: 384)")
    parser.add_argument("--label-names",
                        help="classification / token-classification: comma-separated labels "
                             "(default: stored in the model)")
    parser.add_argument("--pair", action="store_true", help="classification takes text_pair too")
    parser.add_argument("--doc-stride", type=positive_int, default=128,
                        help="question-answering: tokens between the starts of a long context's "
                             "windows")
    parser.add_argument("--max-query-length", type=positive_int, default=64,
                        help="question-answering: question tokens kept")
    parser.add_argument("--max-answer-length", type=positive_int, default=30,
                        help="question-answering: longest answer span in tokens")
    parser.add_argument("--version-2-with-negative", action="store_true",
                        help="question-answering: may answer empty (SQuAD v2.0)")
    parser.add_argument("--null-score-diff-threshold", type=float, default=0.0,
                        help="question-answering (v2.0): answer empty when the null score beats "
                             "the best span by more than this")
    parser.add_argument("--max-entities", type=positive_int, default=16,
                        help="token-classification: most entities returned per text")
    parser.add_argument("--top-k", type=positive_int, default=5,
                        help="fill-mask: best tokens returned per [MASK]")
    parser.add_argument("--max-masks", type=positive_int, default=4,
                        help="fill-mask: [MASK]s answered per text")
    parser.add_argument("--pooling", choices=("mean", "pooled", "cls"), default="mean",
                        help="embedding: how token vectors become one vector")
    parser.add_argument("--normalize", action="store_true", help="embedding: L2-normalise")
    parser.add_argument("--serving-dtype", dest="serving_dtype", choices=("float32", "bfloat16"),
                        default="float32",
                        help="bfloat16: the backbone's weights stored in bf16 (half the bytes per "
                             "request; LayerNorm and softmax stay fp32); see export/precision.py")
    parser.add_argument("--chunk-size", type=positive_int, default=None,
                        help="texts or QA windows per model run inside the graph: a request's peak "
                             "memory is one chunk's (default: 8192 tokens' worth, 64 at length 128)")
    parser.add_argument("--max-context-bytes", type=non_negative_int, default=None,
                        help="question-answering: most UTF-8 context bytes in one request, larger "
                             "ones answered INVALID_ARGUMENT (default: 524288)")
    parser.add_argument("--skip-op-check", action="store_true",
                        help="do not check the graph's ops against TF Serving's op set")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from keras_bert.commands import UsageError, require_file

    if not Path(args.out).name.isdigit():
        raise UsageError(f"--out must end in a numeric version directory, got {args.out}")
    require_file(args.model, "--model")
    require_file(args.vocab, "--vocabulary")
    from keras_bert.export.build import build_servable, find_vocabulary, load_task_model
    from keras_bert.export.op_check import UnsupportedOpsError
    from keras_bert.export.precision import with_backbone_dtype
    from keras_bert.export.writer import export_servable

    from keras_bert.tokenizers.wordpiece_tokenizer import WordPieceTokenizer

    tokenizer = WordPieceTokenizer(find_vocabulary(args.model, args.vocab), lowercase=not args.no_lowercase)
    model = with_backbone_dtype(load_task_model(args.task, args.model), args.serving_dtype)
    servable = build_servable(
        args.task,
        model,
        tokenizer,
        sequence_length=args.sequence_length or (384 if args.task == "question-answering" else 128),
        label_names=args.label_names.split(",") if args.label_names else None,
        pair=args.pair,
        doc_stride=args.doc_stride,
        max_query_length=args.max_query_length,
        max_answer_length=args.max_answer_length,
        version_2_with_negative=args.version_2_with_negative,
        null_score_diff_threshold=args.null_score_diff_threshold,
        max_entities=args.max_entities,
        top_k=args.top_k,
        max_masks=args.max_masks,
        pooling=args.pooling,
        normalize=args.normalize,
        chunk_size=args.chunk_size,
        max_context_bytes=args.max_context_bytes,
    )
    try:
        path = export_servable(servable, args.out, check=not args.skip_op_check)
    except UnsupportedOpsError as error:
        print(f"error: {error}")
        return 1
    print(f"exported {args.task} to {path}")
    limits = ", ".join(f"{k}={v}" for k, v in servable.limits().items())
    print(f"per-request limits: {limits} (written to {path}/assets.extra/export_info.json)")
    print(f"serve: keras-bert serve --model_name {path.parent.name} --model_base_path {path.parent}")
    return 0
