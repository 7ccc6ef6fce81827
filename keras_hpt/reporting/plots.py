"""Matplotlib figures; matplotlib is the optional `plot` extra."""

from typing import Optional

import numpy as np

from keras_hpt.schedules.base import evaluate_schedule


def require_matplotlib():
    """Imports matplotlib's `Figure`, or says which extra installs it.

    Figures are made without pyplot, so nothing needs a display and nothing
    accumulates in pyplot's global state.

    Returns:
        The `matplotlib.figure.Figure` class.

    Raises:
        ImportError: If matplotlib is not installed.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "Plotting needs matplotlib, which is an optional dependency of keras-hpt. "
            'Install it with: pip install "keras-hpt[plot]"'
        ) from error
    return Figure


def plot_schedule(
    schedule,
    steps: int,
    ax=None,
    label: Optional[str] = None,
    log_scale: bool = False,
    steps_per_epoch: Optional[int] = None,
):
    """Draws a learning-rate schedule against the training step.

    Restarts of a schedule that has them (`CosineWarmRestarts`) are marked
    with dotted vertical lines.

    Args:
        schedule: A `LearningRateSchedule` (keras_hpt's or Keras' own), a
            function of the step, or a constant.
        steps: Number of steps to draw, from step 0.
        ax: A matplotlib `Axes` to draw on; a new figure is made if `None`.
        label: Legend label. Defaults to the schedule's class name.
        log_scale: Whether the learning-rate axis is logarithmic.
        steps_per_epoch: If given, the x axis is labelled in epochs.

    Returns:
        The matplotlib `Figure` holding the plot.

    Example:

    >>> figure = keras_hpt.plot_schedule(
    ...     keras_hpt.schedules.CosineWarmRestarts(0.1, first_decay_steps=50), steps=350)
    >>> figure.axes[0].get_ylabel()
    'learning rate'
    """
    if ax is None:
        figure = require_matplotlib()(figsize=(7, 4), layout="tight")
        ax = figure.subplots()
    else:
        figure = ax.figure
    x = np.arange(steps)
    rates = evaluate_schedule(schedule, x)
    scale = steps_per_epoch or 1
    ax.plot(x / scale, rates, label=label or type(schedule).__name__)
    if getattr(schedule, "has_restarts", False):
        for restart in schedule.restart_steps(steps - 1):
            ax.axvline(restart / scale, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("epoch" if steps_per_epoch else "step")
    ax.set_ylabel("learning rate")
    if log_scale:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return figure
