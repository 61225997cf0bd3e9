"""Runs exported SavedModels in a process with only TensorFlow and the tensorflow-text ops.

    python run_saved_models.py REQUESTS.json OUT.json

Keras is blocked (`import tensorflow_text` would pull in its Keras layers, so its op libraries are
loaded directly, which is what TF Serving's linked-in ops amount to); keras_bert is never imported.
REQUESTS: list of {"dir", "signature", "inputs": {name: [values, dtype]}}. OUT: the outputs as
lists (strings decoded from UTF-8) plus any keras / keras_bert modules that got imported.
"""

import importlib.util
import json
import pathlib
import sys

sys.modules["keras"] = None  # any import of keras now fails
sys.modules["tf_keras"] = None

import tensorflow as tf  # noqa: E402

_TF_TEXT = pathlib.Path(importlib.util.find_spec("tensorflow_text").origin).parent  # not imported
for library in sorted((_TF_TEXT / "python").rglob("*.so")):
    tf.load_op_library(str(library))


def _decoded(value):
    """Nested lists of bytes -> the same nesting of UTF-8 strings."""
    return value.decode("utf-8") if isinstance(value, bytes) else [_decoded(v) for v in value]


def main(requests_path: str, out_path: str) -> None:
    with open(requests_path) as f:
        requests = json.load(f)
    loaded, results = {}, []
    for request in requests:
        if request["dir"] not in loaded:
            loaded[request["dir"]] = tf.saved_model.load(request["dir"])
        fn = loaded[request["dir"]].signatures[request["signature"]]
        inputs = {k: tf.constant(v, dtype=dtype) for k, (v, dtype) in request["inputs"].items()}
        out = {}
        for name, tensor in fn(**inputs).items():
            value = tensor.numpy()
            out[name] = _decoded(value.tolist()) if tensor.dtype == tf.string else value.tolist()
        results.append(out)
    modules = sorted(
        m for m, mod in sys.modules.items()
        if mod is not None and m.split(".")[0] in ("keras", "keras_bert", "tf_keras", "tensorflow_text")
    )
    with open(out_path, "w") as f:
        json.dump({"results": results, "foreign_modules": modules}, f)


if __name__ == "__main__":
    main(*sys.argv[1:])
