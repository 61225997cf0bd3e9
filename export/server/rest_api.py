"""REST front end: TF Serving's `/v1/models/...` JSON API on a threading HTTP server."""

from __future__ import annotations

import json
import logging
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import numpy as np
from google.protobuf import json_format
from tensorflow_serving.apis import get_model_metadata_pb2, get_model_status_pb2

from .errors import ServingError, invalid, not_found
from .grpc_api import model_metadata, model_status
from .registry import DEFAULT_SIGNATURE, ModelRegistry, Servable, Signature
from .runner import run_signature
from .tensors import array_to_json, json_to_array, json_type
from .validation import Limits

log = logging.getLogger(__name__)

_PATH = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)"
    r"(?:/versions/(?P<version>-?\d+)|/labels/(?P<label>[^/:]+))?"
    r"(?::(?P<verb>predict|classify|regress)|(?P<metadata>/metadata))?$"
)
MAX_BODY_BYTES = 64 * 1024 * 1024


def _parse_path(path: str) -> re.Match:
    match = _PATH.match(path.split("?", 1)[0])
    if match is None:
        raise not_found(f"Malformed request: {path}")
    return match


def _servable(registry: ModelRegistry, match: re.Match) -> Servable:
    version = match["version"]
    return registry.get(match["name"], int(version) if version else None, match["label"] or "")


def _row_inputs(signature: Signature, instances: Any) -> dict[str, np.ndarray]:
    if not isinstance(instances, list) or not instances:
        raise invalid("'instances' must be a non-empty list")
    names = list(signature.inputs)

    def named(instance: Any) -> bool:
        return isinstance(instance, dict) and set(instance) != {"b64"}

    if not named(instances[0]):
        if len(names) != 1:
            raise invalid(
                f"instances must be objects naming the inputs {sorted(names)} "
                f"(the signature has {len(names)} inputs)"
            )
        if any(named(x) for x in instances):
            raise invalid("instances mix named and unnamed values")
        name = names[0]
        return {name: json_to_array(name, instances, signature.inputs[name].dtype)}
    columns: dict[str, list] = {}
    for index, instance in enumerate(instances):
        if not named(instance):
            raise invalid(f"instance {index} is a {json_type(instance)}, expected an object")
        if set(instance) != set(columns or instance):
            raise invalid(f"instance {index} names inputs {sorted(instance)}, expected the same "
                          f"inputs as instance 0 {sorted(columns)}")
        for key, value in instance.items():
            columns.setdefault(key, []).append(value)
    arrays = {}
    for key, values in columns.items():
        if key not in signature.inputs:
            arrays[key] = np.array([])
            continue
        arrays[key] = json_to_array(key, values, signature.inputs[key].dtype)
    return arrays


def _columnar_inputs(signature: Signature, inputs: Any) -> dict[str, np.ndarray]:
    names = list(signature.inputs)
    if isinstance(inputs, dict) and set(inputs) != {"b64"}:
        return {
            key: json_to_array(key, value, signature.inputs[key].dtype)
            if key in signature.inputs else np.array([])
            for key, value in inputs.items()
        }
    if len(names) != 1:
        raise invalid(f"'inputs' must be an object naming the inputs {sorted(names)}")
    return {names[0]: json_to_array(names[0], inputs, signature.inputs[names[0]].dtype)}


def predict_json(registry: ModelRegistry, match: re.Match, body: Any, limits: Limits) -> dict:
    """Handles a `:predict` body; returns the JSON response object."""
    if not isinstance(body, dict):
        raise invalid("JSON Value: request body must be an object")
    servable = _servable(registry, match)
    signature_name = body.get("signature_name", DEFAULT_SIGNATURE)
    if not isinstance(signature_name, str):
        raise invalid("'signature_name' must be a string")
    signature = servable.signature(signature_name)
    has_rows, has_cols = "instances" in body, "inputs" in body
    if has_rows == has_cols:
        raise invalid("JSON Value: request must have exactly one of 'instances' or 'inputs'")
    unknown = set(body) - {"signature_name", "instances", "inputs"}
    if unknown:
        raise invalid(f"JSON Value: unknown request fields {sorted(unknown)}")
    arrays = (_row_inputs if has_rows else _columnar_inputs)(
        signature, body["instances"] if has_rows else body["inputs"]
    )
    dtypes = {
        name: signature.inputs[name].dtype if name in signature.inputs else 0 for name in arrays
    }
    outputs = run_signature(signature, arrays, dtypes, limits)
    if has_cols:
        if len(outputs) == 1:
            ((name, array),) = outputs.items()
            return {"outputs": array_to_json(name, array)}
        return {"outputs": {name: array_to_json(name, a) for name, a in outputs.items()}}
    sizes = {a.shape[0] if a.ndim else None for a in outputs.values()}
    if len(sizes) != 1 or None in sizes:
        raise invalid("Output tensors have different batch sizes; use the 'inputs' format")
    (rows,) = sizes
    columns = {name: array_to_json(name, a) for name, a in outputs.items()}
    if len(columns) == 1:
        return {"predictions": next(iter(columns.values()))}
    return {"predictions": [{name: col[i] for name, col in columns.items()} for i in range(rows)]}


def _proto_json(message) -> dict:
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def status_json(registry: ModelRegistry, match: re.Match) -> dict:
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = match["name"]
    if match["version"]:
        request.model_spec.version.value = int(match["version"])
    if match["label"]:
        request.model_spec.version_label = match["label"]
    return _proto_json(model_status(registry, request))


def metadata_json(registry: ModelRegistry, match: re.Match) -> dict:
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = match["name"]
    if match["version"]:
        request.model_spec.version.value = int(match["version"])
    if match["label"]:
        request.model_spec.version_label = match["label"]
    response = model_metadata(registry, request)
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(signature_map)
    return {
        "model_spec": _proto_json(response.model_spec),
        "metadata": {"signature_def": _proto_json(signature_map)},
    }


def make_handler(registry: ModelRegistry, limits: Limits) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "keras-bert-dev-serving"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            log.debug("%s - " + format, self.address_string(), *args)

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload, allow_nan=True).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, fn) -> None:
            try:
                self._send(200, fn())
            except ServingError as error:
                self._send(error.http_status, {"error": error.message})
            except Exception as error:  # noqa: BLE001
                log.exception("internal error")
                self._send(500, {"error": f"{type(error).__name__}: {error}"})

        def do_GET(self) -> None:  # noqa: N802
            def answer() -> dict:
                match = _parse_path(self.path)
                if match["verb"]:
                    raise invalid(f"Use POST for :{match['verb']}")
                if match["metadata"]:
                    return metadata_json(registry, match)
                return status_json(registry, match)

            self._handle(answer)

        def do_POST(self) -> None:  # noqa: N802
            def answer() -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                if length < 0 or length > MAX_BODY_BYTES:
                    self.close_connection = True
                    raise invalid(f"request body of {length} bytes is above the limit")
                raw = self.rfile.read(length)
                match = _parse_path(self.path)
                if match["verb"] is None:
                    raise invalid(f"POST {self.path} needs a :predict verb")
                if match["verb"] != "predict":
                    raise ServingError(
                        grpc.StatusCode.UNIMPLEMENTED, f"Unsupported REST verb :{match['verb']}"
                    )
                try:
                    body = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as error:
                    raise invalid(f"JSON Parse error: {error}") from None
                return predict_json(registry, match, body, limits)

            self._handle(answer)

    return Handler


def make_rest_server(
    registry: ModelRegistry, limits: Limits, host: str, port: int
) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), make_handler(registry, limits))
    server.daemon_threads = True
    return server
