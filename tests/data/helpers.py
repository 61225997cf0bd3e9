"""Helpers for the pretraining-data tests: gather batches and measure what masking did."""

from __future__ import annotations

import numpy as np


def collect(dataset, max_batches: int | None = None) -> dict[str, np.ndarray]:
    """Concatenates `(x, y, sample_weight)` batches into NumPy arrays keyed by short names."""
    parts: dict[str, list[np.ndarray]] = {}
    for step, (x, y, weight) in enumerate(dataset):
        if max_batches is not None and step >= max_batches:
            break
        arrays = {
            "token_ids": x["token_ids"],
            "segment_ids": x["segment_ids"],
            "padding_mask": x["padding_mask"],
            "positions": x["mask_positions"],
            "ids": y["mlm_logits"],
            "labels": y["nsp_logits"],
            "weights": weight["mlm_logits"],
            "nsp_weights": weight["nsp_logits"],
        }
        for name, value in arrays.items():
            parts.setdefault(name, []).append(np.asarray(value))
    return {name: np.concatenate(values) for name, values in parts.items()}


def restore_original(data: dict[str, np.ndarray]) -> np.ndarray:
    """Token ids before masking: the masked ids put back at their positions."""
    original = data["token_ids"].copy()
    rows, slots = np.nonzero(data["weights"] > 0)
    original[rows, data["positions"][rows, slots]] = data["ids"][rows, slots]
    return original


def mlm_statistics(data: dict[str, np.ndarray], tokenizer) -> dict[str, float]:
    """Masked share of maskable tokens, and the [MASK] / unchanged / random split of masked ones."""
    original = restore_original(data)
    specials = [tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id]
    maskable = (data["padding_mask"] == 1) & ~np.isin(original, specials)
    rows, slots = np.nonzero(data["weights"] > 0)
    shown = data["token_ids"][rows, data["positions"][rows, slots]]
    truth = data["ids"][rows, slots]
    as_mask = shown == tokenizer.mask_token_id
    unchanged = ~as_mask & (shown == truth)
    return {
        "masked_fraction": len(rows) / maskable.sum(),
        "mask_share": as_mask.mean(),
        "unchanged_share": unchanged.mean(),
        "random_share": (~as_mask & ~unchanged).mean(),
        "num_masked": float(len(rows)),
    }


def word_ids(row: np.ndarray, length: int, continuation: np.ndarray, specials) -> np.ndarray:
    """Word index per position (-1 for specials/padding): a `##` piece joins the word before it."""
    words = np.full(row.shape, -1)
    current, previous_special = -1, True
    for i in range(length):
        token = row[i]
        if token in specials:
            previous_special = True
            continue
        if previous_special or not continuation[token]:
            current += 1
        words[i] = current
        previous_special = False
    return words


def count_split_words(data: dict[str, np.ndarray], tokenizer) -> tuple[int, int]:
    """(multi-piece words partly masked, multi-piece words seen) over all rows."""
    vocabulary = tokenizer.vocabulary
    continuation = np.array([t.startswith("##") for t in vocabulary])
    specials = {tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id}
    original = restore_original(data)
    split = multi = 0
    for r in range(len(original)):
        length = int(data["padding_mask"][r].sum())
        words = word_ids(original[r], length, continuation, specials)
        masked = np.zeros(len(words), bool)
        valid = data["weights"][r] > 0
        masked[data["positions"][r][valid]] = True
        for w in np.unique(words[words >= 0]):
            members = masked[words == w]
            if len(members) > 1:
                multi += 1
                split += int(0 < members.sum() < len(members))
    return split, multi


def check_structure(data: dict[str, np.ndarray], tokenizer, seq_len: int, max_predictions: int):
    """Shapes and the `[CLS] A [SEP] B [SEP]` layout; asserts, returns nothing."""
    n = len(data["labels"])
    assert data["token_ids"].shape == (n, seq_len)
    assert data["positions"].shape == (n, max_predictions)
    lengths = data["padding_mask"].sum(1)
    assert lengths.max() <= seq_len
    assert (data["weights"].sum(1) <= max_predictions).all()
    original = restore_original(data)
    assert (original[:, 0] == tokenizer.cls_token_id).all()
    assert ((original == tokenizer.sep_token_id) & (data["padding_mask"] == 1)).sum(1).tolist() == [
        2
    ] * n
    assert (original[np.arange(n), lengths - 1] == tokenizer.sep_token_id).all()
    # Padding: pad id, segment 0; segment ids 0 then 1, both segments non-empty.
    pad = data["padding_mask"] == 0
    assert (original[pad] == tokenizer.pad_token_id).all() and (data["segment_ids"][pad] == 0).all()
    for r in range(min(n, 500)):
        segments = data["segment_ids"][r][: lengths[r]]
        assert (np.diff(segments) >= 0).all() and segments[0] == 0 and segments[-1] == 1
    # Masked positions: ascending, inside the real tokens, never a special token.
    rows, slots = np.nonzero(data["weights"] > 0)
    positions = data["positions"][rows, slots]
    assert (positions < lengths[rows]).all() and (positions > 0).all()
    specials = [tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id]
    assert not np.isin(data["ids"][rows, slots], specials).any()
    assert not np.isin(original[rows, positions], specials).any()
    for r in range(min(n, 500)):
        valid = data["weights"][r] > 0
        assert (np.diff(data["positions"][r][valid]) > 0).all()
        assert valid[: valid.sum()].all()  # real slots first, then zero padding
    # Unused slots are zero with weight 0.
    unused = data["weights"] == 0
    assert (data["positions"][unused] == 0).all() and (data["ids"][unused] == 0).all()
    assert set(np.unique(data["labels"])) <= {0, 1}
    assert (data["nsp_weights"] == 1).all()
