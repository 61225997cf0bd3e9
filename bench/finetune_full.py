"""Full fine-tuning runs from the real all-MiniLM-L6-v2 weights on the bundled real datasets.

Each run is one `keras-bert finetune` call; figures land in `outputs/finetune_full/<run>/` and a
summary table in `outputs/finetune_full/summary.json`. Floors (issue 5): Rotten Tomatoes >= 75%,
BBC >= 95%, BoolQ >= 65%, DisflQA+QuAC F1 >= 40, tweet NER entity F1 >= 40.

    .venv/bin/python bench/finetune_full.py                # all runs (hours on 2 CPU cores)
    .venv/bin/python bench/finetune_full.py bbc rt         # some runs
    .venv/bin/python bench/finetune_full.py --list

`qa_more` continues `qa` (run it after `qa`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "outputs" / "finetune_full"

# name: (task, dataset, floor metric, floor, extra flags). Sized for a CPU: short sequences and
# subsets where a full epoch would take hours; see the flags for exactly what ran.
RUNS: dict[str, tuple[str, str, str, float, list[str]]] = {
    "rt": ("classification", "rotten_tomatoes", "accuracy", 0.75,
           ["--sequence-length", "64", "--epochs", "2", "--batch-size", "32"]),
    "bbc": ("classification", "bbc", "accuracy", 0.95,
            ["--sequence-length", "128", "--epochs", "2", "--batch-size", "16"]),
    "boolq": ("classification", "boolq", "accuracy", 0.65,
              ["--sequence-length", "192", "--epochs", "2", "--batch-size", "16",
               "--learning-rate", "3e-5"]),
    "tweet_ner": ("token-classification", "tweet_ner", "f1", 0.40,
                  ["--sequence-length", "64", "--epochs", "8", "--batch-size", "16",
                   "--learning-rate", "1e-4"]),
    # QA: QuAC follow-ups carry the previous turn; NarrativeQA's extractive subset is added to
    # the training split only (eval = the DisflQA+QuAC held-out passages, as before).
    "qa": ("question-answering", "disflqa+quac+narrativeqa", "f1_crossfit", 40.0,
           ["--eval", "disflqa+quac", "--sequence-length", "256", "--doc-stride", "128",
            "--max-query-length", "64", "--max-answer-length", "64",
            "--negative-window-rate", "0.3", "--epochs", "3", "--batch-size", "16",
            "--learning-rate", "1e-4"]),
    # Two more epochs continuing the `qa` run's best model (head included), lower learning rate.
    "qa_more": ("question-answering", "disflqa+quac+narrativeqa", "f1_crossfit", 40.0,
                ["--model", str(OUT / "qa"), "--eval", "disflqa+quac", "--sequence-length", "256",
                 "--doc-stride", "128", "--max-query-length", "64", "--max-answer-length", "64",
                 "--negative-window-rate", "0.3", "--epochs", "2", "--batch-size", "16",
                 "--learning-rate", "5e-5"]),
    # Extractive summarization (BERTSum) on XSum; the floor is LEAD-1's ROUGE-1 on the same
    # held-out split (the run reports it as `lead1_rouge1`, with LEAD-3 and the oracle).
    "xsum": ("summarization", "xsum", "rouge1", 15.87,
             ["--sequence-length", "256", "--steps", "200", "--eval-every", "50",
              "--batch-size", "16"]),
}


def run(name: str) -> dict:
    task, dataset, metric, floor, flags = RUNS[name]
    model_dir = OUT / name
    command = [sys.executable, "-m", "keras_bert.cli", "finetune", task, "--model", "all-minilm-l6-v2",
               "--train", dataset, "--model-dir", str(model_dir), "--quiet", *flags]
    print(" ".join(command), flush=True)
    started = time.time()
    proc = subprocess.run(command, cwd=ROOT, check=False)
    history = json.loads((model_dir / "eval_history.json").read_text()) if (
        model_dir / "eval_history.json").exists() else []
    best = max(history, key=lambda h: h[metric]) if history else {}
    value = best.get(metric)
    baseline = best.get("majority_baseline", best.get("empty_answer_baseline_f1",
                                                      best.get("all_O_baseline_f1",
                                                               best.get("lead1_rouge1"))))
    return {"run": name, "task": task, "dataset": dataset, "metric": metric, "value": value,
            "floor": floor, "passed": value is not None and value >= floor, "baseline": baseline,
            "minutes": round((time.time() - started) / 60, 1), "returncode": proc.returncode,
            "flags": flags}


def main(argv: list[str]) -> int:
    if "--list" in argv:
        for name, spec in RUNS.items():
            print(name, spec)
        return 0
    names = argv or list(RUNS)
    OUT.mkdir(parents=True, exist_ok=True)
    summary_path = OUT / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    for name in names:
        summary[name] = run(name)
        summary_path.write_text(json.dumps(summary, indent=1))
        print(json.dumps(summary[name]), flush=True)
    return 0 if all(s["passed"] for s in summary.values() if s["run"] in names) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
