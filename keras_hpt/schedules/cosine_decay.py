"""Cosine annealing to an absolute floor."""

from keras import ops

from keras_hpt._registration import register
from keras_hpt.schedules.base import (
    Schedule,
    check_floor,
    check_learning_rate,
    check_period,
    cosine_interpolation,
)


@register
class CosineDecay(Schedule):
    """Anneals the learning rate along a half cosine to `min_learning_rate`.

    `lr(step) = min + (lr0 - min) * (1 + cos(pi * s / decay_steps)) / 2` with
    `s = min(step, decay_steps)`: the floor is reached at step `decay_steps`
    and held after it. Wrap it in `Warmup` for a warm-up phase.

    Args:
        initial_learning_rate: Learning rate `lr0` at step 0.
        decay_steps: Steps to anneal over. A positive integer.
        min_learning_rate: Absolute floor reached at `decay_steps`.
            Defaults to `0.0`.

    Example:

    >>> schedule = keras_hpt.schedules.CosineDecay(0.1, decay_steps=100)
    >>> [round(float(schedule(s)), 4) for s in (0, 50, 100, 200)]
    [0.1, 0.05, 0.0, 0.0]
    """

    _period_args = ("decay_steps",)

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        min_learning_rate: float = 0.0,
    ):
        self.initial_learning_rate = check_learning_rate(
            "initial_learning_rate", initial_learning_rate
        )
        self.decay_steps = check_period("decay_steps", decay_steps)
        self.min_learning_rate = check_floor(min_learning_rate, self.initial_learning_rate)

    def _length(self) -> int:
        return self.decay_steps

    def _learning_rate_at(self, step):
        fraction = ops.minimum(step, self.decay_steps) / self.decay_steps
        return cosine_interpolation(
            self.initial_learning_rate, self.min_learning_rate, fraction
        )
