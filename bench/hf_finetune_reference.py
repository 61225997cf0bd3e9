"""The Hugging Face side of `compare_finetune_hf.py`: fine-tune and score with transformers + torch.

What a Hugging Face user writes (the `run_qa.py` / `run_glue.py` recipes as a plain torch loop):
`AutoTokenizer` + `BertForQuestionAnswering` / `BertForSequenceClassification` from the same MiniLM
folder, AdamW (weight decay 0.01, none on biases and LayerNorm), linear warm-up over 10% of the
steps then linear decay, gradient clipped to norm 1.0, dropout on. QA windows are HF's
(`return_overflowing_tokens`, `stride` = overlap), impossible windows point at [CLS], and answers
come from HF's standard SQuAD post-processing (`utils_qa.postprocess_qa_predictions`: n-best 20
starts x 20 ends per window, score = start + end logit, the minimum null score over windows,
`null_score_diff_threshold`). Scores use the same official-metric code as ours.

    python bench/hf_finetune_reference.py qa  TRAIN.json EVAL.json OUT.json --epochs 2 ...
    python bench/hf_finetune_reference.py classification TRAIN.jsonl EVAL.jsonl OUT.json ...

Imports torch/transformers: run it in a process of its own (the driver does).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from transformers import (
    AutoTokenizer,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    get_linear_schedule_with_warmup,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from keras_bert.data.tasks.readers import read_squad  # noqa: E402 (TensorFlow-free readers)
from keras_bert.metrics.squad import squad_evaluate  # noqa: E402
from keras_bert.presets import minilm_dir  # noqa: E402


def optimizer_and_schedule(model, lr: float, total_steps: int, warmup_fraction: float = 0.1):
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
         "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)],
         "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=lr)
    schedule = get_linear_schedule_with_warmup(
        optimizer, int(warmup_fraction * total_steps), total_steps)
    return optimizer, schedule


def train(model, batches: list[dict], epochs: int, lr: float, seed: int) -> float:
    """Shuffled mini-batches each epoch; returns seconds spent."""
    total = epochs * len(batches)
    optimizer, schedule = optimizer_and_schedule(model, lr, total)
    generator = np.random.default_rng(seed)
    model.train()
    started, step = time.time(), 0
    for epoch in range(epochs):
        for i in generator.permutation(len(batches)):
            loss = model(**batches[i]).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            if step % 50 == 0 or step == total:
                print(f"  hf epoch {epoch + 1} step {step}/{total} loss {loss.item():.3f} "
                      f"({time.time() - started:.0f}s)", flush=True)
    return time.time() - started


def batched(features: dict, keys: list[str], batch_size: int, shuffle_rng=None) -> list[dict]:
    n = len(features[keys[0]])
    order = shuffle_rng.permutation(n) if shuffle_rng is not None else np.arange(n)
    batches = []
    for lo in range(0, n, batch_size):
        rows = order[lo : lo + batch_size]
        batches.append({k: torch.tensor(np.asarray(features[k])[rows]) for k in keys})
    return batches


# ------------------------------------------------------------------------------------------ QA


def qa_train_features(tokenizer, examples, max_length, stride, max_query_length):
    """HF `run_qa.py` `prepare_train_features` (questions cut to `max_query_length` tokens)."""
    questions = [_cut_question(tokenizer, e["question"], max_query_length) for e in examples]
    enc = tokenizer(questions, [e["context"] for e in examples], truncation="only_second",
                    max_length=max_length, stride=stride, return_overflowing_tokens=True,
                    return_offsets_mapping=True, padding="max_length")
    starts, ends = [], []
    for i, offsets in enumerate(enc["offset_mapping"]):
        example = examples[enc["overflow_to_sample_mapping"][i]]
        sequence_ids = enc.sequence_ids(i)
        if not example["answers"]:
            starts.append(0)
            ends.append(0)
            continue
        answer = example["answers"][0]
        start_char = answer["answer_start"]
        end_char = start_char + len(answer["text"])
        first = sequence_ids.index(1)
        last = len(sequence_ids) - 1 - sequence_ids[::-1].index(1)
        if not (offsets[first][0] <= start_char and offsets[last][1] >= end_char):
            starts.append(0)
            ends.append(0)
            continue
        token_start = first
        while token_start <= last and offsets[token_start][0] <= start_char:
            token_start += 1
        token_end = last
        while token_end >= first and offsets[token_end][1] >= end_char:
            token_end -= 1
        starts.append(token_start - 1)
        ends.append(token_end + 1)
    enc["start_positions"], enc["end_positions"] = starts, ends
    return enc


def _cut_question(tokenizer, question: str, max_query_length: int) -> str:
    tokens = tokenizer.tokenize(question)
    if len(tokens) <= max_query_length:
        return question
    return tokenizer.convert_tokens_to_string(tokens[:max_query_length])


def qa_predict(model, tokenizer, examples, max_length, stride, max_query_length, batch_size,
               n_best=20, max_answer_length=30, null_score_diff_threshold=0.0, v2=True):
    """HF `prepare_validation_features` + `utils_qa.postprocess_qa_predictions`."""
    questions = [_cut_question(tokenizer, e["question"], max_query_length) for e in examples]
    enc = tokenizer(questions, [e["context"] for e in examples], truncation="only_second",
                    max_length=max_length, stride=stride, return_overflowing_tokens=True,
                    return_offsets_mapping=True, padding="max_length")
    model.eval()
    start_logits, end_logits = [], []
    keys = ["input_ids", "token_type_ids", "attention_mask"]
    with torch.no_grad():
        for batch in batched(enc, keys, batch_size):
            out = model(**batch)
            start_logits.append(out.start_logits.numpy())
            end_logits.append(out.end_logits.numpy())
    start_logits, end_logits = np.concatenate(start_logits), np.concatenate(end_logits)
    by_example: dict[int, list[int]] = {}
    for i, e in enumerate(enc["overflow_to_sample_mapping"]):
        by_example.setdefault(e, []).append(i)
    answers, null_diffs, best_texts = {}, [], []
    for e, example in enumerate(examples):
        min_null, candidates = None, []
        for i in by_example.get(e, []):
            sequence_ids = enc.sequence_ids(i)
            offsets = [o if sequence_ids[k] == 1 else None for k, o in enumerate(enc["offset_mapping"][i])]
            null = start_logits[i][0] + end_logits[i][0]
            if min_null is None or null < min_null:
                min_null = null
            for s in np.argsort(start_logits[i])[-1 : -n_best - 1 : -1]:
                for t in np.argsort(end_logits[i])[-1 : -n_best - 1 : -1]:
                    if s >= len(offsets) or t >= len(offsets) or offsets[s] is None or offsets[t] is None:
                        continue
                    if t < s or t - s + 1 > max_answer_length:
                        continue
                    candidates.append((start_logits[i][s] + end_logits[i][t],
                                       example["context"][offsets[s][0] : offsets[t][1]]))
        best = max(candidates, default=(-math.inf, ""))
        diff = (min_null - best[0]) if min_null is not None else math.inf
        answers[example["id"]] = "" if (v2 and diff > null_score_diff_threshold) else best[1]
        null_diffs.append(float(diff))
        best_texts.append(best[1])
    return answers, null_diffs, best_texts


def run_qa(args) -> dict:
    torch.manual_seed(args.seed)
    folder = minilm_dir()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = BertForQuestionAnswering.from_pretrained(folder)
    train_examples, eval_examples = read_squad(args.train), read_squad(args.eval)
    v2 = any(e["is_impossible"] for e in train_examples + eval_examples)
    features = qa_train_features(tokenizer, train_examples, args.sequence_length, args.hf_stride,
                                 args.max_query_length)
    keys = ["input_ids", "token_type_ids", "attention_mask", "start_positions", "end_positions"]
    batches = batched(features, keys, args.batch_size, np.random.default_rng(args.seed))
    print(f"  hf: {len(train_examples)} questions -> {len(features['input_ids'])} windows "
          f"(stride = overlap {args.hf_stride})", flush=True)
    seconds = train(model, batches, args.epochs, args.learning_rate, args.seed)
    answers, diffs, texts = qa_predict(
        model, tokenizer, eval_examples, args.sequence_length, args.hf_stride,
        args.max_query_length, 64, max_answer_length=args.max_answer_length, v2=v2)
    gold = {e["id"]: [a["text"] for a in e["answers"]] for e in eval_examples}
    result = squad_evaluate(gold, answers)
    if v2:
        from keras_bert.metrics.squad import best_null_threshold

        golds = [[a["text"] for a in e["answers"]] for e in eval_examples]
        threshold, best = best_null_threshold(golds, texts, diffs)
        result.update(best_f1=best, best_f1_thresh=threshold)
    return {**result, "train_windows": len(features["input_ids"]), "train_seconds": seconds}


# ------------------------------------------------------------------------------ classification


def _rows(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line]


def run_classification(args) -> dict:
    torch.manual_seed(args.seed)
    train_rows, eval_rows = _rows(args.train), _rows(args.eval)
    labels = sorted({r["label"] for r in train_rows})
    folder = minilm_dir()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = BertForSequenceClassification.from_pretrained(folder, num_labels=len(labels))

    def encode(rows):
        pairs = [r.get("text_pair") for r in rows]
        enc = tokenizer([r["text"] for r in rows], pairs if any(pairs) else None,
                        truncation=True, max_length=args.sequence_length, padding="max_length")
        enc["labels"] = [labels.index(r["label"]) for r in rows]
        return enc

    keys = ["input_ids", "token_type_ids", "attention_mask", "labels"]
    batches = batched(encode(train_rows), keys, args.batch_size, np.random.default_rng(args.seed))
    seconds = train(model, batches, args.epochs, args.learning_rate, args.seed)
    model.eval()
    predictions = []
    with torch.no_grad():
        for batch in batched(encode(eval_rows), keys[:3], 128):
            predictions += model(**batch).logits.argmax(-1).tolist()
    gold = [labels.index(r["label"]) for r in eval_rows]
    accuracy = float(np.mean(np.asarray(predictions) == np.asarray(gold)))
    return {"accuracy": accuracy, "train_seconds": seconds}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=("qa", "classification"))
    parser.add_argument("train")
    parser.add_argument("eval")
    parser.add_argument("out")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--sequence-length", type=int, default=256)
    parser.add_argument("--hf-stride", type=int, default=128, help="qa: HF's stride (overlap)")
    parser.add_argument("--max-query-length", type=int, default=64)
    parser.add_argument("--max-answer-length", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(torch.get_num_threads())
    result = run_qa(args) if args.task == "qa" else run_classification(args)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
