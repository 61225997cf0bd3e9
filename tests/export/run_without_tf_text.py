"""Runs exported SavedModels in a process where `import tensorflow_text` fails (and Keras too).

    python run_without_tf_text.py REQUESTS.json OUT.json

A meta-path hook refuses `tensorflow_text` (as if it were not installed) and no tensorflow-text op
library is loaded, so only exports whose graphs hold core TensorFlow ops alone can load. Each request
runs through TF Serving's loading path (`LoadSavedModel` in a session, the SignatureDef's tensors)
and, unless the request says "object_graph": false, through `tf.saved_model.load`; a request that
fails gets {"error": "..."} (e.g. a graph holding tensorflow-text ops). REQUESTS / OUT: as in `run_saved_models.py`, plus "tf_text_loaded"
(whether `tensorflow_text` is in `sys.modules` at the end), "tf_text_installed", "python".
"""

import importlib.abc
import importlib.util
import json
import sys

# Whether tensorflow-text is installed in this interpreter at all (False in the throwaway venv of
# scripts/check_core_export_without_tf_text.py); the hook below blocks it either way.
TF_TEXT_INSTALLED = importlib.util.find_spec("tensorflow_text") is not None


class _NotInstalled(importlib.abc.MetaPathFinder):
    """`import tensorflow_text` (or any submodule) fails as if the package were not installed."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "tensorflow_text":
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by {__file__})")
        return None


sys.meta_path.insert(0, _NotInstalled())
for _name in ("keras", "tf_keras", "keras_bert"):  # nor Keras or this package (as in TF Serving)
    sys.modules[_name] = None

import tensorflow as tf  # noqa: E402
from listing import listed  # noqa: E402


def _run(request: dict) -> tuple[dict, dict | None]:
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
        meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], request["dir"])
        sig = meta_graph.signature_def[request["signature"]]
        feeds = {sig.inputs[k].name: v for k, (v, _) in request["inputs"].items()}
        fetches = {k: info.name for k, info in sig.outputs.items()}
        served = listed(session.run(fetches, feeds))
    if not request.get("object_graph", True):
        return served, None
    fn = tf.saved_model.load(request["dir"]).signatures[request["signature"]]
    inputs = {k: tf.constant(v, dtype=d) for k, (v, d) in request["inputs"].items()}
    return served, listed({k: t.numpy() for k, t in fn(**inputs).items()})


def main(requests_path: str, out_path: str) -> None:
    with open(requests_path) as f:
        requests = json.load(f)
    serving, object_graph = [], []
    for request in requests:
        try:
            served, loaded = _run(request)
        except Exception as error:  # e.g. a graph with ops this TensorFlow does not register
            served, loaded = {"error": f"{type(error).__name__}: {error}"[:2000]}, None
        serving.append(served)
        object_graph.append(loaded)
    with open(out_path, "w") as f:
        json.dump({"results": serving, "results_object_graph": object_graph,
                   "tf_text_loaded": "tensorflow_text" in sys.modules,
                   "tf_text_installed": TF_TEXT_INSTALLED, "python": sys.executable}, f)


if __name__ == "__main__":
    main(*sys.argv[1:])
