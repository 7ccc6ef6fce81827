"""Time-based (inverse-time) decay, the classic Keras `decay` argument as a schedule."""

from keras import ops

from keras_hpt._registration import register
from keras_hpt._validation import check_number
from keras_hpt.schedules.base import Schedule, check_floor, check_learning_rate, check_period


@register
class TimeBasedDecay(Schedule):
    """Decays the learning rate as `lr0 / (1 + decay * t)`.

    `t = step / decay_steps`, so with the default `decay_steps=1` this is the
    `decay` argument of Keras 2 optimizers, applied per step. The learning rate
    never goes below `min_learning_rate`.

    Args:
        initial_learning_rate: Learning rate `lr0` at step 0.
        decay: Decay per `decay_steps`, a non-negative number.
        decay_steps: Unit of `t` in steps. A positive integer; defaults to `1`.
        min_learning_rate: Floor the learning rate never goes below.
            Defaults to `0.0`.

    Example:

    >>> schedule = keras_hpt.schedules.TimeBasedDecay(0.1, decay=0.01)
    >>> [round(float(schedule(s)), 4) for s in (0, 100, 300)]
    [0.1, 0.05, 0.025]
    """

    _period_args = ("decay_steps",)

    def __init__(
        self,
        initial_learning_rate: float,
        decay: float,
        decay_steps: int = 1,
        min_learning_rate: float = 0.0,
    ):
        self.initial_learning_rate = check_learning_rate(
            "initial_learning_rate", initial_learning_rate
        )
        self.decay = check_number("decay", decay, low=0)
        self.decay_steps = check_period("decay_steps", decay_steps)
        self.min_learning_rate = check_floor(min_learning_rate, self.initial_learning_rate)

    def _learning_rate_at(self, step):
        decayed = self.initial_learning_rate / (1.0 + self.decay * step / self.decay_steps)
        return ops.maximum(decayed, self.min_learning_rate)
