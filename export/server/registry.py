"""Model lifecycle as TF Serving runs it: poll base paths, load, warm up, serve, unload.

Every `file_system_poll_wait_seconds` (TF Serving's flag, default 1 s; 0 or less: poll once, at
start) the registry lists each model's base path: numeric directories holding `saved_model.pb` are
versions. The model's version policy (latest N, all, specific) picks the versions to serve among
them; new ones are loaded and warmed up in the poll thread (requests keep being answered by the
loaded versions meanwhile) and swapped in under the lock; versions no longer picked, or removed from
disk, are unloaded after the new ones are in (TF Serving's availability-preserving order). An
unloaded version's session closes once its last request in flight is done.

Model status reports what TF Serving's `ServableStateMonitor` reports: LOADING, AVAILABLE,
UNLOADING (requests still in flight), END for a version unloaded or one that failed to load (with
the error). A version that fails to load is logged on one line and left out of the policy until its
directory changes (a half-copied version is retried once the copy completes); the versions already
served stay served. A model with no version yet answers NOT_FOUND and is polled until one appears.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator

import grpc

from .errors import ServingError, from_tf_error_code, not_found
from .loader import (  # noqa: F401  (re-exported: the registry is the server's model API)
    CLASSIFY_METHOD,
    DEFAULT_SIGNATURE,
    PREDICT_METHOD,
    REGRESS_METHOD,
    Servable,
    Signature,
    TensorSpecInfo,
    load_servable,
)

log = logging.getLogger(__name__)

START, LOADING, AVAILABLE, UNLOADING, END = "START", "LOADING", "AVAILABLE", "UNLOADING", "END"


def list_versions(base_path: str) -> list[int]:
    """Numeric version sub-directories of `base_path` holding a `saved_model.pb`, ascending."""
    if not os.path.isdir(base_path):
        return []
    return sorted(
        int(entry)
        for entry in os.listdir(base_path)
        if entry.isdigit() and os.path.isfile(os.path.join(base_path, entry, "saved_model.pb"))
    )


def _fingerprint(path: str) -> tuple:
    """What a failed version's directory held; a retry waits until it changes."""
    files = []
    for root, _, names in os.walk(path):
        for name in names:
            with contextlib.suppress(OSError):
                stat = os.stat(os.path.join(root, name))
                files.append(
                    (
                        os.path.relpath(os.path.join(root, name), path),
                        stat.st_size,
                        stat.st_mtime_ns,
                    )
                )
    return tuple(sorted(files))


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
        """The versions the policy serves among `versions` (ascending)."""
        if self.policy == "all":
            return versions
        if self.policy == "specific":
            return [v for v in versions if v in self.specific]
        return versions[-self.latest_count :] if versions else []


@dataclasses.dataclass
class VersionState:
    """One version's state as `GetModelStatus` reports it; `code`/`message`: why it ended."""

    state: str
    code: grpc.StatusCode = grpc.StatusCode.OK
    message: str = ""
    servable: Servable | None = None  # while UNLOADING: END when its session closes


def _one_line(text: str, limit: int = 400) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


