"""Every request costs bounded memory: exports cut texts before tokenizing and run the model a
chunk of rows at a time. The reference for each check is the same servable code without the cut
and with one chunk (the export as it was before), or the plain one-batch QA post-processing."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from export_models import NER_LABELS, QA_OPTIONS
from keras_bert.export.writer import export_servable

from keras_bert.tasks import registry
from keras_bert.tasks.export import build_servable

LONG = ("Anna Karenina spoke in Paris about café culture, naïve art and the 1900s; "
        "Zürich ☕ followed. ") * 200  # ~17 KB, far beyond 128 tokens
TEXTS = [LONG, "short text", "", " " * 3000 + LONG[:500], "中文" * 900, "Paris [MASK] is " * 300]
QUESTIONS = ["Who spoke in Paris?", "Was ist Zürich?", "Which art?", "what " * 40]
CONTEXTS = [
    LONG[:3000],  # many windows
    "Zürich ist eine Stadt in der Schweiz.",  # one window
    "Anna spoke in Paris about café culture and the naïve art of the 1900s. " * 3,
    "A short context.",
]


def _uncut(servable):
    """The servable as exports were before: texts tokenized whole (and one model run)."""
    servable.preprocessor.cut = lambda text, max_tokens=None: text
    return servable


def _run(servable, *texts) -> dict[str, np.ndarray]:
    fn = servable.signatures()["serving_default"]
    names = servable.text_inputs
    return {k: v.numpy() for k, v in fn(**{n: tf.constant(t) for n, t in zip(names, texts, strict=True)}).items()}


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        if a[name].dtype.kind == "f":
            np.testing.assert_allclose(a[name], b[name], atol=2e-5, err_msg=name)
        else:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)


@pytest.mark.parametrize("task", ["classification", "token-classification", "fill-mask", "embedding"])
def test_cut_and_chunked_texts_answer_as_uncut_ones(task, models, tokenizer):
    model, options = models[task]
    bounded = build_servable(task, model, tokenizer, chunk_size=2, **options)
    before = _uncut(build_servable(task, model, tokenizer, chunk_size=10**6, **options))
    texts = [TEXTS] * len(bounded.text_inputs)
    out = _run(bounded, *texts)
    _assert_same(out, _run(before, *texts))
    if task == "token-classification":  # entities of the long text come from its first 126 tokens
        assert set(out["entity_label"].ravel().astype(str)) <= set(n[2:] for n in NER_LABELS) | {""}


def test_cut_bounds_what_is_tokenized(models, tokenizer):
    servable = build_servable("classification", models["classification"][0], tokenizer)
    cut = tf.function(lambda t: servable.cut(t))(tf.constant([LONG * 10, "ok"])).numpy()
    assert len(cut[0]) < 4096 < len((LONG * 10).encode())  # 170 KB cut to a few KB
    assert cut[1] == b"ok"


@pytest.mark.parametrize("v2", [False, True])
@pytest.mark.parametrize("convention", ["original", "nq"])
def test_chunked_qa_matches_one_batch_post_processing(convention, v2, models, tokenizer):
    from keras_bert.preprocessing.squad_postprocessing import best_answers

    model, options = models["question-answering"]
    settings = dict(version_2_with_negative=v2, null_score_diff_threshold=0.5 if v2 else 0.0)
    servable = build_servable("question-answering", model, tokenizer, chunk_size=3,
                              convention=convention, **settings, **options)
    assert servable.preprocessor.convention == convention
    windows = servable.preprocessor.windows(tf.constant(QUESTIONS), tf.constant(CONTEXTS))
    assert windows["example_index"].shape[0] > 3 * len(CONTEXTS)  # several chunks of windows
    logits = model({k: windows[k] for k in ("token_ids", "segment_ids", "padding_mask")}, training=False)
    expected = best_answers(
        tf.constant(CONTEXTS), logits["start_logits"], logits["end_logits"], windows["token_start"],
        windows["token_end"], windows["example_index"], max_answer_length=options["max_answer_length"],
        relative_to_null=convention == "nq", **settings,
    )
    out = _run(servable, QUESTIONS, CONTEXTS)
    for name in ("answer", "start_char", "end_char", "has_answer"):
        np.testing.assert_array_equal(out[name], expected[name].numpy(), err_msg=name)
    np.testing.assert_allclose(out["score"], expected["score"].numpy(), atol=1e-5)
    assert out["has_answer"].any()


@pytest.fixture(scope="module")
def qa_export(models, tokenizer, tmp_path_factory):
    model, options = models["question-answering"]
    servable = build_servable("question-answering", model, tokenizer, chunk_size=4,
                              max_context_bytes=4000, **options)
    return export_servable(servable, tmp_path_factory.mktemp("bounded") / "qa" / "1")


@pytest.fixture(scope="module")
def serve_qa(qa_export):
    """`run(signature, inputs)`: one `Session.run` on a SignatureDef after TF Serving's loading steps."""
    graph = tf.Graph()
    with graph.as_default():
        session = tf.compat.v1.Session(graph=graph)
        meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(qa_export))

    def run(signature: str, inputs: dict) -> dict:
        sig = meta_graph.signature_def[signature]
        feeds = {sig.inputs[k].name: v for k, v in inputs.items()}
        return session.run({k: v.name for k, v in sig.outputs.items()}, feeds)

    yield run
    session.close()


def test_context_bytes_over_the_export_limit_are_refused_naming_it(serve_qa):
    ok = serve_qa("serving_default", {"question": ["Who?", "What?"], "context": [CONTEXTS[0], CONTEXTS[2]]})
    assert ok["answer"].shape == (2,)
    with pytest.raises(tf.errors.InvalidArgumentError, match="max_context_bytes") as error:
        serve_qa("serving_default", {"question": ["Who?", "What?"], "context": [LONG[:2500]] * 2})
    assert "4000 bytes" in str(error.value)


def test_token_id_signatures_refuse_out_of_range_ids(serve_qa):
    good = {"token_ids": [[101, 2054, 102]], "segment_ids": [[0, 0, 0]], "padding_mask": [[1, 1, 1]]}
    assert serve_qa("serving_token_ids", good)["start_logits"].shape == (1, 3)
    for bad in ({"token_ids": [[101, -5, 102]]}, {"token_ids": [[101, 10**6, 102]]},
                {"segment_ids": [[0, -1, 0]]}, {"padding_mask": [[1, 2, 1]]}):
        with pytest.raises(tf.errors.InvalidArgumentError, match=next(iter(bad))):
            serve_qa("serving_token_ids", {**good, **bad})


def test_export_info_states_the_limits(qa_export):
    import json

    info = json.loads((qa_export / "assets.extra" / "export_info.json").read_text())
    assert info["task"] == registry.get("qa").name == "question-answering"
    assert info["limits"] == {"chunk_size": 4, "sequence_length": QA_OPTIONS["sequence_length"],
                              "max_context_bytes": 4000}
