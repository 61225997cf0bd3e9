"""TF Serving warm-up records written with every export.

TF Serving replays `VERSION/assets.extra/tf_serving_warmup_requests` (a TFRecord file of
`PredictionLog` records) when it loads a version, before the version becomes AVAILABLE, so the
first real request does not pay for graph warm-up (thread pools, lazy kernels, table init).
`keras-bert serve` replays the same file (`export/server/warmup.py`). One record per signature:
Predict for the raw-text and token-id signatures, Classify / Regress for tf.Example signatures.
"""

from __future__ import annotations

import os
from pathlib import Path

import tensorflow as tf
from keras_bert.export.method_names import CLASSIFY, REGRESS
from tensorflow_serving.apis import (
    classification_pb2,
    model_pb2,
    predict_pb2,
    prediction_log_pb2,
    regression_pb2,
)

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
WARMUP_TEXT = "Warm-up request: what does the [MASK] answer? It reads this sentence once."


def _predict_inputs(function, tokenizer) -> dict[str, tf.Tensor]:
    """One small batch for each input of a predict signature, from its input specs."""
    ids = [tokenizer.cls_token_id, tokenizer.token_to_id("the"), tokenizer.sep_token_id]
    values = {"token_ids": [ids], "segment_ids": [[0, 0, 0]], "padding_mask": [[1, 1, 1]]}
    inputs = {}
    for spec in tf.nest.flatten(function.structured_input_signature):
        name = spec.name
        if spec.dtype == tf.string:
            inputs[name] = tf.constant([WARMUP_TEXT])
        elif name in values:
            inputs[name] = tf.constant(values[name], spec.dtype)
        else:
            raise ValueError(f"no warm-up value for signature input {name!r} ({spec.dtype.name})")
    return inputs


def _example(names: tuple[str, ...]) -> tf.train.Example:
    feature = tf.train.Feature(bytes_list=tf.train.BytesList(value=[WARMUP_TEXT.encode()]))
    return tf.train.Example(features=tf.train.Features(feature={n: feature for n in names}))


def warmup_logs(servable, signatures: dict, methods: dict[str, str]) -> list[prediction_log_pb2.PredictionLog]:
    """One `PredictionLog` per signature of `servable` (as passed to `tf.saved_model.save`)."""
    logs = []
    for key, function in sorted(signatures.items()):
        method = methods.get(key, "")
        spec = model_pb2.ModelSpec(signature_name=key)
        if method == CLASSIFY:
            request = classification_pb2.ClassificationRequest(model_spec=spec)
            request.input.example_list.examples.append(_example(servable.text_inputs))
            log = prediction_log_pb2.PredictionLog(
                classify_log=prediction_log_pb2.ClassifyLog(request=request))
        elif method == REGRESS:
            request = regression_pb2.RegressionRequest(model_spec=spec)
            request.input.example_list.examples.append(_example(servable.text_inputs))
            log = prediction_log_pb2.PredictionLog(
                regress_log=prediction_log_pb2.RegressLog(request=request))
        else:
            request = predict_pb2.PredictRequest(model_spec=spec)
            for name, value in _predict_inputs(function, servable.tokenizer).items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
        logs.append(log)
    return logs


def write_warmup_file(export_dir: str | os.PathLike, logs: list[prediction_log_pb2.PredictionLog]) -> Path:
    path = Path(export_dir) / WARMUP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for log in logs:
            writer.write(log.SerializeToString())
    return path
