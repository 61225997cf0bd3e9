"""Op check: every op an exported SavedModel uses must exist in stock TF Serving.

TF Serving links core TensorFlow and the tensorflow-text ops (TF Serving 2.20 bundles
tensorflow-text 2.20.0). The allowed set is: ops registered by TensorFlow alone (listed in a fresh
process that imports only `tensorflow`) plus the ops in `serving/tf_text_2_20_ops.txt`, the op names
registered by the installed tensorflow-text 2.21 and present in 2.20.0's op libraries (written by
`export/tf_text_ops.py`, which documents the comparison). An export whose tokenizer runs on core
TensorFlow ops (`--tokenizer core`) is checked against core TensorFlow alone (`core_only`): no op from
tensorflow-text's list, so it loads in any process that has TensorFlow.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

from tensorflow.core.protobuf import saved_model_pb2

TF_TEXT_OPS_FILE = Path(__file__).parent / "serving" / "tf_text_2_20_ops.txt"

_LIST_CORE_OPS = (
    "from tensorflow.core.framework import op_def_pb2\n"
    "from tensorflow.python.client import pywrap_tf_session as s\n"
    "ops = op_def_pb2.OpList.FromString(s.TF_GetBuffer(s.TF_GetAllOpList()))\n"
    "print('\\n'.join(sorted(o.name for o in ops.op)))\n"
)


class UnsupportedOpsError(RuntimeError):
    """The export uses ops that stock TF Serving does not have."""


def saved_model_ops(export_dir: str | os.PathLike) -> set[str]:
    """Every op type in the SavedModel's graphs, including functions in the graph library."""
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((Path(export_dir) / "saved_model.pb").read_bytes())
    ops: set[str] = set()
    for meta_graph in proto.meta_graphs:
        graph = meta_graph.graph_def
        ops.update(node.op for node in graph.node)
        for function in graph.library.function:
            ops.update(node.op for node in function.node_def)
    # Calls to library functions appear as ops named after the function.
    for meta_graph in proto.meta_graphs:
        ops.difference_update(f.signature.name for f in meta_graph.graph_def.library.function)
    return ops


@functools.cache
def core_tf_ops() -> frozenset[str]:
    """Ops registered by TensorFlow alone (fresh interpreter, no tensorflow_text)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", _LIST_CORE_OPS], capture_output=True, text=True, env=env,
        timeout=300, check=True,
    )
    return frozenset(result.stdout.split())


@functools.cache
def tf_text_serving_ops() -> frozenset[str]:
    """Op names registered by the tensorflow-text version TF Serving bundles."""
    lines = TF_TEXT_OPS_FILE.read_text().splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def check_ops(export_dir: str | os.PathLike, core_only: bool = False) -> set[str]:
    """Returns the ops used; raises `UnsupportedOpsError` naming any op TF Serving lacks (with
    `core_only`: any op outside core TensorFlow, tensorflow-text's included)."""
    used = saved_model_ops(export_dir)
    if core_only:
        outside = sorted(used - core_tf_ops())
        if outside or used & tf_text_serving_ops():
            text_ops = sorted(used & tf_text_serving_ops())
            raise UnsupportedOpsError(
                f"{export_dir}: ops outside core TensorFlow: {', '.join(outside)} "
                f"(tensorflow-text's: {', '.join(text_ops) or 'none'})"
            )
        return used
    unknown = sorted(used - core_tf_ops() - tf_text_serving_ops())
    if unknown:
        raise UnsupportedOpsError(
            f"{export_dir}: ops not in core TensorFlow nor tensorflow-text 2.20 "
            f"(as bundled by TF Serving 2.20): {', '.join(unknown)}"
        )
    return used
