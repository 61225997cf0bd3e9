"""Gradient accumulation for large effective batches.

Keras 3 optimizers accumulate natively (`gradient_accumulation_steps=N`: gradients of N
micro-batches are averaged, variables change once every N batches). One catch: the optimizer
evaluates a learning-rate schedule at the *micro-batch* counter, so a schedule written in optimizer
updates would warm up N times too fast. `PerUpdateSchedule` converts the counter back to updates.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_bert")
class PerUpdateSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Evaluates `schedule` at `micro_step // accumulation_steps` (the optimizer update index)."""

    def __init__(self, schedule, accumulation_steps: int) -> None:
        if accumulation_steps < 1:
            raise ValueError(f"accumulation_steps must be >= 1, got {accumulation_steps}.")
        self.schedule = schedule
        self.accumulation_steps = int(accumulation_steps)

    def __call__(self, step):
        return self.schedule(ops.floor_divide(step, self.accumulation_steps))

    def get_config(self) -> dict:
        return {
            "schedule": keras.saving.serialize_keras_object(self.schedule),
            "accumulation_steps": self.accumulation_steps,
        }

    @classmethod
    def from_config(cls, config: dict) -> PerUpdateSchedule:
        config = dict(config)
        config["schedule"] = keras.saving.deserialize_keras_object(config["schedule"])
        return cls(**config)


def accumulation_kwargs(learning_rate, accumulation_steps: int) -> dict:
    """Optimizer kwargs for `accumulation_steps` micro-batches per update (1 = no accumulation)."""
    if accumulation_steps <= 1:
        return {"learning_rate": learning_rate}
    if isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        learning_rate = PerUpdateSchedule(learning_rate, accumulation_steps)
    return {"learning_rate": learning_rate, "gradient_accumulation_steps": accumulation_steps}
