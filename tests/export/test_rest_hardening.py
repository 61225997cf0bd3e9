"""REST front end under hostile framing and load, and token-id checks on both front ends
(127.0.0.1 only, real sockets)."""

from __future__ import annotations

import http.client
import json
import socket
import threading

import grpc
import numpy as np
import pytest
import tensorflow as tf
from keras_bert.export.server.main import start_server
from keras_bert.export.server.registry import ModelSource
from keras_bert.export.server.rest_api import MAX_JSON_DEPTH, json_too_deep
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

TIMEOUT = 10.0
READ_TIMEOUT_MS = 1000  # the server's --rest_api_timeout_in_ms here (30000 by default)
PREDICT = "/v1/models/toy:predict"


class Guarded(tf.Module):
    """`ids` (not named token_ids, so the dev server's own check does not see it) checked in the
    graph, as the exports check token ids: a negative id fails inside `Session.run`."""

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32, name="ids")])
    def serve(self, ids):
        tf.debugging.assert_non_negative(ids, message="ids must be vocabulary indices")
        return {"total": tf.reduce_sum(ids, axis=1)}


@pytest.fixture(scope="module")
def server(toy_base, tmp_path_factory):
    guarded = tmp_path_factory.mktemp("guarded") / "guarded"
    module = Guarded()
    tf.saved_model.save(module, str(guarded / "1"), signatures={"serving_default": module.serve})
    running = start_server(
        [ModelSource("toy", str(toy_base), policy="all"), ModelSource("guarded", str(guarded))],
        grpc_port=0,
        rest_port=0,
        file_system_poll_wait_seconds=0,
        rest_api_timeout_in_ms=READ_TIMEOUT_MS,
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def stub(server):
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        yield prediction_service_pb2_grpc.PredictionServiceStub(channel)


def raw_exchange(server, data: bytes, half_close: bool = False) -> tuple[int, dict]:
    """Sends raw bytes on a new connection and reads one HTTP response (status, JSON body)."""
    with socket.create_connection(("127.0.0.1", server.rest_port), timeout=TIMEOUT) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, json.loads(response.read())


def post(server, body: bytes, path: str = PREDICT) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", server.rest_port, timeout=TIMEOUT)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def head(length: str, extra: str = "") -> bytes:
    return (
        f"POST {PREDICT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {length}\r\n{extra}\r\n"
    ).encode()


def test_64_clients_connecting_at_once_all_get_answers(server):
    clients = 64
    barrier = threading.Barrier(clients)
    statuses: list[int] = []
    errors: list[str] = []

    def client(index: int) -> None:
        try:
            barrier.wait(TIMEOUT)
            text = f"client {index}"
            status, body = post(server, json.dumps({"instances": [text]}).encode())
            statuses.append(status)
            row = body["predictions"][0]
            if (row["length"], row["upper"]) != (len(text), text.upper()):
                errors.append(f"{index}: {body}")
        except Exception as error:  # noqa: BLE001  (a reset or timeout is what this test counts)
            errors.append(f"{index}: {type(error).__name__}: {error}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert statuses == [200] * clients
    assert server.rest_server.request_queue_size >= 1024 and server.rest_server.daemon_threads


@pytest.mark.parametrize(
    "data, needle",
    [
        (head("abc") + b"{}", "Content-Length must be a non-negative integer"),
        (head("-5") + b"{}", "Content-Length must be a non-negative integer"),
        (head("2", "Content-Length: 3\r\n") + b"{}", "conflicting Content-Length"),
        (head(str(1 << 40)), "above the limit"),
        (head("2", "Transfer-Encoding: gzip\r\n") + b"{}", "Transfer-Encoding"),
        (f"POST {PREDICT} HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".encode(), "chunk"),
        (b"GARBAGE\r\n\r\n", "Bad request syntax"),
    ],
    ids=[
        "not-a-number",
        "negative",
        "conflicting",
        "over-limit",
        "gzip",
        "bad-chunk",
        "request-line",
    ],
)
def test_broken_framing_is_400_with_a_json_error(server, data, needle):
    status, body = raw_exchange(server, data)
    assert status == 400, body
    assert needle in body["error"], body


def test_body_shorter_than_content_length_is_400(server):
    status, body = raw_exchange(server, head("100") + b'{"instances"', half_close=True)
    assert status == 400 and "ended after 12 of its 100 bytes" in body["error"], body
    # the client keeps the connection open and sends nothing more: 400 after the read timeout
    status, body = raw_exchange(server, head("100") + b'{"instances"')
    assert status == 400 and "not received within 1 s" in body["error"], body


def test_idle_connection_is_closed_after_the_read_timeout(server):
    with socket.create_connection(("127.0.0.1", server.rest_port), timeout=TIMEOUT) as sock:
        assert sock.recv(1) == b""  # closed by the server (a hang would raise TimeoutError)


def test_chunked_body_is_read(server):
    body = b'{"instances": ["chunked"]}'
    data = (
        (
            f"POST {PREDICT} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{5:x}\r\n"
        ).encode()
        + body[:5]
        + f"\r\n{len(body) - 5:x}\r\n".encode()
        + body[5:]
        + b"\r\n0\r\n\r\n"
    )
    status, answer = raw_exchange(server, data)
    assert status == 200 and answer["predictions"][0]["length"] == 7, answer


def _nested(depth: int) -> bytes:
    return b'{"instances": ' + b"[" * (depth - 1) + b'"a"' + b"]" * (depth - 1) + b"}"


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 900, 100_000])
def test_json_nested_too_deep_is_400(server, depth):
    status, body = post(server, _nested(depth))
    assert status == 400 and f"nested deeper than {MAX_JSON_DEPTH}" in body["error"], body
    status, body = post(server, b"[" * depth)  # unbalanced too
    assert status == 400 and "nested deeper" in body["error"], body


