"""`keras-bert predict`: ask a TF Serving (or `keras-bert serve`) endpoint over gRPC; print results."""

from __future__ import annotations

import argparse
import sys

HELP = "Send raw text to a served model over gRPC (TF Serving stubs) and print the answers."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from keras_bert.export.client import TASK_INPUTS

    parser.add_argument("task", choices=sorted(TASK_INPUTS))
    parser.add_argument("--server", default="127.0.0.1:8500", help="host:port of the gRPC API")
    parser.add_argument("--model_name", required=True)
    parser.add_argument("--model_version", type=int, default=None)
    parser.add_argument("--signature_name", default="serving_default")
    parser.add_argument("--text", action="append", default=[], help="input text (repeatable)")
    parser.add_argument("--text_pair", action="append", default=[], help="second segments")
    parser.add_argument("--question", action="append", default=[])
    parser.add_argument("--context", action="append", default=[])
    parser.add_argument("--context_file", action="append", default=[], help="UTF-8 file as context")
    parser.add_argument("--timeout", type=float, default=60.0)


def _inputs(args: argparse.Namespace) -> dict[str, list[str]]:
    if args.task == "question-answering":
        contexts = list(args.context)
        for path in args.context_file:
            with open(path, encoding="utf-8") as f:
                contexts.append(f.read())
        if not args.question or len(args.question) != len(contexts):
            raise ValueError("give as many --question as --context/--context_file")
        return {"question": args.question, "context": contexts}
    if not args.text:
        raise ValueError("give at least one --text")
    inputs = {"text": args.text}
    if args.task == "classification" and args.text_pair:
        if len(args.text_pair) != len(args.text):
            raise ValueError("give as many --text_pair as --text")
        inputs["text_pair"] = args.text_pair
    return inputs


def run(args: argparse.Namespace) -> int:
    import grpc
    from keras_bert.export.client import FORMATTERS, predict

    try:
        inputs = _inputs(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
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
