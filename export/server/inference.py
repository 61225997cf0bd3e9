"""TF Serving's Predict / Classify / Regress / MultiInference on one loaded version, on the official
request and response protos. The gRPC front end and the warm-up replay both call these."""

from __future__ import annotations

from tensorflow_serving.apis import (
    classification_pb2,
    inference_pb2,
    model_pb2,
    predict_pb2,
    regression_pb2,
)

from .errors import invalid
from .loader import CLASSIFY_METHOD, DEFAULT_SIGNATURE, REGRESS_METHOD, Servable
from .runner import run_classify, run_regress, run_signature
from .tensors import array_to_proto, proto_to_array
from .validation import Limits


def response_spec(servable: Servable, signature_name: str) -> model_pb2.ModelSpec:
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


def predict(
    servable: Servable, request: predict_pb2.PredictRequest, limits: Limits
) -> predict_pb2.PredictResponse:
    signature_name = request.model_spec.signature_name or DEFAULT_SIGNATURE
    signature = servable.signature(signature_name)
    arrays = {name: proto_to_array(name, proto) for name, proto in request.inputs.items()}
    dtypes = {name: proto.dtype for name, proto in request.inputs.items()}
    outputs = run_signature(signature, arrays, dtypes, limits, list(request.output_filter) or None)
    response = predict_pb2.PredictResponse(model_spec=response_spec(servable, signature_name))
    for name, array in outputs.items():
        response.outputs[name].CopyFrom(array_to_proto(array))
    return response


def _classification_result(classes, scores) -> classification_pb2.ClassificationResult:
    result = classification_pb2.ClassificationResult()
    table = classes if classes is not None else scores
    for row in range(table.shape[0]):
        item = result.classifications.add()
        for k in range(table.shape[1]):
            cls = item.classes.add()
            if classes is not None:
                cls.label = classes[row, k].decode("utf-8", "replace")
            if scores is not None:
                cls.score = float(scores[row, k])
    return result


def _regression_result(values) -> regression_pb2.RegressionResult:
    result = regression_pb2.RegressionResult()
    for value in values:
        result.regressions.add(value=float(value))
    return result


def classify(
    servable: Servable, request: classification_pb2.ClassificationRequest, limits: Limits
) -> classification_pb2.ClassificationResponse:
    signature_name = request.model_spec.signature_name or DEFAULT_SIGNATURE
    signature = servable.signature(signature_name)
    classes, scores = run_classify(signature, examples_from_input(request.input), limits)
    return classification_pb2.ClassificationResponse(
        model_spec=response_spec(servable, signature_name),
        result=_classification_result(classes, scores),
    )


def regress(
    servable: Servable, request: regression_pb2.RegressionRequest, limits: Limits
) -> regression_pb2.RegressionResponse:
    signature_name = request.model_spec.signature_name or DEFAULT_SIGNATURE
    values = run_regress(
        servable.signature(signature_name), examples_from_input(request.input), limits
    )
    return regression_pb2.RegressionResponse(
        model_spec=response_spec(servable, signature_name), result=_regression_result(values)
    )


def multi_inference(
    servable: Servable, request: inference_pb2.MultiInferenceRequest, limits: Limits
) -> inference_pb2.MultiInferenceResponse:
    """Several classify / regress signatures of one model on the same examples (TF Serving's
    checks: one model, no signature twice, every signature reading the same input tensor)."""
    if not request.tasks:
        raise invalid("Tasks is empty")
    examples = examples_from_input(request.input)
    response = inference_pb2.MultiInferenceResponse()
    seen: set[str] = set()
    input_tensors: set[str] = set()
    for task in request.tasks:
        if task.model_spec.name != request.tasks[0].model_spec.name:
            raise invalid(
                "All ModelSpecs in a MultiInferenceRequest must access the same model name"
            )
        signature_name = task.model_spec.signature_name or DEFAULT_SIGNATURE
        if signature_name in seen:
            raise invalid(f"Duplicate evaluation of signature: {signature_name}")
        seen.add(signature_name)
        signature = servable.signature(signature_name)
        if task.method_name != signature.method_name:
            raise invalid(
                f"Task method_name {task.method_name} does not match signature "
                f"{signature_name}'s method_name {signature.method_name}"
            )
        input_tensors.update(signature.inputs)
        if len(input_tensors) > 1:
            raise invalid("Input tensor must be the same for all Signatures.")
        result = response.results.add(model_spec=response_spec(servable, signature_name))
        if signature.method_name == CLASSIFY_METHOD:
            result.classification_result.CopyFrom(
                _classification_result(*run_classify(signature, examples, limits))
            )
        elif signature.method_name == REGRESS_METHOD:
            result.regression_result.CopyFrom(
                _regression_result(run_regress(signature, examples, limits))
            )
        else:
            raise invalid(f"Unsupported signature method_name: {signature.method_name}")
    return response
