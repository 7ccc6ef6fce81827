"""What every keras_hpt schedule shares: validation, config, epoch units, evaluation."""

import abc
import math
from typing import Callable, List, Optional, Union

import keras
import numpy as np
from keras import ops

from keras_hpt._config import constructor_config, from_constructor_config
from keras_hpt._validation import check_number

LearningRate = Union[float, keras.optimizers.schedules.LearningRateSchedule]


class Schedule(keras.optimizers.schedules.LearningRateSchedule, metaclass=abc.ABCMeta):
    """Base of keras_hpt's schedules: a pure function of the step, in `keras.ops`.

    Subclasses validate their arguments in `__init__`, store each under its own
    name (so `get_config` can return them), list the arguments that count
    steps in `_period_args` (so `from_epochs` can convert them), and implement
    `_learning_rate_at(step)` for a float32 step tensor.
    """

    _period_args: tuple = ()
    # Whether a vector of steps gives a vector of rates in one call.
    _elementwise = True

    def __call__(self, step):
        return self._learning_rate_at(ops.cast(step, "float32"))

    @abc.abstractmethod
    def _learning_rate_at(self, step):
        """Returns the learning rate at `step`, a float32 tensor of any shape."""

    def _length(self) -> Optional[int]:
        """Steps after which the schedule stays constant, or `None` if it never does."""
        return None

    @property
    def has_restarts(self) -> bool:
        """Whether the learning rate jumps back up (warm restarts) somewhere."""
        return False

    def restart_steps(self, until_step: Optional[int] = None) -> List[int]:
        """Steps at which a cycle ends and the rate jumps back up: none here.

        Args:
            until_step: Only list steps up to this one (inclusive).

        Returns:
            The sorted list of restart steps; empty for a schedule without
            restarts.
        """
        return []

    def get_config(self) -> dict:
        return constructor_config(self)

    @classmethod
    def from_config(cls, config: dict):
        return from_constructor_config(cls, config)

    @classmethod
    def from_epochs(cls, steps_per_epoch: int, **kwargs):
        """Builds the schedule with its periods given in epochs instead of steps.

        Every argument that counts steps (for example `step_size`,
        `decay_steps`, `total_steps`, `warmup_steps`) is read as a number of
        epochs, which may be fractional, and converted with `steps_per_epoch`.

        Args:
            steps_per_epoch: Optimizer steps in one epoch, usually
                `ceil(num_samples / batch_size)`.
            **kwargs: The constructor arguments, periods in epochs.

        Returns:
            The schedule, with its periods in steps.

        Example:

        >>> halve_every_10_epochs = keras_hpt.schedules.StepDecay.from_epochs(
        ...     steps_per_epoch=50, initial_learning_rate=0.1, step_size=10)
        >>> halve_every_10_epochs.step_size
        500
        """
        steps_per_epoch = check_number("steps_per_epoch", steps_per_epoch, low=1, integer=True)
        for name in cls._period_args:
            if kwargs.get(name) is not None:
                epochs = check_number(name, kwargs[name], low=0, low_open=True)
                kwargs[name] = max(1, int(round(epochs * steps_per_epoch)))
        return cls(**kwargs)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.get_config())
        return f"{type(self).__name__}({args})"


def check_learning_rate(name: str, value, *, allow_zero: bool = False) -> float:
    """Validates a learning rate: a finite float, positive (or zero if allowed)."""
    return check_number(name, value, low=0, low_open=not allow_zero)


def check_floor(min_learning_rate, initial_learning_rate: float) -> float:
    """Validates a floor: a non-negative learning rate not above the start."""
    return check_number(
        "min_learning_rate", min_learning_rate, low=0, high=initial_learning_rate
    )


def check_period(name: str, value) -> int:
    """Validates a period counted in optimizer steps: a positive integer."""
    return check_number(name, value, low=1, integer=True)


def cosine_interpolation(start, end, fraction):
    """Half-cosine from `start` (fraction 0) to `end` (fraction 1)."""
    return end + (start - end) * 0.5 * (1.0 + ops.cos(math.pi * fraction))


def schedule_length(schedule) -> Optional[int]:
    """Steps after which `schedule` stops changing, where that is known.

    Args:
        schedule: A keras_hpt schedule, a Keras `CosineDecay` or
            `PolynomialDecay`, or anything else (whose length is unknown).

    Returns:
        The number of steps, or `None` when the schedule never settles or its
        length cannot be known.

    Example:

    >>> schedule_length(keras.optimizers.schedules.CosineDecay(0.1, 100))
    100
    """
    if isinstance(schedule, Schedule):
        return schedule._length()
    kinds = keras.optimizers.schedules
    if isinstance(schedule, kinds.CosineDecay):
        return int(schedule.decay_steps + (schedule.warmup_steps or 0))
    if isinstance(schedule, kinds.PolynomialDecay) and not schedule.cycle:
        return int(schedule.decay_steps)
    return None


def evaluate_schedule(
    schedule: Union[LearningRate, Callable[[int], float]], steps
) -> np.ndarray:
    """Evaluates a schedule at many steps at once.

    Args:
        schedule: A `LearningRateSchedule` (keras_hpt's or Keras' own), a
            Python function of the step, or a constant float.
        steps: An integer (evaluate at `0..steps-1`) or a sequence of steps.

    Returns:
        A float64 NumPy array with one learning rate per step.

    Example:

    >>> schedule = keras_hpt.schedules.StepDecay(0.1, step_size=2)
    >>> evaluate_schedule(schedule, 5).round(4).tolist()
    [0.1, 0.1, 0.05, 0.05, 0.025]
    """
    steps = np.arange(steps) if np.ndim(steps) == 0 else np.asarray(steps)
    if not callable(schedule):
        return np.full(steps.shape, float(schedule))
    if getattr(schedule, "_elementwise", False):
        values = schedule(ops.convert_to_tensor(steps, "float32"))
        return np.asarray(ops.convert_to_numpy(values), dtype=np.float64)
    # Other schedules may branch on a scalar step (Keras' CosineDecay uses
    # `ops.cond`), and a wrapped one may too: evaluate them one step at a time.
    return np.array(
        [float(ops.convert_to_numpy(schedule(int(s)))) for s in steps], dtype=np.float64
    )
