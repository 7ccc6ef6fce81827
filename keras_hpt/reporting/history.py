"""Figures of a search: its history, the trials' learning curves, scores per hyperparameter."""

import math
from typing import Optional

import numpy as np

from keras_hpt.reporting._search import load_search
from keras_hpt.reporting.plots import require_matplotlib


def _finish(figure, path: Optional[str]):
    if path:
        figure.savefig(path, dpi=120)
    return figure


def _scores(record):
    """Trial numbers (1-based, in start order) and scores, NaN where none."""
    numbers = np.arange(1, len(record.trials) + 1)
    scores = np.array([
        t.score if t.score is not None and math.isfinite(t.score) else np.nan
        for t in record.trials
    ], dtype=float)
    return numbers, scores


def _auto_log(ax, values):
    """A log axis when positive values span more than three decades (diverging trials)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size > 1 and values.min() > 0 and values.max() / values.min() > 1e3:
        ax.set_yscale("log")


def _best_so_far(scores, direction: str):
    pick = np.fmax if direction == "max" else np.fmin
    return pick.accumulate(scores)


def _draw_history(ax, x, scores, record, xlabel: str):
    finite = np.isfinite(scores)
    ax.scatter(x[finite], scores[finite], s=18, alpha=0.7, label="trial score")
    ax.step(x, _best_so_far(scores, record.direction), where="post", color="C3",
            label="best so far")
    failed = ~finite
    if failed.any() and finite.any():
        floor = np.nanmin(scores) if record.direction == "max" else np.nanmax(scores)
        ax.scatter(x[failed], np.full(failed.sum(), floor), marker="x", color="0.4",
                   label="failed or diverged")
    _auto_log(ax, scores)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{record.objective} ({record.direction})")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")


def plot_history(source, path: Optional[str] = None, objective: Optional[str] = None):
    """Draws each trial's score and the best score so far against the trial number.

    When the trials' start times were recorded (keras-tuner with
    `verbose >= 1`, or `SearchProgress`), a second panel draws them against
    the time since the search started, each trial at the time it ended when
    its duration is known. Failed and diverged trials are crosses at the
    worst score.

    Args:
        source: A keras-tuner `Tuner`, an `Oracle`, or a search directory
            (see `trials_table`).
        path: Where to save the figure (`.png`, `.svg`, `.pdf`); not saved if `None`.
        objective: The objective's metric name; see `trials_table`.

    Returns:
        The matplotlib `Figure`.

    Example:

    >>> figure = keras_hpt.reporting.plot_history(keras_tuner.oracles.RandomSearchOracle(
    ...     "val_loss", max_trials=1))
    >>> figure.axes[0].get_xlabel()
    'trial'
    """
    record = load_search(source, objective)
    numbers, scores = _scores(record)
    timed = bool(record.trials) and all(t.trial_id in record.started for t in record.trials)
    figure = require_matplotlib()(figsize=(12 if timed else 7, 4), layout="tight")
    axes = figure.subplots(1, 2 if timed else 1, squeeze=False)[0]
    _draw_history(axes[0], numbers, scores, record, "trial")
    if timed:
        first = min(record.started.values())
        seconds = np.array([
            (record.started[t.trial_id] - first).total_seconds()
            + (record.durations.get(t.trial_id) or 0.0) for t in record.trials
        ])
        order = np.argsort(seconds, kind="stable")
        _draw_history(axes[1], seconds[order], scores[order], record,
                      "seconds since the search started")
    axes[0].set_title(f"Search history ({len(record.trials)} trials)")
    return _finish(figure, path)


def plot_learning_curves(source, metric: Optional[str] = None, path: Optional[str] = None,
                         objective: Optional[str] = None):
    """Draws one line per trial: a metric against the epoch.

    Trials that an oracle stopped early (pruned) are dashed and end with a
    cross; diverged trials are red and end with a red cross at their last
    finite value. A trial that continues another (a promotion in successive
    halving) starts at the epoch it resumed from, so it extends its parent's
    line. keras-tuner's own tuners report once per trial, so their "curves"
    are single points.

    Args:
        source: A keras-tuner `Tuner`, an `Oracle`, or a search directory.
        metric: The metric to draw. Defaults to the objective.
        path: Where to save the figure; not saved if `None`.
        objective: The objective's metric name; see `trials_table`.

    Returns:
        The matplotlib `Figure`.

    Example:

    >>> figure = keras_hpt.reporting.plot_learning_curves(
    ...     keras_tuner.oracles.RandomSearchOracle("val_loss", max_trials=1))
    >>> figure.axes[0].get_ylabel()
    'val_loss'
    """
    record = load_search(source, objective)
    metric = metric or record.objective
    figure = require_matplotlib()(figsize=(7, 4.5), layout="tight")
    ax = figure.subplots()
    kinds, drawn = set(), []
    by_id = {t.trial_id: t for t in record.trials}
    for trial in record.trials:
        history = record.history(trial, metric)
        parent = by_id.get(trial.hyperparameters.values.get("tuner/trial_id"))
        if history and parent is not None:
            start = history[0][0]
            history = [r for r in record.history(parent, metric) if r[0] == start - 1] + history
        if not history:
            continue
        epochs = np.array([row[0] + 1 for row in history], dtype=float)
        values = np.array([row[1] for row in history], dtype=float)
        finite = np.isfinite(values)
        drawn.extend(values[finite])
        if record.is_diverged(trial):
            kind, style = "diverged", dict(color="C3", lw=1, alpha=0.8)
        elif trial.trial_id in record.stopped:
            kind, style = "pruned", dict(color="0.55", lw=1, ls="--", alpha=0.8)
        else:
            kind, style = "completed", dict(color="C0", lw=1.2, alpha=0.8)
        kinds.add(kind)
        ax.plot(epochs[finite], values[finite], marker="." if finite.sum() < 3 else None,
                **style)
        if kind != "completed" and finite.any():
            last = np.flatnonzero(finite)[-1]
            ax.plot(epochs[last], values[last], marker="x", ms=7, ls="none",
                    color=style["color"])
    labels = {"completed": ("C0", "-"), "pruned": ("0.55", "--"), "diverged": ("C3", "-")}
    for kind in ("completed", "pruned", "diverged"):
        if kind in kinds:
            color, line = labels[kind]
            ax.plot([], [], color=color, ls=line,
                    marker=None if kind == "completed" else "x", label=kind)
    _auto_log(ax, drawn)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric or "objective")
    ax.set_title(f"Learning curves ({len(record.trials)} trials)")
    ax.grid(True, alpha=0.3)
    if kinds:
        ax.legend(fontsize="small")
    return _finish(figure, path)


def _hyperparameter_axis(ax, trial_values, name, space):
    """Positions of each trial's value on the x axis, labelled for categories."""
    values = [v.get(name) for v in trial_values]
    present = [v for v in values if v is not None]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present)
    if numeric:
        x = np.array([np.nan if v is None else float(v) for v in values])
        if getattr(space.get(name), "sampling", None) == "log" and np.nanmin(x) > 0:
            ax.set_xscale("log")
        return x
    categories = sorted({str(v) for v in present})
    ax.set_xticks(range(len(categories)), categories, fontsize="small")
    return np.array([np.nan if v is None else categories.index(str(v)) for v in values],
                    dtype=float)


