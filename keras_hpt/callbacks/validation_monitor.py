"""Validation every N training steps, early stopping in steps, and NaN termination."""

import warnings
from typing import Optional

import keras
import numpy as np
from keras.src.utils import io_utils

from keras_hpt._registration import register
from keras_hpt._validation import check_number
from keras_hpt.callbacks._monitor import MonitorCallback, MonitorRules, is_finite
from keras_hpt.callbacks._steps import StepCounter


class NonFiniteError(RuntimeError):
    """Raised by `ValidationMonitor(raise_error=True)` when a value becomes NaN or Inf."""


def _first_dimensions(structure) -> set:
    shapes = [np.shape(leaf) for leaf in keras.tree.flatten(structure)]
    if any(len(shape) == 0 for shape in shapes):
        raise ValueError(
            "`validation_data` given as a tuple must hold arrays with a sample dimension. "
            f"Received shapes: {shapes}"
        )
    return {shape[0] for shape in shapes}


@register
class ValidationMonitor(StepCounter, MonitorRules, MonitorCallback):
    """Evaluates every `every_n_steps` training steps; stops on stalls and on NaN.

    The step-based successor of TF1's `ValidationMonitor` and `NanLoss`
    monitors. Evaluation runs mid-epoch without disturbing the training
    metrics that `fit` reports (Keras' `evaluate` resets them; this callback
    puts them back). Its latest results are added to the batch and epoch logs
    under `val_*` names, so `History` and later callbacks see them (values
    `fit` computed itself from its own `validation_data` are left alone).

    It stops training when `monitor` has not improved for
    `early_stopping_rounds` training steps (`stop_reason="no_improvement"`),
    and, with `terminate_on_nan`, at the step where the training loss or any
    validation metric becomes NaN or Inf (`stop_reason="non_finite"`; with
    `steps_per_execution > 1`, at the end of that block); every `val_*` value
    of that epoch's logs is then NaN, never a stale finite one. After training:
    `stop_reason`, `stopped_step`, `best`, `best_step` and `evaluations`, the
    list of `(step, metrics)` it measured.

    In a keras-tuner search, a trial scores its best epoch: a trial stopped
    for NaN after finite epochs keeps the score (and keras-tuner's checkpoint)
    of its best finite epoch; one that is NaN from its first epoch scores NaN,
    keras-tuner marks it `FAILED` and the search goes on. keras-tuner aborts a
    search after `max_consecutive_failed_trials` (3) such trials in a row;
    keras_hpt's own tuners rank them worst instead.

    Args:
        validation_data: `(x, y)` or `(x, y, sample_weight)` arrays, a
            `tf.data.Dataset`, a `keras.utils.PyDataset`, a function returning
            a fresh generator of batches, or an endless generator together
            with `validation_steps`.
        every_n_steps: Evaluate every this many training steps (counted by
            the optimizer, so across epochs and `fit` calls). Defaults to 100.
        early_stopping_rounds: Stop after this many training steps without
            improvement, or `None` to never stop for that. Defaults to `None`.
        monitor: Validation metric to judge by. Defaults to `"val_loss"`.
        mode: `"auto"`, `"min"` or `"max"`. Defaults to `"auto"`.
        min_delta: Minimum change that counts as an improvement. Defaults to 0.
        terminate_on_nan: Stop when the training loss or a validation metric
            is NaN or Inf. Defaults to `True`.
        restore_best_weights: Restore the weights of the best evaluation when
            training ends (however it ends); after a non-finite stop with no
            finite evaluation, the weights from before training. Defaults to
            `False`.
        validation_steps: Batches per evaluation; required for an endless
            generator. Defaults to `None` (the whole validation data).
        verbose: `0` is silent; `1` prints each evaluation.
        min_delta_mode: `"abs"` or `"rel"` (`min_delta` as a fraction of the
            best value). Defaults to `"abs"`.
        raise_error: On a non-finite value, raise `NonFiniteError` instead of
            stopping gracefully (after restoring weights if asked). Other
            callbacks' `on_train_end` then does not run. Defaults to `False`.
        batch_size: Batch size for array validation data. Defaults to `None`
            (Keras' default of 32).

    Example:

    >>> x, y = np.random.rand(64, 4), np.random.rand(64, 1)
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(0.1), "mse")
    >>> monitor = keras_hpt.callbacks.ValidationMonitor((x[:16], y[:16]), every_n_steps=5)
    >>> history = model.fit(x, y, batch_size=8, epochs=2, callbacks=[monitor], verbose=0)
    >>> [step for step, metrics in monitor.evaluations]
    [5, 10, 15]
    >>> "val_loss" in history.history
    True
    """

    def __init__(
        self,
        validation_data,
        every_n_steps: int = 100,
        early_stopping_rounds: Optional[int] = None,
        monitor: str = "val_loss",
        mode: str = "auto",
        min_delta: float = 0.0,
        terminate_on_nan: bool = True,
        restore_best_weights: bool = False,
        validation_steps: Optional[int] = None,
        verbose: int = 0,
        min_delta_mode: str = "abs",
        raise_error: bool = False,
        batch_size: Optional[int] = None,
    ):
        self._check_monitor_arguments(mode, min_delta, min_delta_mode, None)
        check_number("every_n_steps", every_n_steps, low=1, integer=True)
        check_number("early_stopping_rounds", early_stopping_rounds, low=1, integer=True,
                     allow_none=True)
        check_number("validation_steps", validation_steps, low=1, integer=True, allow_none=True)
        check_number("batch_size", batch_size, low=1, integer=True, allow_none=True)
        self._check_validation_data(validation_data, validation_steps)
        super().__init__(monitor=monitor, mode=mode, min_delta=min_delta)
        self.validation_data = validation_data
        self.every_n_steps = every_n_steps
        self.early_stopping_rounds = early_stopping_rounds
        self.min_delta_mode = min_delta_mode
        self.divergence_delta = None
        self.terminate_on_nan = terminate_on_nan
        self.restore_best_weights = restore_best_weights
        self.validation_steps = validation_steps
        self.verbose = verbose
        self.raise_error = raise_error
        self.batch_size = batch_size
        self._reset()

    @staticmethod
    def _check_validation_data(data, steps):
        if isinstance(data, (tuple, list)):
            if len(data) not in (2, 3):
                raise ValueError(
                    "`validation_data` given as a tuple must be (x, y) or (x, y, sample_weight). "
                    f"Received a tuple of length {len(data)}"
                )
            sizes = set().union(*(_first_dimensions(part) for part in data if part is not None))
            if len(sizes) > 1:
                raise ValueError(
                    "`validation_data` arrays must all have the same number of samples. "
                    f"Received first dimensions: {sorted(sizes)}"
                )
        elif hasattr(data, "__next__") and steps is None:
            raise ValueError(
                "`validation_data` is a generator, which can be consumed only once. Pass "
                "`validation_steps` (for an endless generator), or a function that "
                "returns a fresh generator. Received: validation_steps=None"
            )
        elif not (callable(data) or hasattr(data, "__iter__") or hasattr(data, "__next__")):
            raise TypeError(
                "`validation_data` must be (x, y[, sample_weight]), a dataset, a generator "
                f"or a function returning one. Received: validation_data={data!r}"
            )

    def _reset(self):
        self.evaluations = []
        self.best = None
        self.best_step = None
        self.best_weights = None
        self.stop_reason = None
        self.stopped_step = None
        self._latest = {}
        self._initial_weights = None
        self._array_dataset = None

    def on_train_begin(self, logs=None):
        self._reset()
        self._check_shapes()
        self._array_dataset = self._batched_arrays()
        if self.restore_best_weights:
            self._initial_weights = self.model.get_weights()
        self._start_counting()
        self._last_block = self.steps_done // self.every_n_steps

    def on_epoch_begin(self, epoch, logs=None):
        self._count_epoch()

    def _check_shapes(self):
        if not isinstance(self.validation_data, (tuple, list)):
            return
        inputs = getattr(self.model, "inputs", None) or []
        arrays = keras.tree.flatten(self.validation_data[0])
        if not inputs or len(arrays) != len(inputs):
            return
        for array, tensor in zip(arrays, inputs):
            expected, given = tuple(tensor.shape[1:]), np.shape(array)[1:]
            if len(expected) != len(given) or any(
                e is not None and e != g for e, g in zip(expected, given)
            ):
                raise ValueError(
                    f"`validation_data` does not fit the model: input `{tensor.name}` expects "
                    f"samples of shape {expected}, the validation data has {given}"
                )

    def _evaluation_arguments(self) -> dict:
        data = self.validation_data
        if isinstance(data, (tuple, list)):
            if self._array_dataset is not None:
                return dict(x=self._array_dataset, steps=self.validation_steps)
            x, y, *weights = data
            return dict(x=x, y=y, sample_weight=weights[0] if weights else None,
                        batch_size=self.batch_size, steps=self.validation_steps)
        if callable(data) and not hasattr(data, "__iter__"):
            data = data()
        return dict(x=data, steps=self.validation_steps)

    def _batched_arrays(self):
        """Array validation data as a `tf.data.Dataset` built once, on TensorFlow.

        `evaluate` builds its input pipeline anew for arrays at every call,
        which costs more than the evaluation of a small validation set; `fit`
        avoids that for its own validation by caching its iterator.
        """
        if keras.backend.backend() != "tensorflow" or not isinstance(
            self.validation_data, (tuple, list)
        ):
            return None
        import tensorflow as tf

        parts = tuple(part for part in self.validation_data if part is not None)
        return tf.data.Dataset.from_tensor_slices(parts).batch(self.batch_size or 32)

    def _evaluate(self) -> dict:
        # `evaluate` resets every metric of the model, the training ones
        # included: keep their state and put it back afterwards.
        variables = [v for metric in self.model.metrics for v in metric.variables]
        state = [keras.ops.convert_to_numpy(v) for v in variables]
        with warnings.catch_warnings():
            # A finite generator without `validation_steps` ends by running
            # out of data, which is how an evaluation pass should end.
            warnings.filterwarnings("ignore", message="Your input ran out of data")
            results = self.model.evaluate(
                **self._evaluation_arguments(), verbose=0, return_dict=True
            )
        for variable, value in zip(variables, state):
            variable.assign(value)
        return {f"val_{name}": _to_python(value) for name, value in results.items()}

    def on_train_batch_end(self, batch, logs=None):
        logs = logs if logs is not None else {}
        self._count_batch(batch)
        loss = logs.get("loss")
        if self.terminate_on_nan and loss is not None and not is_finite(loss):
            self._stop("non_finite", f"training loss is {loss}")
            return
        step = self.steps_done
        block = step // self.every_n_steps
        if block > self._last_block:
            self._last_block = block
            self._on_evaluation(step, self._evaluate())
        logs.update(self._latest)

    def _on_evaluation(self, step: int, metrics: dict):
        self.evaluations.append((step, metrics))
        self._latest = metrics
        if self.monitor not in metrics:
            raise ValueError(
                f"ValidationMonitor monitors `{self.monitor}`, which its evaluation does not "
                f"produce. Available: {', '.join(sorted(metrics))}"
            )
        if self.monitor_op is None:
            self._set_monitor_op()
        current = metrics[self.monitor]
        if self.verbose > 0:
            shown = ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if np.ndim(v) == 0)
            io_utils.print_msg(f"\nStep {step}: {shown}")
        if self.terminate_on_nan and not all(is_finite(v) for v in metrics.values()):
            self._stop("non_finite", f"validation metrics are {metrics}")
            return
        if self._is_improvement(current, self.best):
            self.best, self.best_step = current, step
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
        elif (
            self.early_stopping_rounds is not None
            and step - self.best_step >= self.early_stopping_rounds
        ):
            self._stop("no_improvement", f"`{self.monitor}` last improved at step "
                                         f"{self.best_step} ({self.best})")

    def _stop(self, reason: str, why: str):
        step = self.steps_done
        self.stop_reason, self.stopped_step = reason, step
        self.model.stop_training = True
        if self.verbose > 0:
            io_utils.print_msg(f"\nStep {step}: ValidationMonitor stopping training: {why}.")
        if reason == "non_finite" and self.raise_error:
            self._restore()
            raise NonFiniteError(f"Non-finite value at step {step}: {why}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        for name, value in self._latest.items():
            logs.setdefault(name, value)
        if self.stop_reason == "non_finite":
            # The run diverged: no validation value of this epoch may look
            # good to a tuner that ranks trials by it.
            for name in [n for n in logs if n.startswith("val_")]:
                logs[name] = float("nan")

    def on_train_end(self, logs=None):
        self._restore()

    def _restore(self):
        if not self.restore_best_weights:
            return
        weights = self.best_weights
        if weights is None and self.stop_reason == "non_finite":
            weights = self._initial_weights
        if weights is not None:
            self.model.set_weights(weights)
            if self.verbose > 0:
                where = f"step {self.best_step}" if self.best_weights else "before training"
                io_utils.print_msg(f"Restored the model weights from {where}.")
        self._initial_weights = None


def _to_python(value):
    array = np.asarray(keras.ops.convert_to_numpy(value))
    return float(array) if array.ndim == 0 else array


__all__ = ["NonFiniteError", "ValidationMonitor"]
