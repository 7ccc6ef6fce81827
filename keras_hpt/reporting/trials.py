"""The table of a search's trials: as a DataFrame, a list of dicts, CSV, JSON or text."""

import csv
import json
import math
import os
from typing import List, Optional

import numpy as np

from keras_hpt.reporting._search import load_search

#: The columns every table has, before the hyperparameters.
BASE_COLUMNS = (
    "trial_id",
    "status",
    "score",
    "best_step",
    "epochs_trained",
    "steps_reported",
    "executions",
    "score_std",
    "started",
    "duration",
    "stop_reason",
)


def _finite(value) -> Optional[float]:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _active_values(trial) -> dict:
    hp = trial.hyperparameters
    values = {}
    for name, value in hp.values.items():
        try:
            active = str(name).startswith("tuner/") or hp.is_active(name)
        except KeyError:
            active = True  # a value without a declared space: keep it
        if active:
            values[name] = value
    return values


def _row(record, trial, per_epoch: bool) -> dict:
    history = record.history(trial)
    best = next((row for row in history if row[0] == trial.best_step), None)
    started = record.started.get(trial.trial_id)
    steps = len(history)
    row = {
        "trial_id": trial.trial_id,
        "status": trial.status,
        "score": _finite(trial.score),
        "best_step": trial.best_step if trial.score is not None else None,
        "epochs_trained": steps if per_epoch else None,
        "steps_reported": steps,
        "executions": len(best[2]) if best else None,
        "score_std": float(np.std(best[2])) if best and len(best[2]) > 1 else None,
        "started": started.isoformat(timespec="seconds") if started else None,
        "duration": record.durations.get(trial.trial_id),
        "stop_reason": record.stop_reason(trial),
    }
    row.update(_active_values(trial))
    return row


def trial_rows(source, objective: Optional[str] = None) -> List[dict]:
    """One dict per trial, in the order the trials started.

    Args:
        source: A keras-tuner `Tuner`, an `Oracle`, or the path of a search
            directory (see `trials_table`).
        objective: The objective's metric name; see `trials_table`.

    Returns:
        A list of dicts with the same keys: `BASE_COLUMNS`, then every
        hyperparameter that any trial has (`None` where a trial lacks it).
    """
    record = load_search(source, objective)
    rows = [_row(record, trial, record.per_epoch) for trial in record.trials]
    columns = list(BASE_COLUMNS)
    for row in rows:
        columns += [key for key in row if key not in columns]
    return [{column: row.get(column) for column in columns} for row in rows]


def trials_table(source, objective: Optional[str] = None):
    """A table of every trial of a search: status, score, epochs, why it stopped, values.

    Columns: `trial_id`, `status`, `score` (the objective at the best step,
    `None` when not finite), `best_step`, `epochs_trained` (for searches whose
    tuner reports every epoch, as `keras_hpt.tuners.Tuner` does; `None` for
    keras-tuner's own tuners, which report once per trial), `steps_reported`,
    `executions` and `score_std` (the spread of the objective over the
    executions at the best step, `None` for a single execution), `started`
    and `duration` in seconds (when they were measured: keras-tuner records
    start times when searching with `verbose >= 1`, `SearchProgress` records
    both; `None` otherwise), `stop_reason` (pruned, diverged or the error),
    then one column per active hyperparameter, `tuner/*` keys included.

    Args:
        source: A keras-tuner `Tuner`, an `Oracle`, or the path of a search
            directory: keras-tuner's `<directory>/<project_name>` folder, or
            `<directory>` when it holds a single project.
        objective: The objective's metric name. Defaults to the oracle's; a
            directory does not store it, so it is the metric that matches
            the trials' scores.

    Returns:
        A pandas `DataFrame` (one row per trial, in the order they started)
        when pandas is installed, else the list of dicts of `trial_rows`.

    Raises:
        ValueError: If the path does not exist or holds no search.

    Example:

    >>> import tempfile
    >>> hp = keras_tuner.HyperParameters()
    >>> _ = hp.Float("lr", 1e-3, 1e-1, sampling="log")
    >>> oracle = keras_tuner.oracles.RandomSearchOracle("loss", max_trials=1, seed=1)
    >>> oracle._set_project_dir(tempfile.mkdtemp(), "search")
    >>> oracle.hyperparameters, oracle.verbose = hp, 0
    >>> trial = oracle.create_trial("tuner0")
    >>> _ = oracle.update_trial(trial.trial_id, {"loss": 0.5}, step=0)
    >>> trial.status = "COMPLETED"
    >>> oracle.end_trial(trial)
    >>> rows = keras_hpt.reporting.trial_rows(oracle)
    >>> rows[0]["status"], rows[0]["score"], sorted(rows[0])[:3]
    ('COMPLETED', 0.5, ['best_step', 'duration', 'epochs_trained'])
    """
    rows = trial_rows(source, objective)
    try:
        import pandas
    except ImportError:
        return rows
    return pandas.DataFrame(rows, columns=list(rows[0]) if rows else list(BASE_COLUMNS))


def _json_value(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_trials(source, path: str, objective: Optional[str] = None) -> str:
    """Writes the trials table to `path`: CSV for `.csv`, JSON for `.json`.

    Needs no pandas. Missing values are empty cells in CSV and `null` in JSON.

    Args:
        source: A keras-tuner `Tuner`, an `Oracle`, or a search directory
            (see `trials_table`).
        path: The file to write; its folder is created.
        objective: The objective's metric name; see `trials_table`.

    Returns:
        `path`.

    Raises:
        ValueError: If `path` ends with neither `.csv` nor `.json`.
    """
    extension = os.path.splitext(path)[1].lower()
    if extension not in (".csv", ".json"):
        raise ValueError(f"`path` must end with .csv or .json. Received: path={path!r}")
    rows = trial_rows(source, objective)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(path, "w", newline="") as file:
        if extension == ".json":
            json.dump([{k: _json_value(v) for k, v in r.items()} for r in rows], file, indent=1)
        else:
            writer = csv.DictWriter(file, fieldnames=list(rows[0]) if rows else BASE_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    return path


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_table(source, top: Optional[int] = None, objective: Optional[str] = None,
                 max_width: int = 24) -> str:
    """The trials as a plain-text table, best score first (no pandas needed).

    Args:
        source: A keras-tuner `Tuner`, an `Oracle`, or a search directory.
        top: Show only the best `top` trials. Defaults to all.
        objective: The objective's metric name; see `trials_table`.
        max_width: Cells longer than this are cut.

    Returns:
        The table, one line per trial under a header; an explanation when
        the search has no trial yet.
    """
    record = load_search(source, objective)
    rows = trial_rows(record)
    if not rows:
        return "The search has no trials yet."
    sign = -1.0 if record.direction == "max" else 1.0
    rows.sort(key=lambda r: (r["score"] is None, sign * (r["score"] or 0.0)))
    shown = rows[:top] if top else rows
    # The text table stays narrow: the bookkeeping of continued trials is left to the files.
    skip = {"started", "executions", "steps_reported"}
    columns = [c for c in rows[0] if c not in skip and any(r[c] is not None for r in shown)
               and (not str(c).startswith("tuner/") or c == "tuner/trial_id")]
    cells = [[_cell(r[c])[:max_width] for c in columns] for r in shown]
    names = {"score": f"score ({record.objective}, {record.direction})",
             "tuner/trial_id": "continues", "epochs_trained": "epochs", "score_std": "std"}
    header = [names.get(c, c) for c in columns]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells]
    if top and len(rows) > top:
        lines.append(f"({len(rows) - top} more trials not shown)")
    return "\n".join(line.rstrip() for line in lines)