class ModelRegistry:
    """Loaded servables by model name and version, kept in step with the base paths.

    The constructor polls once (so the versions present at start are served when it returns);
    `start_polling(seconds)` keeps polling in a daemon thread; `close()` stops it and unloads all.
    `warmup(servable)` runs before a version becomes AVAILABLE; raising fails the load.
    """

    def __init__(
        self,
        sources: Iterable[ModelSource],
        threads: tuple[int, int] = (0, 0),
        warmup: Callable[[Servable], object] | None = None,
    ):
        self._sources = list(sources)
        self._threads = threads
        self._warmup = warmup
        self._lock = threading.Lock()
        self._poll_lock = threading.Lock()  # one poll at a time
        self._models: dict[str, dict[int, Servable]] = {s.name: {} for s in self._sources}
        self._states: dict[str, dict[int, VersionState]] = {s.name: {} for s in self._sources}
        self._labels: dict[str, dict[str, int]] = {s.name: dict(s.labels) for s in self._sources}
        self._failed: dict[tuple[str, int], tuple] = {}  # (name, version) -> fingerprint
        self._empty_logged: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.poll_count = 0
        self.poll()

    # ------------------------------------------------------------------ lifecycle

    @property
    def polling(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start_polling(self, wait_seconds: float) -> None:
        """Polls every `wait_seconds` in a daemon thread; 0 or less: no further poll (TF Serving
        polls once then; it reserves negative values, which never poll, for its tests)."""
        if wait_seconds <= 0 or self.polling:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._poll_loop, args=(wait_seconds,), name="model-poll", daemon=True
        )
        self._thread.start()

    def _poll_loop(self, wait_seconds: float) -> None:
        while not self._stop.wait(wait_seconds):
            self.poll()

    def close(self) -> None:
        """Stops polling and unloads every version (sessions close when their requests finish)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        with self._lock:
            retiring = [
                (n, v, s) for n, versions in self._models.items() for v, s in versions.items()
            ]
            for name, _, _ in retiring:
                self._models[name] = {}
        for name, version, servable in retiring:
            self._retire(name, version, servable)

    def poll(self) -> None:
        """One pass over every model's base path; never raises (errors are logged)."""
        with self._poll_lock:
            for source in self._sources:
                try:
                    self._poll_source(source)
                except Exception:  # noqa: BLE001  (the poll thread must survive anything)
                    log.exception("polling %s under %s failed", source.name, source.base_path)
            self.poll_count += 1

    def _poll_source(self, source: ModelSource) -> None:
        name = source.name
        on_disk = list_versions(source.base_path)
        if not on_disk:
            if name not in self._empty_logged:
                log.warning(
                    "No versions of servable %s found under base path %s. Did you forget to name "
                    "your leaf directory as a number (eg. '/1/')?",
                    name,
                    source.base_path,
                )
                self._empty_logged.add(name)
        else:
            self._empty_logged.discard(name)
        failed_now: set[int] = set()
        while True:  # failures drop out of the policy's choice, which may then pick older versions
            wanted = source.select(
                [v for v in on_disk if v not in failed_now and not self._still_failed(source, v)]
            )
            to_load = sorted(set(wanted) - set(self._models[name]), reverse=True)
            if not to_load:
                break
            for version in to_load:
                if not self._load(source, version):
                    failed_now.add(version)
        with self._lock:
            unload = {v: s for v, s in self._models[name].items() if v not in wanted}
            for version in unload:
                del self._models[name][version]
        for version, servable in sorted(unload.items()):
            self._retire(name, version, servable)

    def _still_failed(self, source: ModelSource, version: int) -> bool:
        key = (source.name, version)
        if key not in self._failed:
            return False
        if self._failed[key] == _fingerprint(os.path.join(source.base_path, str(version))):
            return True
        del self._failed[key]
        return False

    def _load(self, source: ModelSource, version: int) -> bool:
        name, path = source.name, os.path.join(source.base_path, str(version))
        fingerprint = _fingerprint(path)  # before loading: a copy finishing meanwhile changes it
        self._set_state(name, version, VersionState(LOADING))
        log.info("Loading servable %s version %d from %s", name, version, path)
        servable = None
        try:
            servable = load_servable(name, version, path, self._threads)
            if self._warmup is not None:
                self._warmup(servable)
        except Exception as error:  # noqa: BLE001  (any failure ends this version only)
            if servable is not None:
                servable.retire()
            code, message = _status_of(error)
            self._failed[(name, version)] = fingerprint
            self._set_state(name, version, VersionState(END, code, message))
            log.error(
                "Loading servable %s version %d failed: %s", name, version, _one_line(message)
            )
            return False
        with self._lock:
            self._models[name][version] = servable
            self._states[name][version] = VersionState(AVAILABLE)
        log.info("Successfully loaded servable version {name: %s version: %d}", name, version)
        return True

    def _retire(self, name: str, version: int, servable: Servable) -> None:
        self._set_state(name, version, VersionState(UNLOADING, servable=servable))
        servable.on_closed = lambda: self._ended(name, version, servable)
        closed = servable.retire()
        log.info(
            "Unloading servable version {name: %s version: %d}%s",
            name,
            version,
            "" if closed else f" (closes after {servable.users} request(s) in flight)",
        )

    def _ended(self, name: str, version: int, servable: Servable) -> None:
        """The session of an unloaded version closed: END (unless the version was loaded again)."""
        with self._lock:
            current = self._states[name].get(version)
            if current is not None and current.servable is servable:
                self._states[name][version] = VersionState(END)
        log.info("Done unloading servable version {name: %s version: %d}", name, version)

    def _set_state(self, name: str, version: int, state: VersionState) -> None:
        with self._lock:
            self._states[name][version] = state

    # ------------------------------------------------------------------ queries

    @property
    def model_names(self) -> list[str]:
        return sorted(self._models)

    def versions(self, name: str) -> list[int]:
        """Versions AVAILABLE now, ascending."""
        with self._lock:
            return sorted(self._models.get(name, {}))

    def version_states(self, name: str) -> dict[int, VersionState]:
        """Every version seen, as TF Serving's state monitor keeps them (END ones included)."""
        with self._lock:
            return dict(self._states.get(name, {}))

    def has_model(self, name: str) -> bool:
        return name in self._models

    def label_version(self, name: str, label: str) -> int:
        if label not in self._labels.get(name, {}):
            raise not_found(f"Unrecognized servable version label: {label}")
        return self._labels[name][label]

    def _lookup(self, name: str, version: int | None, label: str) -> Servable:
        versions = self._models.get(name)
        if not name or versions is None:
            raise not_found(f"Servable not found for request: Latest({name})")
        if label:
            version = self.label_version(name, label)
        if version is None:
            if not versions:
                raise not_found(f"Servable not found for request: Latest({name})")
            return versions[max(versions)]
        if version not in versions:
            raise not_found(f"Servable not found for request: Specific({name}, {version})")
        return versions[version]

    def get(self, name: str, version: int | None = None, label: str = "") -> Servable:
        """The requested servable, the highest version when none is given; NOT_FOUND otherwise.
        Holds no reference: use `use()` to run requests on it."""
        with self._lock:
            return self._lookup(name, version, label)

    @contextlib.contextmanager
    def use(self, name: str, version: int | None = None, label: str = "") -> Iterator[Servable]:
        """The requested servable, kept loaded (session open) until the block ends."""
        with self._lock:
            servable = self._lookup(name, version, label)
            servable.acquire()
        try:
            yield servable
        finally:
            servable.release()


def _status_of(error: Exception) -> tuple[grpc.StatusCode, str]:
    if isinstance(error, ServingError):
        return error.code, error.message
    error_code = getattr(error, "error_code", None)  # tf.errors.OpError
    if isinstance(error_code, int):
        return from_tf_error_code(error_code), getattr(error, "message", str(error))
    return grpc.StatusCode.UNKNOWN, f"{type(error).__name__}: {error}"
