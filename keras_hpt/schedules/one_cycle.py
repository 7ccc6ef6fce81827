"""Leslie Smith's one-cycle policy."""

from keras import ops

from keras_hpt._registration import register
from keras_hpt._validation import check_choice, check_number
from keras_hpt.schedules.base import (
    Schedule,
    check_learning_rate,
    cosine_interpolation,
)


@register
class OneCycle(Schedule):
    """Warms up to a peak, then anneals far below the starting learning rate.

    The rate starts at `max_learning_rate / div_factor`, rises to
    `max_learning_rate` at step `pct_start * (total_steps - 1)`, then falls to
    `max_learning_rate / (div_factor * final_div_factor)` at the last step,
    `total_steps - 1`, and stays there. Both phases follow a half cosine
    (`anneal="cos"`, as fastai and PyTorch) or a straight line
    (`anneal="linear"`, Smith's original).

    Args:
        max_learning_rate: Peak learning rate, for example the value a
            learning-rate range test suggests.
        total_steps: Length of the policy in steps, usually
            `epochs * steps_per_epoch`. An integer >= 2.
        pct_start: Fraction of the steps spent warming up, in (0, 1).
            Defaults to `0.25`.
        div_factor: Start at `max_learning_rate / div_factor`. At least 1;
            defaults to `25.0`.
        final_div_factor: End at the start rate divided by this. At least 1;
            defaults to `1e4`.
        anneal: `"cos"` or `"linear"`. Defaults to `"cos"`.

    Example:

    >>> schedule = keras_hpt.schedules.OneCycle(0.1, total_steps=101, pct_start=0.3)
    >>> [round(float(schedule(s)), 4) for s in (0, 30)]
    [0.004, 0.1]
    >>> f"{float(schedule(100)):.1e}"
    '4.0e-07'

    """

    _period_args = ("total_steps",)

    def __init__(
        self,
        max_learning_rate: float,
        total_steps: int,
        pct_start: float = 0.25,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        anneal: str = "cos",
    ):
        self.max_learning_rate = check_learning_rate("max_learning_rate", max_learning_rate)
        self.total_steps = check_number("total_steps", total_steps, low=2, integer=True)
        self.pct_start = check_number(
            "pct_start", pct_start, low=0, high=1, low_open=True, high_open=True
        )
        self.div_factor = check_number("div_factor", div_factor, low=1)
        self.final_div_factor = check_number("final_div_factor", final_div_factor, low=1)
        self.anneal = check_choice("anneal", anneal, ("cos", "linear"))

    def _length(self) -> int:
        return self.total_steps

    def _interpolate(self, start, end, fraction):
        if self.anneal == "cos":
            return cosine_interpolation(start, end, fraction)
        return start + (end - start) * fraction

    def _learning_rate_at(self, step):
        initial = self.max_learning_rate / self.div_factor
        final = initial / self.final_div_factor
        last = self.total_steps - 1
        peak_step = self.pct_start * last
        step = ops.clip(step, 0.0, float(last))
        rising = self._interpolate(initial, self.max_learning_rate, step / peak_step)
        falling = self._interpolate(
            self.max_learning_rate, final, (step - peak_step) / (last - peak_step)
        )
        return ops.where(step <= peak_step, rising, falling)
