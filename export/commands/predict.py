"""`keras-bert predict`: ask a TF Serving (or `keras-bert serve`) endpoint over gRPC; print results."""

from __future__ import annotations

import argparse
import sys

HELP = "Send raw text to a served model over gRPC (TF Serving stubs) and print the answers."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from keras_bert.export.commands.export import TASK_NAMES  # noqa: PLC0415 (no gRPC, no TensorFlow)

    parser.add_argument("task", choices=TASK_NAMES, help="the served model's task (how to ask, print)")
    parser.add_argument("--server", default="127.0.0.1:8500", help="host:port of the gRPC API")
    parser.add_argument("--model-name", required=True, help="served model name (TF Serving's --model_name)")
    parser.add_argument("--model-version", type=int, default=None,
                        help="version to ask (default: the latest served)")
    parser.add_argument("--signature-name", default="serving_default", help="signature to call")
    parser.add_argument("--text", action="append", default=[],
                        help="input text (repeatable; summarization: a document)")
    parser.add_argument("--text-pair", action="append", default=[],
                        help="classification: second segment of each --text (repeatable)")
    parser.add_argument("--question", action="append", default=[],
                        help="question-answering: a question (repeatable)")
    parser.add_argument("--context", action="append", default=[],
                        help="question-answering: the context of each question (repeatable)")
    parser.add_argument("--context-file", action="append", default=[],
                        help="question-answering: a UTF-8 file as a context (repeatable)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the answer")


def _inputs(args: argparse.Namespace) -> dict[str, list[str]]:
    if args.task == "question-answering":
        contexts = list(args.context)
        for path in args.context_file:
            with open(path, encoding="utf-8") as f:
                contexts.append(f.read())
        if not args.question or len(args.question) != len(contexts):
            raise ValueError("give as many --question as --context/--context-file")
        return {"question": args.question, "context": contexts}
    if not args.text:
        raise ValueError("give at least one --text")
    if args.task == "summarization":
        return {"document": args.text}
    inputs = {"text": args.text}
    if args.task == "classification" and args.text_pair:
        if len(args.text_pair) != len(args.text):
            raise ValueError("give as many --text-pair as --text")
        inputs["text_pair"] = args.text_pair
    return inputs


def run(args: argparse.Namespace) -> int:
    from keras_bert.commands import UsageError, require_files

    require_files(args.context_file, "--context-file")
    try:
        inputs = _inputs(args)
    except ValueError as error:
        raise UsageError(str(error)) from error
    import grpc
    from keras_bert.export.client import FORMATTERS, predict

    try:
        out = predict(
            args.server, args.model_name, inputs, args.signature_name, args.model_version,
            args.timeout,
        )
    except grpc.RpcError as error:
        print(f"error: {error.code().name}: {error.details()}", file=sys.stderr)
        return 1
    for line in FORMATTERS[args.task](out):
        print(line)
    return 0
