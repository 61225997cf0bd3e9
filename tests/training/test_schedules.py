"""WarmupPolynomialDecay hits its stated values; PerUpdateSchedule counts optimizer updates."""

import numpy as np
import pytest

from keras_bert.training.gradient_accumulation import PerUpdateSchedule
from keras_bert.training.schedules import WarmupPolynomialDecay


def _lr(schedule, step):
    return float(np.asarray(schedule(step)))


def test_linear_warmup_then_linear_decay_values():
    s = WarmupPolynomialDecay(1e-3, total_steps=110, warmup_steps=10, end_learning_rate=0.0)
    # Stated values (exact arithmetic): 0 at step 0, half-peak mid-warmup, peak at the end of
    # warmup, half-peak half-way through decay, the end value at and after total_steps.
    expected = {0: 0.0, 5: 5e-4, 10: 1e-3, 60: 5e-4, 100: 1e-4, 110: 0.0, 500: 0.0}
    for step, value in expected.items():
        assert _lr(s, step) == pytest.approx(value, abs=1e-9), step


def test_polynomial_decay_and_end_value():
    s = WarmupPolynomialDecay(1.0, total_steps=100, warmup_steps=0, end_learning_rate=0.1, power=2.0)
    for step in (0, 25, 50, 99, 100, 200):
        t = min(step / 100, 1.0)
        assert _lr(s, step) == pytest.approx(0.9 * (1 - t) ** 2 + 0.1, rel=1e-6), step


def test_invalid_warmup_raises():
    with pytest.raises(ValueError, match="warmup_steps"):
        WarmupPolynomialDecay(1.0, total_steps=10, warmup_steps=20)


def test_config_round_trip():
    s = WarmupPolynomialDecay(2e-4, 1000, 100, 1e-5, 1.5)
    again = WarmupPolynomialDecay.from_config(s.get_config())
    for step in (0, 50, 100, 700, 1000):
        assert _lr(again, step) == pytest.approx(_lr(s, step), rel=1e-7)


def test_per_update_schedule_divides_micro_steps():
    inner = WarmupPolynomialDecay(1.0, total_steps=10, warmup_steps=4)
    s = PerUpdateSchedule(inner, accumulation_steps=4)
    # Micro-steps 0..3 are update 0; 8..11 are update 2 (half of the warmup).
    assert _lr(s, 3) == pytest.approx(0.0)
    assert _lr(s, 8) == pytest.approx(0.5)
    assert _lr(s, 11) == pytest.approx(0.5)
    assert _lr(s, 16) == pytest.approx(1.0)
