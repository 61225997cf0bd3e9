"""`keras-bert` CLI: one flag vocabulary, help without TensorFlow, one-line user errors, and
converting real weights to .keras and loading them back in a fresh process."""

import argparse
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from keras_bert.cli import build_parser, main

KEBAB = re.compile(r"^--[a-z0-9]+(-[a-z0-9]+)*$")
TF_SERVING_FLAG = re.compile(r"^--[a-z0-9]+(_[a-z0-9]+)*$")  # `serve` keeps TF Serving's names

# concept -> (flag, the commands that take it): the same name wherever the concept appears.
CONCEPTS = {
    "model read": ("--model", ("convert", "pretrain", "finetune", "evaluate", "export")),
    "run directory written or continued": ("--model-dir", ("pretrain", "finetune")),
    "output": ("--out", ("demo", "convert", "vocab", "pretraining-data", "evaluate", "export")),
    "training data": ("--train", ("pretrain", "finetune")),
    "evaluation data": ("--eval", ("finetune", "evaluate")),
    "raw text corpus": ("--corpus", ("vocab", "pretraining-data")),
    "vocab.txt": ("--vocabulary", ("pretraining-data", "pretrain", "export")),
    "sequence length": ("--sequence-length", ("pretraining-data", "pretrain", "finetune", "export")),
    "batch size": ("--batch-size", ("vocab", "pretrain", "finetune", "evaluate")),
    "distribution strategy": ("--strategy", ("pretrain", "finetune")),
    "random seed": ("--seed", ("pretraining-data", "pretrain", "finetune")),
    "keep case": ("--cased", ("vocab", "pretraining-data", "export")),
    "whole-word masking": ("--whole-word-masking", ("pretraining-data", "pretrain")),
    "masking rate": ("--masked-lm-prob", ("pretraining-data", "pretrain")),
    "masked positions": ("--max-predictions", ("pretraining-data", "pretrain")),
    "evaluation subset": ("--max-eval-examples", ("finetune", "evaluate")),
    "QA window stride": ("--doc-stride", ("finetune", "export")),
    "QA answer length": ("--max-answer-length", ("finetune", "export")),
    "QA null threshold": ("--null-score-diff-threshold", ("finetune", "export")),
    "served model name": ("--model-name", ("predict",)),
    "training precision": ("--precision", ("pretrain",)),
}
# Spellings the CLI used before it had one vocabulary: accepted, never shown.
OLD = ("--seq-len", "--sequence_length", "--vocab", "--init", "--from", "--preset", "--config",
       "--train-files", "--size", "--whole-word-mask", "--no_lowercase", "--model_name",
       "--context_file", "--work-dir", "--serving_dtype")


def _commands() -> dict[str, argparse.ArgumentParser]:
    (subparsers,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(subparsers.choices)


def _shown_options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.help is not argparse.SUPPRESS and a.dest != "help"]


