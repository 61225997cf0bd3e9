"""gRPC client on the official TF Serving stubs: one request builder, one printer per task."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import numpy as np

# Input names each task's `serving_default` takes (see the servables in `keras_bert/tasks/*/servable.py`).
TASK_INPUTS: dict[str, tuple[str, ...]] = {
    "classification": ("text", "text_pair"),
    "question-answering": ("question", "context"),
    "token-classification": ("text",),
    "fill-mask": ("text",),
    "embedding": ("text",),
}


def predict(
    target: str,
    model_name: str,
    inputs: dict[str, list[str]],
    signature_name: str = "serving_default",
    version: int | None = None,
    timeout: float = 30.0,
) -> dict[str, np.ndarray]:
    """Sends one Predict request of string inputs; returns the outputs as numpy arrays."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    if version is not None:
        request.model_spec.version.value = version
    for name, values in inputs.items():
        request.inputs[name].CopyFrom(
            tf.make_tensor_proto([v.encode("utf-8") for v in values], dtype=tf.string)
        )
    options = [("grpc.max_receive_message_length", 64 << 20), ("grpc.max_send_message_length", 64 << 20)]
    with grpc.insecure_channel(target, options=options) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        response = stub.Predict(request, timeout)
    return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def format_classification(out: dict[str, np.ndarray]) -> list[str]:
    if "label" not in out:  # a regression head's export: one value per text
        return [f"score={float(score):.4f}" for score in out["score"]]
    return [
        f"{_text(label)}\t(id {int(i)}, p={float(np.max(p)):.4f})"
        for label, i, p in zip(out["label"], out["label_id"], out["probabilities"], strict=True)
    ]


def format_question_answering(out: dict[str, np.ndarray]) -> list[str]:
    lines = []
    for answer, score, start, end, has in zip(
        out["answer"], out["score"], out["start_char"], out["end_char"], out["has_answer"],
        strict=True,
    ):
        shown = repr(_text(answer)) if bool(has) else "(no answer)"
        lines.append(f"{shown}\tscore={float(score):.3f}\tchars [{int(start)}, {int(end)})")
    return lines


def format_token_classification(out: dict[str, np.ndarray]) -> list[str]:
    lines = []
    for row in range(out["entity_text"].shape[0]):
        found = [
            f"{_text(t)!r}:{_text(lab)} [{int(s)},{int(e)}) {float(p):.2f}"
            for t, lab, s, e, p in zip(
                out["entity_text"][row], out["entity_label"][row], out["entity_start"][row],
                out["entity_end"][row], out["entity_score"][row], strict=True,
            )
            if int(s) >= 0
        ]
        lines.append("; ".join(found) or "(no entities)")
    return lines


def format_fill_mask(out: dict[str, np.ndarray]) -> list[str]:
    """One line per text: `[MASK] 1: candidate (p), ... | [MASK] 2: ...` (padding masks skipped)."""
    lines = []
    for masks_tokens, masks_scores in zip(out["tokens"], out["scores"], strict=True):
        answered = [
            f"[MASK] {i + 1}: " + ", ".join(
                f"{_text(t)} ({float(s):.3f})" for t, s in zip(tokens, scores, strict=True)
            )
            for i, (tokens, scores) in enumerate(zip(masks_tokens, masks_scores, strict=True))
            if float(scores[0]) >= 0
        ]
        lines.append(" | ".join(answered) or "(no [MASK] in the text)")
    return lines


def format_embedding(out: dict[str, np.ndarray]) -> list[str]:
    return [
        f"dim {e.shape[-1]}, norm {float(np.linalg.norm(e)):.4f}: "
        + " ".join(f"{x:.4f}" for x in e[:8]) + " ..."
        for e in out["embedding"]
    ]


def format_summarization(out: dict[str, np.ndarray]) -> list[str]:
    """One line per document: its summary, then each returned sentence with score and offsets."""
    lines = []
    for row in range(out["sentences"].shape[0]):
        lines.append(_text(out["summary"][row]) or "(no sentence)")
        lines += [
            f"  {float(s):.3f}\tchars [{int(a)}, {int(b)})\t{_text(t)!r}"
            for t, s, a, b in zip(out["sentences"][row], out["scores"][row], out["start_char"][row],
                                  out["end_char"][row], strict=True)
            if int(a) >= 0
        ]
    return lines


FORMATTERS: dict[str, Callable[[dict[str, np.ndarray]], list[str]]] = {
    "classification": format_classification,
    "question-answering": format_question_answering,
    "token-classification": format_token_classification,
    "fill-mask": format_fill_mask,
    "embedding": format_embedding,
    "summarization": format_summarization,
}
