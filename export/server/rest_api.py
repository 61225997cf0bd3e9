"""REST front end: TF Serving's `/v1/models/...` JSON API on a threading HTTP server.

Hardened like TF Serving's evhttp front end: a listen backlog of 1024, a read timeout per connection
(`--rest_api_timeout_in_ms`, default 30000), and HTTP 400 with `{"error": "..."}` (never 500) for
a broken body framing (Content-Length not a number, negative, duplicated, above
`max_body_bytes`, or a body shorter than it; malformed chunked encoding), invalid UTF-8 or JSON, and
JSON nested deeper than `MAX_JSON_DEPTH` (checked by a linear scan before parsing, so no depth reaches the recursive
parser). A framing error closes the connection, since the next request's start is unknown.
"""

from __future__ import annotations

import json
import logging
import re
from http import HTTPStatus
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
MAX_BODY_BYTES = 64 * 1024 * 1024  # as the gRPC message limit
# Arrays/objects nested deeper than this are refused. A request needs 2 levels plus the tensor's
# rank ({"instances": [[...]]}); Python's json parser recurses and fails near 1000 levels.
MAX_JSON_DEPTH = 100
LISTEN_BACKLOG = 1024
REST_API_TIMEOUT_MS = 30000  # TF Serving's --rest_api_timeout_in_ms default
_DIGITS = re.compile(r"^[0-9]{1,18}$")
_CHUNK_SIZE = re.compile(rb"^[0-9A-Fa-f]{1,15}$")
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


def json_too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON text nests arrays and objects deeper than `limit` (brackets inside strings
    ignored): a linear scan without recursion, numpy over 1 MiB slices."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False  # never deeper than the number of openers
    text = _JSON_STRING.sub(b'""', raw) if b'"' in raw else raw
    depth = 0
    step = 1 << 20
    for start in range(0, len(text), step):
        codes = np.frombuffer(text, np.uint8, count=min(step, len(text) - start), offset=start)
        moves = np.zeros(codes.shape, np.int32)
        moves[(codes == ord("[")) | (codes == ord("{"))] = 1
        moves[(codes == ord("]")) | (codes == ord("}"))] = -1
        levels = depth + np.cumsum(moves)
        if levels.max() > limit:
            return True
        depth = int(levels[-1])
    return False


def parse_json_body(raw: bytes) -> Any:
    """The request body as JSON; 400 for invalid UTF-8, invalid JSON or too deep nesting."""
    if json_too_deep(raw):
        raise invalid(
            f"JSON Parse error: arrays and objects nested deeper than {MAX_JSON_DEPTH} levels"
        )
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise invalid(
            f"JSON Parse error: invalid UTF-8 ({error.reason} at byte {error.start})"
        ) from None
    except (ValueError, RecursionError) as error:  # JSONDecodeError, int digit limit
        raise invalid(f"JSON Parse error: {error}") from None


def _parse_path(path: str) -> re.Match:
    match = _PATH.match(path.split("?", 1)[0])
    if match is None:
        raise not_found(f"Malformed request: {path}")
    return match


def _use(registry: ModelRegistry, match: re.Match):
    """The servable the path names, kept loaded while the request runs."""
    version = match["version"]
    return registry.use(match["name"], int(version) if version else None, match["label"] or "")


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
    with _use(registry, match) as servable:
        return _predict_json(servable, body, limits)


def _predict_json(servable: Servable, body: dict, limits: Limits) -> dict:
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