def plot_hyperparameters(source, path: Optional[str] = None, objective: Optional[str] = None,
                         columns: int = 3):
    """Draws the score against each hyperparameter, one panel per hyperparameter.

    A slice plot: each point is a trial, coloured by trial number (later
    trials darker), so a good region reads as a cluster of good scores and
    the search's drift towards it is visible. `tuner/*` bookkeeping values
    are left out; categories are spread along the x axis; log-scale floats
    get a log axis.

    Args:
        source: A keras-tuner `Tuner`, an `Oracle`, or a search directory.
        path: Where to save the figure; not saved if `None`.
        objective: The objective's metric name; see `trials_table`.
        columns: Panels per row.

    Returns:
        The matplotlib `Figure`.

    Example:

    >>> figure = keras_hpt.reporting.plot_hyperparameters(
    ...     keras_tuner.oracles.RandomSearchOracle("val_loss", max_trials=1))
    >>> len(figure.axes)
    1
    """
    record = load_search(source, objective)
    trial_values = [t.hyperparameters.values for t in record.trials]
    names = []
    for values in trial_values:
        names += [n for n in values if not str(n).startswith("tuner/") and n not in names]
    space = {}
    for trial in record.trials:
        for hp in trial.hyperparameters.space:
            space.setdefault(hp.name, hp)
    numbers, scores = _scores(record)
    count = max(len(names), 1)
    columns = min(columns, count)
    rows = math.ceil(count / columns)
    size = (4 * columns, 3.2 * rows)
    figure = require_matplotlib()(figsize=size, layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes[count:]:
        ax.set_visible(False)
    if not names:
        axes[0].set_title("No hyperparameters to show")
        return _finish(figure, path)
    for ax, name in zip(axes, names):
        x = _hyperparameter_axis(ax, trial_values, name, space)
        keep = np.isfinite(x) & np.isfinite(scores)
        points = ax.scatter(x[keep], scores[keep], c=numbers[keep], cmap="viridis", s=20,
                            vmin=1, vmax=max(len(numbers), 2))
        _auto_log(ax, scores)
        ax.set_xlabel(name)
        ax.set_ylabel(record.objective or "score")
        ax.grid(True, alpha=0.3)
    figure.colorbar(points, ax=list(axes[:count]), label="trial", shrink=0.8)
    return _finish(figure, path)
