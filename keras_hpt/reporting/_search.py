"""Reads a search, live or finished, into one plain record the reports share.

A search is a keras-tuner `Tuner`, its `Oracle`, or the folder keras-tuner
writes (`<directory>/<project_name>/` with `oracle.json` and
`trial_<id>/trial.json`). keras-tuner does not store the objective in that
folder; it is recovered from the trials' scores.
"""

import dataclasses
import json
import math
import os
from datetime import datetime
from typing import Dict, List, Optional

import keras_tuner
import numpy as np
from keras_tuner.src.engine import trial as trial_module

from keras_hpt.oracles.base import AGGREGATES
from keras_hpt.oracles.base import Oracle as OwnOracle

#: Where `SearchProgress` keeps the trial times it measured, inside the project folder.
TIMES_FILE = "keras_hpt_times.json"


@dataclasses.dataclass
class SearchRecord:
    """What the reports need to know about a search."""

    trials: List[trial_module.Trial]
    objective: Optional[str]
    direction: str = "min"
    aggregate: str = "mean"
    stopped: Dict[str, str] = dataclasses.field(default_factory=dict)
    diverged: Dict[str, str] = dataclasses.field(default_factory=dict)
    started: Dict[str, datetime] = dataclasses.field(default_factory=dict)
    durations: Dict[str, float] = dataclasses.field(default_factory=dict)
    project_dir: Optional[str] = None
    per_epoch: bool = False

    def history(self, trial, name: Optional[str] = None) -> list:
        """`(step, combined value, values)` of one metric, executions combined."""
        name = name or self.objective
        if name is None or not trial.metrics.exists(name):
            return []
        combine = AGGREGATES.get(self.aggregate, np.mean)
        rows = []
        for observation in trial.metrics.get_history(name):
            values = [float(v) for v in np.ravel(observation.value)]
            rows.append((int(observation.step), float(combine(values)), values))
        return sorted(rows, key=lambda row: row[0])

    def stop_reason(self, trial) -> Optional[str]:
        """Why `trial` stopped early or failed, or `None`."""
        trial_id = trial.trial_id
        return self.diverged.get(trial_id) or self.stopped.get(trial_id) or trial.message or None

    def is_diverged(self, trial) -> bool:
        """Whether the trial's objective turned NaN or infinite."""
        reason = self.diverged.get(trial.trial_id) or trial.message or ""
        return reason.startswith("Diverged")


def _project_dir(path: str) -> str:
    if not os.path.isdir(path):
        raise ValueError(
            f"No search directory at {path!r}: the path does not exist or is not a folder. "
            "Expected keras-tuner's `<directory>/<project_name>` folder holding oracle.json."
        )
    if os.path.isfile(os.path.join(path, "oracle.json")):
        return path
    projects = sorted(
        name for name in os.listdir(path)
        if os.path.isfile(os.path.join(path, name, "oracle.json"))
    )
    if len(projects) == 1:
        return os.path.join(path, projects[0])
    if projects:
        raise ValueError(
            f"{path!r} holds several searches ({', '.join(projects)}); pass one of them, "
            f"e.g. {os.path.join(path, projects[0])!r}."
        )
    raise ValueError(
        f"No keras-tuner search found in {path!r}. Expected oracle.json in it (the "
        "`<directory>/<project_name>` folder of a search), or a single project folder "
        "holding oracle.json."
    )


def _trial_ids_on_disk(project_dir: str) -> List[str]:
    ids = []
    for name in os.listdir(project_dir):
        if name.startswith("trial_") and os.path.isfile(
            os.path.join(project_dir, name, "trial.json")
        ):
            ids.append(name[len("trial_"):])
    return ids


def _load_directory(path: str):
    project_dir = _project_dir(path)
    with open(os.path.join(project_dir, "oracle.json")) as file:
        state = json.load(file)
    on_disk = _trial_ids_on_disk(project_dir)
    order = [t for t in state.get("start_order", []) if t in on_disk]
    order += sorted(t for t in on_disk if t not in order)
    trials = [
        trial_module.Trial.load(os.path.join(project_dir, f"trial_{t}", "trial.json"))
        for t in order
    ]
    return trials, state, project_dir


def _oracle_of(source):
    if isinstance(source, keras_tuner.Oracle):
        return source
    oracle = getattr(source, "oracle", None)
    if isinstance(oracle, keras_tuner.Oracle):
        return oracle
    return None