def make_handler(
    registry: ModelRegistry,
    limits: Limits,
    timeout_seconds: float = REST_API_TIMEOUT_MS / 1000,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "keras-bert-dev-serving"
        timeout = timeout_seconds  # socket timeout of each connection (reads and writes)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            log.debug("%s - " + format, self.address_string(), *args)

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload, allow_nan=True).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)

        def send_error(self, code: int, message: str | None = None, explain: str | None = None):
            """http.server's own errors (bad request line, headers too long, unknown method) with
            TF Serving's JSON body instead of an HTML page."""
            self.log_error("code %d, message %s", code, message)
            self.close_connection = True
            if self.request_version == "HTTP/0.9":  # a request line we could not parse
                self.request_version = "HTTP/1.1"
            try:
                phrase = HTTPStatus(code).phrase
            except ValueError:
                phrase = ""
            self._send(code, {"error": message or phrase})

        def _handle(self, fn) -> None:
            try:
                self._send(200, fn())
            except ServingError as error:
                self._send(error.http_status, {"error": error.message})
            except Exception as error:  # noqa: BLE001
                log.exception("internal error")
                self._send(500, {"error": f"{type(error).__name__}: {error}"})

        def _content_length(self) -> int | None:
            values = self.headers.get_all("Content-Length") or []
            if not values:
                return None
            if len(set(v.strip() for v in values)) > 1:
                raise invalid(f"conflicting Content-Length headers {values}")
            text = values[0].strip()
            if not _DIGITS.match(text):
                raise invalid(f"Content-Length must be a non-negative integer, got {text[:40]!r}")
            return int(text)

        def _read_chunked(self) -> bytes:
            body = bytearray()
            while True:
                line = self.rfile.readline(1024)
                size_text = line.split(b";", 1)[0].strip()
                if not line.endswith(b"\n") or not _CHUNK_SIZE.match(size_text):
                    raise invalid("malformed chunked body: bad chunk size line")
                size = int(size_text, 16)
                if size == 0:
                    break
                if len(body) + size > max_body_bytes:
                    raise invalid(f"request body is above the limit of {max_body_bytes} bytes")
                chunk = self.rfile.read(size)
                if len(chunk) < size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                    raise invalid("malformed chunked body: chunk shorter than its size")
                body += chunk
            for _ in range(100):  # trailer lines, up to the empty line
                if self.rfile.readline(8192) in (b"\r\n", b"\n", b""):
                    break
            return bytes(body)

        def _read_body(self) -> bytes:
            """The request body; any framing error closes the connection and answers 400."""
            try:
                encoding = self.headers.get("Transfer-Encoding", "").strip().lower()
                if encoding:
                    if encoding != "chunked":
                        raise invalid(f"unsupported Transfer-Encoding {encoding!r}")
                    return self._read_chunked()
                length = self._content_length()
                if length is None:
                    return b""
                if length > max_body_bytes:
                    raise invalid(
                        f"request body of {length} bytes is above the limit of "
                        f"{max_body_bytes} bytes"
                    )
                raw = self.rfile.read(length)
                if len(raw) < length:
                    raise invalid(
                        f"request body ended after {len(raw)} of its {length} bytes "
                        "(Content-Length)"
                    )
                return raw
            except TimeoutError:
                self.close_connection = True
                raise invalid(
                    f"request body not received within {self.timeout:g} s "
                    "(shorter than its Content-Length?)"
                ) from None
            except ServingError:
                self.close_connection = True
                raise

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
                raw = self._read_body()
                match = _parse_path(self.path)
                if match["verb"] is None:
                    raise invalid(f"POST {self.path} needs a :predict verb")
                if match["verb"] != "predict":
                    raise ServingError(
                        grpc.StatusCode.UNIMPLEMENTED, f"Unsupported REST verb :{match['verb']}"
                    )
                return predict_json(registry, match, parse_json_body(raw), limits)

            self._handle(answer)

    return Handler


class RestServer(ThreadingHTTPServer):
    """One daemon thread per connection; a listen backlog like TF Serving's (1024, not 5)."""

    request_queue_size = LISTEN_BACKLOG
    daemon_threads = True


def make_rest_server(
    registry: ModelRegistry,
    limits: Limits,
    host: str,
    port: int,
    timeout_seconds: float = REST_API_TIMEOUT_MS / 1000,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> RestServer:
    return RestServer(
        (host, port), make_handler(registry, limits, timeout_seconds, max_body_bytes)
    )
