"""Starts the gRPC and REST front ends over one model registry."""

from __future__ import annotations

import dataclasses
import functools
import threading
from concurrent import futures

import grpc
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from .grpc_api import add_services
from .registry import ModelRegistry, ModelSource
from .rest_api import REST_API_TIMEOUT_MS, make_rest_server
from .validation import Limits
from .warmup import run_warmup

MAX_MESSAGE_BYTES = 64 * 1024 * 1024


def sources_from_config_file(path: str) -> list[ModelSource]:
    """Model sources of a TF Serving `ModelServerConfig` text proto (`model_config_list`)."""
    config = model_server_config_pb2.ModelServerConfig()
    with open(path) as f:
        text_format.Parse(f.read(), config)
    sources = []
    for model in config.model_config_list.config:
        policy = model.model_version_policy
        kind = policy.WhichOneof("policy_choice") or "latest"
        sources.append(
            ModelSource(
                name=model.name,
                base_path=model.base_path,
                policy=kind,
                latest_count=max(1, policy.latest.num_versions) if kind == "latest" else 1,
                specific=tuple(policy.specific.versions) if kind == "specific" else (),
                labels=dict(model.version_labels),
            )
        )
    return sources


@dataclasses.dataclass
class RunningServer:
    """Handles of a started server; `grpc_port` / `rest_port` are the bound ports (0: disabled)."""

    registry: ModelRegistry
    grpc_server: grpc.Server | None
    rest_server: object | None
    grpc_port: int
    rest_port: int
    _rest_thread: threading.Thread | None = None

    def stop(self) -> None:
        """Stops both front ends, then the polling, and unloads every version."""
        if self.rest_server is not None:
            self.rest_server.shutdown()
            self.rest_server.server_close()
        if self.grpc_server is not None:
            self.grpc_server.stop(grace=1).wait()
        self.registry.close()

    def wait(self) -> None:
        if self.grpc_server is not None:
            self.grpc_server.wait_for_termination()
        elif self._rest_thread is not None:
            self._rest_thread.join()


def start_server(
    sources: list[ModelSource],
    host: str = "127.0.0.1",
    grpc_port: int | None = 8500,
    rest_port: int | None = None,
    limits: Limits | None = None,
    workers: int = 16,
    threads: tuple[int, int] = (0, 0),
    file_system_poll_wait_seconds: float = 1.0,
    rest_api_timeout_in_ms: int = REST_API_TIMEOUT_MS,
    warmup_iterations: int = 1,
) -> RunningServer:
    """Loads the versions present (warm-up included), starts serving, then polls the base paths
    every `file_system_poll_wait_seconds` (0 or less: never again), as TF Serving does. A port of 0
    picks a free one, None disables. `threads`: (intra-op, inter-op) threads of the model sessions,
    0 = TensorFlow's default. `warmup_iterations`: TF Serving's `num_request_iterations`."""
    limits = limits or Limits()
    warmup = functools.partial(run_warmup, limits=limits, iterations=warmup_iterations)
    registry = ModelRegistry(sources, threads, warmup=warmup)
    grpc_server = rest_server = rest_thread = None
    bound_grpc = bound_rest = 0
    try:
        if grpc_port is not None:
            grpc_server = grpc.server(
                futures.ThreadPoolExecutor(max_workers=workers),
                options=[
                    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                    ("grpc.so_reuseport", 0),
                ],
            )
            add_services(grpc_server, registry, limits)
            bound_grpc = grpc_server.add_insecure_port(f"{host}:{grpc_port}")
            if bound_grpc == 0:
                raise OSError(f"could not bind gRPC to {host}:{grpc_port}")
            grpc_server.start()
        if rest_port is not None:
            rest_server = make_rest_server(
                registry, limits, host, rest_port, timeout_seconds=rest_api_timeout_in_ms / 1000
            )
            bound_rest = rest_server.server_address[1]
            rest_thread = threading.Thread(target=rest_server.serve_forever, daemon=True)
            rest_thread.start()
    except BaseException:
        RunningServer(registry, grpc_server, None, bound_grpc, 0).stop()
        raise
    registry.start_polling(file_system_poll_wait_seconds)
    return RunningServer(registry, grpc_server, rest_server, bound_grpc, bound_rest, rest_thread)
