"""SQuAD post-processing: window logits -> answer per example.

Two conventions (`SquadPreprocessor.convention`):
- "original" (google-research/bert's run_squad.py): `window_best_spans` + `select_answers` in
  TensorFlow (the export), `best_answers` both at once; `nbest_answers` is the NumPy/Python
  version with an n-best list, used for evaluation files and as a test reference.
- "hf-pipeline" (transformers' `QuestionAnsweringPipeline`, 4.57): `window_top_spans_hf` +
  `select_answers_hf` in TensorFlow.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

NEG_INF = -1e9


def window_best_spans(
    start_logits: tf.Tensor,
    end_logits: tf.Tensor,
    token_start: tf.Tensor,
    max_answer_length: int = 30,
) -> dict[str, tf.Tensor]:
    """Best span of each window on its own, in TensorFlow ops.

    Args:
        start_logits, end_logits: float (W, T).
        token_start: int32 (W, T) byte offsets, -1 off-context (`SquadPreprocessor`).
        max_answer_length: most tokens in an answer.
    Returns dict (W,): `best_score` float32 (start + end logit, `NEG_INF` when the window has no
        context token), `best_start`, `best_end` int32 token positions, `null_score` float32
        ([CLS] start + end). Memory (W, T, T): callers bound W (the export runs chunks of windows).
    """
    start_logits = tf.cast(start_logits, tf.float32)
    end_logits = tf.cast(end_logits, tf.float32)
    seq = tf.shape(start_logits)[1]
    valid = token_start >= 0  # (W, T)
    positions = tf.range(seq)
    length = positions[None, :] - positions[:, None]  # (T, T): end - start
    allowed = (length >= 0) & (length < max_answer_length)
    allowed = allowed[None] & valid[:, :, None] & valid[:, None, :]  # (W, T, T)
    scores = start_logits[:, :, None] + end_logits[:, None, :]
    scores = tf.where(allowed, scores, NEG_INF)
    flat = tf.reshape(scores, [tf.shape(scores)[0], -1])  # (W, T*T)
    best_flat = tf.argmax(flat, axis=1, output_type=tf.int32)
    return {
        "best_score": tf.reduce_max(flat, axis=1),
        "best_start": best_flat // seq,
        "best_end": best_flat % seq,
        "null_score": start_logits[:, 0] + end_logits[:, 0],
    }


def select_answers(
    context: tf.Tensor,
    spans: dict[str, tf.Tensor],
    token_start: tf.Tensor,
    token_end: tf.Tensor,
    example_index: tf.Tensor,
    null_score_diff_threshold: float = 0.0,
    version_2_with_negative: bool = False,
    relative_to_null: bool = False,
) -> dict[str, tf.Tensor]:
    """Each example's answer from its windows' best spans (`window_best_spans`), in TF ops.

    Args:
        context: string (B,), the original contexts.
        spans: `window_best_spans` output, (W,) each.
        token_start, token_end: int32 (W, T) byte offsets, -1 off-context.
        example_index: int32 (W,), window -> example.
        null_score_diff_threshold: v2.0: answer only if `null_score - best_score <= threshold`.
        version_2_with_negative: allow the empty answer.
        relative_to_null: the "nq" convention: windows compete on `best_score - null_score` (the
            window's best span against its own [CLS]); the returned `score` is that margin and
            `null_score` is 0. (A window's best span is the same either way.)
    Returns: as `best_answers`.
    """
    if relative_to_null:
        has_span = spans["best_score"] > NEG_INF / 2
        spans = {**spans, "null_score": tf.zeros_like(spans["null_score"]), "best_score": tf.where(
            has_span, spans["best_score"] - spans["null_score"], NEG_INF)}
    best_score, best_s, best_e = spans["best_score"], spans["best_start"], spans["best_end"]
    num_examples = tf.shape(context)[0]
    example_best = tf.math.unsorted_segment_max(best_score, example_index, num_examples)  # (B,)
    window_ids = tf.range(tf.shape(best_score)[0])
    is_best = best_score >= tf.gather(example_best, example_index)
    big = tf.shape(best_score)[0]
    chosen = tf.math.unsorted_segment_min(
        tf.where(is_best, window_ids, big), example_index, num_examples
    )  # (B,) window with the best span (first on ties)
    chosen = tf.minimum(chosen, big - 1)
    s_tok = tf.gather(best_s, chosen)
    e_tok = tf.gather(best_e, chosen)
    start_byte = tf.gather_nd(token_start, tf.stack([chosen, s_tok], axis=1))
    end_byte = tf.gather_nd(token_end, tf.stack([chosen, e_tok], axis=1))
    example_null = tf.math.unsorted_segment_min(spans["null_score"], example_index, num_examples)
    has_answer = example_best > NEG_INF / 2
    if version_2_with_negative:
        has_answer &= (example_null - example_best) <= null_score_diff_threshold
    start_byte = tf.where(has_answer, start_byte, -1)
    end_byte = tf.where(has_answer, end_byte, -1)
    answer = tf.where(
        has_answer,
        tf.strings.substr(context, tf.maximum(start_byte, 0), end_byte - start_byte, unit="BYTE"),
        "",
    )
    start_char = tf.strings.length(
        tf.strings.substr(
            context, tf.zeros_like(start_byte), tf.maximum(start_byte, 0), unit="BYTE"
        ),
        unit="UTF8_CHAR",
    )
    return {
        "answer": answer,
        "score": example_best,
        "null_score": example_null,
        "start_byte": start_byte,
        "end_byte": end_byte,
        "start_char": tf.where(has_answer, start_char, -1),
        "end_char": tf.where(has_answer, start_char + tf.strings.length(answer, "UTF8_CHAR"), -1),
        "has_answer": has_answer,
    }


def best_answers(
    context: tf.Tensor,
    start_logits: tf.Tensor,
    end_logits: tf.Tensor,
    token_start: tf.Tensor,
    token_end: tf.Tensor,
    example_index: tf.Tensor,
    max_answer_length: int = 30,
    null_score_diff_threshold: float = 0.0,
    version_2_with_negative: bool = False,
    relative_to_null: bool = False,
) -> dict[str, tf.Tensor]:
    """Best span over all windows of each example, in TensorFlow ops.

    Args:
        context: string (B,), the original contexts.
        start_logits, end_logits: float (W, T).
        token_start, token_end: int32 (W, T) byte offsets, -1 off-context (`SquadPreprocessor`).
        example_index: int32 (W,), window -> example.
        max_answer_length: most tokens in an answer.
        null_score_diff_threshold: v2.0: answer only if `null_score - best_score <= threshold`.
        version_2_with_negative: allow the empty answer.
        relative_to_null: the "nq" convention (see `select_answers`).
    Returns dict (B,): `answer` string, `score` float32 (start+end logit), `null_score` float32
        (min over windows of [CLS] start+end, as google-research/bert), `start_byte`, `end_byte`,
        `start_char`, `end_char` int32 (end exclusive; `context[start_char:end_char] == answer`),
        `has_answer` bool. Empty answer: -1 offsets.
    """
    spans = window_best_spans(start_logits, end_logits, token_start, max_answer_length)
    return select_answers(
        context, spans, token_start, token_end, example_index,
        null_score_diff_threshold, version_2_with_negative, relative_to_null,
    )


def _byte_span_to_text(context: str, start_byte: int, end_byte: int) -> tuple[str, int, int]:
    raw = context.encode("utf-8")
    start_char = len(raw[:start_byte].decode("utf-8", errors="ignore"))
    text = raw[start_byte:end_byte].decode("utf-8", errors="replace")
    return text, start_char, start_char + len(text)


def nbest_answers(
    contexts: list[str],
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    token_start: np.ndarray,
    token_end: np.ndarray,
    example_index: np.ndarray,
    n_best_size: int = 20,
    max_answer_length: int = 30,
    null_score_diff_threshold: float = 0.0,
    version_2_with_negative: bool = False,
    relative_to_null: bool = False,
) -> list[dict]:
    """google-research/bert `write_predictions` logic in NumPy: per example an n-best list.

    Candidates: the `n_best_size` best start and end positions of each window, kept when both are
    context tokens, `start <= end` and the span has at most `max_answer_length` tokens. Returns one
    dict per example: `answer`, `start_char`, `end_char`, `score`, `null_score`, `nbest` (list of
    dicts with `text`, `score`, `probability`). `relative_to_null` ("nq" convention): a span
    scores its logits minus its window's [CLS] logits, and the null score is 0.
    """
    results = []
    by_example: dict[int, list[int]] = {}
    for w, e in enumerate(np.asarray(example_index).tolist()):
        by_example.setdefault(e, []).append(w)
    for ex, context in enumerate(contexts):
        candidates = []
        null_score = np.inf
        for w in by_example.get(ex, []):
            s_log, e_log = start_logits[w], end_logits[w]
            window_null = float(s_log[0] + e_log[0])
            null_score = min(null_score, 0.0 if relative_to_null else window_null)
            offset = window_null if relative_to_null else 0.0
            starts = np.argsort(-s_log)[:n_best_size]
            ends = np.argsort(-e_log)[:n_best_size]
            for i in starts:
                for j in ends:
                    if token_start[w, i] < 0 or token_end[w, j] < 0:
                        continue
                    if j < i or j - i + 1 > max_answer_length:
                        continue
                    candidates.append((float(s_log[i] + e_log[j]) - offset, w, int(i), int(j)))
        candidates.sort(key=lambda c: -c[0])
        nbest, seen = [], set()
        for score, w, i, j in candidates:
            text, s_char, e_char = _byte_span_to_text(
                context, int(token_start[w, i]), int(token_end[w, j])
            )
            if text in seen:
                continue
            seen.add(text)
            nbest.append({"text": text, "score": score, "start_char": s_char, "end_char": e_char})
            if len(nbest) >= n_best_size:
                break
        if version_2_with_negative:
            nbest.append({"text": "", "score": null_score, "start_char": -1, "end_char": -1})
        if not nbest:
            nbest.append({"text": "", "score": 0.0, "start_char": -1, "end_char": -1})
        scores = np.array([c["score"] for c in nbest])
        probs = np.exp(scores - scores.max())
        probs /= probs.sum()
        for c, p in zip(nbest, probs, strict=True):
            c["probability"] = float(p)
        best_non_null = next((c for c in nbest if c["text"]), None)
        answer = best_non_null
        if version_2_with_negative and (
            best_non_null is None or null_score - best_non_null["score"] > null_score_diff_threshold
        ):
            answer = None
        results.append(
            {
                "answer": answer["text"] if answer else "",
                "start_char": answer["start_char"] if answer else -1,
                "end_char": answer["end_char"] if answer else -1,
                "score": best_non_null["score"] if best_non_null else float("-inf"),
                "null_score": null_score,
                "nbest": sorted(nbest, key=lambda c: -c["score"]),
            }
        )
    return results


# The pipeline's candidates per window: `pre_topk = top_k * 2 + 10` with top_k=1, align_to_words.
HF_CANDIDATES_PER_WINDOW = 12
HF_MASKED_LOGIT = -10000.0  # what the pipeline puts on tokens that cannot be in the answer


def _softmax_like_hf(logits: tf.Tensor) -> tf.Tensor:
    """`exp(x - max) / sum`, as the pipeline computes it (float32, last axis)."""
    exp = tf.exp(logits - tf.reduce_max(logits, axis=-1, keepdims=True))
    return exp / tf.reduce_sum(exp, axis=-1, keepdims=True)


def window_top_spans_hf(
    start_logits: tf.Tensor,
    end_logits: tf.Tensor,
    token_ids: tf.Tensor,
    token_start: tf.Tensor,
    token_end: tf.Tensor,
    continuation: tf.Tensor,
    max_answer_length: int = 30,
    candidates: int = HF_CANDIDATES_PER_WINDOW,
) -> dict[str, tf.Tensor]:
    """Each window's candidate spans as the Hugging Face QA pipeline finds them, in TF ops.

    Per window (`select_starts_ends` / `decode_spans`): logits of tokens that cannot be in the
    answer (question, [SEP], padding) become -10000; start and end logits are soft-maxed over the
    window separately; the null score is p_start([CLS]) * p_end([CLS]); [CLS] is then zeroed and a
    span (s, e) with s <= e <= s + max_answer_length - 1 scores p_start(s) * p_end(e); the
    `candidates` best are kept in descending order. Each is widened to whole words, as
    `align_to_words=True` does (`token_to_word` / `word_to_chars`): from the first piece of the
    start token's word to the last piece of the end token's word inside the window.

    Args:
        start_logits, end_logits: float (W, T).
        token_ids: int32 (W, T); token_start, token_end: int32 (W, T) byte offsets, -1 off-context.
        continuation: bool (V,), `##` pieces (`text_cut.continuation_table`).
        max_answer_length: most tokens in an answer (the pipeline's `max_answer_len`).
        candidates: spans kept per window.
    Returns dict: `score` float32 (W, K), `start_byte`, `end_byte` int32 (W, K) (end exclusive),
        `valid` bool (W, K) (a context span with a positive score), `null_score` float32 (W,).
    """
    start_logits = tf.cast(start_logits, tf.float32)
    end_logits = tf.cast(end_logits, tf.float32)
    num_windows, seq = tf.shape(start_logits)[0], tf.shape(start_logits)[1]
    positions = tf.range(seq)
    context = token_start >= 0  # (W, T)
    allowed = context | (positions[None, :] == 0)  # the pipeline keeps [CLS] in the softmax
    p_start = _softmax_like_hf(tf.where(allowed, start_logits, HF_MASKED_LOGIT))
    p_end = _softmax_like_hf(tf.where(allowed, end_logits, HF_MASKED_LOGIT))
    null_score = p_start[:, 0] * p_end[:, 0]  # (W,)
    not_cls = tf.cast(positions[None, :] > 0, tf.float32)
    p_start, p_end = p_start * not_cls, p_end * not_cls
    length = positions[None, :] - positions[:, None]  # (T, T): end - start
    band = (length >= 0) & (length < max_answer_length)
    scores = tf.where(band[None], p_start[:, :, None] * p_end[:, None, :], 0.0)  # (W, T, T)
    k = tf.minimum(candidates, seq * seq)
    top_scores, top_index = tf.math.top_k(tf.reshape(scores, [num_windows, -1]), k=k)  # (W, K)
    s_tok, e_tok = top_index // seq, top_index % seq
    valid = (tf.gather(context, s_tok, batch_dims=1) & tf.gather(context, e_tok, batch_dims=1)
             & (top_scores > 0))

    # Words: a context token that is not a `##` piece, or the first context token of the window,
    # starts one; its pieces follow it.
    previous_context = tf.concat([tf.zeros_like(context[:, :1]), context[:, :-1]], axis=1)
    word_start = context & (~tf.gather(continuation, token_ids) | ~previous_context)
    word_id = tf.cumsum(tf.cast(word_start, tf.int32), axis=1) - 1  # (W, T)
    rows = tf.repeat(tf.range(num_windows)[:, None], seq, axis=1)
    segment = tf.where(context & (word_id >= 0), rows * seq + word_id, num_windows * seq)
    token_index = tf.broadcast_to(positions[None, :], tf.shape(segment))
    first = tf.math.unsorted_segment_min(token_index, segment, num_windows * seq + 1)
    last = tf.math.unsorted_segment_max(token_index, segment, num_windows * seq + 1)

    def word_edge(edge: tf.Tensor, tok: tf.Tensor) -> tf.Tensor:
        word = tf.gather(segment, tok, batch_dims=1)  # (W, K)
        return tf.clip_by_value(tf.gather(edge, word), 0, seq - 1)

    start_tok, end_tok = word_edge(first, s_tok), word_edge(last, e_tok)
    return {
        "score": top_scores,
        "start_byte": tf.where(valid, tf.gather(token_start, start_tok, batch_dims=1), -1),
        "end_byte": tf.where(valid, tf.gather(token_end, end_tok, batch_dims=1), -1),
        "valid": valid,
        "null_score": null_score,
    }


def select_answers_hf(
    context: tf.Tensor,
    spans: dict[str, tf.Tensor],
    example_index: tf.Tensor,
    null_score_diff_threshold: float = 0.0,
    version_2_with_negative: bool = False,
) -> dict[str, tf.Tensor]:
    """Each example's answer from its windows' candidates (`window_top_spans_hf`), as the pipeline's
    `postprocess` picks it, in TF ops.

    Candidates are taken window by window in score order; one whose text equals an earlier one's
    (case-insensitively, within the example) adds its score to that one's and keeps its offsets;
    the answer is the best total (the earliest on ties). With `version_2_with_negative`
    (`handle_impossible_answer`) the answer is empty when the null score (lowest over windows)
    beats it by more than `null_score_diff_threshold` (the pipeline: by anything, threshold 0).

    Returns dict (B,): `answer` string, `score` float32 (the answer's summed probability; the null
    score when empty), `null_score`, `start_byte`, `end_byte`, `start_char`, `end_char` int32
    (end exclusive, -1 when empty), `has_answer` bool.
    """
    num_examples = tf.shape(context)[0]
    per_window = tf.shape(spans["score"])[1]
    valid = tf.reshape(spans["valid"], [-1])
    example = tf.boolean_mask(tf.repeat(example_index, per_window), valid)  # (N,) in pipeline order
    score = tf.boolean_mask(tf.reshape(spans["score"], [-1]), valid)
    start_byte = tf.boolean_mask(tf.reshape(spans["start_byte"], [-1]), valid)
    end_byte = tf.boolean_mask(tf.reshape(spans["end_byte"], [-1]), valid)
    text = tf.strings.substr(tf.gather(context, example), start_byte, end_byte - start_byte, unit="BYTE")
    key = tf.strings.join([tf.strings.as_string(example), tf.strings.lower(text, encoding="utf-8")],
                          separator="\x1f")
    unique_keys, group = tf.unique(key)  # groups numbered in order of first appearance
    num_groups = tf.size(unique_keys)
    order = tf.range(tf.shape(group)[0])
    group_score = tf.math.unsorted_segment_sum(tf.cast(score, tf.float64), group, num_groups)
    group_first = tf.math.unsorted_segment_min(order, group, num_groups)  # its first candidate
    group_example = tf.gather(example, group_first)
    best = tf.math.unsorted_segment_max(group_score, group_example, num_examples)  # (B,)
    is_best = group_score >= tf.gather(best, group_example)
    big = tf.shape(order)[0]
    chosen = tf.math.unsorted_segment_min(tf.where(is_best, group_first, big), group_example, num_examples)
    found = chosen < big  # index `big` is the padding below: an example without candidates
    null_score = tf.cast(
        tf.math.unsorted_segment_min(spans["null_score"], example_index, num_examples), tf.float64)
    has_answer = found
    if version_2_with_negative:
        has_answer &= (null_score - best) <= null_score_diff_threshold
    start_byte = tf.where(has_answer, tf.gather(tf.concat([start_byte, [0]], 0), chosen), -1)
    end_byte = tf.where(has_answer, tf.gather(tf.concat([end_byte, [0]], 0), chosen), -1)
    answer = tf.where(
        has_answer,
        tf.strings.substr(context, tf.maximum(start_byte, 0), end_byte - start_byte, unit="BYTE"),
        "",
    )
    start_char = tf.strings.length(
        tf.strings.substr(context, tf.zeros_like(start_byte), tf.maximum(start_byte, 0), unit="BYTE"),
        unit="UTF8_CHAR",
    )
    return {
        "answer": answer,
        "score": tf.cast(tf.where(has_answer, best, null_score), tf.float32),
        "null_score": tf.cast(null_score, tf.float32),
        "start_byte": start_byte,
        "end_byte": end_byte,
        "start_char": tf.where(has_answer, start_char, -1),
        "end_char": tf.where(has_answer, start_char + tf.strings.length(answer, "UTF8_CHAR"), -1),
        "has_answer": has_answer,
    }
