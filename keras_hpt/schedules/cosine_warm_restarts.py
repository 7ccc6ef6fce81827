"""Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter 2017)."""

import math
from typing import List, Optional

from keras import ops

from keras_hpt._registration import register
from keras_hpt._validation import check_number
from keras_hpt.schedules.base import (
    Schedule,
    check_floor,
    check_learning_rate,
    check_period,
    cosine_interpolation,
)


def _tolerance(start):
    """Slack for a real-valued cycle start: float32 rounding, never a whole step."""
    return 1e-3 + 4e-6 * start


@register
class CosineWarmRestarts(Schedule):
    """Cosine annealing that restarts from a (decaying) peak, cycle after cycle.

    Cycle `i` (from 0) lasts `first_decay_steps * t_mul**i` steps and anneals
    from `initial_learning_rate * m_mul**i` to `min_learning_rate` along a half
    cosine. After `max_cycles` cycles the rate stays at `min_learning_rate`.
    With `min_learning_rate=0` (or `m_mul=1` and `min_learning_rate = alpha *
    initial_learning_rate`) it equals `keras.optimizers.schedules.CosineDecayRestarts`;
    unlike Keras, the floor is absolute and every cycle ends exactly on it.

    `restart_steps()` tells where cycles end; `keras_hpt.callbacks.SnapshotEnsemble`
    saves the weights there.

    Args:
        initial_learning_rate: Peak learning rate of the first cycle.
        first_decay_steps: Length of the first cycle in steps. A positive integer.
        t_mul: Each cycle is `t_mul` times longer than the previous one.
            At least 1; defaults to `2.0`.
        m_mul: Each cycle's peak is `m_mul` times the previous one. In (0, 1];
            defaults to `1.0`.
        min_learning_rate: Absolute floor at the end of every cycle.
            Defaults to `0.0`.
        max_cycles: Number of cycles after which the learning rate stays at
            the floor, or `None` to restart forever. Defaults to `None`.

    Example:

    >>> schedule = keras_hpt.schedules.CosineWarmRestarts(
    ...     0.1, first_decay_steps=10, t_mul=2.0, m_mul=0.5, max_cycles=3)
    >>> schedule.restart_steps()
    [10, 30, 70]
    >>> [round(float(schedule(s)), 4) for s in (0, 5, 10, 20, 30, 70)]
    [0.1, 0.05, 0.05, 0.025, 0.025, 0.0]
    """

    _period_args = ("first_decay_steps",)

    def __init__(
        self,
        initial_learning_rate: float,
        first_decay_steps: int,
        t_mul: float = 2.0,
        m_mul: float = 1.0,
        min_learning_rate: float = 0.0,
        max_cycles: Optional[int] = None,
    ):
        self.initial_learning_rate = check_learning_rate(
            "initial_learning_rate", initial_learning_rate
        )
        self.first_decay_steps = check_period("first_decay_steps", first_decay_steps)
        self.t_mul = check_number("t_mul", t_mul, low=1)
        self.m_mul = check_number("m_mul", m_mul, low=0, high=1, low_open=True)
        self.min_learning_rate = check_floor(min_learning_rate, self.initial_learning_rate)
        self.max_cycles = check_number(
            "max_cycles", max_cycles, low=1, integer=True, allow_none=True
        )

    def _cycle(self, step):
        """`(cycle index, its real-valued start, its length)` for a float32 step tensor.

        One power of `t_mul` serves the start and the length, since this runs
        in every training step.
        """
        first, t_mul = float(self.first_decay_steps), self.t_mul
        if t_mul == 1.0:
            cycle = ops.floor(step / first)
            growth = ops.ones_like(step)
        else:
            cycle = ops.floor(ops.log1p(step / first * (t_mul - 1.0)) / math.log(t_mul))
            growth = ops.power(t_mul, cycle)
        # A float32 log lands a hair short of an exact restart: move such a
        # step into its new cycle, so a restart always starts at the peak. (A
        # log landing a hair past a restart already counts as the new cycle.)
        start = self._start_from_growth(cycle, growth)
        end = start + first * growth
        late = step >= end - _tolerance(end)
        cycle = ops.where(late, cycle + 1.0, cycle)
        growth = ops.where(late, growth * t_mul, growth)
        return cycle, ops.where(late, end, start), first * growth

    def _start_from_growth(self, cycle, growth):
        """Real-valued step at which `cycle` begins, given `growth = t_mul ** cycle`."""
        first = float(self.first_decay_steps)
        if self.t_mul == 1.0:
            return first * cycle
        return first * (growth - 1.0) / (self.t_mul - 1.0)

    def _learning_rate_at(self, step):
        cycle, start, length = self._cycle(step)
        fraction = ops.clip((step - start) / length, 0.0, 1.0)
        peak = self.initial_learning_rate
        if self.m_mul != 1.0:
            peak = ops.maximum(peak * ops.power(self.m_mul, cycle), self.min_learning_rate)
        learning_rate = cosine_interpolation(peak, self.min_learning_rate, fraction)
        if self.max_cycles is None:
            return learning_rate
        floor = ops.full_like(learning_rate, self.min_learning_rate)
        return ops.where(cycle >= self.max_cycles, floor, learning_rate)

    @property
    def has_restarts(self) -> bool:
        return True

    def restart_steps(self, until_step: Optional[int] = None) -> List[int]:
        """Steps at which a cycle ends and the learning rate jumps back up.

        With `max_cycles`, the last entry is where the final cycle ends and the
        floor begins.

        Args:
            until_step: Only list steps up to this one (inclusive). Required
                when `max_cycles` is `None`.

        Returns:
            The sorted list of integer steps that start a new cycle.
        """
        if until_step is None and self.max_cycles is None:
            raise ValueError(
                "`until_step` is required when `max_cycles` is None, since the "
                "schedule restarts forever. Received: until_step=None"
            )
        steps = []
        cycle = 1
        while self.max_cycles is None or cycle <= self.max_cycles:
            # The first integer step at or after the real-valued cycle start.
            start = self._start_from_growth(float(cycle), self.t_mul**cycle)
            step = math.ceil(start - _tolerance(start))
            if until_step is not None and step > until_step:
                break
            steps.append(step)
            cycle += 1
        return steps

    def _length(self) -> Optional[int]:
        if self.max_cycles is None:
            return None
        return self.restart_steps()[-1]
