"""SQuAD windows (in-graph): doc stride, question truncation, answers at window edges / later
windows / unanswerable, and post-processing back to character spans in the original context."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from task_helpers import make_packer

from keras_bert.preprocessing.squad_postprocessing import best_answers, nbest_answers
from keras_bert.preprocessing.squad_preprocessor import (
    SquadPreprocessor,
    byte_to_char,
    char_to_byte,
)

SEQ, STRIDE, MAXQ = 24, 6, 5
# 40 plain words, each one WordPiece token in the uncased vocab.
WORDS = (
    "alpha bravo charlie delta echo fox golf hotel india juliet king lima mike november oscar "
    "papa quebec romeo sierra tango uniform victor whiskey yankee zulu red blue green yellow "
    "black white orange purple brown pink gray gold silver copper iron"
).split()
CONTEXT = " ".join(WORDS)


@pytest.fixture(scope="module")
def pre(tokenizer):
    return SquadPreprocessor(tokenizer, make_packer(tokenizer, SEQ), SEQ, STRIDE, MAXQ)


def windows(pre, questions, contexts, answers):
    """answers: list of answer text or None; located with str.find."""
    starts = [c.find(a) if a else -1 for a, c in zip(answers, contexts, strict=True)]
    ends = [s + len(a) if a else -1 for s, a in zip(starts, answers, strict=True)]
    c = tf.constant(contexts)
    out = pre.windows(
        tf.constant(questions), c, char_to_byte(c, tf.constant(starts)), char_to_byte(c, tf.constant(ends))
    )
    return {k: v.numpy() for k, v in out.items()}


def reference_window_starts(n_tokens: int, span: int, stride: int) -> list[int]:
    """google-research/bert run_squad.py doc-span loop."""
    starts, start = [], 0
    while start < n_tokens:
        length = min(n_tokens - start, span)
        starts.append(start)
        if start + length == n_tokens:
            break
        start += min(length, stride)
    return starts


def span_text(context: str, out: dict, w: int, s: int, e: int) -> str:
    raw = context.encode()
    return raw[out["token_start"][w, s] : out["token_end"][w, e]].decode()


def test_window_layout_matches_reference(pre, tokenizer):
    out = windows(pre, ["what colour"], [CONTEXT], [None])
    q_len = 2
    span = SEQ - q_len - 3
    expected = reference_window_starts(len(WORDS), span, STRIDE)
    assert len(out["example_index"]) == len(expected)
    for w, start in enumerate(expected):
        first_ctx = q_len + 2
        assert span_text(CONTEXT, out, w, first_ctx, first_ctx) == WORDS[start]
        assert out["token_ids"][w, 0] == tokenizer.cls_token_id
        # Off-context positions carry -1 offsets.
        assert (out["token_start"][w, :first_ctx] == -1).all()
    # The last window reaches the last word.
    last = out["token_end"][-1]
    assert CONTEXT.encode()[: last.max()].decode().endswith(WORDS[-1])


def test_question_truncated_to_max_query_length(pre):
    out = windows(pre, ["one two three four five six seven eight"], [CONTEXT], [None])
    segments = out["segment_ids"][0]
    first_context = int(np.argmax(out["token_start"][0] >= 0))
    assert first_context == MAXQ + 2  # [CLS] + 5 question tokens + [SEP]
    assert (segments[:first_context] == 0).all() and segments[first_context] == 1


def test_answer_spanning_window_edge_and_in_later_window(pre):
    q_len = 2
    span = SEQ - q_len - 3  # 19 context tokens per window
    # Crosses the end of window 0 (tokens 17..20), wholly inside window 1 (starts at 6).
    edge = " ".join(WORDS[17:21])
    late = " ".join(WORDS[36:39])  # only the last window holds it
    out = windows(pre, ["what colour", "what colour"], [CONTEXT, CONTEXT], [edge, late])
    ex = out["example_index"]
    starts, ends = out["start_positions"], out["end_positions"]
    w0 = np.flatnonzero(ex == 0)
    assert starts[w0[0]] == 0 and ends[w0[0]] == 0  # not wholly inside window 0 -> [CLS]
    labelled = [w for w in w0 if starts[w] > 0]
    assert labelled, "some window must hold the edge answer"
    for w in labelled:
        assert span_text(CONTEXT, out, w, starts[w], ends[w]) == edge
    w1 = np.flatnonzero(ex == 1)
    holders = [w for w in w1 if starts[w] > 0]
    assert holders and holders[0] != w1[0]
    for w in holders:
        assert span_text(CONTEXT, out, w, starts[w], ends[w]) == late
    assert span < len(WORDS)


def test_unanswerable_points_at_cls(pre):
    out = windows(pre, ["why"], [CONTEXT], [None])
    assert (out["start_positions"] == 0).all() and (out["end_positions"] == 0).all()


def test_tf_data_map_matches_eager(pre):
    contexts = [CONTEXT, "short context here"]
    questions = ["what colour", "where"]
    eager = windows(pre, questions, contexts, [None, None])
    ds = tf.data.Dataset.from_tensor_slices((questions, contexts)).batch(2)
    ds = ds.map(lambda q, c: pre.windows(q, c)).unbatch()
    rows = list(ds.as_numpy_iterator())
    assert len(rows) == len(eager["example_index"])
    np.testing.assert_array_equal(np.stack([r["token_ids"] for r in rows]), eager["token_ids"])


@pytest.mark.parametrize("relative_to_null", [False, True], ids=["original", "nq"])
def test_best_answers_in_graph_matches_python_nbest(pre, relative_to_null):
    contexts = ["Zoë Ångström lives in Köln , near the river Rhine . " + CONTEXT, CONTEXT]
    questions = ["where does she live", "what colour"]
    out = windows(pre, questions, contexts, [None, None])
    rng = np.random.default_rng(1)
    start = rng.normal(size=out["token_ids"].shape).astype("float32")
    end = rng.normal(size=out["token_ids"].shape).astype("float32")
    fn = tf.function(lambda *a: best_answers(
        *a, max_answer_length=4, relative_to_null=relative_to_null))
    got = fn(tf.constant(contexts), start, end, out["token_start"], out["token_end"], out["example_index"])
    ref = nbest_answers(contexts, start, end, out["token_start"], out["token_end"],
                        out["example_index"], n_best_size=SEQ, max_answer_length=4,
                        relative_to_null=relative_to_null)
    for i, context in enumerate(contexts):
        answer = got["answer"].numpy()[i].decode()
        assert answer == ref[i]["answer"] and answer
        s, e = int(got["start_char"][i]), int(got["end_char"][i])
        assert context[s:e] == answer
        assert got["score"].numpy()[i] == pytest.approx(ref[i]["score"], abs=1e-5)


def test_null_threshold_v2(pre):
    out = windows(pre, ["what"], [CONTEXT], [None])
    start = np.zeros(out["token_ids"].shape, "float32")
    end = np.zeros_like(start)
    start[:, 0] = end[:, 0] = 5.0  # strong [CLS] in every window
    start[0, 5] = end[0, 5] = 1.0  # weaker span
    args = (tf.constant([CONTEXT]), start, end, out["token_start"], out["token_end"], out["example_index"])
    v2 = best_answers(*args, version_2_with_negative=True)
    assert not bool(v2["has_answer"][0]) and v2["answer"].numpy()[0] == b""
    loose = best_answers(*args, version_2_with_negative=True, null_score_diff_threshold=9.0)
    assert bool(loose["has_answer"][0])
    v1 = best_answers(*args)
    assert bool(v1["has_answer"][0]) and v1["answer"].numpy()[0] != b""


def test_nq_convention_compares_windows_by_their_margin_over_cls(pre):
    """A window that prefers "no answer" loses to one that prefers its span, however high its raw
    span logits: "original" takes the raw sum, "nq" the margin over the window's own [CLS]."""
    out = windows(pre, ["what"], [CONTEXT], [None])
    assert len(out["example_index"]) >= 3
    start = np.zeros(out["token_ids"].shape, "float32")
    end = np.zeros_like(start)
    context_tokens = [np.flatnonzero(out["token_start"][w] >= 0) for w in range(2)]
    loud, sure = context_tokens[0][1], context_tokens[1][-1]  # the last token is not in window 0
    start[:, 0] = end[:, 0] = 3.0
    start[0, 0] = end[0, 0] = 8.0  # window 0: [CLS] wins, by 2 over its span...
    start[0, loud] = end[0, loud] = 7.0  # ...which is the loudest span of all (14)
    start[1, sure] = end[1, sure] = 5.0  # window 1: span 10 beats its [CLS] 6
    args = (tf.constant([CONTEXT]), start, end, out["token_start"], out["token_end"], out["example_index"])
    original, nq = best_answers(*args), best_answers(*args, relative_to_null=True)
    assert original["answer"].numpy()[0].decode() == span_text(CONTEXT, out, 0, loud, loud)
    assert nq["answer"].numpy()[0].decode() == span_text(CONTEXT, out, 1, sure, sure)
    assert float(nq["score"][0]) == pytest.approx(4.0) and float(nq["null_score"][0]) == 0.0
    # v2.0: answered only while the margin is at least minus the threshold.
    for threshold, answered in ((-4.5, False), (-3.5, True)):
        v2 = best_answers(*args, version_2_with_negative=True, relative_to_null=True,
                          null_score_diff_threshold=threshold)
        assert bool(v2["has_answer"][0]) == answered


