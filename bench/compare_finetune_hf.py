"""Fine-tuning quality, ours vs Hugging Face, on the same weights, data and hyper-parameters.

Both start from the bundled all-MiniLM-L6-v2 weights, train on the same examples (written to one
file both read) with the same sequence length, batch, epochs, peak learning rate, 10% warm-up,
weight decay and gradient clipping, and are scored on the same held-out split with the same
official-metric code. Each system runs in its own process: ours is `keras-bert finetune`, Hugging
Face's is `hf_finetune_reference.py` (a torch loop on `BertFor*` with HF's standard QA windowing
and post-processing). Differences that remain by design, printed with the results:
- learning-rate decay: ours cosine, HF linear (both after the same linear warm-up);
- AdamW epsilon: ours 1e-6 (google-research/bert), HF 1e-8;
- QA windows: ours step `--doc-stride` tokens; HF's `stride` is the overlap, set here so that a
  question of median length gets the same step.

    .venv/bin/python bench/compare_finetune_hf.py qa rt      # both comparisons (~1 h on 2 cores)
    .venv/bin/python bench/compare_finetune_hf.py qa --max-train 1200 --epochs 2
    .venv/bin/python bench/compare_finetune_hf.py qa --qa-sources disflqa+narrativeqa \
        --answerable-only --sequence-length 128 --doc-stride 96 --max-train 800 --max-eval 300 \
        --epochs 1 --learning-rate 1e-4     # the demo's data, v1.1 style (~25 min)
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from machine import describe

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "outputs" / "compare_hf"
sys.path.insert(0, str(ROOT))
from keras_bert.data.tasks import write_squad  # noqa: E402 (TensorFlow-free)
from keras_bert.data.tasks.real_datasets import load_task_data  # noqa: E402

QA_FLAGS = {"sequence_length": 256, "doc_stride": 128, "max_query_length": 64,
            "max_answer_length": 30, "batch_size": 16, "epochs": 2, "learning_rate": 1e-4}
RT_FLAGS = {"sequence_length": 64, "batch_size": 32, "epochs": 2, "learning_rate": 3e-5}


def _sample(rows: list, n: int | None, seed: int = 0) -> list:
    if n is None or n >= len(rows):
        return rows
    rows = list(rows)
    random.Random(seed).shuffle(rows)
    return rows[:n]


def _median_question_tokens(examples: list[dict]) -> int:
    from transformers import AutoTokenizer  # in this (driver) process only for counting

    from keras_bert.presets import minilm_dir

    tokenizer = AutoTokenizer.from_pretrained(minilm_dir())
    return int(statistics.median(len(tokenizer.tokenize(e["question"])) for e in examples))


def _run(command: list[str], log: Path) -> float:
    print("$ " + " ".join(command), flush=True)
    started = time.time()
    with open(log, "w") as f:
        subprocess.run(command, cwd=ROOT, check=True, stdout=f, stderr=subprocess.STDOUT)
    return time.time() - started


def _ours(task: str, train: Path, evaluation: Path, flags: dict, model_dir: Path) -> dict:
    command = [sys.executable, "-m", "keras_bert.cli", "finetune", task, "--model",
               "all-minilm-l6-v2", "--train", str(train), "--eval", str(evaluation),
               "--model-dir", str(model_dir), "--quiet", "--seed", "0"]
    for key, value in flags.items():
        command += ["--" + key.replace("_", "-"), str(value)]
    seconds = _run(command, model_dir.with_suffix(".log"))
    history = json.loads((model_dir / "eval_history.json").read_text())
    return {**history[-1], "wall_seconds": seconds}  # the last epoch's model, as HF's


def _hf(task: str, train: Path, evaluation: Path, flags: dict, out: Path, hf_stride=None) -> dict:
    command = [sys.executable, str(ROOT / "bench" / "hf_finetune_reference.py"), task,
               str(train), str(evaluation), str(out)]
    for key in ("epochs", "batch_size", "learning_rate", "sequence_length", "max_query_length",
                "max_answer_length"):
        if key in flags:
            command += ["--" + key.replace("_", "-"), str(flags[key])]
    if hf_stride is not None:
        command += ["--hf-stride", str(hf_stride)]
    seconds = _run(command, out.with_suffix(".log"))
    return {**json.loads(out.read_text()), "wall_seconds": seconds}


def compare_qa(args) -> dict:
    data = load_task_data(args.qa_sources)
    train, evaluation = data.train, data.eval
    if args.answerable_only:  # SQuAD v1.1 style, as `finetune --answerable-only`
        train, evaluation = ([e for e in rows if not e["is_impossible"]] for rows in (train, evaluation))
    train, evaluation = _sample(train, args.max_train), _sample(evaluation, args.max_eval)
    flags = {**QA_FLAGS, **_overrides(args)}
    OUT.mkdir(parents=True, exist_ok=True)
    train_file, eval_file = OUT / "qa_train.json", OUT / "qa_eval.json"
    write_squad(train, train_file)
    write_squad(evaluation, eval_file)
    question = _median_question_tokens(train)
    # HF window: [CLS] q [SEP] context [SEP]; same step as ours for a median-length question.
    hf_stride = flags["sequence_length"] - 3 - question - flags["doc_stride"]
    print(f"QA: {len(train)} train / {len(evaluation)} eval questions ({args.qa_sources}, "
          f"held-out split{', answerable only' if args.answerable_only else ''}); median question "
          f"{question} tokens -> HF stride (overlap) {hf_stride}")
    ours = _ours("question-answering", train_file, eval_file, flags, OUT / "ours_qa")
    hf = _hf("qa", train_file, eval_file, flags, OUT / "hf_qa.json", hf_stride)
    return {"workload": {"train": len(train), "eval": len(evaluation), **flags,
                         "hf_stride": hf_stride}, "ours": ours, "hf": hf,
            "metrics": ["f1", "exact", "best_f1"]}


def _overrides(args) -> dict:
    keys = ("epochs", "sequence_length", "doc_stride", "learning_rate")
    return {key: getattr(args, key) for key in keys if getattr(args, key) is not None}


def compare_rt(args) -> dict:
    data = load_task_data("rotten_tomatoes")
    train, evaluation = _sample(data.train, args.max_train), _sample(data.eval, args.max_eval)
    flags = {**RT_FLAGS, **_overrides(args)}
    OUT.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, rows in (("train", train), ("eval", evaluation)):
        files[name] = OUT / f"rt_{name}.jsonl"
        files[name].write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    print(f"Rotten Tomatoes: {len(train)} train / {len(evaluation)} eval")
    ours = _ours("classification", files["train"], files["eval"], flags, OUT / "ours_rt")
    hf = _hf("classification", files["train"], files["eval"], flags, OUT / "hf_rt.json")
    return {"workload": {"train": len(train), "eval": len(evaluation), **flags},
            "ours": ours, "hf": hf, "metrics": ["accuracy"]}


def report(name: str, result: dict) -> None:
    print(f"\n{name}: {json.dumps(result['workload'])}")
    for metric in result["metrics"]:
        ours, hf = result["ours"].get(metric), result["hf"].get(metric)
        if ours is None or hf is None:
            continue
        print(f"  {metric:10s} ours {ours:8.3f}   hf {hf:8.3f}   ours - hf {ours - hf:+.3f}")
    print(f"  train+eval wall: ours {result['ours']['wall_seconds']:.0f} s, "
          f"hf {result['hf']['wall_seconds']:.0f} s")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("comparisons", nargs="*", choices=("qa", "rt"), default=["qa", "rt"])
    parser.add_argument("--max-train", type=int, default=None, help="train on N sampled examples")
    parser.add_argument("--max-eval", type=int, default=None, help="score N sampled examples")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--sequence-length", type=int, default=None)
    parser.add_argument("--doc-stride", type=int, default=None, help="qa: ours (the step)")
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--qa-sources", default="disflqa+quac", help="qa: training sources")
    parser.add_argument("--answerable-only", action="store_true", help="qa: SQuAD v1.1 style")
    args = parser.parse_args(argv)
    print(f"Machine: {describe()}")
    summary_path = OUT / "summary.json"
    OUT.mkdir(parents=True, exist_ok=True)
    for name in args.comparisons:
        result = {"qa": compare_qa, "rt": compare_rt}[name](args)
        result["machine"] = describe()
        # Read just before writing: another comparison may have finished meanwhile.
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
        summary[name] = result
        summary_path.write_text(json.dumps(summary, indent=1, default=str))
        report(name, result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
