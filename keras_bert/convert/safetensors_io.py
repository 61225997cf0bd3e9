"""Minimal safetensors reader/writer on NumPy (no torch, no pickle).

Format: 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
then the raw little-endian tensor bytes. A truncated or corrupt file raises
`CorruptCheckpointError` with one line (path, damage, "re-download or re-convert the weights").
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import ml_dtypes
import numpy as np

from keras_bert.convert.integrity import REDOWNLOAD_ADVICE, CorruptCheckpointError, write_atomically

_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype(ml_dtypes.bfloat16),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_NAMES = {dtype: name for name, dtype in _DTYPES.items()}
_MAX_HEADER = 100_000_000  # The format's own limit on the JSON header.


def read_safetensors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Reads every tensor of a `.safetensors` file into NumPy arrays (float32 for BF16/F16).

    Raises:
        FileNotFoundError: there is no file at `path`.
        CorruptCheckpointError: the file is truncated or its header is corrupt (one line: the
            path, the damage, what to do); checked before any tensor is decoded.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No safetensors file at {path}.")
    data = path.read_bytes()
    header, body_start = _parse_header(path, data)
    body = memoryview(data)[body_start:]
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        array = np.frombuffer(body[begin:end], dtype=_DTYPES[info["dtype"]])
        array = array.reshape(info["shape"])
        if info["dtype"] in ("BF16", "F16"):
            array = array.astype(np.float32)
        tensors[name] = np.array(array)  # own the memory
    return tensors


def _parse_header(path: Path, data: bytes) -> tuple[dict, int]:
    """The checked tensor entries of the header ({name: {dtype, shape, data_offsets}}) and where
    the tensor data starts. Every entry's size and place in the file are checked."""
    size = len(data)

    def corrupt(problem: str) -> CorruptCheckpointError:
        return CorruptCheckpointError(path, problem, REDOWNLOAD_ADVICE)

    if size == 0:
        raise corrupt("empty file (0 bytes)")
    if size < 8:
        raise corrupt(f"truncated: {size} of at least 8 bytes (cut inside the 8-byte header length)")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > size - 8:
        if header_len > _MAX_HEADER or data[8:9] not in (b"{", b""):
            raise corrupt(
                f"not a safetensors file (its header length {header_len} is beyond the file's "
                f"{size} bytes)"
            )
        raise corrupt(f"truncated: {size} of at least {8 + header_len} bytes (cut inside the JSON header)")
    try:
        header = json.loads(data[8 : 8 + header_len])
        if not isinstance(header, dict):
            raise ValueError(f"a JSON {type(header).__name__}, not an object")
    except (UnicodeDecodeError, ValueError) as error:
        raise corrupt(f"corrupt safetensors header ({error})") from error
    header.pop("__metadata__", None)
    body_size, need, last = size - 8 - header_len, 0, None
    for name, info in header.items():
        try:
            dtype = _DTYPES.get(info["dtype"])
            shape = [int(d) for d in info["shape"]]
            begin, end = (int(x) for x in info["data_offsets"])
        except (KeyError, TypeError, ValueError) as error:
            raise corrupt(f"corrupt safetensors header (entry {name!r}: {error!r})") from error
        if dtype is None:
            raise ValueError(f"{path}: tensor {name!r} has unsupported dtype {info['dtype']}.")
        expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if not 0 <= begin <= end or end - begin != expected or min(shape, default=0) < 0:
            raise corrupt(
                f"corrupt safetensors header (tensor {name!r}: offsets {[begin, end]} for shape "
                f"{shape} {info['dtype']}, which needs {expected} bytes)"
            )
        if end > need:
            need, last = end, name
    if need > body_size:
        raise corrupt(
            f"truncated: {size} of {8 + header_len + need} bytes (the data of tensor {last!r} and "
            "maybe others is cut)"
        )
    return header, 8 + header_len


def write_safetensors(
    path: str | os.PathLike, tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None
) -> None:
    """Writes `tensors` to `path` atomically (temporary `.tmp-<pid>-*.safetensors` file, fsync,
    rename; see `integrity`)."""
    path = Path(path)
    header: dict = {"__metadata__": dict(metadata or {"format": "pt"})}
    chunks, offset = [], 0
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        if array.dtype not in _NAMES:
            raise ValueError(f"Tensor {name!r} has unsupported dtype {array.dtype}.")
        raw = array.astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {
            "dtype": _NAMES[array.dtype],
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        chunks.append(raw)
        offset += len(raw)
    header_bytes = json.dumps(header, separators=(",", ":")).encode()
    header_bytes += b" " * (-len(header_bytes) % 8)

    def write(out) -> None:
        out.write(struct.pack("<Q", len(header_bytes)))
        out.write(header_bytes)
        for raw in chunks:
            out.write(raw)

    write_atomically(path, write)