def _load_oracle(oracle):
    order = [t for t in oracle.start_order if t in oracle.trials]
    order += [t for t in oracle.trials if t not in order]
    state = {
        "stopped": dict(getattr(oracle, "_stopped", {})),
        "diverged": dict(getattr(oracle, "_diverged", {})),
        "display": oracle._display.get_state() if hasattr(oracle, "_display") else {},
    }
    if isinstance(oracle, OwnOracle):
        state["aggregate"] = oracle.aggregate
    project_dir = getattr(oracle, "_project_dir", None)
    if project_dir is not None and not os.path.isdir(project_dir):
        project_dir = None
    return [oracle.trials[t] for t in order], state, project_dir


def _objective_of(oracle):
    objective = getattr(oracle, "objective", None)
    if isinstance(objective, keras_tuner.Objective):
        return objective.name, objective.direction
    return None


def infer_objective(trials) -> Optional[tuple]:
    """The `(name, direction)` of the metric whose value at the best step is the score.

    keras-tuner's folder does not name the objective, so it is the metric
    that matches most trials' scores (a `val_` metric on ties); failing that,
    `val_loss` or the first metric reported.
    """
    votes = {}
    names = []
    for trial in trials:
        tracker = trial.metrics
        for name in tracker.metrics:
            if name not in names:
                names.append(name)
        if trial.score is None or not math.isfinite(trial.score):
            continue
        for name in tracker.metrics:
            for observation in tracker.get_history(name):
                if observation.step != trial.best_step:
                    continue
                values = np.ravel(observation.value).astype(float)
                if any(math.isclose(f(values), trial.score, rel_tol=1e-6, abs_tol=1e-12)
                       for f in AGGREGATES.values()):
                    votes[name] = votes.get(name, 0) + 1
    if votes:
        name = max(votes, key=lambda n: (votes[n], n.startswith("val_")))
    elif "val_loss" in names:
        name = "val_loss"
    elif names:
        name = names[0]
    else:
        return None
    for trial in trials:
        if trial.metrics.exists(name):
            return name, trial.metrics.get_direction(name)
    return None


def _measured_times(project_dir, display):
    started, durations = {}, {}
    for trial_id, text in (display or {}).get("trial_start", {}).items():
        started[trial_id] = datetime.fromisoformat(text)
    path = os.path.join(project_dir, TIMES_FILE) if project_dir else None
    if path and os.path.isfile(path):
        with open(path) as file:
            for trial_id, times in json.load(file).items():
                started[trial_id] = datetime.fromisoformat(times["start"])
                if times.get("seconds") is not None:
                    durations[trial_id] = float(times["seconds"])
    return started, durations


def load_search(source, objective: Optional[str] = None) -> SearchRecord:
    """Reads a tuner, an oracle or a search folder into a `SearchRecord`.

    Args:
        source: A keras-tuner `Tuner`, an `Oracle`, a `SearchRecord`, or the
            path of a search folder (`<directory>/<project_name>`, or
            `<directory>` holding a single project).
        objective: The objective's metric name; defaults to the oracle's,
            or for a folder to the metric that matches the trials' scores.

    Returns:
        A `SearchRecord`, trials in the order they started.

    Raises:
        ValueError: If the path holds no search.
        TypeError: If `source` is none of the above.
    """
    if isinstance(source, SearchRecord):
        return source
    oracle = _oracle_of(source)
    if oracle is not None:
        trials, state, project_dir = _load_oracle(oracle)
        known = _objective_of(oracle)
    elif isinstance(source, (str, os.PathLike)):
        trials, state, project_dir = _load_directory(os.fspath(source))
        known = None
    else:
        raise TypeError(
            "`source` must be a keras-tuner Tuner, an Oracle or the path of a search "
            f"directory. Received: source={source!r}"
        )
    if objective is not None:
        direction = next((t.metrics.get_direction(objective) for t in trials
                          if t.metrics.exists(objective)), "min")
        known = (objective, direction)
    known = known or infer_objective(trials) or (None, "min")
    started, durations = _measured_times(project_dir, state.get("display"))
    # keras_hpt's oracles (which save `aggregate`) run under keras_hpt's Tuner, which
    # reports every epoch; keras-tuner's tuners report once per trial.
    per_epoch = "aggregate" in state or any(len(t.metrics.get_history(n)) > 1
                                            for t in trials for n in t.metrics.metrics)
    return SearchRecord(
        trials=trials,
        objective=known[0],
        direction=known[1] or "min",
        aggregate=state.get("aggregate", "mean"),
        stopped=dict(state.get("stopped", {})),
        diverged=dict(state.get("diverged", {})),
        started=started,
        durations=durations,
        project_dir=project_dir,
        per_epoch=per_epoch,
    )
