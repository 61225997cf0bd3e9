"""gRPC front end: TF Serving's `PredictionService` and `ModelService` on the official protos."""

from __future__ import annotations

import contextlib
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

from . import inference
from .errors import ServingError, invalid, not_found
from .registry import ModelRegistry, Servable
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


def _use(
    registry: ModelRegistry, spec: model_pb2.ModelSpec
) -> contextlib.AbstractContextManager[Servable]:
    """The servable a ModelSpec names, kept loaded while the request runs."""
    version = spec.version.value if spec.HasField("version") else None
    return registry.use(spec.name, version, spec.version_label)


class PredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, registry: ModelRegistry, limits: Limits):
        self.registry = registry
        self.limits = limits

    @_rpc
    def Predict(self, request: predict_pb2.PredictRequest, context) -> predict_pb2.PredictResponse:
        with _use(self.registry, request.model_spec) as servable:
            return inference.predict(servable, request, self.limits)

    @_rpc
    def Classify(self, request, context) -> classification_pb2.ClassificationResponse:
        with _use(self.registry, request.model_spec) as servable:
            return inference.classify(servable, request, self.limits)

    @_rpc
    def Regress(self, request, context) -> regression_pb2.RegressionResponse:
        with _use(self.registry, request.model_spec) as servable:
            return inference.regress(servable, request, self.limits)

    @_rpc
    def MultiInference(self, request, context) -> inference_pb2.MultiInferenceResponse:
        if not request.tasks:
            raise invalid("Tasks is empty")
        with _use(self.registry, request.tasks[0].model_spec) as servable:
            return inference.multi_inference(servable, request, self.limits)

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
    with _use(registry, request.model_spec) as servable:
        signature_defs = dict(servable.signature_defs)
        spec = inference.response_spec(servable, "")
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    for key, sig_def in signature_defs.items():
        signature_map.signature_def[key].CopyFrom(sig_def)
    packed = any_pb2.Any()
    packed.Pack(signature_map)
    response = get_model_metadata_pb2.GetModelMetadataResponse(model_spec=spec)
    response.metadata["signature_def"].CopyFrom(packed)
    return response


def model_status(
    registry: ModelRegistry, request: get_model_status_pb2.GetModelStatusRequest
) -> get_model_status_pb2.GetModelStatusResponse:
    """TF Serving's GetModelStatus: every version its state monitor has seen (END ones included),
    highest first; one version when the spec names a version or a label."""
    spec = request.model_spec
    states = registry.version_states(spec.name)
    if spec.HasField("version") or spec.version_label:
        version = (
            spec.version.value if spec.HasField("version")
            else registry.label_version(spec.name, spec.version_label)
        )
        if version not in states:
            raise not_found(f"Could not find version {version} of model {spec.name}")
        states = {version: states[version]}
    elif not states:
        raise not_found(f"Could not find any versions of model {spec.name}")
    response = get_model_status_pb2.GetModelStatusResponse()
    for version in sorted(states, reverse=True):
        state = states[version]
        status = response.model_version_status.add(
            version=version,
            state=get_model_status_pb2.ModelVersionStatus.State.Value(state.state),
        )
        status.status.error_code = state.code.value[0]
        status.status.error_message = state.message
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


