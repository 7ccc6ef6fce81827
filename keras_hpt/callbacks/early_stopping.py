"""Early stopping: everything Keras' callback does, plus what its users ask for."""

from typing import Optional

import keras
from keras.src.utils import io_utils

from keras_hpt._registration import register
from keras_hpt._validation import check_number
from keras_hpt.callbacks._monitor import MonitorRules, is_finite


@register
class EarlyStopping(MonitorRules, keras.callbacks.EarlyStopping):
    """Stop training when a monitored metric has stopped improving.

    A drop-in for `keras.callbacks.EarlyStopping` (Keras' own tests pass
    with it) that adds a relative `min_delta`, a stop when the metric drifts
    too far from its best (divergence), and a stop when it becomes NaN or Inf.
    With `restore_best_weights=True` the weights of the best epoch are put
    back however training ends: early stop, non-finite stop or last epoch;
    when no finite epoch was seen, the weights from before training are.
    After training, `stop_reason` tells why it stopped: `"patience"`,
    `"baseline"` (patience ran out without beating `baseline`),
    `"divergence"`, `"non_finite"`, or `None` (it did not stop training).

    Args:
        monitor: Quantity to be monitored. Defaults to `"val_loss"`.
        min_delta: Minimum change that counts as an improvement, at least 0.
            Defaults to `0`.
        patience: Number of epochs with no improvement after which training
            stops. Defaults to `0`.
        verbose: `0` is silent, `1` prints when and why training stops.
        mode: `"auto"`, `"min"` or `"max"`: whether the monitored quantity
            should go down or up (`"auto"` infers it from the metric).
        baseline: A value the metric must beat; patience runs out while it
            has not. Defaults to `None`.
        restore_best_weights: Whether to restore the weights of the best
            epoch when training ends. Defaults to `False`.
        start_from_epoch: Epochs to wait before monitoring starts.
        min_delta_mode: `"abs"` (Keras' behaviour) or `"rel"`: `min_delta`
            and `divergence_delta` are then fractions of the best value's
            magnitude. Defaults to `"abs"`.
        divergence_delta: Stop when the metric is worse than the best by more
            than this (absolute, or relative with `min_delta_mode="rel"`).
            Defaults to `None` (no divergence stop).
        terminate_on_nan: Stop at once when the monitored value is NaN or
            Inf. Defaults to `True`.

    Example:

    >>> callback = keras_hpt.callbacks.EarlyStopping(monitor="loss", patience=2,
    ...                                               min_delta=0.01, min_delta_mode="rel")
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(0.1), "mse")
    >>> history = model.fit(np.ones((8, 4)), np.ones((8, 1)), epochs=50,
    ...                     callbacks=[callback], verbose=0)
    >>> callback.stop_reason, len(history.history["loss"]) < 50
    ('patience', True)
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: Optional[float] = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
        min_delta_mode: str = "abs",
        divergence_delta: Optional[float] = None,
        terminate_on_nan: bool = True,
    ):
        self._check_monitor_arguments(mode, min_delta, min_delta_mode, divergence_delta)
        check_number("patience", patience, low=0, integer=True)
        check_number("start_from_epoch", start_from_epoch, low=0, integer=True)
        check_number("baseline", baseline, allow_none=True)
        super().__init__(
            monitor=monitor,
            min_delta=min_delta,
            patience=patience,
            verbose=verbose,
            mode=mode,
            baseline=baseline,
            restore_best_weights=restore_best_weights,
            start_from_epoch=start_from_epoch,
        )
        self.min_delta_mode = min_delta_mode
        self.divergence_delta = divergence_delta
        self.terminate_on_nan = terminate_on_nan
        self.stop_reason = None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.stop_reason = None
        self._beat_baseline = self.baseline is None
        # Kept apart from `best_weights`, which Keras' contract leaves at None
        # until an epoch has been monitored.
        self._initial_weights = self.model.get_weights() if self.restore_best_weights else None

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = (logs or {}).get(self.monitor)
        if current is not None and epoch >= self.start_from_epoch:
            if self.terminate_on_nan and not is_finite(current):
                return self._stop(epoch, "non_finite", current)
            if self._has_diverged(current):
                return self._stop(epoch, "divergence", current)
            if not self._beat_baseline and self._is_improvement(current, self.baseline):
                self._beat_baseline = True
        stopped_before = self.stopped_epoch
        super().on_epoch_end(epoch, logs)
        if self.stopped_epoch != stopped_before:
            self.stop_reason = "patience" if self._beat_baseline else "baseline"

    def _stop(self, epoch: int, reason: str, value):
        self.stopped_epoch = epoch
        self.stop_reason = reason
        self.model.stop_training = True
        if self.verbose > 0:
            io_utils.print_msg(
                f"\nEpoch {epoch + 1}: stopping, `{self.monitor}` is {value} ({reason}); "
                f"best was {self.best} at epoch {self.best_epoch + 1}."
            )

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is None and (
            self._initial_weights is not None and self.stop_reason == "non_finite"
        ):
            self.model.set_weights(self._initial_weights)
        self._initial_weights = None
        super().on_train_end(logs)
