"""`keras-bert export [TASK] --model MODEL --out BASE/NAME/VERSION`: raw-text SavedModel for TF Serving."""

from __future__ import annotations

import argparse
import contextlib

from keras_bert.tasks import registry  # import-light: the task specs, no TensorFlow

HELP = "Export a model as a raw-text-in, answers-out SavedModel for TF Serving."
TASK_NAMES = tuple(registry.names(export=True))
OLD_SPELLINGS = {"--vocab": "--vocabulary", "--no_lowercase": "--cased", "--no-lowercase": "--cased"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from keras_bert.commands import (  # noqa: PLC0415 (no TensorFlow)
        QA_CONVENTION_HELP,
        QA_CONVENTIONS,
        non_negative_int,
        positive_int,
    )

    parser.add_argument("task", nargs="?", choices=TASK_NAMES, default=None,
                        help="what the SavedModel answers (default: the saved task model's task)")
    parser.add_argument("--model", required=True,
                        help="the model to read: a .keras task model, or a Hugging Face / TF1 "
                             "checkpoint folder (a fine-tuned one gives its task, labels, casing "
                             "and QA post-processing; embedding / fill-mask: also a bare encoder "
                             "or pretraining checkpoint)")
    parser.add_argument("--out", required=True,
                        help="BASE/NAME/VERSION to write (VERSION numeric, must not exist)")
    parser.add_argument("--vocabulary", dest="vocab", metavar="PATH",
                        help="vocab.txt (default: beside the model, else MiniLM's)")
    parser.add_argument("--cased", dest="no_lowercase", action="store_const", const=True, default=None,
                        help="keep case and accents (default: the saved tokenizer's casing, else "
                             "uncased)")
    parser.add_argument("--tokenizer", choices=("tf_text", "core"), default=None,
                        help="ops the in-graph tokenizer runs on: tf_text (tensorflow-text's, the "
                             "fastest) or core (core TensorFlow only: loads without tensorflow-text; "
                             "same ids) (default: the saved tokenizer's, else tf_text)")
    parser.add_argument("--sequence-length", type=positive_int, default=None,
                        help="tokens per example (default: the saved task's, else 128; "
                             "question-answering: 384)")
    parser.add_argument("--label-names",
                        help="classification / token-classification: comma-separated labels "
                             "(default: stored in the model)")
    parser.add_argument("--pair", action="store_const", const=True, default=None,
                        help="classification takes text_pair too (default: as trained)")
    parser.add_argument("--doc-stride", type=positive_int, default=None,
                        help="question-answering: tokens between the starts of a long context's "
                             "windows (default: as trained, else 128)")
    parser.add_argument("--max-query-length", type=positive_int, default=None,
                        help="question-answering: question tokens kept (default: as trained, else 64)")
    parser.add_argument("--max-answer-length", type=positive_int, default=None,
                        help="question-answering: longest answer span in tokens (default: as "
                             "trained, else 30)")
    parser.add_argument("--version-2-with-negative", action="store_const", const=True, default=None,
                        help="question-answering: may answer empty, SQuAD v2.0 (default: as trained)")
    parser.add_argument("--null-score-diff-threshold", type=float, default=None,
                        help="question-answering (v2.0): answer empty when the null score beats "
                             "the best span by more than this (default: the threshold tuned in "
                             "evaluation and saved with the model, else 0)")
    parser.add_argument("--qa-convention", dest="convention", choices=QA_CONVENTIONS, default=None,
                        help=QA_CONVENTION_HELP + " (default: as saved; a Hugging Face folder: "
                             "hf-pipeline)")
    parser.add_argument("--max-entities", type=positive_int, default=16,
                        help="token-classification: most entities returned per text")
    parser.add_argument("--top-k", type=positive_int, default=None,
                        help="fill-mask: best tokens returned per [MASK] (default 5); "
                             "summarization: sentences returned per document (default 3)")
    parser.add_argument("--max-masks", type=positive_int, default=4,
                        help="fill-mask: [MASK]s answered per text")
    parser.add_argument("--pooling", choices=("mean", "pooled", "cls"), default=None,
                        help="embedding: how token vectors become one vector (default: the saved "
                             "embedder's, else mean)")
    parser.add_argument("--normalize", action="store_const", const=True, default=None,
                        help="embedding: L2-normalise (default: the saved embedder's, else off)")
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


@contextlib.contextmanager
def _value_errors_as_usage():
    """A plain `ValueError` (what model loading and preprocessors raise for settings that do not
    fit) becomes a one-line `UsageError`; its subclasses are bugs or have their own handling."""
    from keras_bert.commands import UsageError

    try:
        yield
    except ValueError as error:
        if type(error) is not ValueError:
            raise
        raise UsageError(str(error)) from None


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from keras_bert.commands import UsageError, require_file

    if not Path(args.out).name.isdigit():
        raise UsageError(f"--out must end in a numeric version directory, got {args.out}")
    require_file(args.model, "--model")
    require_file(args.vocab, "--vocabulary")
    from keras_bert.export.op_check import UnsupportedOpsError
    from keras_bert.export.precision import with_backbone_dtype
    from keras_bert.export.writer import export_servable

    from keras_bert.tasks.export import (
        build_options,
        build_servable,
        find_vocabulary,
        load_task_model_and_source,
        task_of,
    )
    from keras_bert.tokenizers.wordpiece_tokenizer import WordPieceTokenizer

    with _value_errors_as_usage():  # a checkpoint holding another task, an unsupported setting
        model, found = load_task_model_and_source(args.task, args.model)
    if found:
        print(found)
    task = args.task or task_of(model)
    if task is None:
        raise UsageError(f"{args.model} holds no task model: name the task (one of {', '.join(TASK_NAMES)})")
    if args.task is None:
        print(f"task: {task} (from the saved model)")
    tokenizer = None  # the one saved with the model, unless a flag asks for another
    if getattr(model, "preprocessor", None) is None or args.vocab or args.no_lowercase is not None:
        saved = getattr(getattr(model, "preprocessor", None), "tokenizer", None)
        lowercase = (not args.no_lowercase) if args.no_lowercase is not None else (
            saved.lowercase if saved is not None else True)
        vocabulary = args.vocab or (saved.vocabulary if saved is not None else find_vocabulary(args.model, None))
        backend = args.tokenizer or getattr(saved, "backend", "tf_text")
        tokenizer = WordPieceTokenizer(vocabulary, lowercase=lowercase, backend=backend)
    elif args.tokenizer and args.tokenizer != model.preprocessor.tokenizer.backend:
        tokenizer = model.preprocessor.tokenizer.with_backend(args.tokenizer)
    model = with_backbone_dtype(model, args.serving_dtype)
    options = {k: v for k, v in {
        "sequence_length": args.sequence_length,
        "label_names": args.label_names.split(",") if args.label_names else None,
        "pair": args.pair,
        "doc_stride": args.doc_stride,
        "max_query_length": args.max_query_length,
        "max_answer_length": args.max_answer_length,
        "version_2_with_negative": args.version_2_with_negative,
        "null_score_diff_threshold": args.null_score_diff_threshold,
        "convention": args.convention,
        "max_entities": args.max_entities,
        "top_k": args.top_k,
        "max_masks": args.max_masks,
        "pooling": args.pooling,
        "normalize": args.normalize,
        "chunk_size": args.chunk_size,
        "max_context_bytes": args.max_context_bytes,
    }.items() if k in build_options(task)}
    with _value_errors_as_usage():  # flags the saved preprocessing cannot take (a stride, a length)
        servable = build_servable(task, model, tokenizer, **options)
    for change in servable.overrides:
        print(f"overriding the saved preprocessing: {change}")
    try:
        path = export_servable(servable, args.out, check=not args.skip_op_check)
    except UnsupportedOpsError as error:
        print(f"error: {error}")
        return 1
    print(f"exported {task} to {path}")
    limits = ", ".join(f"{k}={v}" for k, v in servable.limits().items())
    print(f"per-request limits: {limits} (written to {path}/assets.extra/export_info.json)")
    print(f"serve: keras-bert serve --model_name {path.parent.name} --model_base_path {path.parent}")
    return 0
