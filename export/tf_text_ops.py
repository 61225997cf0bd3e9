"""Lists the ops tensorflow-text registers and checks another version's binaries carry them.

    python export/tf_text_ops.py OTHER_WHEEL_OR_DIR [--write FILE]

Loads every op library (`python/**/*.so`) of the installed tensorflow-text into a fresh TensorFlow
process with `tf.load_op_library` and records the op names each adds. A different version's libraries
cannot be loaded into this TensorFlow (C++ ABI), so for OTHER (e.g. the 2.20.0 wheel TF Serving 2.20
bundles: `pip download --no-deps tensorflow-text==2.20.0`) each op name is looked up as a
NUL-terminated string (the `REGISTER_OP("Name")` literal) in the library of the same file name.
`--write` stores the names found in both; `serving/tf_text_2_20_ops.txt` was written this way.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

_LOAD = r"""
import json, sys
import tensorflow as tf
from tensorflow.core.framework import op_def_pb2
from tensorflow.python.client import pywrap_tf_session as s
def ops():
    return {o.name for o in op_def_pb2.OpList.FromString(s.TF_GetBuffer(s.TF_GetAllOpList())).op}
result = {}
for path in sys.argv[1:]:
    before = ops()
    try:
        tf.load_op_library(path)
        result[path] = sorted(ops() - before)
    except Exception as error:
        result[path] = "ERROR: " + str(error)[:300]
print(json.dumps(result))
"""


def op_libraries(root: Path) -> list[Path]:
    """The op kernels' shared libraries of a tensorflow-text tree (python/ops, python/metrics)."""
    return sorted(p for p in root.rglob("*.so") if "/python/" in str(p))


def ops_by_library(root: Path) -> dict[str, list[str] | str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run(
        [sys.executable, "-c", _LOAD, *map(str, op_libraries(root))],
        capture_output=True, text=True, env=env, timeout=600, check=True,
    ).stdout
    return {Path(k).name: v for k, v in json.loads(out.strip().splitlines()[-1]).items()}


def installed_root() -> Path:
    import importlib.util

    return Path(importlib.util.find_spec("tensorflow_text").origin).parent


def present_in(library: Path, op_name: str) -> bool:
    """Whether `op_name` appears as a NUL-terminated string literal in a shared library."""
    data = library.read_bytes()
    return f"\0{op_name}\0".encode() in data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", help="other tensorflow-text wheel or extracted folder")
    parser.add_argument("--write", help="write the op names present in both to this file")
    args = parser.parse_args(argv)
    other = Path(args.other)
    if other.suffix == ".whl":
        root = Path(tempfile.mkdtemp(prefix="tf_text_wheel_"))
        with zipfile.ZipFile(other) as wheel:
            wheel.extractall(root)
        other = root
    other_libs = {p.name: p for p in op_libraries(other)}
    both, missing = [], []
    for library, ops in ops_by_library(installed_root()).items():
        if isinstance(ops, str):
            print(f"{library}: {ops}")
            continue
        for op in ops:
            found = library in other_libs and present_in(other_libs[library], op)
            (both if found else missing).append(op)
    print(f"{len(both)} ops in both versions; missing from {args.other}: {sorted(missing) or 'none'}")
    if args.write:
        header = (
            "# Ops registered by the installed tensorflow-text and present in the op libraries of\n"
            f"# {Path(args.other).name} (written by export/tf_text_ops.py)\n"
        )
        Path(args.write).write_text(header + "\n".join(sorted(both)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
