"""`lr_find`: run a range test on a compiled model, confirm, restore, suggest."""

import math
from typing import Optional

import keras
import numpy as np
from keras.src.utils import io_utils

from keras_hpt._validation import check_number
from keras_hpt.callbacks._monitor import is_finite
from keras_hpt.callbacks._training_state import TrainingState, inner_optimizer
from keras_hpt.callbacks.lr_finder import LRFinder, check_range_test_arguments
from keras_hpt.lr_finder.result import LRFinderResult

LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule


class _ConstantRate(LearningRateSchedule):
    def __init__(self, rate: float):
        self.rate = rate

    def __call__(self, step):
        return keras.ops.cast(self.rate, "float32")

    def get_config(self):
        return {"rate": self.rate}


class _LossProbe(keras.callbacks.Callback):
    """Records each step's own loss for `steps` steps, stopping early on NaN/Inf."""

    def __init__(self, steps: int):
        super().__init__()
        self.steps, self.losses = steps, []

    def on_train_batch_begin(self, batch, logs=None):
        for metric in self.model.metrics:
            metric.reset_state()

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or len(self.losses) >= self.steps:
            return
        self.losses.append(float(np.asarray(loss)))
        if not is_finite(loss) or len(self.losses) >= self.steps:
            self.model.stop_training = True


def _is_batched(x) -> bool:
    return (hasattr(x, "element_spec") or isinstance(x, keras.utils.PyDataset)
            or hasattr(x, "__next__"))


def _fit_arguments(x, y, batch_size, blocks: int, block: int, shuffle: bool, seed) -> dict:
    """`fit` arguments that run at least `blocks` callback steps, cycling the data."""
    if not _is_batched(x):
        leaves = keras.tree.flatten(x)
        samples = len(leaves[0])
        batch_size = batch_size or 32
        if shuffle:
            order = np.random.default_rng(seed).permutation(samples)
            x = keras.tree.map_structure(lambda a: np.asarray(a)[order], x)
            y = None if y is None else keras.tree.map_structure(lambda a: np.asarray(a)[order], y)
        per_epoch = math.ceil(math.ceil(samples / batch_size) / block)
        return dict(x=x, y=y, batch_size=batch_size, epochs=math.ceil(blocks / per_epoch),
                    shuffle=False)
    if batch_size is not None:
        raise ValueError(
            "`batch_size` must be None when `x` is a dataset or generator, which batches "
            f"itself. Received: batch_size={batch_size}"
        )
    if hasattr(x, "element_spec"):
        count = int(x.cardinality())
        if count > 0:
            return dict(x=x, epochs=math.ceil(blocks / math.ceil(count / block)), shuffle=False)
        if count == -1:  # infinite
            return dict(x=x, epochs=1, steps_per_epoch=blocks * block, shuffle=False)
        return dict(x=x, epochs=1, shuffle=False)
    if isinstance(x, keras.utils.PyDataset) and x.num_batches:
        return dict(x=x, epochs=math.ceil(blocks / math.ceil(x.num_batches / block)),
                    shuffle=False)
    return dict(x=x, epochs=1, steps_per_epoch=blocks * block, shuffle=False)


