"""Finds model versions on disk, loads SavedModels and describes their signatures.

Loading uses plain `tf.saved_model.load` (after `import tensorflow_text` registers its ops), exactly what
a client of the export needs; signature metadata (method names, tensor infos) is read from
`saved_model.pb`, which `tf.saved_model.load` does not expose.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Iterable

from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

from .errors import not_found

DEFAULT_SIGNATURE = "serving_default"
PREDICT_METHOD = "tensorflow/serving/predict"
CLASSIFY_METHOD = "tensorflow/serving/classify"
REGRESS_METHOD = "tensorflow/serving/regress"


@dataclasses.dataclass(frozen=True)
class TensorSpecInfo:
    """Dtype enum (`types_pb2.DataType`) and shape (None for unknown dims; None rank if unknown)."""

    dtype: int
    shape: tuple[int | None, ...] | None


@dataclasses.dataclass
class Signature:
    key: str
    method_name: str
    inputs: dict[str, TensorSpecInfo]
    outputs: dict[str, TensorSpecInfo]
    fn: Callable[..., dict]


@dataclasses.dataclass
class Servable:
    name: str
    version: int
    path: str
    signature_defs: dict[str, meta_graph_pb2.SignatureDef]
    signatures: dict[str, Signature]

    def signature(self, key: str) -> Signature:
        key = key or DEFAULT_SIGNATURE
        if key not in self.signatures:
            raise not_found(
                f'Serving signature key "{key}" not found. '
                f"Available: {sorted(self.signatures)}"
            )
        return self.signatures[key]


def _spec(info: meta_graph_pb2.TensorInfo) -> TensorSpecInfo:
    if info.tensor_shape.unknown_rank:
        return TensorSpecInfo(info.dtype, None)
    return TensorSpecInfo(
        info.dtype, tuple(None if d.size < 0 else d.size for d in info.tensor_shape.dim)
    )


def read_signature_defs(path: str) -> dict[str, meta_graph_pb2.SignatureDef]:
    """Signature defs of the serving meta graph in `path/saved_model.pb`."""
    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    for meta_graph in proto.meta_graphs:
        if "serve" in meta_graph.meta_info_def.tags:
            return dict(meta_graph.signature_def)
    raise ValueError(f"{path}: no meta graph tagged 'serve'")


def load_servable(name: str, version: int, path: str) -> Servable:
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tf-text ops the graph may use)

    loaded = tf.saved_model.load(path)
    defs = read_signature_defs(path)
    signatures: dict[str, Signature] = {}
    for key, fn in loaded.signatures.items():
        sig_def = defs[key]
        signatures[key] = Signature(
            key=key,
            method_name=sig_def.method_name,
            inputs={k: _spec(v) for k, v in sig_def.inputs.items()},
            outputs={k: _spec(v) for k, v in sig_def.outputs.items()},
            fn=fn,
        )
    servable = Servable(name, version, path, defs, signatures)
    servable._loaded = loaded  # keep the trackable objects (variables, tables) alive
    return servable


def list_versions(base_path: str) -> list[int]:
    """Numeric version sub-directories of `base_path` holding a `saved_model.pb`, ascending."""
    if not os.path.isdir(base_path):
        return []
    return sorted(
        int(entry)
        for entry in os.listdir(base_path)
        if entry.isdigit() and os.path.isfile(os.path.join(base_path, entry, "saved_model.pb"))
    )


@dataclasses.dataclass
class ModelSource:
    """One `model_config_list` entry: where a model lives and which versions to serve."""

    name: str
    base_path: str
    policy: str = "latest"  # "latest" | "all" | "specific"
    latest_count: int = 1
    specific: tuple[int, ...] = ()
    labels: dict[str, int] = dataclasses.field(default_factory=dict)

    def select(self, versions: list[int]) -> list[int]:
        if self.policy == "all":
            return versions
        if self.policy == "specific":
            return [v for v in versions if v in self.specific]
        return versions[-self.latest_count :] if versions else []


class ModelRegistry:
    """Loaded servables by model name and version (thread-safe reads)."""

    def __init__(self, sources: Iterable[ModelSource]):
        self._lock = threading.Lock()
        self._models: dict[str, dict[int, Servable]] = {}
        self._labels: dict[str, dict[str, int]] = {}
        for source in sources:
            versions = source.select(list_versions(source.base_path))
            if not versions:
                raise FileNotFoundError(
                    f"model {source.name!r}: no servable version under {source.base_path!r}"
                )
            self._models[source.name] = {
                v: load_servable(source.name, v, os.path.join(source.base_path, str(v)))
                for v in versions
            }
            self._labels[source.name] = dict(source.labels)

    @property
    def model_names(self) -> list[str]:
        return sorted(self._models)

    def versions(self, name: str) -> list[int]:
        return sorted(self._models.get(name, {}))

    def get(self, name: str, version: int | None = None, label: str = "") -> Servable:
        """The requested servable, the highest version when none is given; NOT_FOUND otherwise."""
        versions = self._models.get(name)
        if not name or versions is None:
            raise not_found(f"Servable not found for request: Latest({name})")
        if label:
            if label not in self._labels[name]:
                raise not_found(f"Unrecognized servable version label: {label}")
            version = self._labels[name][label]
        if version is None:
            return versions[max(versions)]
        if version not in versions:
            raise not_found(f"Servable not found for request: Specific({name}, {version})")
        return versions[version]
