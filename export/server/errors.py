"""One error type carrying a gRPC status code, shared by the gRPC and REST front ends."""

from __future__ import annotations

import re

import grpc

# TF Serving's HTTP mapping of canonical status codes (http_rest_api_handler / ToHTTPStatusCode).
_HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


class ServingError(Exception):
    """A request failure with the canonical status TF Serving would answer."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS.get(self.code, 500)


def invalid(message: str) -> ServingError:
    return ServingError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> ServingError:
    return ServingError(grpc.StatusCode.NOT_FOUND, message)


# TensorFlow error_code (tensorflow/core/protobuf/error_codes.proto) -> grpc.StatusCode.
def from_tf_error_code(code: int) -> grpc.StatusCode:
    for status in grpc.StatusCode:
        if status.value[0] == code:
            return status
    return grpc.StatusCode.INTERNAL


# Lines TensorFlow's Python layer wraps around an op's own message ("Graph execution error:", the
# node's Python traceback, "Node: '...'", "\t [[{{node ...}}]]").
_TF_NOISE = re.compile(r"^(?:Graph execution error:|Detected at node|Node: '|\s|\[\[)")


def op_message(message: str) -> str:
    """The first line of a failing op's own message (e.g. "assertion failed: [...]" or
    "indices[0,1] = -2 is not in [0, 30522)"), without TensorFlow's wrapping lines."""
    lines = [line for line in message.splitlines() if line.strip()]
    for line in lines:
        if not _TF_NOISE.match(line):
            return line.strip()
    return lines[0].strip() if lines else message