def lr_find(
    model: keras.Model,
    x,
    y=None,
    *,
    min_lr: float = 1e-7,
    max_lr: float = 10.0,
    num_steps: int = 100,
    mode: str = "exponential",
    batch_size: Optional[int] = None,
    restore: bool = True,
    stop_factor: Optional[float] = 4.0,
    confirm: bool = True,
    confirm_steps: Optional[int] = None,
    validation_data=None,
    apply: bool = False,
    shuffle: bool = True,
    seed: Optional[int] = None,
    verbose: int = 0,
) -> LRFinderResult:
    """Runs Leslie Smith's learning-rate range test and suggests a learning rate.

    The rate rises from `min_lr` to `max_lr` over `num_steps` steps while
    the true per-step loss is recorded (not Keras' running mean), stopping
    early when the loss diverges or turns NaN/Inf. The finished curve is
    smoothed without lag and read by several rules (`result.suggestion`);
    with `confirm=True` (the default) the rules' distinct candidates each
    train for `confirm_steps` steps from the starting state, and the one with
    the lowest final loss (validation loss with `validation_data`), divided
    by 3, is the suggestion. Afterwards, in a `finally` block, the model's and optimizer's
    variables (slots and `iterations` too), the learning rate or schedule
    object and the metrics are restored, so a later `fit` trains exactly as
    if the test never ran. The data is consumed without touching global
    random state; arrays are shuffled with `seed`, and a dataset shorter
    than the test is cycled through (a generator that runs out ends the test,
    `stop_reason="data_exhausted"`).

    Args:
        model: A compiled Keras model.
        x: Training inputs: arrays, a `tf.data.Dataset`, a
            `keras.utils.PyDataset` or a generator, as for `fit`.
        y: Targets, for array inputs.
        min_lr: First rate, positive. Defaults to `1e-7`.
        max_lr: Last rate, above `min_lr`. Defaults to `10.0`.
        num_steps: Rates tried, at least 10. Defaults to `100`.
        mode: `"exponential"` or `"linear"` ladder.
        batch_size: Batch size for array inputs. Defaults to 32.
        restore: Whether to restore the model afterwards. Defaults to `True`.
        stop_factor: Stop when the loss is worse than the best by this factor
            (`None` never stops early but on NaN/Inf). Defaults to `4.0`.
        confirm: Whether to make the confirmation runs. Defaults to `True`.
        confirm_steps: Steps of each confirmation run. Defaults to
            `num_steps // 2`.
        validation_data: `(x, y)` to score confirmation runs on instead of
            their last training losses.
        apply: Whether to set the optimizer's (float) learning rate to the
            suggestion after restoring.
        shuffle: Whether to shuffle array inputs (with `seed`).
        seed: Seed of that shuffle.
        verbose: `0` silent; `1` prints the suggestion.

    Returns:
        An `LRFinderResult`.

    Example:

    >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(0.01), "mse")
    >>> x = np.random.default_rng(0).normal(size=(512, 8))
    >>> result = keras_hpt.lr_find(model, x, x.sum(axis=1), min_lr=1e-4, max_lr=10.0, seed=0)
    >>> result.stop_reason, 1e-3 < result.suggested_lr < 1.0
    ('diverged', True)
    >>> float(model.optimizer.learning_rate)  # restored
    0.01
    """
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", True):
        raise ValueError("`model` must be compiled before `lr_find`: call `model.compile(...)`.")
    check_range_test_arguments(min_lr, max_lr, num_steps, mode, stop_factor)
    confirm_steps = check_number("confirm_steps", confirm_steps, low=1, integer=True,
                                 allow_none=True) or max(num_steps // 2, 10)
    if apply and isinstance(inner_optimizer(model.optimizer)._learning_rate,
                            LearningRateSchedule):
        raise ValueError("`apply=True` needs an optimizer with a float learning rate; this one "
                         "holds a schedule. Received: apply=True")
    block = int(getattr(model, "steps_per_execution", 1) or 1)
    finder = LRFinder(min_lr, max_lr, num_steps, mode, stop_factor, restore=False)
    try:
        model.fit(**_fit_arguments(x, y, batch_size, num_steps, block, shuffle, seed),
                  callbacks=[finder], verbose=0)
        result = LRFinderResult(finder.learning_rates, finder.losses, finder.stop_reason,
                                finder.diverged_at, steps=len(finder.losses) * block)
        if confirm and result.candidates():
            result.confirmation, extra = _confirm(
                model, result.candidates(), finder.initial_state, x, y, batch_size,
                confirm_steps, block, validation_data, shuffle, seed)
            result.steps += extra
    finally:
        finder.finish()
        if restore and finder.initial_state is not None:
            finder.initial_state.restore()
    if apply and result.suggested_lr is not None:
        model.optimizer.learning_rate = result.suggested_lr
    if verbose > 0:
        io_utils.print_msg(
            f"lr_find: suggested learning rate {result.suggested_lr} ({result.default_rule})"
            + (f": {result.reason}" if result.reason else ""))
    return result


def _confirm(model, candidates, start: TrainingState, x, y, batch_size, steps, block,
             validation_data, shuffle, seed):
    """Trains each candidate rate for `steps` steps from `start`; returns scores and steps used."""
    after_test = TrainingState(model)
    scores, used = {}, 0
    try:
        for rate in candidates:
            start.restore()
            start.set_learning_rate(_ConstantRate(rate))
            probe = _LossProbe(math.ceil(steps / block))
            model.fit(**_fit_arguments(x, y, batch_size, probe.steps, block, shuffle, seed),
                      callbacks=[probe], verbose=0)
            used += len(probe.losses) * block
            tail = probe.losses[-max(1, len(probe.losses) // 3):]
            score = float(np.mean(tail)) if probe.losses and all(map(np.isfinite, tail)) \
                else math.inf
            if validation_data is not None and np.isfinite(score):
                score = float(np.atleast_1d(model.evaluate(*validation_data, verbose=0))[0])
            scores[rate] = score if np.isfinite(score) else math.inf
    finally:
        after_test.restore()
    return scores, used