def test_parser_lists_convert_and_rejects_unknown_commands(capsys):
    parser = build_parser()
    assert "convert" in parser.format_help()
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["no-such-command"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice" in err and err.startswith("error: ") and err.count("\n") == 1


def test_help_and_version_never_import_tensorflow():
    """`import keras_bert.cli`, `keras-bert --help`, every `keras-bert COMMAND --help` and
    `--version` in one fresh process: TensorFlow (and gRPC) never loads; the package's names and
    its allocator default still work."""
    script = textwrap.dedent("""
        import contextlib, io, os, sys
        os.environ.pop("TF_CPU_ALLOCATOR_USE_BFC", None)
        import keras_bert.cli
        assert "tensorflow" not in sys.modules and "keras" not in sys.modules
        assert os.environ["TF_CPU_ALLOCATOR_USE_BFC"] == "true"
        commands = list(keras_bert.cli.COMMANDS)
        for argv in [["--help"], ["--version"]] + [[c, "--help"] for c in commands]:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                try:
                    keras_bert.cli.main(argv)
                except SystemExit as exit_:
                    assert exit_.code == 0, (argv, exit_.code)
            assert out.getvalue().strip(), argv
            if argv[0] == "--version":
                print(out.getvalue().strip())
        heavy = [m for m in ("tensorflow", "keras", "grpc") if m in sys.modules]
        assert not heavy, heavy
        import keras_bert
        assert keras_bert.BertBackbone.__name__ == "BertBackbone"  # lazy names still resolve
        print("OK", len(commands))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=240, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    version, ok = result.stdout.split("\n")[:2]
    assert re.fullmatch(r"keras-bert \d+\.\d+\.\d+\S*", version), version
    assert ok == "OK 10"


def test_every_option_has_help_a_shown_default_and_a_kebab_case_name():
    for name, parser in _commands().items():
        assert parser.description, name
        pattern = TF_SERVING_FLAG if name == "serve" else KEBAB
        for action in _shown_options(parser):
            assert action.help and action.help.strip(), (name, action.dest)
            for flag in action.option_strings:
                assert pattern.match(flag), (name, flag)
        text = parser.format_help()  # every help string formats (no stray %)
        for action in _shown_options(parser):
            if action.option_strings and isinstance(action.default, int | float | str) \
                    and not isinstance(action.default, bool):
                line = " ".join(text.split())
                help_text = " ".join(action.help.split())
                assert f"{help_text} (default: {action.default})" in line or "(default" in help_text, (
                    name, action.dest)
        for old in OLD if name != "serve" else ():
            assert f"{old} " not in text and f"{old}\n" not in text, (name, old)


def test_finetune_help_names_every_bundled_dataset():
    from keras_bert.data.tasks.real_datasets import DATASETS, QA_SOURCES

    text = " ".join(_commands()["finetune"].format_help().split())
    missing = [name for name in [*DATASETS, *QA_SOURCES] if name not in text]
    assert not missing, f"finetune --train help does not name {missing}"


def test_the_same_concept_has_the_same_flag_in_every_command():
    commands = _commands()
    for concept, (flag, names) in CONCEPTS.items():
        for name in names:
            assert flag in commands[name]._option_string_actions, (concept, name, flag)
    strategies = {commands[n]._option_string_actions["--strategy"].choices for n in ("pretrain", "finetune")}
    assert len(strategies) == 1
    for name, parser in commands.items():  # and no command spells a concept the old way
        assert name == "serve" or not set(OLD) & set(parser._option_string_actions), name


def test_old_spellings_still_parse_to_the_new_options():
    parser = build_parser()

    def parsed(*argv):
        return vars(parser.parse_args(list(argv)))

    assert parsed("pretrain", "--model-dir", "d", "--seq-len", "64", "--preset", "mini",
                  "--train-files", "a.txt", "--config", "{}") == parsed(
        "pretrain", "--model-dir", "d", "--sequence-length", "64", "--model", "mini",
        "--train", "a.txt", "--model-config", "{}")
    assert parsed("export", "classification", "--model", "m.keras", "--out", "o/1",
                  "--sequence_length=64", "--no_lowercase", "--vocab", "v.txt",
                  "--serving_dtype", "bfloat16") == parsed(
        "export", "classification", "--model", "m.keras", "--out", "o/1", "--sequence-length",
        "64", "--cased", "--vocabulary", "v.txt", "--serving-dtype", "bfloat16")
    assert parsed("finetune", "qa", "--init", "x", "--train", "t", "--model-dir", "d")["init"] == "x"
    assert parsed("convert", "--from", "x", "--out", "y.keras")["source"] == "x"
    assert parsed("predict", "classification", "--model_name", "m")["model_name"] == "m"
    assert parsed("serve", "--model_base_path", "m")["model_base_path"] == "m"


@pytest.mark.parametrize(
    "argv, env, message",
    [
        (["finetune", "classify", "--train", "no_such_dataset", "--model-dir", "{tmp}/run"], {},
         "error: --train no_such_dataset: neither a file nor a dataset name"),
        (["export", "classification", "--model", "{tmp}/missing.keras", "--out", "{tmp}/m/1"], {},
         "error: --model {tmp}/missing.keras: no such file or directory"),
        (["pretrain", "--model-dir", "{tmp}/run", "--strategy", "multi-worker"], {"TF_CONFIG": None},
         "error: --strategy multi-worker needs the TF_CONFIG environment variable"),
        (["pretrain", "--model-dir", "{tmp}/run", "--batch-size", "0"], {},
         "error: keras-bert pretrain: argument --batch-size: must be a positive integer, got 0"),
    ],
    ids=["unknown-dataset", "missing-model", "multi-worker-without-TF_CONFIG", "bad-value"],
)
def test_user_errors_are_one_line_on_stderr_and_exit_2(tmp_path, argv, env, message):
    environ = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow"}
    for key, value in env.items():
        environ.pop(key, None) if value is None else environ.__setitem__(key, value)
    argv = [a.format(tmp=tmp_path) for a in argv]
    result = subprocess.run([sys.executable, "-m", "keras_bert.cli", *argv], capture_output=True,
                            text=True, timeout=120, env=environ)
    assert result.returncode == 2, result.stderr[-3000:]
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith(message.format(tmp=tmp_path)), result.stderr
    assert not (tmp_path / "run").exists()


def test_pretrain_whole_word_masking_and_masking_rate_reach_the_masker(tmp_path, monkeypatch):
    from keras_bert.commands import pretrain as command
    from keras_bert.data import dynamic_pretraining
    from keras_bert.training.pretrain import make_dataset_fn

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("The cat sat on the mat.\nIt was unbelievably comfortable.\n\n"
                      "A second document.\nWith two lines.\n")
    args = build_parser().parse_args(
        ["pretrain", "--model-dir", str(tmp_path / "run"), "--train", str(corpus),
         "--whole-word-masking", "--masked-lm-prob", "0.2", "--sequence-length", "32"])
    config = command.config_from_args(args)
    assert (config.whole_word_mask, config.masked_lm_prob, config.seq_len) == (True, 0.2, 32)
    built = []
    from_tokenizer = dynamic_pretraining.MlmMasker.from_tokenizer

    def record(cls, *a, **k):
        built.append(from_tokenizer(*a, **k))
        return built[-1]

    monkeypatch.setattr(dynamic_pretraining.MlmMasker, "from_tokenizer", classmethod(record))
    make_dataset_fn(config, vocabulary_size=30522)(None)
    masker_config = built[0].get_config()
    assert masker_config["whole_word_mask"] is True and masker_config["mask_selection_rate"] == 0.2


def test_training_commands_say_whether_they_start_or_continue(tmp_path, capsys):
    import keras

    from keras_bert.commands import run_start_line
    from keras_bert.training.checkpoints import save_training_state

    empty = tmp_path / "train.csv"
    empty.write_text("text,label\n")
    run = tmp_path / "ft"
    argv = ["finetune", "classify", "--train", str(empty), "--model-dir", str(run), "--quiet"]
    assert main(argv) == 2  # no training examples: stops after the first line
    assert capsys.readouterr().out.splitlines()[0] == f"starting {run}"
    run.mkdir()
    (run / "task.json").write_text('{"task": "classify"}')
    assert main(argv) == 2
    assert capsys.readouterr().out.splitlines()[0] == f"continuing {run}"

    state = tmp_path / "pt" / "backup" / "training_state.npz"
    state.parent.mkdir(parents=True)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    save_training_state(state, model, {"step": 7})
    assert run_start_line(tmp_path / "pt", state) == f"continuing {tmp_path / 'pt'} (step 7)"


def test_convert_real_minilm_to_keras_and_load_in_fresh_process(tmp_path, minilm_dir):
    out = tmp_path / "minilm.keras"
    assert main(["convert", "--model", str(minilm_dir), "--out", str(out)]) == 0
    ids = np.array([[101, 7592, 2088, 102, 0]], "int32")
    script = textwrap.dedent(f"""
        import numpy as np, keras, keras_bert
        from keras_bert.convert import load_backbone
        model = keras.saving.load_model({str(out)!r})
        reference = load_backbone({str(minilm_dir)!r})
        ids = np.array({ids.tolist()}, "int32")
        x = {{"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": (ids > 0).astype("int32")}}
        a, b = model(x)["sequence_output"].numpy(), reference(x)["sequence_output"].numpy()
        assert np.array_equal(a, b), np.abs(a - b).max()
        print("OK", type(model).__name__)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "OK BertBackbone" in result.stdout
