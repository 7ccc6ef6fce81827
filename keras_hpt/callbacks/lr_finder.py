"""The learning-rate range test as a callback, for users who drive `fit` themselves."""

import math
from typing import Optional

import keras
import numpy as np
from keras import ops
from keras.src.utils import io_utils

from keras_hpt._registration import register
from keras_hpt._scalars import optimizer_step
from keras_hpt._validation import check_choice, check_condition, check_number
from keras_hpt.callbacks._monitor import is_finite
from keras_hpt.callbacks._training_state import TrainingState
from keras_hpt.callbacks.base import Callback

MIN_STEPS = 10
_WINDOW = 5  # raw losses in the causal median that the divergence test watches


def ladder(min_lr: float, max_lr: float, num_steps: int, mode: str) -> np.ndarray:
    """The rates of a range test: `num_steps` of them, from `min_lr` to `max_lr` exactly."""
    if mode == "linear":
        return np.linspace(min_lr, max_lr, num_steps)
    return np.geomspace(min_lr, max_lr, num_steps)


class _RangeTestRate(keras.optimizers.schedules.LearningRateSchedule):
    """The ladder as a schedule of the optimizer's step: one rung per block of steps.

    Computed in the compiled train step, so every step of a
    `steps_per_execution` block gets the rung the block started on.
    """

    def __init__(self, rates: np.ndarray, first_step: int, block: int):
        self.rates = ops.convert_to_tensor(rates.astype("float32"))
        self.first_step, self.block = first_step, block

    def __call__(self, step):
        rung = (ops.cast(step, "int32") - self.first_step) // self.block
        return ops.take(self.rates, ops.clip(rung, 0, len(self.rates) - 1))

    def get_config(self):
        return {"first_step": self.first_step, "block": self.block}


def check_range_test_arguments(min_lr, max_lr, num_steps, mode, stop_factor):
    """Shared by `LRFinder` and `lr_find`: fails on a range that cannot be tested."""
    check_number("min_lr", min_lr, low=0, low_open=True)
    check_number("max_lr", max_lr, low=0, low_open=True)
    check_condition(min_lr < max_lr, "min_lr", min_lr, f"smaller than max_lr={max_lr}")
    check_number("num_steps", num_steps, low=MIN_STEPS, integer=True)
    check_choice("mode", mode, ("exponential", "linear"))
    check_number("stop_factor", stop_factor, low=1, low_open=True, allow_none=True)


@register
class LRFinder(Callback):
    """Leslie Smith's learning-rate range test during `fit`, recording the true batch loss.

    Raises the learning rate from `min_lr` to `max_lr` (both hit exactly) over
    `num_steps` steps and records each step's own loss: Keras' logs carry the
    running mean of the epoch, so the callback resets the metrics before every
    step instead. It stops when the loss turns NaN or Inf or when the median
    of the last 5 losses is worse than the best by `stop_factor` (measured as
    `(stop_factor - 1) * |best|`, so negative losses work too). With
    `restore=True` the model's, optimizer's and metrics' variables and the
    learning rate (float or schedule) are put back when training ends, so a
    later `fit` trains exactly as if the test never ran. With
    `steps_per_execution = k` each rate is held for one block of `k` steps.

    `keras_hpt.lr_find` runs this callback and turns its records into
    suggestions.

    Args:
        min_lr: First learning rate. Defaults to `1e-7`.
        max_lr: Last learning rate. Defaults to `10.0`.
        num_steps: Number of rates tried, at least 10. Defaults to `100`.
        mode: `"exponential"` (a geometric ladder) or `"linear"`.
        stop_factor: Divergence threshold, above 1, or `None` to never stop
            early except on NaN/Inf. Defaults to `4.0`.
        restore: Whether to restore the model when training ends.
        verbose: `0` silent, `1` prints why the test stopped.

    Example:

    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(0.01), "mse")
    >>> finder = keras_hpt.callbacks.LRFinder(min_lr=1e-4, max_lr=1.0, num_steps=20)
    >>> _ = model.fit(np.random.rand(64, 4), np.random.rand(64, 1), batch_size=4, epochs=2,
    ...               callbacks=[finder], verbose=0)
    >>> len(finder.losses) <= 20, float(model.optimizer.learning_rate)
    (True, 0.01)
    """

    def __init__(
        self,
        min_lr: float = 1e-7,
        max_lr: float = 10.0,
        num_steps: int = 100,
        mode: str = "exponential",
        stop_factor: Optional[float] = 4.0,
        restore: bool = True,
        verbose: int = 0,
    ):
        super().__init__()
        check_range_test_arguments(min_lr, max_lr, num_steps, mode, stop_factor)
        self.min_lr, self.max_lr, self.num_steps = min_lr, max_lr, num_steps
        self.mode, self.stop_factor = mode, stop_factor
        self.restore, self.verbose = restore, verbose
        self.initial_state = None
        self._active = False
        self._reset()

    def _reset(self):
        self.learning_rates, self.losses = [], []
        self.stop_reason, self.diverged_at = None, None
        self._best = math.inf

    def on_train_begin(self, logs=None):
        self._reset()
        # Captured before anything changes; `lr_find` also starts its
        # confirmation runs from it.
        self.initial_state = TrainingState(self.model)
        self._active = True
        rates = ladder(self.min_lr, self.max_lr, self.num_steps, self.mode)
        self._rates = rates
        self.initial_state.set_learning_rate(
            _RangeTestRate(rates, optimizer_step(self.model.optimizer),
                           int(getattr(self.model, "steps_per_execution", 1) or 1))
        )

    def on_train_batch_begin(self, batch, logs=None):
        # The logs then hold this step's loss instead of the epoch's running mean.
        for metric in self.model.metrics:
            metric.reset_state()

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or self.stop_reason is not None:
            return
        self.learning_rates.append(float(self._rates[len(self.losses)]))
        self.losses.append(float(np.asarray(loss)))
        if not is_finite(loss):
            self._stop("non_finite")
        elif self._diverged():
            self._stop("diverged")
        elif len(self.losses) == self.num_steps:
            self._stop("completed")

    def _diverged(self) -> bool:
        if self.stop_factor is None:
            return False
        recent = float(np.median(self.losses[-_WINDOW:]))
        self._best = min(self._best, recent)
        return recent - self._best > (self.stop_factor - 1.0) * abs(self._best)

    def _stop(self, reason: str):
        self.stop_reason = reason
        if reason != "completed":
            self.diverged_at = len(self.losses) - 1
        self.model.stop_training = True
        if self.verbose > 0:
            io_utils.print_msg(
                f"\nLRFinder: {reason} at rate {self.learning_rates[-1]:.3g} "
                f"after {len(self.losses)} steps."
            )

    def on_train_end(self, logs=None):
        if self.stop_reason is None:
            self.stop_reason = "data_exhausted"
        self.finish()

    def finish(self):
        """Puts the learning rate back (and, with `restore`, every variable). Idempotent."""
        if not self._active:
            return
        self._active = False
        if self.restore:
            self.initial_state.restore()
        else:
            self.initial_state.set_learning_rate(self.initial_state.learning_rate)
