"""Saving the weights at the end of every warm-restart cycle (snapshot ensembles)."""

import os

from keras.src.utils import io_utils

from keras_hpt._registration import register
from keras_hpt._validation import check_condition
from keras_hpt.callbacks._steps import StepCounter
from keras_hpt.callbacks.base import Callback
from keras_hpt.schedules.base import schedule_length


@register
class SnapshotEnsemble(StepCounter, Callback):
    """Saves the model at the end of every cycle of a warm-restart schedule.

    Snapshot ensembles (Huang et al. 2017) average the predictions of the
    models saved where a cyclic schedule reaches its floor, just before each
    restart: M models for the cost of training one. The callback reads the
    restart steps from `schedule` (or from the schedule the optimizer holds)
    and saves when the optimizer's step count reaches each of them. With
    `steps_per_execution > 1`, it saves at the end of the block that contains
    the restart.

    Args:
        filepath: Where to save, formatted with `snapshot` (1, 2, ...) and
            `step`, for example `"snapshots/model_{snapshot}.weights.h5"`.
            Ending in `.weights.h5` saves the weights, `.keras` the whole model.
        schedule: The schedule with restarts (`CosineWarmRestarts`, or a
            `Warmup` around one). Defaults to the optimizer's own schedule.
        verbose: `0` is silent; `1` prints a line at each snapshot.

    Example:

    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> schedule = keras_hpt.schedules.CosineWarmRestarts(0.05, first_decay_steps=4, t_mul=1.0)
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(schedule), "mse")
    >>> snapshots = keras_hpt.callbacks.SnapshotEnsemble(
    ...     os.path.join(folder, "model_{snapshot}.weights.h5"))
    >>> history = model.fit(np.ones((8, 4)), np.ones((8, 1)), batch_size=2, epochs=3,
    ...                     callbacks=[snapshots], verbose=0)
    >>> [os.path.basename(path) for path in snapshots.snapshots]
    ['model_1.weights.h5', 'model_2.weights.h5', 'model_3.weights.h5']
    """

    def __init__(self, filepath: str, schedule=None, verbose: int = 0):
        super().__init__()
        filepath = os.fspath(filepath)
        check_condition(
            filepath.endswith((".weights.h5", ".keras")),
            "filepath",
            filepath,
            'a path ending in ".weights.h5" (weights) or ".keras" (whole model)',
        )
        check_condition(
            schedule is None or getattr(schedule, "has_restarts", False),
            "schedule",
            schedule,
            "a schedule with restarts, such as CosineWarmRestarts, or None",
        )
        self.filepath = filepath
        self.schedule = schedule
        self.verbose = verbose
        self.snapshots = []

    def _restart_schedule(self):
        if self.schedule is not None:
            return self.schedule
        # The public `learning_rate` property evaluates the schedule; the
        # schedule object itself is only reachable through `_learning_rate`.
        held = getattr(self.model.optimizer, "_learning_rate", None)
        if not getattr(held, "has_restarts", False):
            raise ValueError(
                "SnapshotEnsemble needs a schedule with restarts: pass `schedule=` "
                "or compile the model with an optimizer whose learning rate is a "
                f"CosineWarmRestarts schedule. The optimizer holds: {held!r}"
            )
        return held

    def on_train_begin(self, logs=None):
        self.snapshots = []
        self._start_counting()
        start = self.steps_done
        epochs, steps = self.params.get("epochs"), self.params.get("steps")
        until = start + epochs * steps if epochs and steps else None
        schedule = self._restart_schedule()
        if until is None and schedule_length(schedule) is None:
            raise ValueError(
                "SnapshotEnsemble cannot tell where the restarts are: the training "
                "length is unknown (no `steps_per_epoch` and no length for the data) "
                "and the schedule restarts forever. Give `fit` a `steps_per_epoch`, "
                "or the schedule a `max_cycles`."
            )
        restarts = schedule.restart_steps(until)
        self._pending = [step for step in restarts if step > start]
        self._count = len([step for step in restarts if step <= start])

    def on_epoch_begin(self, epoch, logs=None):
        self._count_epoch()

    def on_train_batch_end(self, batch, logs=None):
        self._count_batch(batch)
        if not self._pending:
            return
        step = self.steps_done
        if step < self._pending[0]:
            return
        while self._pending and self._pending[0] <= step:
            self._pending.pop(0)
            self._count += 1
        self._save(step)

    def _save(self, step: int):
        path = self.filepath.format(snapshot=self._count, step=step)
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if path.endswith(".keras"):
            self.model.save(path)
        else:
            self.model.save_weights(path)
        self.snapshots.append(path)
        if self.verbose > 0:
            io_utils.print_msg(f"\nStep {step}: SnapshotEnsemble saved snapshot {path}")
