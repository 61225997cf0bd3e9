"""Learning-rate schedule: linear warmup, then linear or polynomial decay (BERT's schedule)."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_bert")
class WarmupPolynomialDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup from 0 to `peak_learning_rate`, then polynomial decay to `end_learning_rate`.

    lr(step) = peak * step / warmup_steps                            for step < warmup_steps
             = (peak - end) * (1 - t) ** power + end,                 t = (step - warmup) / decay
    with `t` clipped to [0, 1], `decay = total_steps - warmup_steps`. `power=1.0` is linear decay.

    Args:
        peak_learning_rate: learning rate reached at the end of warmup.
        total_steps: optimizer updates in the whole run (warmup included).
        warmup_steps: updates of linear warmup (0 disables warmup).
        end_learning_rate: learning rate at and after `total_steps`.
        power: decay exponent (1.0 = linear, as google-research/bert).
    """

    def __init__(
        self,
        peak_learning_rate: float,
        total_steps: int,
        warmup_steps: int = 0,
        end_learning_rate: float = 0.0,
        power: float = 1.0,
    ) -> None:
        if total_steps <= 0 or warmup_steps < 0 or warmup_steps > total_steps:
            raise ValueError(
                f"Need 0 <= warmup_steps <= total_steps and total_steps > 0; got "
                f"warmup_steps={warmup_steps}, total_steps={total_steps}."
            )
        self.peak_learning_rate = float(peak_learning_rate)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.end_learning_rate = float(end_learning_rate)
        self.power = float(power)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        peak = ops.cast(self.peak_learning_rate, "float32")
        end = ops.cast(self.end_learning_rate, "float32")
        warmup = float(max(self.warmup_steps, 1))
        decay_steps = float(max(self.total_steps - self.warmup_steps, 1))
        warm_lr = peak * step / warmup
        t = ops.clip((step - float(self.warmup_steps)) / decay_steps, 0.0, 1.0)
        decay_lr = (peak - end) * ops.power(1.0 - t, self.power) + end
        if self.warmup_steps == 0:
            return decay_lr
        return ops.where(step < float(self.warmup_steps), warm_lr, decay_lr)

    def get_config(self) -> dict:
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
        }
