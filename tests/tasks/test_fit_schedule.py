"""`--steps N` trains N optimizer steps (it used to round up to whole evaluation periods)."""

from __future__ import annotations

import pytest

from keras_bert.tasks.common import RunConfig, fit_schedule


@pytest.mark.parametrize("steps, eval_every, per_epoch", [
    (600, None, 286), (600, None, 203), (50, 50, 1000), (7, None, 3), (1000, 300, 50), (5, None, 10),
])
def test_steps_is_the_total(steps, eval_every, per_epoch):
    epochs, period, total = fit_schedule(RunConfig(steps=steps, eval_every=eval_every), per_epoch)
    assert total == epochs * period
    assert steps <= total < steps + epochs  # periods evened out: at most epochs - 1 extra steps
    assert period <= (eval_every or per_epoch)  # never evaluates less often than asked


def test_epochs_without_steps():
    assert fit_schedule(RunConfig(epochs=3), 286) == (3, 286, 858)
