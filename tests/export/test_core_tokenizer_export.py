"""Exports with the core-ops tokenizer (`--tokenizer core`): every task passes the core-only op check,
loads and answers in a fresh process where tensorflow-text cannot be imported, with the same outputs
as the default (tensorflow-text) servable of the same model: its `from_text`, the function the
default export saves (run eagerly here; `test_export.py` holds the default exports to Keras)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from export_models import CONTEXTS, MASKED, QUESTIONS, export_all

HERE = Path(__file__).parent
# The interpreter that runs the exports: this one (tensorflow_text blocked by an import hook), or a
# throwaway venv without tensorflow-text (scripts/check_core_export_without_tf_text.py sets it).
PYTHON = os.environ.get("KERAS_BERT_NO_TF_TEXT_PYTHON", sys.executable)
TEXTS = ["The film was wonderful, Anna said in Paris.", "Zürich café ☕ — naïve Ünïcödé ﬁne ＦＵＬＬ!", "ok"]
PAIRS = ["I agree [CLS].", "Je ne sais pas. 中文", "yes\u200b"]


@pytest.fixture(scope="module")
def core_exports(tokenizer, models, tmp_path_factory) -> dict[str, Path]:
    return export_all(tokenizer.with_backend("core"), models, tmp_path_factory.mktemp("core"))


def _requests(paths: dict[str, Path]) -> list[dict]:
    def strings(**kw):
        return {k: [v, "string"] for k, v in kw.items()}

    return [
        {"dir": str(paths["classification"]), "signature": "serving_default",
         "inputs": strings(text=TEXTS, text_pair=PAIRS)},
        {"dir": str(paths["question-answering"]), "signature": "serving_default",
         "inputs": strings(question=QUESTIONS, context=CONTEXTS)},
        {"dir": str(paths["token-classification"]), "signature": "serving_default",
         "inputs": strings(text=TEXTS)},
        {"dir": str(paths["fill-mask"]), "signature": "serving_default", "inputs": strings(text=MASKED)},
        {"dir": str(paths["embedding"]), "signature": "serving_default", "inputs": strings(text=TEXTS)},
    ]


def _assert_same(a: dict, b: dict, atol: float = 1e-5) -> None:
    assert a.keys() == b.keys()
    for name in a:
        left, right = np.array(a[name], dtype=object), np.array(b[name], dtype=object)
        if any(isinstance(v, float) for v in left.ravel()):
            np.testing.assert_allclose(left.astype(float), right.astype(float), atol=atol, err_msg=name)
        else:
            assert a[name] == b[name], name


def _run_without_tf_text(requests: list[dict], work: Path) -> subprocess.CompletedProcess:
    (work / "requests.json").write_text(json.dumps(requests))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return subprocess.run(
        [PYTHON, str(HERE / "run_without_tf_text.py"), "requests.json", "out.json"],
        capture_output=True, text=True, timeout=300, env=env, cwd=str(work),
    )


def test_core_exports_pass_the_core_only_op_check(core_exports, tokenizer, tmp_path):
    from keras_bert.export.op_check import (
        UnsupportedOpsError,
        check_ops,
        core_tf_ops,
        tf_text_serving_ops,
    )

    for task, path in core_exports.items():
        used = check_ops(path, core_only=True)
        assert used <= core_tf_ops() and not used & tf_text_serving_ops(), task
        info = json.loads((path / "assets.extra" / "export_info.json").read_text())
        assert info["preprocessing"]["tokenizer"]["backend"] == "core"
    # A tokenizer-only SavedModel on the default backend: the core-only check refuses it by name.
    _tf_text_tokenizer_model(tokenizer, tmp_path / "tf_text")
    with pytest.raises(UnsupportedOpsError, match="FastWordpieceTokenize"):
        check_ops(tmp_path / "tf_text", core_only=True)
    check_ops(tmp_path / "tf_text")  # fine for TF Serving with its tensorflow-text ops


def _tf_text_tokenizer_model(tokenizer, path: Path) -> Path:
    """A SavedModel of the default (tensorflow-text) tokenizer alone."""
    module = tf.Module()
    module.tokenizer = tokenizer
    module.f = tf.function(tokenizer.__call__, input_signature=[tf.TensorSpec([None], tf.string)])
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.f})
    return path


def test_core_exports_answer_without_tensorflow_text_like_the_default(core_exports, tokenizer, models, tmp_path):
    from keras_bert.tasks.export import build_servable

    requests = _requests(core_exports)
    for request in requests[1:]:  # all through TF Serving's loader; one through tf.saved_model.load
        request["object_graph"] = False
    # Control: the same process refuses a graph with tensorflow-text ops (the blocking is real).
    control = {"dir": str(_tf_text_tokenizer_model(tokenizer, tmp_path / "tf_text_tokenizer")),
               "signature": "serving_default", "inputs": {"x": [["a"], "string"]}}
    result = _run_without_tf_text([*requests, control], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["tf_text_loaded"] is False
    print(f"ran in {out['python']} (tensorflow-text installed there: {out['tf_text_installed']})")
    assert "FastWordpieceTokenize" in out["results"][-1].get("error", "") or "NormalizeUTF8" in out[
        "results"][-1].get("error", ""), out["results"][-1]
    for (task, (model, options)), request, served, loaded in zip(
        models.items(), requests, out["results"][:-1], out["results_object_graph"][:-1], strict=True
    ):
        assert request["dir"] == str(core_exports[task])
        assert "error" not in served, (task, served)
        default = build_servable(task, model, tokenizer, **options)  # tensorflow-text backend
        assert default.tokenizer.backend == "tf_text"
        outputs = default.from_text(**{k: tf.constant(v) for k, (v, _) in request["inputs"].items()})
        want = {
            k: (v.numpy().tolist() if v.dtype != tf.string
                else np.vectorize(lambda s: s.decode("utf-8"), otypes=[object])(v.numpy()).tolist())
            for k, v in outputs.items()
        }
        _assert_same(served, want)
        if loaded is not None:
            _assert_same(loaded, want)
    assert out["results_object_graph"][0] is not None
