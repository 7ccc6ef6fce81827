"""A one-line-per-trial progress display for any keras-tuner search, which also times trials."""

import json
import math
import os
import time
from datetime import datetime
from typing import Optional

from keras.src.utils import io_utils

from keras_hpt.reporting._search import TIMES_FILE


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _wrap(tuner, name: str, hook, before: bool):
    """Makes `tuner.<name>` call `hook` before or after what it did."""
    original = getattr(tuner, name)

    def wrapped(*args, **kwargs):
        if before:
            hook(*args, **kwargs)
        result = original(*args, **kwargs)
        if not before:
            hook(*args, **kwargs)
        return result

    setattr(tuner, name, wrapped)


class SearchProgress:
    """Prints a line after each trial of a search, and records how long each took.

    Each line gives the trial count (of `max_trials` when the oracle has
    one), the trial's score, the best score so far, the epochs trained (of
    the tuner's `epoch_budget`, for `keras_hpt.tuners.Tuner`), the elapsed
    time and an estimate of the time left, extrapolated from the budget used
    so far. The start time and duration of every trial are saved in the
    search directory (`keras_hpt_times.json`), where `trials_table` and
    `plot_history` find them. Attach it before `search`; it hooks the
    tuner's `on_search_begin`, `on_trial_begin` and `on_trial_end`.

    Args:
        verbose: 1 to print a line per trial, 0 to only record the times.

    Example:

    >>> import tempfile
    >>> def build(hp):
    ...     model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    ...     model.compile(keras.optimizers.SGD(hp.Float("lr", 1e-3, 1e-1)), loss="mse")
    ...     return model
    >>> tuner = keras_hpt.tuners.BayesianOptimization(
    ...     build, "loss", max_trials=2, seed=1, directory=tempfile.mkdtemp())
    >>> progress = keras_hpt.reporting.SearchProgress(verbose=0).attach(tuner)
    >>> tuner.search(np.ones((8, 2)), np.ones((8, 1)), epochs=1, verbose=0)
    >>> sorted(progress.durations) == sorted(tuner.oracle.trials)
    True
    """

    def __init__(self, verbose: int = 1):
        self.verbose = verbose
        self.tuner = None
        self.search_start = None
        self.started = {}
        self.durations = {}

    def attach(self, tuner):
        """Hooks this display into `tuner`; returns the display itself."""
        self.tuner = tuner
        _wrap(tuner, "on_search_begin", self._on_search_begin, before=True)
        _wrap(tuner, "on_trial_begin", self._on_trial_begin, before=True)
        _wrap(tuner, "on_trial_end", self._on_trial_end, before=False)
        return self

    # Hooks ----------------------------------------------------------------

    def _on_search_begin(self, *args, **kwargs):
        self.search_start = time.monotonic()

    def _on_trial_begin(self, trial, *args, **kwargs):
        self.started[trial.trial_id] = (datetime.now(), time.monotonic())

    def _on_trial_end(self, trial, *args, **kwargs):
        begun = self.started.get(trial.trial_id)
        if begun is not None:
            self.durations[trial.trial_id] = time.monotonic() - begun[1]
        self._save_times()
        if self.verbose:
            io_utils.print_msg(self.line(trial))

    # Display --------------------------------------------------------------

    def _save_times(self):
        folder = getattr(self.tuner, "project_dir", None)
        if not folder or not os.path.isdir(folder):
            return
        times = {
            trial_id: {"start": start.isoformat(), "seconds": self.durations.get(trial_id)}
            for trial_id, (start, _) in self.started.items()
        }
        path = os.path.join(folder, TIMES_FILE)
        with open(path + ".partial", "w") as file:
            json.dump(times, file, indent=1)
        os.replace(path + ".partial", path)

    def line(self, trial) -> str:
        """The progress line printed when `trial` ends."""
        oracle = self.tuner.oracle
        done = len(self.durations)
        max_trials = getattr(oracle, "max_trials", None)
        parts = [f"trial {done}/{max_trials}" if max_trials else f"trial {done}"]
        name = getattr(oracle.objective, "name", "score")
        score = trial.score
        shown = f"{score:.4g}" if score is not None and math.isfinite(score) else trial.status
        parts.append(f"{name} {shown}")
        best = oracle.get_best_trials(1)
        if best and best[0].score is not None:
            parts.append(f"best {best[0].score:.4g}")
        elapsed = time.monotonic() - (self.search_start or time.monotonic())
        fractions = []
        budget = getattr(self.tuner, "epoch_budget", None)
        if budget:
            used = self.tuner.epochs_trained  # the count the budget is checked against
            parts.append(f"epochs {used}/{budget}")
            fractions.append(used / budget)
        if max_trials:
            fractions.append(done / max_trials)
        parts.append(f"elapsed {_clock(elapsed)}")
        fraction = max(fractions, default=0.0)
        if 0 < fraction < 1:
            parts.append(f"left ~{_clock(elapsed * (1 - fraction) / fraction)}")
        return " | ".join(parts)

    def elapsed(self) -> Optional[float]:
        """Seconds since the search began, or `None` before it did."""
        return None if self.search_start is None else time.monotonic() - self.search_start
