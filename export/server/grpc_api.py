"""gRPC front end: TF Serving's `PredictionService` and `ModelService` on the official protos."""

from __future__ import annotations

import functools
import logging

import grpc
from google.protobuf import any_pb2
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    inference_pb2,
    model_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
)

from .errors import ServingError, invalid
from .registry import DEFAULT_SIGNATURE, ModelRegistry, Servable
from .runner import run_classify, run_regress, run_signature
from .tensors import array_to_proto, proto_to_array
from .validation import Limits

log = logging.getLogger(__name__)


def _rpc(method):
    """Turns ServingError (and anything unexpected) into a gRPC status; the server stays up."""

    @functools.wraps(method)
    def wrapper(self, request, context):
        try:
            return method(self, request, context)
        except ServingError as error:
            context.abort(error.code, error.message)
        except Exception as error:  # noqa: BLE001
            log.exception("internal error in %s", method.__name__)
            context.abort(grpc.StatusCode.INTERNAL, f"{type(error).__name__}: {error}")

    return wrapper


def _resolve(registry: ModelRegistry, spec: model_pb2.ModelSpec) -> Servable:
    version = spec.version.value if spec.HasField("version") else None
    return registry.get(spec.name, version, spec.version_label)


def _response_spec(servable: Servable, signature_name: str) -> model_pb2.ModelSpec:
    spec = model_pb2.ModelSpec(name=servable.name, signature_name=signature_name)
    spec.version.value = servable.version
    return spec


def examples_from_input(request_input) -> list[bytes]:
    """Serialized tf.Examples of a `tensorflow.serving.Input`; context features merged in."""
    kind = request_input.WhichOneof("kind")
    if kind == "example_list":
        return [e.SerializeToString() for e in request_input.example_list.examples]
    if kind == "example_list_with_context":
        with_context = request_input.example_list_with_context
        merged = []
        for example in with_context.examples:
            combined = type(example)()
            combined.CopyFrom(with_context.context)
            combined.MergeFrom(example)
            merged.append(combined.SerializeToString())
        return merged
    raise invalid("Input is empty.")


class PredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, registry: ModelRegistry, limits: Limits):
        self.registry = registry
        self.limits = limits

    @_rpc
    def Predict(self, request: predict_pb2.PredictRequest, context) -> predict_pb2.PredictResponse:
        servable = _resolve(self.registry, request.model_spec)
        signature_name = request.model_spec.signature_name or DEFAULT_SIGNATURE
        signature = servable.signature(signature_name)
        arrays = {name: proto_to_array(name, proto) for name, proto in request.inputs.items()}
        dtypes = {name: proto.dtype for name, proto in request.inputs.items()}
        outputs = run_signature(
            signature, arrays, dtypes, self.limits, list(request.output_filter) or None
        )
        response = predict_pb2.PredictResponse(
            model_spec=_response_spec(servable, signature_name)
        )
        for name, array in outputs.items():
            response.outputs[name].CopyFrom(array_to_proto(array))
        return response

    @_rpc
    def Classify(self, request, context) -> classification_pb2.ClassificationResponse:
        servable = _resolve(self.registry, request.model_spec)
        signature_name = request.model_spec.signature_name or DEFAULT_SIGNATURE
        signature = servable.signature(signature_name)
        classes, scores = run_classify(signature, examples_from_input(request.input), self.limits)
        response = classification_pb2.ClassificationResponse(
            model_spec=_response_spec(servable, signature_name)
        )
        rows = (classes if classes is not None else scores).shape[0]
        for row in range(rows):
            item = response.result.classifications.add()
            width = (classes if classes is not None else scores).shape[1]
            for k in range(width):
                cls = item.classes.add()
                if classes is not None:
                    cls.label = classes[row, k].decode("utf-8", "replace")
                if scores is not None:
                    cls.score = float(scores[row, k])
        return response

    @_rpc
    def Regress(self, request, context) -> regression_pb2.RegressionResponse:
        servable = _resolve(self.registry, request.model_spec)
        signature_name = request.model_spec.signature_name or DEFAULT_SIGNATURE
        values = run_regress(
            servable.signature(signature_name), examples_from_input(request.input), self.limits
        )
        response = regression_pb2.RegressionResponse(
            model_spec=_response_spec(servable, signature_name)
        )
        for value in values:
            response.result.regressions.add(value=float(value))
        return response

    @_rpc
    def MultiInference(self, request, context) -> inference_pb2.MultiInferenceResponse:
        raise ServingError(grpc.StatusCode.UNIMPLEMENTED, "MultiInference is not supported")

    @_rpc
    def GetModelMetadata(self, request, context) -> get_model_metadata_pb2.GetModelMetadataResponse:
        return model_metadata(self.registry, request)


def model_metadata(
    registry: ModelRegistry, request: get_model_metadata_pb2.GetModelMetadataRequest
) -> get_model_metadata_pb2.GetModelMetadataResponse:
    if not request.metadata_field:
        raise invalid("GetModelMetadataRequest must specify at least one metadata_field")
    for field in request.metadata_field:
        if field != "signature_def":
            raise invalid(f"Metadata field {field} is not supported")
    servable = _resolve(registry, request.model_spec)
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    for key, sig_def in servable.signature_defs.items():
        signature_map.signature_def[key].CopyFrom(sig_def)
    packed = any_pb2.Any()
    packed.Pack(signature_map)
    response = get_model_metadata_pb2.GetModelMetadataResponse(
        model_spec=_response_spec(servable, "")
    )
    response.metadata["signature_def"].CopyFrom(packed)
    return response


def model_status(
    registry: ModelRegistry, request: get_model_status_pb2.GetModelStatusRequest
) -> get_model_status_pb2.GetModelStatusResponse:
    spec = request.model_spec
    if spec.HasField("version") or spec.version_label:
        versions = [_resolve(registry, spec).version]
    else:
        versions = registry.versions(spec.name)
        if not versions:
            raise ServingError(
                grpc.StatusCode.NOT_FOUND, f"Could not find any versions of model {spec.name}"
            )
    response = get_model_status_pb2.GetModelStatusResponse()
    for version in sorted(versions, reverse=True):
        status = response.model_version_status.add(
            version=version, state=get_model_status_pb2.ModelVersionStatus.AVAILABLE
        )
        status.status.error_code = 0
        status.status.error_message = ""
    return response


class ModelServicer(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, registry: ModelRegistry):
        self.registry = registry

    @_rpc
    def GetModelStatus(self, request, context) -> get_model_status_pb2.GetModelStatusResponse:
        return model_status(self.registry, request)

    @_rpc
    def HandleReloadConfigRequest(self, request, context):
        raise ServingError(grpc.StatusCode.UNIMPLEMENTED, "config reload is not supported")


def add_services(server: grpc.Server, registry: ModelRegistry, limits: Limits) -> None:
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionServicer(registry, limits), server
    )
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelServicer(registry), server)


