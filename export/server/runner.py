"""Runs validated requests on a servable: predict, classify and regress, transport-free."""

from __future__ import annotations

import numpy as np
from tensorflow.core.framework import types_pb2

from .errors import ServingError, from_tf_error_code, invalid, op_message
from .loader import CLASSIFY_METHOD, REGRESS_METHOD, Signature
from .validation import Limits, check_inputs


def run_signature(
    signature: Signature,
    inputs: dict[str, np.ndarray],
    dtypes: dict[str, int],
    limits: Limits,
    output_filter: list[str] | None = None,
) -> dict[str, np.ndarray]:
    """Validates `inputs`, calls the signature and returns the (filtered) outputs as numpy."""
    import tensorflow as tf

    check_inputs(signature, inputs, dtypes, limits)
    wanted = list(output_filter or signature.outputs)
    unknown = [name for name in wanted if name not in signature.outputs]
    if unknown:
        raise invalid(
            f"output tensor alias not found in signature: {unknown[0]} Outputs expected to be "
            f"in the set {{{','.join(sorted(signature.outputs))}}}."
        )
    feeds = {
        name: np.asarray(value, dtype=object if signature.inputs[name].dtype == types_pb2.DT_STRING
                         else tf.dtypes.as_dtype(signature.inputs[name].dtype).as_numpy_dtype)
        for name, value in inputs.items()
    }
    try:
        return signature.fn(feeds, wanted)
    except tf.errors.OpError as error:  # e.g. an in-graph check: INVALID_ARGUMENT / HTTP 400
        raise ServingError(from_tf_error_code(error.error_code), op_message(error.message)) from None
    except (TypeError, ValueError) as error:
        raise invalid(str(error)) from None


def _single_input(signature: Signature, method: str) -> str:
    if signature.method_name != method:
        raise invalid(
            f"Expected {'classification' if method == CLASSIFY_METHOD else 'regression'} "
            f"signature method_name to be {method}. Was: {signature.method_name}"
        )
    if len(signature.inputs) != 1:
        raise invalid(f"Expected one input Tensor, got {len(signature.inputs)}")
    return next(iter(signature.inputs))


def run_classify(
    signature: Signature, examples: list[bytes], limits: Limits
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(classes [batch, k] bytes or None, scores [batch, k] float or None) for serialized Examples."""
    name = _single_input(signature, CLASSIFY_METHOD)
    if not examples:
        raise invalid("Input is empty.")
    wanted = [k for k in ("classes", "scores") if k in signature.outputs]
    if not wanted:
        raise invalid("Expected classification signature outputs 'classes' and/or 'scores'")
    out = run_signature(
        signature, {name: np.array(examples, dtype=object)}, {name: types_pb2.DT_STRING},
        limits, wanted,
    )
    return out.get("classes"), out.get("scores")


def run_regress(signature: Signature, examples: list[bytes], limits: Limits) -> np.ndarray:
    """Regression values [batch] for serialized Examples."""
    name = _single_input(signature, REGRESS_METHOD)
    if not examples:
        raise invalid("Input is empty.")
    if "outputs" not in signature.outputs:
        raise invalid("Expected regression signature output 'outputs'")
    out = run_signature(
        signature, {name: np.array(examples, dtype=object)}, {name: types_pb2.DT_STRING},
        limits, ["outputs"],
    )["outputs"]
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if out.ndim != 1:
        raise invalid(f"Expected output Tensor shape to be [batch] or [batch, 1], got {out.shape}")
    return out
