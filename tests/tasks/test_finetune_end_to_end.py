"""End-to-end (slow): from the real all-MiniLM-L6-v2 weights, fine-tune on small real subsets and
beat the majority-class / all-O / empty-answer baselines on held-out splits. Figures printed."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def _needs_weights():
    from keras_bert import presets

    try:
        presets.minilm_dir()
    except FileNotFoundError as error:
        pytest.skip(str(error))


def _config(tmp_path, name, **kw):
    from keras_bert.tasks.common import RunConfig

    return RunConfig(init="all-minilm-l6-v2", model_dir=str(tmp_path / name), verbose=0, **kw)


def test_finetune_beats_baselines(tmp_path):
    from keras_bert.tasks.classification import finetune as classify
    from keras_bert.tasks.question_answering import finetune as qa
    from keras_bert.tasks.token_classification import finetune as ner

    figures = {}
    # Topic classification (BBC, 5 classes): majority baseline ~0.23.
    data = classify.load_data("bbc", None)
    result = classify.finetune(data, _config(
        tmp_path, "cls", sequence_length=64, batch_size=16, steps=20, eval_every=20,
        max_examples=384, max_eval_examples=160, learning_rate=1e-4))
    figures["classify"] = {k: result[k] for k in ("accuracy", "macro_f1", "majority_baseline")}
    # NER (CoNLL-2003 excerpt): the all-O baseline has entity F1 0.
    data = ner.load_data("conll_sample", None)
    result = ner.finetune(data, _config(
        tmp_path, "ner", sequence_length=48, batch_size=16, steps=48, eval_every=48,
        learning_rate=2e-4))
    figures["ner"] = {k: result[k] for k in ("f1", "precision", "recall", "all_O_baseline_f1")}
    # QA (DisflQA answerable questions, v1.1 style): the empty-answer baseline scores F1 0. (With
    # the unanswerable ones in, this few steps only learn to predict "no answer" everywhere.)
    # `answerable_only` is `--answerable-only`: it drops them from both splits.
    data = qa.load_data("disflqa", None)
    result = qa.finetune(data, _config(
        tmp_path, "qa", sequence_length=160, batch_size=16, steps=50, eval_every=50,
        max_examples=400, max_eval_examples=120, doc_stride=96, max_query_length=32,
        learning_rate=2e-4, answerable_only=True))
    assert result["empty_answer_baseline_f1"] == 0.0  # no unanswerable question was kept
    figures["qa"] = {k: result[k] for k in ("f1", "exact", "empty_answer_baseline_f1")}
    print("\nfine-tuning figures:", json.dumps(figures, indent=1))

    assert figures["classify"]["accuracy"] >= figures["classify"]["majority_baseline"] + 0.30
    assert figures["ner"]["f1"] >= 0.25
    # 50 CPU steps on 400 questions: F1 10.5 observed here (the same model reaches train F1 69, so
    # data, not the pipeline, limits it). Full runs: bench/finetune_full.py qa.
    assert figures["qa"]["f1"] >= figures["qa"]["empty_answer_baseline_f1"] + 6.0