def test_json_depth_counts_only_brackets_outside_strings(server):
    assert not json_too_deep(_nested(MAX_JSON_DEPTH))
    assert json_too_deep(_nested(MAX_JSON_DEPTH + 1))
    assert not json_too_deep(b'["' + b"[" * 5000 + b'\\"]"]')  # escaped quote stays in the string
    # within the limit, the request fails for what it is (rank), not for its depth
    status, body = post(server, _nested(MAX_JSON_DEPTH))
    assert status == 400 and "nested" not in body["error"] and "rank" in body["error"], body
    status, body = post(server, json.dumps({"instances": ["[" * 900]}).encode())
    assert status == 200 and body["predictions"][0]["length"] == 900, body


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"\xff\xfe",
        b'{"signature_name": "ids", "inputs": {"token_ids": [[' + b"9" * 5000 + b"]]}}",
    ],
    ids=["truncated", "not-utf8", "5000-digit-int"],
)
def test_invalid_json_is_400(server, body):
    status, answer = post(server, body)
    assert status == 400 and answer["error"].startswith("JSON Parse error"), answer


def test_negative_token_ids_are_refused_over_rest_and_grpc(server, stub):
    status, body = post(
        server,
        json.dumps(
            {"signature_name": "ids", "instances": [{"token_ids": [1, 2]}, {"token_ids": [3, -4]}]}
        ).encode(),
    )
    assert status == 400 and "input 'token_ids'" in body["error"] and "-4" in body["error"], body
    request = predict_pb2.PredictRequest()
    request.model_spec.name, request.model_spec.signature_name = "toy", "ids"
    request.inputs["token_ids"].CopyFrom(tf.make_tensor_proto(np.array([[5, -1]], np.int32)))
    with pytest.raises(grpc.RpcError) as info:
        stub.Predict(request, TIMEOUT)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "token_ids" in info.value.details() and "negative" in info.value.details()


def test_in_graph_invalid_argument_is_400_and_invalid_argument_with_the_op_message(server, stub):
    status, body = post(server, b'{"inputs": {"ids": [[1, -2]]}}', "/v1/models/guarded:predict")
    assert status == 400, body
    assert body["error"].startswith("assertion failed: [ids must be vocabulary indices")
    assert "\n" not in body["error"]
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "guarded"
    request.inputs["ids"].CopyFrom(tf.make_tensor_proto(np.array([[-7]], np.int32)))
    with pytest.raises(grpc.RpcError) as info:
        stub.Predict(request, TIMEOUT)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details().startswith("assertion failed: [ids must be vocabulary indices")
    assert post(server, b'{"inputs": {"ids": [[1, 2]]}}', "/v1/models/guarded:predict") == (
        200,
        {"outputs": [3]},
    )
