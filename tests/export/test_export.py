"""Exported SavedModels: signatures, parity with the in-memory Keras path in a TF-only process,
QA offsets and long documents, op check, and serving the exports over gRPC."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("keras_bert.preprocessing.squad_preprocessor")
preprocessing = pytest.importorskip("keras_bert.preprocessing")
if not hasattr(preprocessing, "SegmentPacker"):
    pytest.skip("keras_bert.preprocessing.SegmentPacker not available yet", allow_module_level=True)

import tensorflow as tf  # noqa: E402
from export_models import (  # noqa: E402
    CLASS_LABELS,
    CONTEXTS,
    MARKER_QA_OPTIONS,
    MASKED,
    QA_OPTIONS,
    QUESTIONS,
    export_all,
    marker_qa_model,
    softmax,
)

HERE = Path(__file__).parent
TEXTS = ["The film was wonderful, Anna said in Paris.", "Zürich café ☕ — naïve Ünïcödé text!", "ok"]
PAIRS = ["I agree.", "Je ne sais pas.", "yes"]


@pytest.fixture(scope="module")
def exported(tokenizer, models, tmp_path_factory) -> dict[str, Path]:
    return export_all(tokenizer, models, tmp_path_factory.mktemp("exports"))


def _requests(exported) -> list[dict]:
    def strings(**kw):
        return {k: [v, "string"] for k, v in kw.items()}

    ids = {"token_ids": [[101, 7592, 2088, 102, 0]], "segment_ids": [[0] * 5], "padding_mask": [[1, 1, 1, 1, 0]]}
    return [
        {"dir": str(exported["classification"]), "signature": "serving_default", "inputs": strings(text=TEXTS, text_pair=PAIRS)},
        {"dir": str(exported["question-answering"]), "signature": "serving_default", "inputs": strings(question=QUESTIONS, context=CONTEXTS)},
        {"dir": str(exported["token-classification"]), "signature": "serving_default", "inputs": strings(text=TEXTS)},
        {"dir": str(exported["fill-mask"]), "signature": "serving_default", "inputs": strings(text=MASKED)},
        {"dir": str(exported["embedding"]), "signature": "serving_default", "inputs": strings(text=TEXTS)},
        {"dir": str(exported["classification"]), "signature": "serving_token_ids", "inputs": {k: [v, "int32"] for k, v in ids.items()}},
        {"dir": str(exported["classification"]), "signature": "serving_token_ids_int64", "inputs": {k: [v, "int64"] for k, v in ids.items()}},
    ]


@pytest.fixture(scope="module")
def tf_only_results(exported, tmp_path_factory) -> list[dict]:
    """Outputs of the exports computed in a fresh process with only tensorflow + tensorflow_text."""
    work = tmp_path_factory.mktemp("tf_only")
    (work / "requests.json").write_text(json.dumps(_requests(exported)))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    subprocess.run(
        [sys.executable, str(HERE / "run_saved_models.py"), str(work / "requests.json"), str(work / "out.json")],
        check=True, timeout=300, env=env, cwd=str(work),
    )
    out = json.loads((work / "out.json").read_text())
    assert out["foreign_modules"] == [], out["foreign_modules"]
    for served, loaded in zip(out["results"], out["results_object_graph"], strict=True):
        _assert_same_outputs(served, loaded)
    return out["results"]  # TF Serving's loading path


def _assert_same_outputs(a: dict, b: dict) -> None:
    """Session path vs `tf.saved_model.load`: same strings and ints, floats within 1e-5."""
    assert a.keys() == b.keys()
    for name in a:
        left, right = np.array(a[name], dtype=object), np.array(b[name], dtype=object)
        if any(isinstance(v, float) for v in left.ravel()):
            np.testing.assert_allclose(left.astype(float), right.astype(float), atol=1e-5, err_msg=name)
        else:
            assert a[name] == b[name], name


_SHOW_ALL = """
import sys
from tensorflow.python.tools import saved_model_cli
for path in sys.argv[1:]:
    print("=== " + path, flush=True)
    saved_model_cli._show_all(path)  # what `saved_model_cli show --dir PATH --all` runs
    sys.stdout.flush()
