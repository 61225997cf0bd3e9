"""Task models carry their preprocessing: raw strings into Keras `fit` / `predict`, the same
predictions after `.keras` save and load in a fresh process, and exports that need no flag."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert.models import BertBackbone, BertPretrainer, BertTextEmbedder
from keras_bert.models.bert_classifier import BertClassifier
from keras_bert.models.bert_span_qa import BertSpanQA
from keras_bert.models.bert_token_tagger import BertTokenTagger
from keras_bert.preprocessing import (
    ClassificationPreprocessor,
    NerPreprocessor,
    PretrainingPreprocessor,
    SquadPreprocessor,
    TextPreprocessor,
)
from keras_bert.tasks import registry

TINY = dict(num_layers=1, num_heads=2, hidden_dim=16, intermediate_dim=32, max_sequence_length=128)
TEXTS = ["A fine film, warm and funny.", "A dull film; I left early.", "Great!", "Awful acting.",
         "Paris in spring " * 40]
MASKED = ["Paris is the [MASK] of France.", "[MASK] [MASK] starts here", "no mask"]
QUESTIONS = ["Where did Anna go?", "Who wrote it?", "What is here?"]
CONTEXTS = ["Anna went home to Paris in the spring of 1900. " * 4, "Nothing to see.", "A short note."]

_FRESH = r"""
import sys, json
import numpy as np
import keras_bert  # registers the classes; then Keras loads the files
import keras
for path, kind, inputs, out_path in json.loads(open(sys.argv[1]).read()):
    model = keras.saving.load_model(path)
    if kind == "pair":
        inputs = tuple(inputs)
    elif kind == "words":
        import tensorflow as tf
        inputs = tf.ragged.constant(inputs)
    out = model.predict(inputs, verbose=0)
    np.savez(out_path, **(out if isinstance(out, dict) else {"out": out}))
