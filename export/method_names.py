"""Sets SignatureDef method names in a written SavedModel.

`tf.saved_model.save` marks every signature `tensorflow/serving/predict`; TF Serving's Classify and Regress
APIs require `tensorflow/serving/classify` / `tensorflow/serving/regress`, so those signatures are
re-labelled in `saved_model.pb` after saving (the graph is untouched).
"""

from __future__ import annotations

import os

from tensorflow.core.protobuf import saved_model_pb2

CLASSIFY = "tensorflow/serving/classify"
REGRESS = "tensorflow/serving/regress"


def set_method_names(export_dir: str, methods: dict[str, str]) -> None:
    """Rewrites `method_name` of the signatures named in `methods` (key -> method)."""
    path = os.path.join(export_dir, "saved_model.pb")
    proto = saved_model_pb2.SavedModel()
    with open(path, "rb") as f:
        proto.ParseFromString(f.read())
    for meta_graph in proto.meta_graphs:
        for key, method in methods.items():
            if key not in meta_graph.signature_def:
                raise KeyError(f"{export_dir}: no signature {key!r}")
            meta_graph.signature_def[key].method_name = method
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())