"""


def test_saved_model_cli_lists_documented_signatures(exported):
    expected = {
        "classification": {"serving_default": ["text", "text_pair", "label", "label_id", "probabilities"],
                           "classify": ["inputs", "classes", "scores"]},
        "question-answering": {"serving_default": ["question", "context", "answer", "score", "start_char", "end_char", "has_answer"]},
        "token-classification": {"serving_default": ["text", "entity_text", "entity_label", "entity_start", "entity_end", "entity_score"]},
        "fill-mask": {"serving_default": ["text", "tokens", "scores"]},
        "embedding": {"serving_default": ["text", "embedding"]},
    }
    tasks = list(expected)
    output = subprocess.run(
        [sys.executable, "-c", _SHOW_ALL, *(str(exported[t]) for t in tasks)],
        capture_output=True, text=True, timeout=300, check=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    ).stdout
    sections = output.split("=== ")[1:]
    assert len(sections) == len(tasks)
    for task, text in zip(tasks, sections, strict=True):
        signatures = expected[task]
        for key in ("serving_token_ids", "serving_token_ids_int64", *signatures):
            assert f"signature_def['{key}']:" in text, (task, key)
        for names in signatures.values():
            for name in names:
                assert f"['{name}'] tensor_info:" in text, (task, name)
        int64_section = text.split("signature_def['serving_token_ids_int64']:")[1].split("signature_def[")[0]
        assert "dtype: DT_INT64" in int64_section and "DT_INT32" not in int64_section.split("following output(s)")[0]
        assert (exported[task] / "assets" / "vocab.txt").is_file()
    classify = sections[0].split("signature_def['classify']:")[1].split("signature_def[")[0]
    assert "Method name is: tensorflow/serving/classify" in classify


def test_classification_matches_keras(models, tokenizer, tf_only_results):
    from keras_bert.preprocessing.classification_preprocessor import ClassificationPreprocessor

    model = models["classification"][0]
    x = ClassificationPreprocessor(tokenizer, 128, CLASS_LABELS)(tf.constant(TEXTS), tf.constant(PAIRS))
    probs = softmax(np.asarray(model(x, training=False)))
    out = tf_only_results[0]
    np.testing.assert_allclose(out["probabilities"], probs, atol=1e-5)  # padding trimmed in export
    assert out["label_id"] == probs.argmax(-1).tolist()
    assert out["label"] == [CLASS_LABELS[i] for i in probs.argmax(-1)]


def test_token_id_signatures_match_keras(models, tf_only_results):
    model = models["classification"][0]
    x = {"token_ids": np.array([[101, 7592, 2088, 102, 0]], "int32"), "segment_ids": np.zeros((1, 5), "int32"),
         "padding_mask": np.array([[1, 1, 1, 1, 0]], "int32")}
    probs = softmax(np.asarray(model(x, training=False)))
    for out in tf_only_results[5:7]:
        np.testing.assert_allclose(out["probabilities"], probs, atol=1e-5)


def test_question_answering_matches_python_reference(models, tokenizer, tf_only_results):
    from keras_bert.preprocessing.squad_postprocessing import nbest_answers
    from keras_bert.preprocessing.squad_preprocessor import SquadPreprocessor

    model = models["question-answering"][0]
    pre = SquadPreprocessor(tokenizer, sequence_length=QA_OPTIONS["sequence_length"],
                            doc_stride=QA_OPTIONS["doc_stride"], max_query_length=QA_OPTIONS["max_query_length"])
    windows = pre.windows(tf.constant(QUESTIONS), tf.constant(CONTEXTS))
    assert windows["example_index"].shape[0] > len(CONTEXTS)  # several windows per context
    logits = model({k: windows[k] for k in ("token_ids", "segment_ids", "padding_mask")}, training=False)
    reference = nbest_answers(
        CONTEXTS, np.asarray(logits["start_logits"]), np.asarray(logits["end_logits"]),
        windows["token_start"].numpy(), windows["token_end"].numpy(), windows["example_index"].numpy(),
        n_best_size=QA_OPTIONS["sequence_length"], max_answer_length=QA_OPTIONS["max_answer_length"],
    )
    out = tf_only_results[1]
    for i, context in enumerate(CONTEXTS):
        assert out["has_answer"][i]
        assert context[out["start_char"][i]:out["end_char"][i]] == out["answer"][i] != ""
        assert (out["answer"][i], out["start_char"][i], out["end_char"][i]) == (
            reference[i]["answer"], reference[i]["start_char"], reference[i]["end_char"])
        assert out["score"][i] == pytest.approx(reference[i]["score"], abs=1e-4)


def test_token_classification_matches_keras(models, tokenizer, tf_only_results):
    from keras_bert.preprocessing.ner_postprocessing import continuation_table, decode_entities
    from keras_bert.preprocessing.ner_preprocessor import NerPreprocessor, text_inputs

    model, options = models["token-classification"]
    x = text_inputs(NerPreprocessor(tokenizer, 128), tf.constant(TEXTS))
    logits = model({k: x[k] for k in ("token_ids", "segment_ids", "padding_mask")}, training=False)
    ref = decode_entities(tf.constant(TEXTS), logits, x["token_ids"], x["token_start"], x["token_end"],
                          model.label_names, continuation_table(tokenizer.vocabulary), options["max_entities"])
    out = tf_only_results[2]
    assert np.asarray(out["entity_start"]).shape == (len(TEXTS), options["max_entities"])
    assert out["entity_start"] == ref["entity_start"].numpy().tolist()
    assert out["entity_label"] == [[s.decode() for s in row] for row in ref["entity_label"].numpy()]
    np.testing.assert_allclose(out["entity_score"], ref["entity_score"].numpy(), atol=1e-5)
    found = 0
    for text, starts, ends, words in zip(TEXTS, out["entity_start"], out["entity_end"], out["entity_text"], strict=True):
        for s, e, w in zip(starts, ends, words, strict=True):
            assert (s, e, w) == (-1, -1, "") or text[s:e] == w
            found += s >= 0
    assert found > 0  # a random tagger finds some entities; the offsets above were exercised


def test_fill_mask_matches_keras(models, tokenizer, tf_only_results):
    model = models["fill-mask"][0]
    top_k = models["fill-mask"][1]["top_k"]
    out = tf_only_results[3]
    max_masks = len(out["tokens"][0])
    assert max_masks == 4  # the export default
    for row, text in enumerate(MASKED):
        ids = [tokenizer.cls_token_id]
        for i, piece in enumerate(text.split("[MASK]")):
            if i:
                ids.append(tokenizer.mask_token_id)
            ids += tokenizer(tf.constant([piece])).to_list()[0]
        ids.append(tokenizer.sep_token_id)
        positions = [p for p, i in enumerate(ids) if i == tokenizer.mask_token_id]
        assert len(positions) == text.count("[MASK]")
        for m in range(len(positions), max_masks):  # padding rows
            assert out["tokens"][row][m] == [""] * top_k and out["scores"][row][m] == [-1.0] * top_k
        if not positions:
            continue
        x = {"token_ids": np.array([ids], "int32"), "segment_ids": np.zeros((1, len(ids)), "int32"),
             "padding_mask": np.ones((1, len(ids)), "int32"),
             "mask_positions": np.array([positions], "int32")}
        logits = np.asarray(model(x, training=False)["mlm_logits"])[0]  # (masks, V)
        for m in range(len(positions)):
            probs = softmax(logits[m])
            best = np.argsort(-probs)[:top_k]
            assert out["tokens"][row][m] == [tokenizer.id_to_token(int(i)) for i in best]
            np.testing.assert_allclose(out["scores"][row][m], probs[best], atol=1e-6)


def keras_mean_embeddings(backbone, tokenizer, texts: list[str]) -> np.ndarray:
    """Reference for the embedding export: the Keras backbone's mean over real tokens, (B, H)."""
    from keras_bert.preprocessing import SegmentPacker

    packer = SegmentPacker(128, start_value=tokenizer.cls_token_id, end_value=tokenizer.sep_token_id,
                           pad_value=tokenizer.pad_token_id)
    x = packer(tf.cast(tokenizer(tf.constant(texts)), tf.int32))
    sequence = np.asarray(backbone(x, training=False)["sequence_output"])
    mask = np.asarray(x["padding_mask"], "float32")[:, :, None]
    return (sequence * mask).sum(1) / mask.sum(1)


