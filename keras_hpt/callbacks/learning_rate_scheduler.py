"""Setting a float learning rate from a schedule, per epoch or per step."""

import inspect
import numbers
from typing import Callable, Union

import keras
import numpy as np
from keras.src.utils import io_utils

from keras_hpt._registration import register
from keras_hpt._scalars import to_float
from keras_hpt._validation import check_choice
from keras_hpt.callbacks._learning_rate import current_learning_rates, optimizers_of
from keras_hpt.callbacks._steps import StepCounter
from keras_hpt.callbacks.base import Callback
from keras_hpt.schedules.base import evaluate_schedule

LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule

# Rates of a schedule object are computed this many steps at a time, so the
# per-step cost is a table look-up instead of a chain of eager ops.
_BLOCK = 512


def _takes_learning_rate(function: Callable) -> bool:
    """Whether `function(t, lr)` is a valid call (Keras' two-argument form)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return False
    try:
        signature.bind(0, 0.0)
    except TypeError:
        return False
    return True


def _as_float(value, unit: str, t: int) -> float:
    array = np.asarray(keras.ops.convert_to_numpy(value))
    if array.shape != () or not isinstance(array.item(), numbers.Real):
        raise ValueError(
            "The output of the `schedule` function should be a float. "
            f"Got: {value!r} at {unit} {t}"
        )
    rate = float(array)
    if not np.isfinite(rate) or rate < 0:
        raise ValueError(
            "The `schedule` must return a finite, non-negative learning rate. "
            f"Got: {rate} at {unit} {t}"
        )
    return rate


@register
class LearningRateScheduler(StepCounter, Callback):
    """Sets the optimizer's learning rate from a schedule, every epoch or every step.

    A drop-in for `keras.callbacks.LearningRateScheduler` (which works per
    epoch only) that also takes any `LearningRateSchedule` object, keras_hpt's
    or Keras' own, and can apply it per step. With `unit="step"` the schedule
    is evaluated at the optimizer's `iterations`, so resuming training
    continues the schedule where it left off. The optimizer must have been
    built with a float learning rate; one built with a schedule already
    follows it and raises Keras' `TypeError`. The rate the epoch's last step
    used is written to the logs as `learning_rate` at every epoch end.

    Args:
        schedule: A `LearningRateSchedule`, or a function of the epoch (or
            step) index, optionally taking the current learning rate as a
            second argument, returning a float.
        unit: `"epoch"` (set the rate at the start of each epoch, from the
            epoch index) or `"step"` (before each training step, from the
            optimizer's step count). Defaults to `"epoch"`.
        verbose: `0` is silent; `1` prints the rate each time an epoch starts.

    Example:

    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(0.1), "mse")
    >>> scheduler = keras_hpt.callbacks.LearningRateScheduler(
    ...     keras_hpt.schedules.CosineDecay(0.1, decay_steps=8), unit="step")
    >>> history = model.fit(np.ones((8, 4)), np.ones((8, 1)), batch_size=2,
    ...                     epochs=2, callbacks=[scheduler], verbose=0)
    >>> [round(lr, 4) for lr in history.history["learning_rate"]]
    [0.0691, 0.0038]
    """

    def __init__(
        self,
        schedule: Union[LearningRateSchedule, Callable],
        unit: str = "epoch",
        verbose: int = 0,
    ):
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                "`schedule` must be a `LearningRateSchedule` or a function of the "
                f"epoch or step index. Received: schedule={schedule!r}"
            )
        self.schedule = schedule
        self.unit = check_choice("unit", unit, ("epoch", "step"))
        self.verbose = verbose
        self._is_schedule_object = isinstance(schedule, LearningRateSchedule)
        self._passes_learning_rate = not self._is_schedule_object and _takes_learning_rate(
            schedule
        )
        self._reset_cache()

    def _reset_cache(self):
        self._cache_start = 0
        self._cache = np.empty(0)

    def _rate(self, t: int, optimizer) -> float:
        if self._is_schedule_object:
            if not self._cache_start <= t < self._cache_start + len(self._cache):
                self._cache_start = t
                self._cache = evaluate_schedule(self.schedule, np.arange(t, t + _BLOCK))
            return float(self._cache[t - self._cache_start])
        if self._passes_learning_rate:
            current = to_float(optimizer.learning_rate)
            return _as_float(self.schedule(t, current), self.unit, t)
        return _as_float(self.schedule(t), self.unit, t)

    def _apply(self, t: int):
        for optimizer in optimizers_of(self.model):
            rate = self._rate(t, optimizer)
            if rate != self._last_set.get(id(optimizer)):
                optimizer.learning_rate = rate
                self._last_set[id(optimizer)] = rate

    def on_train_begin(self, logs=None):
        self._last_set = {}
        self._reset_cache()
        self._start_counting()

    def on_epoch_begin(self, epoch, logs=None):
        self._count_epoch()
        if self.unit == "epoch":
            # Keras' own callback sets the rate every epoch, even if unchanged,
            # so a rate changed elsewhere is overwritten in the same way.
            self._last_set = {}
            self._apply(epoch)
        if self.verbose > 0:
            rates = ", ".join(str(v) for v in current_learning_rates(self.model).values())
            io_utils.print_msg(
                f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {rates}."
            )

    def on_train_batch_begin(self, batch, logs=None):
        if self.unit == "step":
            self._apply(self.steps_done)

    def on_train_batch_end(self, batch, logs=None):
        self._count_batch(batch)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs.update(current_learning_rates(self.model))
