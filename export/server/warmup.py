"""TF Serving's SavedModel warm-up: replays `VERSION/assets.extra/tf_serving_warmup_requests`.

The file is a TFRecord file of `tensorflow.serving.PredictionLog` records. As TF Serving
(`servables/tensorflow/saved_model_warmup{,_util}.cc`) does, each record's request runs against the
version being loaded, before it becomes AVAILABLE, `iterations` times (TF Serving's
`num_request_iterations`, default 1); the request's model name and version are ignored (the
request runs on the version being loaded), its signature name is used. A failing request, an
unparsable record, a file that is not TFRecord, a `session_run_log` record (TF Serving:
Unimplemented) or more than 1000 records (`kMaxNumRecords`) fails the load; a record with no log set is skipped.
"""

from __future__ import annotations

import logging
import os

import grpc
from google.protobuf.message import DecodeError
from tensorflow_serving.apis import prediction_log_pb2

from . import inference
from .errors import ServingError, from_tf_error_code, invalid
from .loader import Servable
from .validation import Limits

log = logging.getLogger(__name__)

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
MAX_RECORDS = 1000

_HANDLERS = {
    "predict_log": inference.predict,
    "classify_log": inference.classify,
    "regress_log": inference.regress,
    "multi_inference_log": inference.multi_inference,
}


def _records(path: str):
    import tensorflow as tf

    try:
        for record in tf.data.TFRecordDataset(path):
            yield record.numpy()
    except tf.errors.OpError as error:
        message = error.message
        if isinstance(error, tf.errors.DataLossError):
            message += ". Please verify your warmup data is in TFRecord format."
        raise ServingError(from_tf_error_code(error.error_code), message) from None


def run_warmup(servable: Servable, limits: Limits, iterations: int = 1) -> int:
    """Replays the version's warm-up records; returns how many were read (0 without a file).
    Raises `ServingError` naming the file and the record when one fails."""
    path = os.path.join(servable.path, WARMUP_FILE)
    if not os.path.exists(path):
        return 0
    count = 0
    for index, record in enumerate(_records(path)):
        prediction_log = prediction_log_pb2.PredictionLog()
        try:
            prediction_log.ParseFromString(record)
        except DecodeError:
            raise invalid(f"Failed to parse warmup record {index} from {path}") from None
        kind = prediction_log.WhichOneof("log_type")
        if kind == "session_run_log":
            raise ServingError(
                grpc.StatusCode.UNIMPLEMENTED, f"Unsupported log_type for warmup: {kind} ({path})"
            )
        if kind is not None:
            request = getattr(prediction_log, kind).request
            for _ in range(max(1, iterations)):
                try:
                    _HANDLERS[kind](servable, request, limits)
                except ServingError as error:
                    raise ServingError(
                        error.code,
                        f"warmup record {index} ({kind}) of {path} failed: {error.message}",
                    ) from None
        count += 1
        if count > MAX_RECORDS:
            raise invalid(f"Number of warmup records exceeds the maximum ({MAX_RECORDS}) at {path}")
    servable.warmup_records = count
    log.info(
        "Finished reading warmup data for model at %s. Number of warmup records read: %d.",
        path,
        count,
    )
    return count
