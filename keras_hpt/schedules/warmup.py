"""Linear warm-up in front of any learning-rate schedule."""

from typing import List, Optional

import keras
from keras import ops

from keras_hpt._registration import register
from keras_hpt._validation import check_condition
from keras_hpt.schedules.base import (
    LearningRate,
    Schedule,
    check_learning_rate,
    check_period,
    schedule_length,
)


@register
class Warmup(Schedule):
    """Ramps the learning rate linearly up to where `schedule` starts.

    For `step < warmup_steps` the rate goes linearly from
    `initial_learning_rate` towards the wrapped schedule's value at the
    hand-over step, and lands exactly on it at `step == warmup_steps`, so the
    curve is continuous. With `prefix=True` (the default) the warm-up comes in
    front: the wrapped schedule starts its own step 0 at `warmup_steps` and
    training lasts `warmup_steps` longer. With `prefix=False` the warm-up
    replaces the wrapped schedule's first `warmup_steps` steps.

    Args:
        schedule: The schedule to warm up to: any `LearningRateSchedule`
            (keras_hpt's or Keras' own) or a constant float.
        warmup_steps: Length of the warm-up in steps. A positive integer,
            shorter than the wrapped schedule where its length is known.
        initial_learning_rate: Learning rate at step 0. Defaults to `0.0`.
        prefix: Whether the warm-up is added in front of the schedule (`True`)
            or overlays its first steps (`False`). Defaults to `True`.

    Example:

    >>> cosine = keras.optimizers.schedules.CosineDecay(0.1, decay_steps=100)
    >>> schedule = keras_hpt.schedules.Warmup(cosine, warmup_steps=10)
    >>> [round(float(schedule(s)), 4) for s in (0, 5, 10, 60)]
    [0.0, 0.05, 0.1, 0.05]
    """

    _period_args = ("warmup_steps",)

    def __init__(
        self,
        schedule: LearningRate,
        warmup_steps: int,
        initial_learning_rate: float = 0.0,
        prefix: bool = True,
    ):
        if isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
            self.schedule = schedule
        elif callable(schedule) or isinstance(schedule, bool):
            raise TypeError(
                "`schedule` must be a `keras.optimizers.schedules.LearningRateSchedule` "
                f"or a float. Received: schedule={schedule!r}"
            )
        else:
            self.schedule = check_learning_rate("schedule", schedule)
        self.warmup_steps = check_period("warmup_steps", warmup_steps)
        self.initial_learning_rate = check_learning_rate(
            "initial_learning_rate", initial_learning_rate, allow_zero=True
        )
        self.prefix = bool(prefix)
        length = schedule_length(self.schedule)
        check_condition(
            length is None or self.warmup_steps < length,
            "warmup_steps",
            warmup_steps,
            f"shorter than the wrapped schedule, which lasts {length} steps",
        )

    @property
    def _elementwise(self) -> bool:
        return getattr(self.schedule, "_elementwise", isinstance(self.schedule, float))

    def _wrapped(self, step):
        if isinstance(self.schedule, float):
            return ops.full_like(step, self.schedule)
        return ops.cast(self.schedule(step), "float32")

    def _learning_rate_at(self, step):
        warmup = float(self.warmup_steps)
        main_step = ops.maximum(step - warmup, 0.0) if self.prefix else step
        target = self._wrapped(ops.full_like(step, 0.0 if self.prefix else warmup))
        ramp = self.initial_learning_rate + (target - self.initial_learning_rate) * (
            step / warmup
        )
        return ops.where(step < warmup, ramp, self._wrapped(main_step))

    def _length(self) -> Optional[int]:
        length = schedule_length(self.schedule)
        if length is None or not self.prefix:
            return length
        return length + self.warmup_steps

    @property
    def has_restarts(self) -> bool:
        return getattr(self.schedule, "has_restarts", False)

    def restart_steps(self, until_step: Optional[int] = None) -> List[int]:
        """Restart steps of the wrapped schedule, shifted by a prefix warm-up.

        Args:
            until_step: Only list steps up to this one (inclusive).

        Returns:
            The sorted list of steps at which a cycle of the wrapped schedule
            ends; empty if it has no restarts.
        """
        if not self.has_restarts:
            return []
        offset = self.warmup_steps if self.prefix else 0
        inner_until = None if until_step is None else until_step - offset
        return [s + offset for s in self.schedule.restart_steps(inner_until)]
