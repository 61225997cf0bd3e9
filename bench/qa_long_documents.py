"""How a trained QA model's windows compete on long documents: "original" vs "nq" scoring.

Each held-out answerable question of the model's training sources is asked over its own passage
hidden among K other held-out passages (seeded order), so the answer sits in one window of many;
F1 (official normalisation) is reported for both conventions, and the demo's questions over the
held-out *Emma* chapters are answered too. The model's own windows (sequence length, stride) are
used; only the cross-window scoring differs.

    .venv/bin/python bench/qa_long_documents.py outputs/demo/qa/best_model.keras --questions 150
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CONVENTIONS = {"original": False, "nq": True}


def answer_all(model, questions: list[str], contexts: list[str], batch: int = 16) -> dict:
    """convention -> answers, each example answered with both scorings from one model run."""
    import tensorflow as tf

    from keras_bert.preprocessing.squad_postprocessing import best_answers

    answers = {name: [] for name in CONVENTIONS}
    pre = model.preprocessor
    for lo in range(0, len(questions), batch):
        context = tf.constant(contexts[lo:lo + batch])
        windows = pre.windows(tf.constant(questions[lo:lo + batch]), context)
        x = {k: windows[k] for k in ("token_ids", "segment_ids", "padding_mask")}
        logits = model.predict(x, batch_size=64, verbose=0)
        for name, relative in CONVENTIONS.items():
            best = best_answers(context, logits["start_logits"], logits["end_logits"],
                                windows["token_start"], windows["token_end"],
                                windows["example_index"], pre.max_answer_length,
                                relative_to_null=relative)
            answers[name] += [a.decode("utf-8") for a in best["answer"].numpy()]
    return answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a QA task model (.keras)")
    parser.add_argument("--train", default="disflqa+narrativeqa", help="its training sources")
    parser.add_argument("--questions", type=int, default=150)
    parser.add_argument("--distractors", type=int, nargs="+", default=[0, 8])
    args = parser.parse_args()

    import keras

    import keras_bert  # noqa: F401 (registers the task classes)
    from keras_bert.commands.demo import CORRECT_F1, QUESTIONS
    from keras_bert.data.corpus import heldout_corpus_files
    from keras_bert.metrics.squad import f1, max_over_gold
    from keras_bert.tasks.question_answering.finetune import answerable, load_data

    model = keras.saving.load_model(args.model, compile=False)
    pre = model.preprocessor
    print(f"model {args.model}: windows of {pre.sequence_length} tokens, stride {pre.doc_stride}")
    emma = Path(heldout_corpus_files()[0]).read_text(encoding="utf-8")
    served = answer_all(model, [q for q, _ in QUESTIONS], [emma] * len(QUESTIONS))
    for name, answers in served.items():
        correct = sum(max_over_gold(f1, a, gold) >= CORRECT_F1
                      for a, (_, gold) in zip(answers, QUESTIONS, strict=True))
        print(f"demo questions over Emma, {name}: {correct}/{len(QUESTIONS)} correct  {answers}")

    data = load_data(args.train, None)
    rng = random.Random(0)
    examples = answerable(data.eval)
    rng.shuffle(examples)
    examples = examples[:args.questions]
    passages = sorted({e["context"] for e in data.eval})
    for k in args.distractors:
        contexts = []
        for e in examples:
            others = [p for p in rng.sample(passages, k + 1) if p != e["context"]][:k]
            at = rng.randint(0, len(others))
            contexts.append("\n\n".join(others[:at] + [e["context"]] + others[at:]))
        answers = answer_all(model, [e["question"] for e in examples], contexts)
        scores = {name: 100 * float(np.mean([
            max_over_gold(f1, a, [g["text"] for g in e["answers"]])
            for a, e in zip(got, examples, strict=True)])) for name, got in answers.items()}
        print(f"{len(examples)} held-out questions among {k} other passages: "
              + ", ".join(f"{name} F1 {value:.1f}" for name, value in scores.items()))


if __name__ == "__main__":
    main()