def test_embedding_matches_keras(models, tokenizer, tf_only_results):
    expected = keras_mean_embeddings(models["embedding"][0], tokenizer, TEXTS)
    np.testing.assert_allclose(tf_only_results[4]["embedding"], expected, atol=1e-5)


def test_long_document_answer_in_later_window(tokenizer, tmp_path):
    from keras_bert.export.writer import export_servable

    from keras_bert.tasks.export import build_servable

    start_id, end_id = tokenizer.token_to_id("zebra"), tokenizer.token_to_id("crossing")
    filler = "Café naïve 東京 words fill this long document about nothing in particular. "
    words_before = filler * 400  # ~4,400 words
    context = words_before + "The answer is the zebra crossing near the old mill. " + filler * 50
    assert len(context.split()) > 5000
    short = "A zebra crossing is here."
    servable = build_servable("question-answering", marker_qa_model(start_id, end_id), tokenizer, **MARKER_QA_OPTIONS)
    path = export_servable(servable, tmp_path / "qa" / "1")
    fn = tf.saved_model.load(str(path)).signatures["serving_default"]
    out = {k: v.numpy() for k, v in fn(question=tf.constant(["Where?", "What?"]), context=tf.constant([context, short])).items()}
    for i, ctx in enumerate([context, short]):
        answer = out["answer"][i].decode("utf-8")
        assert answer == "zebra crossing"
        assert ctx[out["start_char"][i]:out["end_char"][i]] == answer
    assert out["start_char"][0] == context.index("zebra crossing")  # Python characters, not bytes
    windows = servable.preprocessor.windows(tf.constant(["Where?"]), tf.constant([context]))
    assert windows["example_index"].shape[0] > 50  # the answer sat in a late window


