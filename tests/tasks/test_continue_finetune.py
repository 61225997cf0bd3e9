"""`--init` a fine-tune directory of the same task continues its model, head included."""

from __future__ import annotations

import json

import numpy as np

from keras_bert import BertBackbone
from keras_bert.models.bert_classifier import BertClassifier
from keras_bert.tasks.common import BEST_MODEL, TASK_FILE, same_task_model


def test_same_task_model_keeps_the_head_and_other_tasks_start_fresh(tiny_config, tmp_path):
    model = BertClassifier(BertBackbone(**tiny_config), 3)
    model.save(tmp_path / BEST_MODEL)
    (tmp_path / TASK_FILE).write_text(json.dumps({"task": "classify"}))
    continued = same_task_model(str(tmp_path), "classify")
    assert continued is not None
    for got, expected in zip(continued.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, expected)
    assert same_task_model(str(tmp_path), "ner") is None  # another task: backbone only
    assert same_task_model(str(tmp_path / "missing"), "classify") is None
