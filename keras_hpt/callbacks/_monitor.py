"""What keras_hpt's monitoring callbacks add to Keras' `MonitorCallback`.

Keras decides the direction of a metric (`mode="auto"`), flips the sign of
`min_delta` accordingly and compares with `monitor_op`; this mixin keeps all
of that and adds a relative `min_delta`, a divergence test and the argument
checks, so `EarlyStopping` and `ValidationMonitor` judge values alike.
"""

import math

import numpy as np
from keras import ops
from keras.src.callbacks.monitor_callback import MonitorCallback

from keras_hpt._config import constructor_config, from_constructor_config
from keras_hpt._validation import check_choice, check_number

MODES = ("auto", "min", "max")
DELTA_MODES = ("abs", "rel")


def is_finite(value) -> bool:
    """Whether a logged value (a number, or an array such as an F1 score) is finite."""
    if isinstance(value, float):
        return math.isfinite(value)
    return bool(np.all(np.isfinite(np.asarray(value, dtype=np.float64))))


class MonitorRules:
    """Mixin for `MonitorCallback` subclasses with `min_delta_mode` and `divergence_delta`.

    Also gives them a config of their constructor arguments, with `min_delta`
    as the user gave it (Keras keeps it sign-flipped in min mode).
    """

    def _check_monitor_arguments(self, mode, min_delta, min_delta_mode, divergence_delta):
        check_choice("mode", mode, MODES)
        check_number("min_delta", min_delta, low=0)
        check_choice("min_delta_mode", min_delta_mode, DELTA_MODES)
        check_number("divergence_delta", divergence_delta, low=0, low_open=True, allow_none=True)

    def _scaled(self, delta, reference):
        """`delta` as an absolute amount around `reference` (relative mode scales it)."""
        return delta * abs(reference) if self.min_delta_mode == "rel" else delta

    def _is_improvement(self, monitor_value, reference_value):
        if reference_value is None:
            return True
        # Keras has already given `min_delta` the sign of the direction.
        delta = self._scaled(self.min_delta, reference_value)
        return bool(np.all(self.monitor_op(monitor_value - delta, reference_value)))

    def _has_diverged(self, current) -> bool:
        """Whether `current` is worse than the best by more than `divergence_delta`."""
        if self.divergence_delta is None or self.best is None:
            return False
        worse_by = current - self.best if self.monitor_op == ops.less else self.best - current
        return bool(np.any(worse_by > self._scaled(self.divergence_delta, self.best)))

    def get_config(self) -> dict:
        config = constructor_config(self)
        config["min_delta"] = abs(self.min_delta)  # Keras flips its sign in min mode
        return config

    @classmethod
    def from_config(cls, config: dict):
        return from_constructor_config(cls, config)


__all__ = ["MonitorCallback", "MonitorRules", "is_finite"]