def test_op_check_lists_library_ops_and_fails_naming_them(exported, monkeypatch):
    from keras_bert.export import op_check

    used = op_check.check_ops(exported["question-answering"])
    assert "FastWordpieceTokenizeWithOffsets" in used  # lives in a library function only
    monkeypatch.setattr(op_check, "tf_text_serving_ops", lambda: frozenset())
    with pytest.raises(op_check.UnsupportedOpsError, match="FastWordpieceTokenizeWithOffsets"):
        op_check.check_ops(exported["question-answering"])


def test_serving_the_exports_over_grpc(exported, capsys):
    import argparse

    import grpc
    from keras_bert.export.client import predict
    from keras_bert.export.commands import predict as predict_command
    from keras_bert.export.server.main import start_server
    from keras_bert.export.server.registry import ModelSource
    from tensorflow_serving.apis import classification_pb2, prediction_service_pb2_grpc

    server = start_server(
        [ModelSource("qa", str(exported["question-answering"].parent)),
         ModelSource("cls", str(exported["classification"].parent))],
        grpc_port=0,
    )
    target = f"127.0.0.1:{server.grpc_port}"
    try:
        out = predict(target, "qa", {"question": QUESTIONS[:1], "context": CONTEXTS[:1]})
        answer = out["answer"][0].decode()
        assert CONTEXTS[0][out["start_char"][0]:out["end_char"][0]] == answer != ""
        request = classification_pb2.ClassificationRequest()
        request.model_spec.name, request.model_spec.signature_name = "cls", "classify"
        example = request.input.example_list.examples.add()
        example.features.feature["text"].bytes_list.value.append(TEXTS[0].encode())
        example.features.feature["text_pair"].bytes_list.value.append(PAIRS[0].encode())
        with grpc.insecure_channel(target) as channel:
            result = prediction_service_pb2_grpc.PredictionServiceStub(channel).Classify(request, 30).result
        assert [c.label for c in result.classifications[0].classes] == CLASS_LABELS
        assert sum(c.score for c in result.classifications[0].classes) == pytest.approx(1.0, abs=1e-5)
        args = argparse.Namespace(
            task="question-answering", server=target, model_name="qa", model_version=None,
            signature_name="serving_default", text=[], text_pair=[], question=QUESTIONS[:1],
            context=CONTEXTS[:1], context_file=[], timeout=30.0,
        )
        assert predict_command.run(args) == 0
        assert repr(answer) in capsys.readouterr().out
    finally:
        server.stop()


