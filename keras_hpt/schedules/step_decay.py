"""Staircase decay: multiply the learning rate by a factor every few steps."""

from keras import ops

from keras_hpt._registration import register
from keras_hpt._validation import check_number
from keras_hpt.schedules.base import Schedule, check_floor, check_learning_rate, check_period


@register
class StepDecay(Schedule):
    """Multiplies the learning rate by `factor` every `step_size` steps.

    `lr(step) = max(initial_learning_rate * factor ** floor(step / step_size),
    min_learning_rate)`. Use `StepDecay.from_epochs` to give `step_size` in
    epochs.

    Args:
        initial_learning_rate: Learning rate for the first `step_size` steps.
        step_size: Number of steps between two drops. A positive integer.
        factor: Multiplier applied at each drop, in (0, 1]. Defaults to `0.5`.
        min_learning_rate: Floor the learning rate never goes below.
            Defaults to `0.0`.

    Example:

    >>> schedule = keras_hpt.schedules.StepDecay(0.1, step_size=10, factor=0.5)
    >>> [round(float(schedule(s)), 4) for s in (0, 9, 10, 25)]
    [0.1, 0.1, 0.05, 0.025]
    >>> optimizer = keras.optimizers.SGD(learning_rate=schedule)
    """

    _period_args = ("step_size",)

    def __init__(
        self,
        initial_learning_rate: float,
        step_size: int,
        factor: float = 0.5,
        min_learning_rate: float = 0.0,
    ):
        self.initial_learning_rate = check_learning_rate(
            "initial_learning_rate", initial_learning_rate
        )
        self.step_size = check_period("step_size", step_size)
        self.factor = check_number("factor", factor, low=0, high=1, low_open=True)
        self.min_learning_rate = check_floor(min_learning_rate, self.initial_learning_rate)

    def _learning_rate_at(self, step):
        drops = ops.floor(step / self.step_size)
        decayed = self.initial_learning_rate * ops.power(self.factor, drops)
        return ops.maximum(decayed, self.min_learning_rate)
