"""Checks request inputs against a signature before anything runs.

Every failure raises `ServingError(INVALID_ARGUMENT)` naming the input and the problem, so a bad request
never reaches the graph and the server keeps answering.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from tensorflow.core.framework import types_pb2

from .errors import invalid
from .loader import CLASSIFY_METHOD, REGRESS_METHOD, Signature, TensorSpecInfo

# Binary string inputs (serialized tf.Example, raw bytes) are not checked for UTF-8.
_BINARY_SUFFIXES = ("_bytes", "examples")
# Integer inputs holding vocabulary indices: a negative value is refused here (the exports refuse
# it in the graph too, so stock TF Serving answers the same; ids past the vocabulary fail there).
TOKEN_ID_INPUTS = ("token_ids",)
_INT_DTYPES = (types_pb2.DT_INT32, types_pb2.DT_INT64)


@dataclasses.dataclass(frozen=True)
class Limits:
    """Request bounds; strings above `max_string_bytes` and batches above `max_batch` are refused."""

    max_string_bytes: int = 256 * 1024
    max_batch: int = 4096


def dtype_name(dtype: int) -> str:
    name = types_pb2.DataType.Name(dtype) if dtype in types_pb2.DataType.values() else str(dtype)
    return name[3:].lower() if name.startswith("DT_") else name


def _is_binary(signature: Signature, name: str) -> bool:
    return signature.method_name in (CLASSIFY_METHOD, REGRESS_METHOD) or name.endswith(
        _BINARY_SUFFIXES
    )


def _check_shape(name: str, spec: TensorSpecInfo, shape: tuple[int, ...]) -> None:
    if spec.shape is None:
        return
    if len(shape) != len(spec.shape):
        raise invalid(
            f"input '{name}' has rank {len(shape)} (shape {list(shape)}) but the signature "
            f"expects rank {len(spec.shape)} (shape {_shape_str(spec.shape)})"
        )
    for axis, (want, got) in enumerate(zip(spec.shape, shape, strict=True)):
        if want is not None and want != got:
            raise invalid(
                f"input '{name}' has shape {list(shape)} but the signature expects "
                f"{_shape_str(spec.shape)} (dimension {axis})"
            )


def _shape_str(shape: tuple[int | None, ...]) -> str:
    return "[" + ", ".join("-1" if d is None else str(d) for d in shape) + "]"


def _check_strings(name: str, array: np.ndarray, binary: bool, limits: Limits) -> None:
    for index, value in enumerate(array.reshape(-1)):
        if not isinstance(value, bytes):
            raise invalid(f"input '{name}' element {index} is not a string")
        if len(value) > limits.max_string_bytes:
            raise invalid(
                f"input '{name}' element {index} is {len(value)} bytes, above the limit of "
                f"{limits.max_string_bytes} bytes"
            )
        if not binary:
            try:
                value.decode("utf-8")
            except UnicodeDecodeError as error:
                raise invalid(
                    f"input '{name}' element {index} is not valid UTF-8 ({error.reason} at "
                    f"byte {error.start})"
                ) from None


def _check_token_ids(name: str, array: np.ndarray) -> None:
    negative = np.flatnonzero(np.asarray(array).reshape(-1) < 0)
    if negative.size:
        position = [int(i) for i in np.unravel_index(negative[0], array.shape)]
        raise invalid(
            f"input '{name}' holds a negative token id ({array.reshape(-1)[negative[0]]} at "
            f"index {position}); token ids are vocabulary indices >= 0"
        )


def check_inputs(
    signature: Signature, inputs: dict[str, np.ndarray], dtypes: dict[str, int], limits: Limits
) -> None:
    """Validates names, dtypes (`dtypes`: what the client sent), shapes, batch sizes, strings and
    token ids (no negative value in an int `token_ids` input)."""
    expected, sent = set(signature.inputs), set(inputs)
    if expected != sent:
        raise invalid(
            f"input size does not match signature: {len(sent)}!={len(expected)} "
            f"len({{{','.join(sorted(sent))}}}) != len({{{','.join(sorted(expected))}}}). "
            f"Sent extra: {{{','.join(sorted(sent - expected))}}}. "
            f"Missing but required: {{{','.join(sorted(expected - sent))}}}."
        )
    batch_sizes: dict[str, int] = {}
    for name, spec in signature.inputs.items():
        array = inputs[name]
        if dtypes[name] != spec.dtype:
            raise invalid(
                f"Expects arg '{name}' to be {dtype_name(spec.dtype)} but "
                f"{dtype_name(dtypes[name])} is provided"
            )
        _check_shape(name, spec, array.shape)
        if array.ndim >= 1 and spec.shape and spec.shape[0] is None:
            if array.shape[0] == 0:
                raise invalid(f"input '{name}' is an empty batch (dimension 0 has size 0)")
            if array.shape[0] > limits.max_batch:
                raise invalid(
                    f"input '{name}' batch of {array.shape[0]} is above the limit of "
                    f"{limits.max_batch}"
                )
            batch_sizes[name] = array.shape[0]
        if spec.dtype == types_pb2.DT_STRING:
            _check_strings(name, array, _is_binary(signature, name), limits)
        elif spec.dtype in _INT_DTYPES and name in TOKEN_ID_INPUTS:
            _check_token_ids(name, array)
    if len(set(batch_sizes.values())) > 1:
        raise invalid(
            "inputs have different batch sizes: "
            + ", ".join(f"{k}={v}" for k, v in sorted(batch_sizes.items()))
        )
