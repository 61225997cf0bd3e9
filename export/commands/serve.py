"""`keras-bert serve`: development server speaking TF Serving's gRPC and REST protocols.

Production uses stock TF Serving (`tensorflow/serving`); the same export directory works there, and
every flag here keeps the name and default of `tensorflow_model_server`'s flag of the same meaning.
"""

from __future__ import annotations

import argparse

HELP = (
    "Serve exported SavedModels over TF Serving's gRPC/REST protocol (development server; flags "
    "keep tensorflow_model_server's names)."
)
DESCRIPTION = (
    "Development server for exported SavedModels, speaking TF Serving's gRPC and REST protocols. "
    "Unlike the other keras-bert commands, its flags keep tensorflow_model_server's own underscore "
    "names and defaults (--model_base_path, --rest_api_port, --file_system_poll_wait_seconds, ...), "
    "so a command line works unchanged against stock TF Serving."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8500, help="gRPC port (0: pick a free one)")
    parser.add_argument(
        "--rest_api_port", type=int, default=0, help="REST port; 0 disables REST (as TF Serving)"
    )
    parser.add_argument("--model_name", default="default", help="name of the single served model")
    parser.add_argument("--model_base_path", help="folder holding numeric version directories")
    parser.add_argument("--model_config_file", help="ModelServerConfig text proto (models.config)")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument(
        "--file_system_poll_wait_seconds", type=float, default=1.0,
        help="seconds between polls of the base paths for new or removed versions (default 1, as "
        "TF Serving; 0 or less: look once, at start)",
    )
    parser.add_argument(
        "--rest_api_timeout_in_ms", type=int, default=30000,
        help="REST read timeout per connection in ms (default 30000, as TF Serving); a body not "
        "received in time is answered 400",
    )
    parser.add_argument("--max_string_bytes", type=int, default=256 * 1024,
                        help="longest string element accepted (dev server only)")
    parser.add_argument("--max_batch", type=int, default=4096,
                        help="largest batch accepted (dev server only)")
    parser.add_argument("--tensorflow_intra_op_parallelism", type=int, default=0,
                        help="threads per op (0: TensorFlow's default), as TF Serving's flag")
    parser.add_argument("--tensorflow_inter_op_parallelism", type=int, default=0,
                        help="ops run in parallel (0: TensorFlow's default), as TF Serving's flag")


def run(args: argparse.Namespace) -> int:
    from keras_bert.export.server.main import sources_from_config_file, start_server
    from keras_bert.export.server.registry import ModelSource
    from keras_bert.export.server.validation import Limits

    if bool(args.model_base_path) == bool(args.model_config_file):
        print("give exactly one of --model_base_path or --model_config_file")
        return 2
    sources = (
        sources_from_config_file(args.model_config_file)
        if args.model_config_file
        else [ModelSource(args.model_name, args.model_base_path)]
    )
    server = start_server(
        sources,
        host=args.host,
        grpc_port=args.port,
        rest_port=args.rest_api_port or None,
        limits=Limits(args.max_string_bytes, args.max_batch),
        threads=(args.tensorflow_intra_op_parallelism, args.tensorflow_inter_op_parallelism),
        file_system_poll_wait_seconds=args.file_system_poll_wait_seconds,
        rest_api_timeout_in_ms=args.rest_api_timeout_in_ms,
    )
    polling = (
        f"polling every {args.file_system_poll_wait_seconds:g} s"
        if args.file_system_poll_wait_seconds > 0 else "not polling again"
    )
    for source in sources:
        versions = server.registry.versions(source.name)
        if versions:
            print(f"serving {source.name} versions {versions} ({polling})")
        else:
            print(f"no version of {source.name} under {source.base_path} yet ({polling})")
    print(f"gRPC on {args.host}:{server.grpc_port}", flush=True)
    if server.rest_port:
        print(f"REST on http://{args.host}:{server.rest_port}", flush=True)
    try:
        server.wait()
    except KeyboardInterrupt:
        server.stop()
    return 0
