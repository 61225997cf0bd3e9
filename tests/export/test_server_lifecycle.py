"""Dev server model lifecycle as TF Serving runs it: polling, version policy, unloading with
requests in flight, failed loads, an empty base path at start, and warm-up replay (127.0.0.1)."""

from __future__ import annotations

import functools
import logging
import os
import shutil
import threading
import time

import grpc
import numpy as np
import pytest
import tensorflow as tf
from keras_bert.export.server import warmup
from keras_bert.export.server.main import start_server
from keras_bert.export.server.registry import ModelRegistry, ModelSource
from keras_bert.export.server.validation import Limits
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_status_pb2,
    inference_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_log_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
)

TIMEOUT = 10.0
POLL = 0.2  # seconds between polls in these tests
WAIT = 10.0  # generous bound for "served within two poll intervals" (a load takes ~0.3 s here)
STATE = get_model_status_pb2.ModelVersionStatus.State


def wait_until(predicate, timeout: float = WAIT, what: str = "condition"):
    """Polls `predicate` every 50 ms until it returns something truthy; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout} s")


def add_version(toy_base, base, source_version: int, version: int | None = None) -> str:
    """Copies a toy version under `base` as TF Serving recommends: copy aside, then rename."""
    version = source_version if version is None else version
    os.makedirs(base, exist_ok=True)
    staging = os.path.join(base, f".staging-{version}")
    shutil.copytree(os.path.join(toy_base, str(source_version)), staging)
    target = os.path.join(base, str(version))
    os.rename(staging, target)
    return target


def write_warmup(version_dir: str, records: list[prediction_log_pb2.PredictionLog]) -> str:
    """TF Serving's warm-up file: `assets.extra/tf_serving_warmup_requests`, one serialized
    `PredictionLog` per TFRecord record."""
    path = os.path.join(version_dir, "assets.extra", "tf_serving_warmup_requests")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path) as writer:
        for record in records:
            writer.write(record.SerializeToString())
    return path


def predict_request(text: bytes = b"abc", version: int | None = None, name: str = "toy"):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = name
    if version is not None:
        request.model_spec.version.value = version
    request.inputs["text"].CopyFrom(tf.make_tensor_proto(np.array([text])))
    return request


def _example(x: float) -> tf.train.Example:
    feature = tf.train.Feature(float_list=tf.train.FloatList(value=[x]))
    return tf.train.Example(features=tf.train.Features(feature={"x": feature}))


def warmup_records() -> list[prediction_log_pb2.PredictionLog]:
    """Two predict records, one each of classify, regress, multi-inference, and one with no log."""
    classify = classification_pb2.ClassificationRequest()
    classify.model_spec.signature_name = "classify"
    classify.input.example_list.examples.extend([_example(1.0)])
    regress = regression_pb2.RegressionRequest()
    regress.model_spec.signature_name = "regress"
    regress.input.example_list.examples.extend([_example(2.0)])
    multi = inference_pb2.MultiInferenceRequest()
    multi.input.example_list.examples.extend([_example(3.0)])
    for signature, method in (
        ("classify", "tensorflow/serving/classify"),
        ("regress", "tensorflow/serving/regress"),
    ):
        task = multi.tasks.add(method_name=method)
        task.model_spec.name, task.model_spec.signature_name = "toy", signature
    log = prediction_log_pb2
    return [
        log.PredictionLog(predict_log=log.PredictLog(request=predict_request(b"warm"))),
        log.PredictionLog(predict_log=log.PredictLog(request=predict_request(b"up", name="other"))),
        log.PredictionLog(classify_log=log.ClassifyLog(request=classify)),
        log.PredictionLog(regress_log=log.RegressLog(request=regress)),
        log.PredictionLog(multi_inference_log=log.MultiInferenceLog(request=multi)),
        log.PredictionLog(),
    ]


@pytest.fixture
def serve(request):
    """Starts servers for a test and stops them all at its end."""
    servers = []

    def start(sources, **kwargs):
        kwargs.setdefault("file_system_poll_wait_seconds", POLL)
        server = start_server(sources, grpc_port=0, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


class Client:
    def __init__(self, server):
        self.channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}")
        self.predictions = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)
        self.models = model_service_pb2_grpc.ModelServiceStub(self.channel)

    def served_version(self, version: int | None = None) -> int:
        return self.predictions.Predict(
            predict_request(version=version), TIMEOUT
        ).model_spec.version.value

    def served_version_or_none(self) -> int | None:
        try:
            return self.served_version()
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.NOT_FOUND, error
            return None

    def status(self, name: str = "toy") -> dict[int, str]:
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = name
        response = self.models.GetModelStatus(request, TIMEOUT)
        return {s.version: STATE.Name(s.state) for s in response.model_version_status}


@pytest.fixture
def client_of():
    clients = []

    def make(server) -> Client:
        clients.append(Client(server))
        return clients[-1]

    yield make
    for client in clients:
        client.channel.close()


def test_new_version_is_served_and_removed_version_ends(toy_base, tmp_path, serve, client_of):
    base = tmp_path / "toy"
    add_version(toy_base, base, 1)
    client = client_of(serve([ModelSource("toy", str(base))]))
    assert client.served_version() == 1
    assert client.status() == {1: "AVAILABLE"}

    add_version(toy_base, base, 2)
    wait_until(lambda: client.served_version() == 2, what="version 2 served")
    # latest-1 policy: version 1 unloaded once 2 is in; TF Serving keeps unloaded versions as END
    wait_until(lambda: client.status() == {2: "AVAILABLE", 1: "END"}, what="version 1 END")

    shutil.rmtree(base / "2")
    wait_until(lambda: client.status() == {2: "END", 1: "AVAILABLE"}, what="version 2 END")
    assert client.served_version() == 1  # the policy's choice among what is left on disk
    with pytest.raises(grpc.RpcError) as info:
        client.served_version(version=2)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


def test_all_policy_serves_every_version_and_highest_by_default(
    toy_base, tmp_path, serve, client_of
):
    base = tmp_path / "toy"
    add_version(toy_base, base, 1)
    client = client_of(serve([ModelSource("toy", str(base), policy="all")]))
    add_version(toy_base, base, 2, version=5)
    wait_until(lambda: client.status() == {5: "AVAILABLE", 1: "AVAILABLE"}, what="both versions")
    assert client.served_version() == 5
    assert client.served_version(version=1) == 1


def test_request_in_flight_on_an_unloading_version_completes(toy_base, tmp_path, serve, client_of):
    base = tmp_path / "toy"
    add_version(toy_base, base, 1)
    server = serve([ModelSource("toy", str(base))])
    client = client_of(server)
    old = server.registry.get("toy", 1)
    signature = old.signature("serving_default")
    started, finish = threading.Event(), threading.Event()
    run = signature.fn

    def held_run(inputs, outputs):
        started.set()
        assert finish.wait(WAIT * 3)
        return run(inputs, outputs)

    signature.fn = held_run
    results: list = []
    caller = threading.Thread(
        target=lambda: results.append(
            client.predictions.Predict(predict_request(b"hold"), WAIT * 4)
        )
    )
    caller.start()
    try:
        assert started.wait(WAIT)
        add_version(toy_base, base, 2)
        wait_until(lambda: client.status() == {2: "AVAILABLE", 1: "UNLOADING"}, what="1 unloading")
        assert client.served_version() == 2  # new requests go to the new version meanwhile
        assert not old.closed and old.users == 1
    finally:
        finish.set()
        caller.join(WAIT * 4)
    (response,) = results
    assert response.model_spec.version.value == 1
    assert tf.make_ndarray(response.outputs["length"]).tolist() == [4]
    wait_until(lambda: client.status() == {2: "AVAILABLE", 1: "END"}, what="1 END")
    assert old.closed and old.users == 0


def test_no_version_at_start_keeps_polling_and_serves_the_first(
    toy_base, tmp_path, serve, client_of, caplog
):
    base = tmp_path / "empty"  # not even created yet
    with caplog.at_level(logging.WARNING):
        server = serve([ModelSource("toy", str(base))])
    assert f"No versions of servable toy found under base path {base}" in caplog.text
    client = client_of(server)
    assert client.served_version_or_none() is None
    with pytest.raises(grpc.RpcError) as info:
        client.status()
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    add_version(toy_base, base, 1)
    wait_until(lambda: client.served_version_or_none() == 1, what="first version served")
    assert client.status() == {1: "AVAILABLE"}


def test_failed_version_is_logged_once_and_the_served_one_stays(
    toy_base, tmp_path, serve, client_of, caplog
):
    base = tmp_path / "toy"
    add_version(toy_base, base, 1)
    server = serve([ModelSource("toy", str(base))])
    client = client_of(server)
    broken = base / "3"
    broken.mkdir()
    (broken / "saved_model.pb").write_bytes(b"not a SavedModel")
    with caplog.at_level(logging.ERROR):
        wait_until(lambda: client.status().get(3) == "END", what="version 3 END")
        polls = server.registry.poll_count
        wait_until(lambda: server.registry.poll_count >= polls + 3, what="three more polls")
    failures = [
        r for r in caplog.records if "Loading servable toy version 3 failed" in r.getMessage()
    ]
    assert len(failures) == 1, "an unchanged failed version is not retried"
    assert "\n" not in failures[0].getMessage()
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "toy"
    request.model_spec.version.value = 3
    (status,) = client.models.GetModelStatus(request, TIMEOUT).model_version_status
    assert status.status.error_code != 0 and status.status.error_message
    assert client.served_version() == 1 and client.status()[1] == "AVAILABLE"

    shutil.rmtree(broken)  # a fixed version 3 under the same number is loaded
    add_version(toy_base, base, 2, version=3)
    wait_until(lambda: client.served_version() == 3, what="fixed version 3 served")


def test_poll_wait_zero_looks_once(toy_base, tmp_path, serve):
    base = tmp_path / "toy"
    add_version(toy_base, base, 1)
    server = serve([ModelSource("toy", str(base))], file_system_poll_wait_seconds=0)
    assert not server.registry.polling and server.registry.poll_count == 1
    assert server.registry.versions("toy") == [1]


def test_serve_command_takes_tf_serving_flags():
    from keras_bert.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(
        [
            "serve",
            "--model_base_path",
            "m",
            "--file_system_poll_wait_seconds",
            "0.5",
            "--rest_api_timeout_in_ms",
            "1500",
        ]
    )
    assert (args.file_system_poll_wait_seconds, args.rest_api_timeout_in_ms) == (0.5, 1500)
    defaults = parser.parse_args(["serve", "--model_base_path", "m"])
    assert (defaults.file_system_poll_wait_seconds, defaults.rest_api_timeout_in_ms) == (1.0, 30000)


# ----------------------------------------------------------------------------- warm-up


def _registry(base, iterations: int = 1) -> ModelRegistry:
    run = functools.partial(warmup.run_warmup, limits=Limits(), iterations=iterations)
    return ModelRegistry([ModelSource("toy", str(base), policy="all")], warmup=run)


def test_warmup_records_are_replayed_before_the_version_is_available(
    toy_base, tmp_path, monkeypatch, caplog, serve, client_of
):
    base = tmp_path / "toy"
    write_warmup(add_version(toy_base, base, 1), warmup_records())
    calls: dict[str, int] = {}

    def counting(kind, handler):
        def run(servable, request, limits):
            calls[kind] = calls.get(kind, 0) + 1
            return handler(servable, request, limits)

        return run

    for kind, handler in list(warmup._HANDLERS.items()):
        monkeypatch.setitem(warmup._HANDLERS, kind, counting(kind, handler))
    with caplog.at_level(logging.INFO, logger=warmup.log.name):
        registry = _registry(base, iterations=2)
    servable = registry.get("toy", 1)
    assert servable.warmup_records == 6
    assert calls == {
        "predict_log": 4,
        "classify_log": 2,
        "regress_log": 2,
        "multi_inference_log": 2,
    }
    assert "Number of warmup records read: 6" in caplog.text
    registry.close()

    # the same version over gRPC: MultiInference answers as the warm-up ran it
    client = client_of(serve([ModelSource("toy", str(base))]))
    assert client.served_version() == 1
    multi = warmup_records()[4].multi_inference_log.request
    results = client.predictions.MultiInference(multi, TIMEOUT).results
    assert [r.model_spec.signature_name for r in results] == ["classify", "regress"]
    assert results[1].regression_result.regressions[0].value == pytest.approx(6.0)
    assert [c.label for c in results[0].classification_result.classifications[0].classes] == [
        "pos",
        "neg",
    ]


def test_bad_warmup_fails_the_load_with_a_clear_message(toy_base, tmp_path):
    base = tmp_path / "toy"
    add_version(toy_base, base, 1)
    bad = predict_pb2.PredictRequest()  # names an input the signature does not have
    bad.inputs["txt"].CopyFrom(tf.make_tensor_proto(np.array([b"a"])))
    good = warmup_records()[0]
    write_warmup(
        add_version(toy_base, base, 2),
        [
            good,
            prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=bad)
            ),
        ],
    )
    not_tfrecord = os.path.join(add_version(toy_base, base, 2, version=3), "assets.extra")
    os.makedirs(not_tfrecord)
    with open(os.path.join(not_tfrecord, "tf_serving_warmup_requests"), "wb") as f:
        f.write(b"\x00" * 64)
    registry = _registry(base)
    try:
        states = registry.version_states("toy")
        assert {v: s.state for v, s in states.items()} == {3: "END", 2: "END", 1: "AVAILABLE"}
        message = states[2].message
        assert (
            "warmup record 1 (predict_log)" in message and "tf_serving_warmup_requests" in message
        )
        assert "txt" in message and states[2].code == grpc.StatusCode.INVALID_ARGUMENT
        assert "verify your warmup data is in TFRecord format" in states[3].message
        assert registry.get("toy").version == 1
    finally:
        registry.close()