"""


def _backbone(tokenizer):
    keras.utils.set_random_seed(3)
    return BertBackbone(vocabulary_size=tokenizer.vocabulary_size, **TINY)


def _predict_in_fresh_process(jobs: list, work) -> None:
    """Loads each `.keras` file in one fresh process and saves its raw-input predictions."""
    (work / "jobs.json").write_text(json.dumps(jobs))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    subprocess.run([sys.executable, "-c", _FRESH, str(work / "jobs.json")], check=True,
                   timeout=600, env=env)


def _task_models(tokenizer):
    """(task, model, fit args, predict inputs, fresh-process inputs) per fine-tunable task."""
    words = [["Anna", "went", "to", "Paris"], ["Bob", "stayed"], ["Nothing"]]
    return [
        ("classification",
         BertClassifier(_backbone(tokenizer), 2, label_names=["neg", "pos"],
                        preprocessor=ClassificationPreprocessor(tokenizer, 32, ["neg", "pos"])),
         (TEXTS, ["pos", "neg", "pos", "neg", "pos"]), TEXTS, ("texts", TEXTS)),
        ("token-classification",
         BertTokenTagger(_backbone(tokenizer), 3, label_names=["O", "B-X", "I-X"],
                         preprocessor=NerPreprocessor(tokenizer, 32)),
         (tf.ragged.constant(words), tf.ragged.constant([[1, 0, 0, 1], [1, 0], [0]])),
         tf.ragged.constant(words), ("words", words)),
        ("question-answering",
         BertSpanQA(_backbone(tokenizer),
                    preprocessor=SquadPreprocessor(tokenizer, None, 48, 16, 16, version_2_with_negative=True)),
         ((QUESTIONS, CONTEXTS), (np.array([18, -1, -1]), np.array([23, -1, -1]))),
         (QUESTIONS, CONTEXTS), ("pair", [QUESTIONS, CONTEXTS])),
        ("fill-mask",  # pretraining on raw sentence pairs; fill-mask prediction on [MASK] text
         BertPretrainer(_backbone(tokenizer),
                        preprocessor=PretrainingPreprocessor(tokenizer, 32, max_predictions=4)),
         ((TEXTS[:4], TEXTS[1:5]), np.array([0, 1, 0, 1])),
         MASKED, ("texts", MASKED)),
        ("embedding",  # fit toward target vectors (distillation-style), predict vectors
         BertTextEmbedder(_backbone(tokenizer), pooling="mean", normalize=True,
                          preprocessor=TextPreprocessor(tokenizer, 32)),
         (TEXTS, np.eye(5, 16, dtype="float32")), TEXTS, ("texts", TEXTS)),
    ]


TASKS = ["classification", "token-classification", "question-answering", "fill-mask", "embedding"]


@pytest.fixture(scope="module")
def trained(tokenizer, tmp_path_factory) -> dict:
    """Each task model fitted on raw inputs, its predictions, and the predictions of its `.keras`
    file loaded in one fresh process."""
    work = tmp_path_factory.mktemp("task_objects")
    results, jobs = {}, []
    for task, model, (x, y), inputs, (kind, fresh_inputs) in _task_models(tokenizer):
        loss = {"loss": "mse"} if task == "embedding" else {}  # the others have default losses
        model.compile(optimizer=keras.optimizers.Adam(1e-3), **loss)
        before = model.get_weights()
        history = model.fit(x, y, batch_size=2, epochs=2, verbose=0)
        changed = any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))
        predicted = model.predict(inputs, verbose=0)
        model.save(work / f"{task}.keras")
        jobs.append([str(work / f"{task}.keras"), kind, fresh_inputs, str(work / f"{task}.npz")])
        results[task] = dict(model=model, loss=history.history["loss"], changed=changed,
                             predicted=predicted if isinstance(predicted, dict) else {"out": predicted})
    _predict_in_fresh_process(jobs, work)
    for task in results:
        with np.load(work / f"{task}.npz") as loaded:
            results[task]["loaded"] = {k: loaded[k] for k in loaded.files}
    return results


@pytest.mark.parametrize("task", TASKS)
def test_raw_text_fit_predict_save_load_in_a_fresh_process(task, trained):
    result = trained[task]
    assert registry.task_of(result["model"]).name == task
    assert np.isfinite(result["loss"]).all() and result["changed"]  # fit trained on raw inputs
    assert result["loaded"].keys() == result["predicted"].keys()
    for name, value in result["predicted"].items():
        np.testing.assert_allclose(result["loaded"][name], value, atol=1e-5, err_msg=name)


def test_raw_text_predict_equals_the_token_path(tokenizer):
    """`predict(["text"])` is the preprocessor then the model, nothing else."""
    pre = ClassificationPreprocessor(tokenizer, 32, ["neg", "pos"])
    model = BertClassifier(_backbone(tokenizer), 2, preprocessor=pre)
    expected = model.predict(pre(tf.constant(TEXTS)), verbose=0)
    np.testing.assert_allclose(model.predict(TEXTS, verbose=0), expected, atol=1e-6)
    ds = tf.data.Dataset.from_tensor_slices(TEXTS).batch(2)  # a dataset of raw strings too
    np.testing.assert_allclose(model.predict(ds, verbose=0), expected, atol=1e-6)


def _keras_bert(*argv):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "keras_bert.cli", *argv], capture_output=True,
                          text=True, timeout=600, env=env)


def test_export_with_no_flag_reproduces_the_trained_preprocessing(tmp_path, minilm_dir):
    """Fine-tuned at sequence length 64 and cased: the export truncates at 64 and keeps case."""
    from keras_bert.tokenizers import WordPieceTokenizer

    cased = WordPieceTokenizer(str(minilm_dir / "vocab.txt"), lowercase=False)
    pre = ClassificationPreprocessor(cased, 64, ["neg", "pos"])
    model = BertClassifier(_backbone(cased), 2, label_names=["neg", "pos"], preprocessor=pre)
    model.save(tmp_path / "model.keras")
    result = _keras_bert("export", "--model", str(tmp_path / "model.keras"), "--out", str(tmp_path / "m" / "1"))
    assert result.returncode == 0, result.stderr
    assert "task: classification (from the saved model)" in result.stdout
    assert "overriding" not in result.stdout
    info = json.loads((tmp_path / "m" / "1" / "assets.extra" / "export_info.json").read_text())
    assert info["preprocessing"]["sequence_length"] == 64
    assert info["preprocessing"]["tokenizer"]["lowercase"] is False

    texts = ["Paris is big", "PARIS IS BIG", "paris is big", "word " * 200]
    served = tf.saved_model.load(str(tmp_path / "m" / "1")).signatures["serving_default"](
        text=tf.constant(texts))["probabilities"].numpy()
    np.testing.assert_allclose(served, tf.nn.softmax(model.predict(texts, verbose=0)), atol=1e-5)
    # Same ids give bit-identical outputs: lowercasing would make rows 0 and 1 equal, like 1 and 2
    # are not either; a 128-token sequence would change row 3.
    assert not np.array_equal(served[0], served[1]) and not np.array_equal(served[1], served[2])
    at_128 = ClassificationPreprocessor(cased, 128)(tf.constant(texts[3:]))
    assert not np.array_equal(served[3], tf.nn.softmax(model.predict(at_128, verbose=0))[0])

    # A flag overrides the saved value and the export says so.
    result = _keras_bert("export", "--model", str(tmp_path / "model.keras"), "--out",
                         str(tmp_path / "m" / "2"), "--sequence-length", "32")
    assert result.returncode == 0, result.stderr
    assert "overriding the saved preprocessing: sequence_length: 64 -> 32" in result.stdout


def test_question_answering_export_carries_the_tuned_threshold(tokenizer, tmp_path):
    from keras_bert.export.writer import export_servable

    from keras_bert.preprocessing.squad_postprocessing import nbest_answers
    from keras_bert.tasks.common import RunConfig
    from keras_bert.tasks.export import build_servable
    from keras_bert.tasks.question_answering.finetune import evaluate

    pre = SquadPreprocessor(tokenizer, None, 48, 16, 16, version_2_with_negative=True)
    model = BertSpanQA(_backbone(tokenizer), preprocessor=pre)
    examples = [{"id": str(i), "question": q, "context": c,
                 "answers": [{"text": "Paris", "answer_start": c.index("Paris")}] if "Paris" in c else []}
                for i, (q, c) in enumerate(zip(QUESTIONS, CONTEXTS, strict=True))]
    result = evaluate(model, pre, examples, RunConfig(sequence_length=48, doc_stride=16,
                                                      max_query_length=16, version_2_with_negative=True))
    tuned = result["best_f1_thresh"]  # -inf ("always no answer") is not carried: kept at 0
    assert pre.null_score_diff_threshold == pytest.approx(tuned if np.isfinite(tuned) else 0.0)
    pre.null_score_diff_threshold = 0.37  # as if tuned to this value
    model.save(tmp_path / "qa.keras")
    loaded = keras.saving.load_model(tmp_path / "qa.keras")
    assert loaded.preprocessor.null_score_diff_threshold == 0.37
    path = export_servable(build_servable("question-answering", loaded), tmp_path / "qa" / "1")
    info = json.loads((path / "assets.extra" / "export_info.json").read_text())
    assert info["preprocessing"]["null_score_diff_threshold"] == 0.37
    assert info["preprocessing"]["version_2_with_negative"] is True
    served = tf.saved_model.load(str(path)).signatures["serving_default"](
        question=tf.constant(QUESTIONS), context=tf.constant(CONTEXTS))
    windows = pre.windows(tf.constant(QUESTIONS), tf.constant(CONTEXTS))
    logits = model({k: windows[k] for k in ("token_ids", "segment_ids", "padding_mask")})
    reference = nbest_answers(CONTEXTS, np.asarray(logits["start_logits"]), np.asarray(logits["end_logits"]),
                              windows["token_start"].numpy(), windows["token_end"].numpy(),
                              windows["example_index"].numpy(), n_best_size=48, max_answer_length=30,
                              null_score_diff_threshold=0.37, version_2_with_negative=True)
    assert [a.decode() for a in served["answer"].numpy()] == [r["answer"] for r in reference]

    # A flag the saved preprocessing cannot take: one line naming it, exit 2, nothing written.
    # (As the pipeline's overlap, the saved stride 16 leaves no step in 48-token windows.)
    result = _keras_bert("export", "--model", str(tmp_path / "qa.keras"), "--out",
                         str(tmp_path / "hf" / "1"), "--qa-convention", "hf-pipeline",
                         "--doc-stride", "40")
    assert result.returncode == 2, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]  # TensorFlow's start-up lines come before it
    assert last.startswith("error: doc_stride=40 (the overlap of windows"), result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "hf").exists()


def test_bfloat16_serving_copy_keeps_the_preprocessor(tokenizer):
    from keras_bert.export.precision import with_backbone_dtype

    pre = ClassificationPreprocessor(tokenizer, 32, ["neg", "pos"])
    model = BertClassifier(_backbone(tokenizer), 2, preprocessor=pre)
    copy = with_backbone_dtype(model, "bfloat16")
    assert copy.preprocessor is pre and copy.backbone.dtype_policy.name == "bfloat16"
    np.testing.assert_allclose(copy.predict(TEXTS, verbose=0), model.predict(TEXTS, verbose=0), atol=2e-2)


def test_embedder_exports_with_its_own_pooling_and_preprocessing(tokenizer):
    from keras_bert.tasks.export import build_servable, task_of

    model = BertTextEmbedder(_backbone(tokenizer), pooling="cls", normalize=True,
                             preprocessor=TextPreprocessor(tokenizer, 32))
    assert task_of(model) == "embedding"
    servable = build_servable("embedding", model)  # no tokenizer, no pooling flag
    served = servable.signatures()["serving_default"](text=tf.constant(TEXTS))["embedding"].numpy()
    np.testing.assert_allclose(served, model.predict(TEXTS, verbose=0), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(served, axis=-1), 1.0, atol=1e-5)
    assert build_servable("embedding", model, pooling="mean").overrides == ["pooling: cls -> mean"]
