"""The dev server over real sockets on 127.0.0.1 with the official TF Serving stubs and REST."""

from __future__ import annotations

import base64
import http.client
import json
import threading

import grpc
import numpy as np
import pytest
import tensorflow as tf
from keras_bert.export.server.main import start_server
from keras_bert.export.server.registry import ModelSource
from keras_bert.export.server.validation import Limits
from tensorflow.core.framework import tensor_pb2
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
)

TIMEOUT = 10.0


@pytest.fixture(scope="module")
def server(toy_base):
    running = start_server(
        [ModelSource("toy", str(toy_base), policy="all")],
        grpc_port=0,
        rest_port=0,
        limits=Limits(max_string_bytes=64 * 1024),
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def channel(server):
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as ch:
        yield ch


@pytest.fixture(scope="module")
def stub(channel):
    return prediction_service_pb2_grpc.PredictionServiceStub(channel)


def predict_request(inputs: dict, signature: str = "", version: int | None = None, model="toy"):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature
    if version is not None:
        request.model_spec.version.value = version
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(
            value if isinstance(value, tensor_pb2.TensorProto)
            else tf.make_tensor_proto(value)
        )
    return request


def rest(server, method: str, path: str, body: bytes | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", server.rest_port, timeout=TIMEOUT)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_predict_serves_highest_version(stub):
    response = stub.Predict(predict_request({"text": np.array([b"h\xc3\xa9llo", b"ab"])}), TIMEOUT)
    assert response.model_spec.version.value == 2
    assert response.model_spec.signature_name == "serving_default"
    np.testing.assert_array_equal(tf.make_ndarray(response.outputs["length"]), [5, 2])
    np.testing.assert_allclose(tf.make_ndarray(response.outputs["scores"])[:, 0], [105.0, 102.0])
    assert tf.make_ndarray(response.outputs["upper"]).tolist() == ["HéLLO".encode(), b"AB"]


def test_default_policy_serves_only_highest_version(toy_base):
    from keras_bert.export.server.registry import ModelRegistry

    registry = ModelRegistry([ModelSource("toy", str(toy_base))])
    assert registry.versions("toy") == [2]
    assert registry.get("toy").version == 2


def test_predict_explicit_version_signature_and_filter(stub):
    request = predict_request({"text": np.array([b"abc"])}, version=1)
    request.output_filter.append("scores")
    response = stub.Predict(request, TIMEOUT)
    assert list(response.outputs) == ["scores"]
    np.testing.assert_allclose(tf.make_ndarray(response.outputs["scores"]), [[3.0, -3.0]])
    pair = stub.Predict(
        predict_request({"text": np.array([b"a"]), "text_pair": np.array([b"b"])}, "pair"),
        TIMEOUT,
    )
    assert tf.make_ndarray(pair.outputs["joined"]).tolist() == [b"a|b"]


@pytest.mark.parametrize(
    "kwargs",
    [dict(model="nope"), dict(version=7), dict(signature="nope")],
    ids=["model", "version", "signature"],
)
def test_unknown_servable_is_not_found(stub, kwargs):
    with pytest.raises(grpc.RpcError) as info:
        stub.Predict(predict_request({"text": np.array([b"a"])}, **kwargs), TIMEOUT)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


def test_get_model_metadata(stub):
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = "toy"
    response = stub.GetModelMetadata(request, TIMEOUT)
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    assert response.metadata["signature_def"].Unpack(signature_map)
    defs = signature_map.signature_def
    assert {"serving_default", "pair", "ids", "classify", "regress"} <= set(defs)
    assert defs["classify"].method_name == "tensorflow/serving/classify"
    assert set(defs["pair"].inputs) == {"text", "text_pair"}
    assert response.model_spec.version.value == 2
    with pytest.raises(grpc.RpcError) as info:
        stub.GetModelMetadata(
            get_model_metadata_pb2.GetModelMetadataRequest(model_spec=request.model_spec), TIMEOUT
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_get_model_status(channel):
    stub = model_service_pb2_grpc.ModelServiceStub(channel)
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "toy"
    response = stub.GetModelStatus(request, TIMEOUT)
    assert [s.version for s in response.model_version_status] == [2, 1]
    assert response.model_version_status[0].state == get_model_status_pb2.ModelVersionStatus.AVAILABLE
    request.model_spec.name = "missing"
    with pytest.raises(grpc.RpcError) as info:
        stub.GetModelStatus(request, TIMEOUT)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


def _example(x: float) -> tf.train.Example:
    return tf.train.Example(
        features=tf.train.Features(feature={"x": tf.train.Feature(float_list=tf.train.FloatList(value=[x]))})
    )


def test_classify_and_regress(stub):
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = "toy"
    request.model_spec.signature_name = "classify"
    request.model_spec.version.value = 1
    request.input.example_list.examples.extend([_example(2.0), _example(-1.0)])
    result = stub.Classify(request, TIMEOUT).result
    assert [[c.label for c in r.classes] for r in result.classifications] == [["pos", "neg"]] * 2
    assert result.classifications[0].classes[0].score > 0.95
    assert result.classifications[1].classes[0].score < 0.5
    regress = regression_pb2.RegressionRequest()
    regress.model_spec.CopyFrom(request.model_spec)
    regress.model_spec.signature_name = "regress"
    regress.input.example_list.examples.extend([_example(1.5)])
    assert [r.value for r in stub.Regress(regress, TIMEOUT).result.regressions] == [3.0]
    request.model_spec.signature_name = "serving_default"  # a predict signature
    with pytest.raises(grpc.RpcError) as info:
        stub.Classify(request, TIMEOUT)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_rest_row_and_columnar(server):
    status, body = rest(
        server, "POST", "/v1/models/toy:predict",
        json.dumps({"instances": ["abc", {"b64": base64.b64encode(b"xy").decode()}]}).encode(),
    )
    assert status == 200, body
    assert [row["length"] for row in body["predictions"]] == [3, 2]
    assert body["predictions"][0]["upper"] == "ABC"
    status, body = rest(
        server, "POST", "/v1/models/toy/versions/1:predict",
        json.dumps({"signature_name": "pair", "inputs": {"text": ["a", "b"], "text_pair": ["c", "d"]}}).encode(),
    )
    assert status == 200, body
    assert body == {"outputs": ["a|c", "b|d"]}
    status, body = rest(
        server, "POST", "/v1/models/toy:predict",
        json.dumps({"signature_name": "ids", "instances": [{"token_ids": [1, 2]}, {"token_ids": [3, 4]}]}).encode(),
    )
    assert (status, body) == (200, {"predictions": [3, 7]})


def test_rest_status_and_metadata(server):
    status, body = rest(server, "GET", "/v1/models/toy")
    assert status == 200
    assert body["model_version_status"][0]["version"] == "2"
    assert body["model_version_status"][0]["state"] == "AVAILABLE"
    status, body = rest(server, "GET", "/v1/models/toy/versions/1/metadata")
    assert status == 200
    assert body["model_spec"]["version"] == "1"
    assert "serving_default" in body["metadata"]["signature_def"]["signature_def"]
    assert rest(server, "GET", "/v1/models/nope")[0] == 404
    assert rest(server, "POST", "/v1/models/toy/versions/9:predict", b'{"instances": ["a"]}')[0] == 404


def _malformed_grpc() -> list[predict_pb2.PredictRequest]:
    big = np.array([b"x" * (1 << 20)])
    bad_shape = tf.make_tensor_proto(np.array([b"a", b"b"]))
    bad_shape.tensor_shape.dim[0].size = 1  # more values than the shape holds
    neg_shape = tf.make_tensor_proto(np.array([b"a"]))
    neg_shape.tensor_shape.dim[0].size = -3
    templates = [
        lambda i: predict_request({"txt": np.array([b"a"])}),  # wrong name
        lambda i: predict_request({"text": np.array([b"a"]), "extra": np.array([1])}),
        lambda i: predict_request({}),  # missing input
        lambda i: predict_request({"text": np.array([i], dtype=np.int32)}),  # dtype
        lambda i: predict_request({"text": np.array([float(i)], dtype=np.float32)}),
        lambda i: predict_request({"text": np.array([[b"a"], [b"b"]])}),  # rank
        lambda i: predict_request({"text": np.array(b"a")}),  # scalar
        lambda i: predict_request({"text": np.array([], dtype=object)}),  # empty batch
        lambda i: predict_request({"text": np.array([b"ok", b"\xff\xfe" + bytes([i % 256])])}),
        lambda i: predict_request({"text": np.array([b"\xc3"])}),  # truncated UTF-8
        lambda i: predict_request({"text": bad_shape}),
        lambda i: predict_request({"text": neg_shape}),
        lambda i: predict_request({"text": np.array([b"a"]), "text_pair": np.array([b"b", b"c"])}, "pair"),
        lambda i: predict_request({"token_ids": np.array([[1.5]], dtype=np.float32)}, "ids"),
        lambda i: predict_request({"token_ids": np.array([1, 2], dtype=np.int32)}, "ids"),
        lambda i: predict_request({"token_ids": np.zeros((0, 3), np.int32)}, "ids"),
    ]
    requests = [templates[i % len(templates)](i) for i in range(300)]
    requests += [predict_request({"text": big})] * 10  # 1 MB strings
    return requests


def _malformed_rest() -> list[tuple[str, bytes]]:
    path = "/v1/models/toy:predict"
    bodies = [
        b"{", b"not json", b"\xff\xfe", b"[]", b'"x"', b"{}", b'{"instances": []}',
        b'{"instances": ["a"], "inputs": ["a"]}', b'{"instances": [1, 2]}',
        b'{"instances": [{"txt": "a"}]}', b'{"inputs": {"text": [["a"], ["b"]]}}',
        b'{"inputs": {"text": ["a", ["b"]]}}', b'{"instances": [{"b64": "!!!"}]}',
        b'{"instances": [null]}', b'{"signature_name": 3, "instances": ["a"]}',
        b'{"signature_name": "pair", "instances": ["a"]}',
        b'{"signature_name": "ids", "inputs": {"token_ids": [["x"]]}}',
        b'{"signature_name": "ids", "inputs": {"token_ids": [[99999999999]]}}',
        b'{"signature_name": "ids", "inputs": {"token_ids": [[1.5]]}}',
        b'{"instances": ["a"], "bogus": 1}',
        json.dumps({"instances": [{"b64": base64.b64encode(b"\xff").decode()}]}).encode(),
        json.dumps({"instances": ["x" * (1 << 20)]}).encode(),
    ]
    requests = [(path, bodies[i % len(bodies)]) for i in range(185)]
    requests += [("/v1/models/toy:classify", b'{"instances": ["a"]}')] * 3
    requests += [("/v1/models/toy/bogus", b"{}")] * 2
    return requests


def test_500_malformed_requests_fail_cleanly_and_server_stays_up(server, stub):
    grpc_requests, rest_requests = _malformed_grpc(), _malformed_rest()
    assert len(grpc_requests) + len(rest_requests) == 500
    valid = predict_request({"text": np.array([b"still up"])})
    codes = set()
    for index, request in enumerate(grpc_requests):
        with pytest.raises(grpc.RpcError) as info:
            stub.Predict(request, TIMEOUT)
        code = info.value.code()
        assert code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND), (index, code)
        assert info.value.details()
        codes.add(code)
        if index % 50 == 0:
            assert tf.make_ndarray(stub.Predict(valid, TIMEOUT).outputs["length"]).tolist() == [8]
    statuses = set()
    for path, body in rest_requests:
        status, payload = rest(server, "POST", path, body)
        assert status in (400, 404, 501), (path, body[:80], status, payload)
        assert payload["error"]
        statuses.add(status)
    assert grpc.StatusCode.INVALID_ARGUMENT in codes and 400 in statuses
    assert tf.make_ndarray(stub.Predict(valid, TIMEOUT).outputs["length"]).tolist() == [8]
    assert rest(server, "POST", "/v1/models/toy:predict", b'{"instances": ["ok"]}')[0] == 200


def test_error_messages_name_the_problem(stub):
    cases = {
        "txt": predict_request({"txt": np.array([b"a"])}),
        "string but int32": predict_request({"text": np.array([1], dtype=np.int32)}),
        "empty batch": predict_request({"text": np.array([], dtype=object)}),
        "UTF-8": predict_request({"text": np.array([b"\xff"])}),
        "above the limit": predict_request({"text": np.array([b"x" * 70000])}),
    }
    for needle, request in cases.items():
        with pytest.raises(grpc.RpcError) as info:
            stub.Predict(request, TIMEOUT)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert needle in info.value.details(), (needle, info.value.details())


def test_8_concurrent_clients_100_requests_each(server):
    errors: list[str] = []
    done = [0] * 8

    def client(index: int) -> None:
        with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as ch:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(ch)
            for i in range(100):
                text = f"client {index} request {i}".encode()
                try:
                    response = stub.Predict(predict_request({"text": np.array([text])}), TIMEOUT)
                    if tf.make_ndarray(response.outputs["length"]).tolist() != [len(text)]:
                        errors.append(f"wrong answer {index}/{i}")
                    done[index] += 1
                except grpc.RpcError as error:
                    errors.append(f"{index}/{i}: {error.code()}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert done == [100] * 8
