"""`keras-bert` CLI: convert real weights to .keras and load them back in a fresh process."""

import subprocess
import sys
import textwrap

import numpy as np

from keras_bert.cli import build_parser, main


def test_parser_lists_convert_and_rejects_unknown_commands(capsys):
    parser = build_parser()
    assert "convert" in parser.format_help()
    try:
        parser.parse_args(["no-such-command"])
    except SystemExit as exit_:
        assert exit_.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_convert_real_minilm_to_keras_and_load_in_fresh_process(tmp_path, minilm_dir):
    out = tmp_path / "minilm.keras"
    assert main(["convert", "--from", str(minilm_dir), "--out", str(out)]) == 0
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
    assert result.returncode == 0, result.stderr[-2000:]
    assert "OK BertBackbone" in result.stdout
