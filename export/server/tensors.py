"""Conversions between TensorProto / TF Serving JSON and numpy arrays."""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np
from tensorflow.core.framework import tensor_pb2, types_pb2

from .errors import invalid
from .validation import dtype_name

_NUMPY_DTYPES: dict[int, type] = {
    types_pb2.DT_FLOAT: np.float32,
    types_pb2.DT_DOUBLE: np.float64,
    types_pb2.DT_INT32: np.int32,
    types_pb2.DT_INT64: np.int64,
    types_pb2.DT_INT16: np.int16,
    types_pb2.DT_INT8: np.int8,
    types_pb2.DT_UINT8: np.uint8,
    types_pb2.DT_BOOL: np.bool_,
    types_pb2.DT_STRING: object,
}
_MAX_ELEMENTS = 1 << 26
_MAX_RANK = 32  # numpy's array rank limit (numpy 1.x; 2.x allows 64)


def proto_to_array(name: str, proto: tensor_pb2.TensorProto) -> np.ndarray:
    """`tf.make_ndarray` with the failure turned into INVALID_ARGUMENT naming the input."""
    import tensorflow as tf

    if proto.dtype not in _NUMPY_DTYPES:
        raise invalid(f"input '{name}' has unsupported dtype {dtype_name(proto.dtype)}")
    if proto.tensor_shape.unknown_rank:
        raise invalid(f"input '{name}' has unknown rank")
    dims = [d.size for d in proto.tensor_shape.dim]
    if len(dims) > _MAX_RANK:
        raise invalid(f"input '{name}' has rank {len(dims)}, above the {_MAX_RANK} supported")
    if any(d < 0 for d in dims):
        raise invalid(f"input '{name}' has a negative dimension in shape {dims}")
    if math.prod(dims) > _MAX_ELEMENTS:
        raise invalid(f"input '{name}' has {math.prod(dims)} elements, above the limit")
    try:
        array = tf.make_ndarray(proto)
    except Exception as error:  # noqa: BLE001  (malformed protos raise many types)
        raise invalid(f"input '{name}' is not a valid TensorProto: {error}") from None
    if tuple(array.shape) != tuple(dims):
        raise invalid(f"input '{name}': values do not fill shape {dims}")
    return array


def array_to_proto(array: np.ndarray) -> tensor_pb2.TensorProto:
    import tensorflow as tf

    return tf.make_tensor_proto(array)


# ----------------------------------------------------------------------------- JSON (REST)


def _leaf(name: str, value: Any, dtype: int) -> Any:
    if dtype == types_pb2.DT_STRING:
        if isinstance(value, dict):
            if set(value) != {"b64"} or not isinstance(value["b64"], str):
                raise invalid(f"input '{name}': objects in string tensors must be {{\"b64\": ...}}")
            try:
                return base64.b64decode(value["b64"], validate=True)
            except ValueError:
                raise invalid(f"input '{name}': invalid base64 in \"b64\" value") from None
        if isinstance(value, str):
            return value.encode("utf-8", "surrogatepass")
        raise invalid(f"input '{name}': expected a string, got {type(value).__name__}")
    if dtype == types_pb2.DT_BOOL:
        if not isinstance(value, bool):
            raise invalid(f"input '{name}': expected a bool, got {type(value).__name__}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(
            f"input '{name}': expected a number for {dtype_name(dtype)}, got {json_type(value)}"
        )
    if dtype in (types_pb2.DT_FLOAT, types_pb2.DT_DOUBLE):
        return float(value)
    if isinstance(value, float) and not value.is_integer():
        raise invalid(f"input '{name}': expected an integer for {dtype_name(dtype)}, got {value}")
    return int(value)


def json_type(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "bool"}.get(
        type(value), type(value).__name__
    )


def _is_leaf(value: Any) -> bool:
    return not isinstance(value, list)


def _shape_of(name: str, value: Any) -> list[int]:
    shape: list[int] = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return shape


def _flatten(name: str, value: Any, shape: list[int], out: list, dtype: int, depth: int = 0) -> None:
    if depth == len(shape):
        if not _is_leaf(value):
            raise invalid(f"input '{name}': nested lists have inconsistent depth")
        out.append(_leaf(name, value, dtype))
        return
    if not isinstance(value, list) or len(value) != shape[depth]:
        raise invalid(
            f"input '{name}': nested lists are ragged (expected {shape[depth]} elements at "
            f"depth {depth})"
        )
    for item in value:
        _flatten(name, item, shape, out, dtype, depth + 1)


def json_to_array(name: str, value: Any, dtype: int) -> np.ndarray:
    """A JSON value (nested lists of leaves) as a numpy array of the signature's dtype."""
    shape = _shape_of(name, value)
    if len(shape) > _MAX_RANK:
        raise invalid(f"input '{name}' has rank {len(shape)}, above the {_MAX_RANK} supported")
    flat: list = []
    _flatten(name, value, shape, flat, dtype)
    if len(flat) > _MAX_ELEMENTS:
        raise invalid(f"input '{name}' is too large")
    np_dtype = _NUMPY_DTYPES.get(dtype)
    if np_dtype is None:
        raise invalid(f"input '{name}': dtype {dtype_name(dtype)} is not supported over REST")
    try:
        array = np.array(flat, dtype=np_dtype)
    except (OverflowError, ValueError) as error:
        raise invalid(f"input '{name}': {error}") from None
    if np_dtype is not object and np.issubdtype(np_dtype, np.integer):
        if any(int(a) != b for a, b in zip(array.tolist(), flat, strict=True)):
            raise invalid(f"input '{name}': value out of range for {dtype_name(dtype)}")
    return array.reshape(shape)


def array_to_json(name: str, array: np.ndarray) -> Any:
    """TF Serving's JSON for an output: UTF-8 text, `{"b64": ...}` for `*_bytes` or binary strings."""
    if array.dtype == object or array.dtype.kind == "S":
        binary = name.endswith("_bytes")

        def convert(value: bytes) -> Any:
            if not binary:
                try:
                    return value.decode("utf-8")
                except UnicodeDecodeError:
                    pass
            return {"b64": base64.b64encode(value).decode("ascii")}

        return np.vectorize(convert, otypes=[object])(array).tolist() if array.size else array.tolist()
    return array.tolist()
