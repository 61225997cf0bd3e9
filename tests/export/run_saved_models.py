"""Runs exported SavedModels in a process with only TensorFlow and the tensorflow-text ops.

    python run_saved_models.py REQUESTS.json OUT.json

Keras is blocked (`import tensorflow_text` would pull in its Keras layers, so its op libraries are
loaded directly, which is what TF Serving's linked-in ops amount to); keras_bert is never imported.
Each request runs twice: through TF Serving's loading path (`LoadSavedModel`: the `serve` meta graph
in a session, the saver's restore op, then `Session.run` on the SignatureDef's tensor names) and
through `tf.saved_model.load` (object-graph restore).
REQUESTS: list of {"dir", "signature", "inputs": {name: [values, dtype]}}. OUT: both paths' outputs
as lists (strings decoded from UTF-8) plus any keras / keras_bert modules that got imported.
"""

import importlib.util
import json
import pathlib
import sys

sys.modules["keras"] = None  # any import of keras now fails
sys.modules["tf_keras"] = None

import tensorflow as tf  # noqa: E402
from listing import listed  # noqa: E402

_TF_TEXT = pathlib.Path(importlib.util.find_spec("tensorflow_text").origin).parent  # not imported
for library in sorted((_TF_TEXT / "python").rglob("*.so")):
    tf.load_op_library(str(library))



def run_like_tf_serving(path: str, requests: list[dict]) -> list[dict]:
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
        meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], path)
        results = []
        for request in requests:
            sig = meta_graph.signature_def[request["signature"]]
            feeds = {sig.inputs[k].name: v for k, (v, _) in request["inputs"].items()}
            fetches = {k: info.name for k, info in sig.outputs.items()}
            results.append(listed(session.run(fetches, feeds)))
    return results


def run_object_graph(path: str, requests: list[dict]) -> list[dict]:
    loaded = tf.saved_model.load(path)
    results = []
    for request in requests:
        fn = loaded.signatures[request["signature"]]
        inputs = {k: tf.constant(v, dtype=dtype) for k, (v, dtype) in request["inputs"].items()}
        results.append(listed({k: t.numpy() for k, t in fn(**inputs).items()}))
    return results


def main(requests_path: str, out_path: str) -> None:
    with open(requests_path) as f:
        requests = json.load(f)
    by_dir: dict[str, list[int]] = {}
    for n, request in enumerate(requests):
        by_dir.setdefault(request["dir"], []).append(n)
    serving, object_graph = [None] * len(requests), [None] * len(requests)
    for path, indices in by_dir.items():
        batch = [requests[n] for n in indices]
        served, loaded = run_like_tf_serving(path, batch), run_object_graph(path, batch)
        for n, a, b in zip(indices, served, loaded, strict=True):
            serving[n], object_graph[n] = a, b
    modules = sorted(
        m for m, mod in sys.modules.items()
        if mod is not None and m.split(".")[0] in ("keras", "keras_bert", "tf_keras", "tensorflow_text")
    )
    with open(out_path, "w") as f:
        json.dump({"results": serving, "results_object_graph": object_graph,
                   "foreign_modules": modules}, f)


if __name__ == "__main__":
    main(*sys.argv[1:])
