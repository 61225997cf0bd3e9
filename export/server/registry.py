"""Finds model versions on disk, loads SavedModels and describes their signatures.

Loading follows TF Serving's own path (`LoadSavedModel` in C++): import the `serve` meta graph into a
session, run the saver's restore op and the init op, then answer each request with one
`Session.run` that feeds and fetches the SignatureDef's tensor names (fetching only the requested
outputs, as TF Serving's `output_filter` does). An export that only `tf.saved_model.load` can run
(object-graph restore) fails here the way it would fail in TF Serving.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Iterable

from tensorflow.core.protobuf import meta_graph_pb2

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
    fn: Callable[..., dict]  # fn(inputs: {alias: np.ndarray}, outputs: [alias]) -> {alias: np.ndarray}


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


def load_servable(name: str, version: int, path: str, threads: tuple[int, int] = (0, 0)) -> Servable:
    """Loads `path` as TF Serving does and wraps each SignatureDef in a `Session.run` call.
    `threads`: (intra-op, inter-op) thread counts, TF Serving's `--tensorflow_*_parallelism`."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tf-text ops the graph may use)
    from tensorflow.python.saved_model import loader_impl

    graph = tf.Graph()
    config = tf.compat.v1.ConfigProto(
        intra_op_parallelism_threads=threads[0], inter_op_parallelism_threads=threads[1]
    )
    session = tf.compat.v1.Session(graph=graph, config=config)
    with graph.as_default():
        # The TF1 loader class (what `tf.compat.v1.saved_model.load` wraps, minus its deprecation
        # warning): the same steps as TF Serving's C++ `LoadSavedModel`.
        meta_graph = loader_impl.SavedModelLoader(path).load(session, ["serve"])
    signatures: dict[str, Signature] = {}
    for key, sig_def in meta_graph.signature_def.items():
        if key.startswith("__"):  # `__saved_model_init_op` and friends are not signatures
            continue
        signatures[key] = Signature(
            key=key,
            method_name=sig_def.method_name,
            inputs={k: _spec(v) for k, v in sig_def.inputs.items()},
            outputs={k: _spec(v) for k, v in sig_def.outputs.items()},
            fn=_session_runner(session, sig_def),
        )
    servable = Servable(name, version, path, dict(meta_graph.signature_def), signatures)
    servable._session = session  # keeps the graph's variables and tables alive
    return servable


def _session_runner(session, sig_def: meta_graph_pb2.SignatureDef) -> Callable[..., dict]:
    feeds = {alias: info.name for alias, info in sig_def.inputs.items()}
    fetches = {alias: info.name for alias, info in sig_def.outputs.items()}

    def run(inputs: dict, outputs: list[str]) -> dict:
        feed_dict = {feeds[alias]: value for alias, value in inputs.items()}
        return session.run({alias: fetches[alias] for alias in outputs}, feed_dict)

    return run


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

    def __init__(self, sources: Iterable[ModelSource], threads: tuple[int, int] = (0, 0)):
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
                v: load_servable(source.name, v, os.path.join(source.base_path, str(v)), threads)
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
