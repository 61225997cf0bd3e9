"""`BertBackbone.from_preset` returns a preset's real weights while models import no checkpoint
format: `import keras_bert` points `presets.load_weights` at `keras_bert.convert`."""

import subprocess
import sys
import textwrap


def test_real_weights_whatever_was_imported_first(minilm_dir):
    script = textwrap.dedent(f"""
        import sys
        import numpy as np
        from keras_bert.models import BertBackbone
        assert "keras_bert.convert" not in sys.modules  # models import no checkpoint format
        backbone = BertBackbone.from_preset("all-minilm-l6-v2")
        from keras_bert.convert import load_backbone
        reference = load_backbone({str(minilm_dir)!r})
        for got, expected in zip(backbone.get_weights(), reference.get_weights(), strict=True):
            np.testing.assert_array_equal(got, expected)
        random = BertBackbone.from_preset("all-minilm-l6-v2", load_weights=False)
        assert random.count_params() == backbone.count_params()
        assert not np.array_equal(random.get_weights()[0], backbone.get_weights()[0])
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=240)
