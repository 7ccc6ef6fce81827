"""Smooth exponential decay with an absolute floor."""

from keras import ops

from keras_hpt._registration import register
from keras_hpt._validation import check_number
from keras_hpt.schedules.base import Schedule, check_floor, check_learning_rate, check_period


@register
class ExponentialDecay(Schedule):
    """Decays the learning rate smoothly by `decay_rate` every `decay_steps` steps.

    `lr(step) = max(initial_learning_rate * decay_rate ** (step / decay_steps),
    min_learning_rate)`. Unlike `keras.optimizers.schedules.ExponentialDecay`
    it has an absolute floor, so long runs never train at a vanishing rate.

    Args:
        initial_learning_rate: Learning rate at step 0.
        decay_steps: Steps over which the rate is multiplied by `decay_rate`.
            A positive integer.
        decay_rate: Multiplier per `decay_steps`, in (0, 1].
        min_learning_rate: Floor the learning rate never goes below.
            Defaults to `0.0`.

    Example:

    >>> schedule = keras_hpt.schedules.ExponentialDecay(
    ...     0.1, decay_steps=100, decay_rate=0.5, min_learning_rate=0.02)
    >>> [round(float(schedule(s)), 4) for s in (0, 50, 100, 1000)]
    [0.1, 0.0707, 0.05, 0.02]
    """

    _period_args = ("decay_steps",)

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        min_learning_rate: float = 0.0,
    ):
        self.initial_learning_rate = check_learning_rate(
            "initial_learning_rate", initial_learning_rate
        )
        self.decay_steps = check_period("decay_steps", decay_steps)
        self.decay_rate = check_number("decay_rate", decay_rate, low=0, high=1, low_open=True)
        self.min_learning_rate = check_floor(min_learning_rate, self.initial_learning_rate)

    def _learning_rate_at(self, step):
        decayed = self.initial_learning_rate * ops.power(
            self.decay_rate, step / self.decay_steps
        )
        return ops.maximum(decayed, self.min_learning_rate)
