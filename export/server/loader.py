"""Loads one SavedModel version the way TF Serving does and keeps it alive while requests use it.

Loading follows TF Serving's own path (`LoadSavedModel` in C++): import the `serve` meta graph into
a session, run the saver's restore op and the init op, then answer each request with one
`Session.run` that feeds and fetches the SignatureDef's tensor names (fetching only the requested
outputs, as TF Serving's `output_filter` does). An export that only `tf.saved_model.load` can run
(object-graph restore) fails here the way it would fail in TF Serving.

A `Servable` counts the requests using it: the registry `retire()`s a version it unloads, and the
session closes when the last request in flight `release()`s it (TF Serving's manager likewise
unloads a version once no request holds a handle to it).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable

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
    fn: Callable[
        ..., dict
    ]  # fn(inputs: {alias: np.ndarray}, outputs: [alias]) -> {alias: np.ndarray}


@dataclasses.dataclass
class Servable:
    """One loaded version. `warmup_records`: TF Serving warm-up records replayed at load."""

    name: str
    version: int
    path: str
    signature_defs: dict[str, meta_graph_pb2.SignatureDef]
    signatures: dict[str, Signature]
    session: object | None = None
    warmup_records: int = 0
    _users: int = 0
    _retired: bool = False
    _closed: bool = False
    on_closed: Callable[[], object] | None = dataclasses.field(default=None, repr=False)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    def signature(self, key: str) -> Signature:
        key = key or DEFAULT_SIGNATURE
        if key not in self.signatures:
            raise not_found(
                f'Serving signature key "{key}" not found. Available: {sorted(self.signatures)}'
            )
        return self.signatures[key]

    # ------------------------------------------------------------------ reference counting

    def acquire(self) -> None:
        """One more request uses this version (the registry calls it under its lock)."""
        with self._lock:
            if self._retired:
                raise RuntimeError(f"{self.name} version {self.version} is unloading")
            self._users += 1

    def release(self) -> None:
        """A request is done; the last one on a retired version closes its session."""
        with self._lock:
            self._users -= 1
            close = self._retired and self._users == 0 and not self._closed
            self._closed = self._closed or close
        if close:
            self._close_session()

    def retire(self) -> bool:
        """No new request may use this version; True if the session closed now (no request in
        flight), False if the last request in flight will close it."""
        with self._lock:
            self._retired = True
            close = self._users == 0 and not self._closed
            self._closed = self._closed or close
        if close:
            self._close_session()
        return self.closed

    @property
    def users(self) -> int:
        return self._users

    @property
    def closed(self) -> bool:
        return self._closed

    def _close_session(self) -> None:
        if self.session is not None:
            self.session.close()
        if self.on_closed is not None:
            self.on_closed()


def _spec(info: meta_graph_pb2.TensorInfo) -> TensorSpecInfo:
    if info.tensor_shape.unknown_rank:
        return TensorSpecInfo(info.dtype, None)
    return TensorSpecInfo(
        info.dtype, tuple(None if d.size < 0 else d.size for d in info.tensor_shape.dim)
    )


def load_servable(
    name: str, version: int, path: str, threads: tuple[int, int] = (0, 0)
) -> Servable:
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
    try:
        with graph.as_default():
            # The TF1 loader class (what `tf.compat.v1.saved_model.load` wraps, minus its
            # deprecation warning): the same steps as TF Serving's C++ `LoadSavedModel`.
            meta_graph = loader_impl.SavedModelLoader(path).load(session, ["serve"])
    except BaseException:
        session.close()
        raise
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
    return Servable(name, version, path, dict(meta_graph.signature_def), signatures, session)


def _session_runner(session, sig_def: meta_graph_pb2.SignatureDef) -> Callable[..., dict]:
    feeds = {alias: info.name for alias, info in sig_def.inputs.items()}
    fetches = {alias: info.name for alias, info in sig_def.outputs.items()}

    def run(inputs: dict, outputs: list[str]) -> dict:
        feed_dict = {feeds[alias]: value for alias, value in inputs.items()}
        return session.run({alias: fetches[alias] for alias in outputs}, feed_dict)

    return run