def test_bfloat16_serving_export_stores_bf16_weights_and_tracks_fp32(models, tokenizer, tmp_path):
    """`--serving_dtype bfloat16`: backbone variables saved as bf16 (the classifier's head stays
    fp32); served through TF Serving's loading path, mean embeddings within 2e-2 of fp32 Keras
    (bf16 keeps 8 bits of mantissa; LayerNorm outputs are O(1)), while the texts' embeddings differ
    from each other by far more than that."""
    from keras_bert.export.precision import with_backbone_dtype
    from keras_bert.export.server.registry import load_servable
    from keras_bert.export.writer import export_servable

    from keras_bert.tasks.export import build_servable

    classifier = with_backbone_dtype(models["classification"][0], "bfloat16")
    path = export_servable(build_servable("classification", classifier, tokenizer, sequence_length=128, pair=True),
                           tmp_path / "classification" / "1")
    dtypes = tf.train.load_checkpoint(str(path / "variables" / "variables")).get_variable_to_dtype_map()
    kinds = {dtype for name, dtype in dtypes.items() if "VARIABLE_VALUE" in name}
    assert tf.bfloat16 in kinds and tf.float32 in kinds  # bf16 backbone, fp32 head

    backbone = models["embedding"][0]
    path = export_servable(build_servable("embedding", with_backbone_dtype(backbone, "bfloat16"),
                                          tokenizer, sequence_length=128, pooling="mean"), tmp_path / "embedding" / "1")
    served = load_servable("bf16", 1, str(path)).signature("serving_default").fn
    got = served({"text": np.array(TEXTS, dtype=object)}, ["embedding"])["embedding"]
    expected = keras_mean_embeddings(backbone, tokenizer, TEXTS)
    assert got.dtype == np.float32 or got.dtype == tf.bfloat16.as_numpy_dtype
    np.testing.assert_allclose(np.asarray(got, np.float32), expected, atol=2e-2)  # 5.4e-3 seen
    assert np.abs(expected[0] - expected[1]).max() > 0.5
    with pytest.raises(ValueError, match="serving dtype"):
        with_backbone_dtype(backbone, "float16")


def test_warmup_records_cover_every_signature_and_replay(exported):
    """`assets.extra/tf_serving_warmup_requests` parses with TF Serving's protos, holds one request
    per signature of every export, and each runs on TF Serving's loading path."""
    from tensorflow_serving.apis import prediction_log_pb2

    for task, path in exported.items():
        logs = []
        for record in tf.data.TFRecordDataset(str(path / "assets.extra" / "tf_serving_warmup_requests")):
            log = prediction_log_pb2.PredictionLog()
            log.ParseFromString(record.numpy())
            logs.append(log)
        graph = tf.Graph()
        with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
            meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(path))
            keys = {k for k in meta_graph.signature_def if not k.startswith("__")}
            covered = set()
            for log in logs:
                kind = log.WhichOneof("log_type")
                request = getattr(log, kind).request
                sig = meta_graph.signature_def[request.model_spec.signature_name]
                if kind == "predict_log":
                    feeds = {sig.inputs[k].name: tf.make_ndarray(v) for k, v in request.inputs.items()}
                else:  # Classify / Regress: serialized tf.Examples into the single `inputs` tensor
                    assert kind == "classify_log" and sig.method_name.endswith("classify")
                    examples = [e.SerializeToString() for e in request.input.example_list.examples]
                    feeds = {sig.inputs["inputs"].name: examples}
                outputs = session.run({k: v.name for k, v in sig.outputs.items()}, feeds)
                assert all(np.size(v) > 0 for v in outputs.values()), (task, request.model_spec)
                covered.add(request.model_spec.signature_name)
        assert covered == keys, task