def test_byte_char_conversion_non_ascii():
    text = tf.constant(["Köln ü x"])
    assert int(char_to_byte(text, tf.constant([5]))[0]) == 6
    assert int(byte_to_char(text, tf.constant([6]))[0]) == 5


def test_negative_window_subsampling_keeps_every_answer_window(pre):
    from keras_bert.tasks.question_answering.finetune import dataset

    late = " ".join(WORDS[36:39])
    examples = [
        {"question": "what colour", "context": CONTEXT,
         "answers": [{"text": late, "answer_start": CONTEXT.find(late)}] if i % 2 else []}
        for i in range(40)
    ]

    def targets(rate):
        ds = dataset(examples, pre, batch_size=1000, shuffle=True, seed=1, negative_window_rate=rate)
        return np.concatenate([y["start_logits"].numpy() for _, y in ds])

    everything, none, some = targets(1.0), targets(0.0), targets(0.3)
    answered = int((everything > 0).sum())
    assert answered == 20 and len(everything) > 4 * answered  # most windows hold no answer
    assert (none > 0).all() and len(none) == answered  # rate 0: only the answer windows
    negatives = len(everything) - answered
    kept = int((some == 0).sum())
    assert (some > 0).sum() == answered
    assert abs(kept - 0.3 * negatives) <= 4 * np.sqrt(0.3 * 0.7 * negatives)  # binomial, 4 sigma
