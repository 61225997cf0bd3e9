"""`tf.distribute` strategy selection: default, one-device, mirrored, multi-worker, tpu."""

from __future__ import annotations

import json
import os

import tensorflow as tf

STRATEGIES: tuple[str, ...] = ("default", "one-device", "mirrored", "multi-worker", "tpu")


def configure_logical_cpus(count: int) -> None:
    """Split the host CPU into `count` logical devices (for mirrored training without GPUs).

    Must run before TensorFlow initialises its devices (before any op runs); raises otherwise.
    """
    cpus = tf.config.list_physical_devices("CPU")
    current = tf.config.get_logical_device_configuration(cpus[0])
    if current is not None and len(current) == count:
        return
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
        )
    except RuntimeError as error:
        raise RuntimeError(
            f"Cannot split the CPU into {count} logical devices: TensorFlow is already "
            "initialised. Call configure_logical_cpus() first thing in the process."
        ) from error


def create_strategy(
    name: str = "default", *, num_cpu_replicas: int = 0, tpu: str | None = None
) -> tf.distribute.Strategy:
    """Returns the strategy `name` (see `STRATEGIES`).

    Args:
        name: "default" (no distribution), "one-device" (first GPU, else CPU), "mirrored" (all local
            GPUs; without GPUs, `num_cpu_replicas` logical CPUs, else the single CPU),
            "multi-worker" (`MultiWorkerMirroredStrategy` from the `TF_CONFIG` environment variable),
            "tpu" (`TPUStrategy` through `TPUClusterResolver`).
        num_cpu_replicas: logical CPU replicas for "mirrored" on a host without GPUs (>= 2 to
            split; must be set before TensorFlow initialises). XLA cannot run with variables on
            CPU:1, so train CPU replicas without `jit_compile`.
        tpu: TPU name or grpc address for "tpu" (None: from the environment, e.g. a TPU VM).
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "one-device":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    if name == "mirrored":
        if tf.config.list_physical_devices("GPU"):
            return tf.distribute.MirroredStrategy()
        if num_cpu_replicas > 1:
            configure_logical_cpus(num_cpu_replicas)
        cpus = [device.name for device in tf.config.list_logical_devices("CPU")]
        if num_cpu_replicas > 1:
            cpus = cpus[:num_cpu_replicas]
        return tf.distribute.MirroredStrategy(cpus)
    if name == "multi-worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError(
                "--strategy multi-worker needs the TF_CONFIG environment variable "
                '(e.g. {"cluster": {"worker": ["host1:port", "host2:port"]}, '
                '"task": {"type": "worker", "index": 0}}).'
            )
        json.loads(os.environ["TF_CONFIG"])  # Fail early on malformed JSON.
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        return _tpu_strategy(tpu)
    raise ValueError(f"Unknown strategy {name!r}: expected one of {', '.join(STRATEGIES)}.")


def _tpu_strategy(tpu: str | None) -> tf.distribute.TPUStrategy:
    """The documented TPU path: resolver -> connect -> initialise the TPU system -> TPUStrategy."""
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        raise RuntimeError(
            f"--strategy tpu: no TPU found (tpu={tpu!r}): {error}. Run on a TPU VM or pass the "
            "TPU name/address; use --strategy mirrored or default on CPU/GPU hosts."
        ) from error
    return tf.distribute.TPUStrategy(resolver)


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    """True for a `MultiWorkerMirroredStrategy` that spans more than one worker."""
    return isinstance(
        strategy, tf.distribute.MultiWorkerMirroredStrategy
    ) and strategy.extended._in_multi_worker_mode()


def resolve_jit(jit_compile: bool | str, strategy: tf.distribute.Strategy) -> bool:
    """XLA for the train step (`"auto"`: on), except for CPU replicas of a distributed strategy:
    XLA cannot reach variables on another CPU device, and collectives across CPU workers are not
    XLA-compiled, so there it is off whatever was asked."""
    distributed = strategy.num_replicas_in_sync > 1 or is_multi_worker(strategy)
    if distributed and not tf.config.list_physical_devices("GPU"):
        return False
    return True if jit_compile == "auto" else bool(jit_compile)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True on the worker that writes checkpoints and summaries (task chief, or worker 0)."""
    if not is_multi_worker(strategy):
        return True
    resolver = strategy.cluster_resolver
    task_type, task_id = resolver.task_type, resolver.task_id
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "chief" or (not has_chief and task_type == "worker" and task_id == 0)
