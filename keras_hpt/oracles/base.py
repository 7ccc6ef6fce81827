"""What every keras_hpt oracle shares: seeding, robust scoring, pruning and continuation.

The subclasses are `keras_tuner.Oracle`s, so they plug into keras-tuner's
`Tuner` and its chief/worker mode. On top of keras-tuner they add:

- a channel for early decisions: `update_trial` asks the `_should_stop`
  hook after every report and answers with a `STOPPED` trial, which
  `keras_hpt.tuners.Tuner` turns into the end of the trial's `fit`;
- diverged trials (a NaN or infinite objective) end as `FAILED` with the
  reason in `trial.message`; they rank below every finite trial and never
  count towards `max_consecutive_failed_trials`, which is there to catch a
  broken model-building function, not an unlucky learning rate;
- several executions per trial are aggregated by their mean or median;
- `seed=0` is a seed (keras-tuner would draw a random one).

Trials that continue another trial (a promotion in successive halving, a
population-based training interval) carry keras-tuner's Hyperband keys in
their values: `tuner/trial_id` (whose checkpoint to start from),
`tuner/initial_epoch` and `tuner/epochs`.
"""

import hashlib
import logging
import math
import os
import random
import time
import warnings

import keras_tuner
import numpy as np
from keras_tuner.src.engine import stateful
from keras_tuner.src.engine import trial as trial_module

from keras_hpt._validation import check_choice, check_number

TrialStatus = trial_module.TrialStatus

#: Values that keras-tuner's Hyperband and our continuing oracles add to a trial.
CONTINUATION_KEYS = ("tuner/trial_id", "tuner/initial_epoch", "tuner/epochs")

#: How the executions of one trial combine at each epoch, by name.
AGGREGATES = {"mean": np.mean, "median": np.median}


def configuration(values: dict) -> dict:
    """The hyperparameter values of a trial without the `tuner/` bookkeeping keys."""
    return {k: v for k, v in values.items() if not str(k).startswith("tuner/")}


class Oracle(keras_tuner.Oracle):
    """Base class of keras_hpt's oracles (not used directly).

    Subclasses implement keras-tuner's `populate_space(trial_id)` and may
    override `_should_stop(trial, step)` to stop a running trial early.

    Args:
        objective: A string, `keras_tuner.Objective` or list of them, as in
            keras-tuner.
        max_trials: Maximum number of trial records, as in keras-tuner, or
            `None` for no limit.
        hyperparameters: Optional `HyperParameters` to start the space from.
        allow_new_entries: Whether the hypermodel may add hyperparameters.
        tune_new_entries: Whether added hyperparameters are tuned.
        seed: Random seed; `None` draws one.
        max_retries_per_trial: Retries of a trial that raised an error.
        max_consecutive_failed_trials: Failures in a row (diverged trials
            excepted) after which the search stops with an error.
        aggregate: How the executions of one trial are combined at each
            epoch: `"mean"` (keras-tuner's choice) or `"median"`.
        trial_timeout: Seconds without a report (every epoch reports) after
            which a running trial's worker is taken for dead: the trial goes
            back to the queue for the next worker, and continues from its
            last checkpoint where the oracle keeps them. Set it above the
            longest epoch. `None` (the default) waits forever, as keras-tuner
            does.
    """

    def __init__(
        self,
        objective=None,
        max_trials=None,
        hyperparameters=None,
        allow_new_entries=True,
        tune_new_entries=True,
        seed=None,
        max_retries_per_trial=0,
        max_consecutive_failed_trials=3,
        aggregate="mean",
        trial_timeout=None,
    ):
        self.trial_timeout = check_number(
            "trial_timeout", trial_timeout, low=0, low_open=True, allow_none=True
        )
        super().__init__(
            objective=objective,
            max_trials=max_trials,
            hyperparameters=hyperparameters,
            allow_new_entries=allow_new_entries,
            tune_new_entries=tune_new_entries,
            seed=seed,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
        )
        self.seed = seed if seed is not None else random.randint(1, 10000)
        self._seed_state = self.seed
        self.aggregate = check_choice("aggregate", aggregate, tuple(AGGREGATES))
        # trial_id -> why the trial was stopped or failed; saved with the oracle.
        self._diverged = {}
        self._stopped = {}
        # trial_id -> time.monotonic() of its last sign of life (not saved: a
        # reloaded oracle retries its running trials anyway).
        self._last_seen = {}
        # A search-wide budget, enforced here when the workers are other processes.
        self._epoch_budget = None
        self._deadline = None

    # Random numbers -------------------------------------------------------

    def _rng(self, *keys) -> np.random.Generator:
        """A generator determined by the seed and `keys`, so a resumed search draws alike."""
        return np.random.default_rng([self.seed, *[int(k) for k in keys]])

    def _compute_values_hash(self, values):
        # Continuations repeat their parent's configuration on purpose, so the
        # duplicate check only looks at the hyperparameters themselves.
        values = configuration(values)
        text = "".join(f"{k}={values[k]}" for k in sorted(values))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    # Workers that disappear -----------------------------------------------

    @keras_tuner.synchronized
    def expire_stale_trials(self) -> list:
        """Puts back in the queue the running trials silent for `trial_timeout` seconds.

        Returns:
            The ids of the trials put back.
        """
        if self.trial_timeout is None:
            return []
        now, expired = time.monotonic(), []
        for tuner_id, trial in list(self.ongoing_trials.items()):
            seen = self._last_seen.get(trial.trial_id, now)
            if now - seen > self.trial_timeout:
                del self.ongoing_trials[tuner_id]
                self.tuner_ids.discard(tuner_id)
                self._last_seen.pop(trial.trial_id, None)
                self._retry_queue.append(trial.trial_id)
                expired.append(trial.trial_id)
                logging.warning(
                    "Trial %s: no report from %s for %.0f s; it goes back to the queue.",
                    trial.trial_id, tuner_id, now - seen,
                )
        if expired:
            self.save()
        return expired

    # A budget for all workers ---------------------------------------------

    def set_budget(self, epoch_budget=None, time_budget=None) -> None:
        """Ends the search once all workers together have spent a budget.

        A tuner's `epoch_budget` and `time_budget` count what its own process
        trains. In a chief/worker search the chief's tuner hands them to its
        oracle instead: once the epochs reported by all workers reach
        `epoch_budget`, or `time_budget` seconds have passed, every running
        trial is stopped at its next report and no new trial starts. Workers
        reporting at the same moment may each finish the epoch they were
        training, so the total can exceed `epoch_budget` by up to one epoch
        per other worker.

        Args:
            epoch_budget: Total epochs, or `None`.
            time_budget: Seconds from now, or `None`.
        """
        self._epoch_budget = check_number(
            "epoch_budget", epoch_budget, low=0, low_open=True, integer=True, allow_none=True
        )
        check_number("time_budget", time_budget, low=0, low_open=True, allow_none=True)
        self._deadline = None if time_budget is None else time.monotonic() + time_budget

    def budget_spent(self) -> bool:
        """Whether the budget of `set_budget` is spent (`False` without one)."""
        if self._deadline is not None and time.monotonic() >= self._deadline:
            return True
        return self._epoch_budget is not None and self.epochs_trained() >= self._epoch_budget

    @keras_tuner.synchronized
    def create_trial(self, tuner_id):
        self.expire_stale_trials()
        if tuner_id not in self.ongoing_trials and self.budget_spent():
            self.tuner_ids.discard(tuner_id)
            return trial_module.Trial(self.get_space(), status=TrialStatus.STOPPED)
        others = [t for k, t in self.ongoing_trials.items() if k != tuner_id]
        if (
            self.trial_timeout is not None
            and tuner_id not in self.ongoing_trials
            and not self._retry_queue
            and self.max_trials
            and len(self.trials) >= self.max_trials
            and others
        ):
            # No trial is left to start, but a running one may still come back
            # to the queue if its worker died: wait instead of leaving.
            return trial_module.Trial(self.get_space(), trial_id="idle", status=TrialStatus.IDLE)
        trial = super().create_trial(tuner_id)
        if trial.status == TrialStatus.RUNNING:
            self._last_seen[trial.trial_id] = time.monotonic()
        return trial

    # Reports and early decisions -----------------------------------------

    def _objective_names(self) -> list:
        if isinstance(self.objective, keras_tuner.Objective):
            return [self.objective.name]
        return list(self.objective.name_to_direction)

    @keras_tuner.synchronized
    def update_trial(self, trial_id, metrics, step=0):
        self._last_seen[trial_id] = time.monotonic()
        with warnings.catch_warnings():
            # keras-tuner warns when a metric has only NaN so far; the NaN is handled below.
            warnings.simplefilter("ignore", RuntimeWarning)
            trial = super().update_trial(trial_id, metrics, step=step)
        if trial.status != TrialStatus.RUNNING:
            return trial
        for name in self._objective_names():
            value = metrics.get(name)
            if value is not None and not math.isfinite(float(value)):
                self._diverged[trial_id] = f"Diverged: {name}={float(value)} at epoch {step}."
                trial.status = TrialStatus.STOPPED
                return trial
        reason = "search budget spent" if self.budget_spent() else self._should_stop(trial, step)
        if reason:
            self._stopped[trial_id] = str(reason)
            trial.status = TrialStatus.STOPPED
        return trial

    def _should_stop(self, trial, step):
        """Whether `trial` should stop after reporting `step`.

        Args:
            trial: The running `Trial`, its metrics updated.
            step: The epoch just reported.

        Returns:
            A falsy value to go on, or a short reason (a string) to stop.
        """
        return None

    def stop_reason(self, trial_id):
        """Why a trial stopped before its last epoch, or `None`."""
        return self._diverged.get(trial_id) or self._stopped.get(trial_id)

    # Scores ---------------------------------------------------------------

    def aggregated_history(self, trial, name=None) -> list:
        """`(epoch, value)` pairs of one metric, executions combined by `aggregate`.

        Args:
            trial: A `Trial`.
            name: The metric; defaults to the objective.

        Returns:
            A list sorted by epoch; non-finite values are kept as they are.
        """
        name = name or self.objective.name
        if not trial.metrics.exists(name):
            return []
        combine = AGGREGATES[self.aggregate]
        return [
            (obs.step, float(combine(obs.value)))
            for obs in trial.metrics.get_history(name)
        ]

    def score_trial(self, trial):
        if not isinstance(self.objective, keras_tuner.Objective):
            return super().score_trial(trial)
        history = [(s, v) for s, v in self.aggregated_history(trial) if math.isfinite(v)]
        if not history:
            trial.score, trial.best_step = float("nan"), None
            return
        pick = min if self.objective.direction == "min" else max
        trial.best_step, trial.score = pick(history, key=lambda pair: pair[1])

    @keras_tuner.synchronized
    def end_trial(self, trial):
        trial_id = trial.trial_id
        if trial.status == TrialStatus.COMPLETED and trial_id not in self._diverged:
            stored = self.trials[trial_id]
            self.score_trial(stored)
            if stored.score is None or not math.isfinite(stored.score):
                self._diverged[trial_id] = "Diverged: the objective was never finite."
        if trial_id in self._diverged and trial.status == TrialStatus.COMPLETED:
            trial.status = TrialStatus.FAILED
            trial.message = self._diverged[trial_id]
        self._last_seen.pop(trial_id, None)
        super().end_trial(trial)
        # keras-tuner saves the oracle before it forgets the ended trial as ongoing, so
        # a chief killed now would run the trial again after a reload.
        self.save()

    def _check_consecutive_failures(self):
        failures = 0
        for trial_id in self.end_order:
            trial = self.trials[trial_id]
            if trial_id in self._diverged:
                continue
            failures = failures + 1 if trial.status == TrialStatus.FAILED else 0
            if failures == self.max_consecutive_failed_trials:
                raise RuntimeError(
                    "Number of consecutive failures exceeded the limit "
                    f"of {self.max_consecutive_failed_trials}.\n" + (trial.message or "")
                )

    def completed_trials(self) -> list:
        """Trials that ended with a finite score, in the order they ended."""
        seen, trials = set(), []
        for trial_id in self.end_order:
            trial = self.trials[trial_id]
            if trial_id not in seen and trial.status == TrialStatus.COMPLETED:
                seen.add(trial_id)
                trials.append(trial)
        return trials

    def epochs_trained(self) -> int:
        """Epochs trained in all trials so far (every execution counts)."""
        name = self._objective_names()[0]
        return sum(
            len(obs.value)
            for trial in self.trials.values()
            if trial.metrics.exists(name)
            for obs in trial.metrics.get_history(name)
        )

    # State ----------------------------------------------------------------

    def _save_trial(self, trial):
        # Written aside and moved into place: a process killed mid-write leaves the
        # previous file, never a truncated one that would break `reload`.
        path = os.path.join(self._get_trial_dir(trial.trial_id), "trial.json")
        trial.save(path + ".partial")
        os.replace(path + ".partial", path)

    def save(self):
        path = self._get_oracle_fname()
        stateful.Stateful.save(self, path + ".partial")
        os.replace(path + ".partial", path)

    def get_state(self):
        state = super().get_state()
        state.update(
            aggregate=self.aggregate, diverged=dict(self._diverged), stopped=dict(self._stopped)
        )
        return state

    def set_state(self, state):
        super().set_state(state)
        self.aggregate = state.get("aggregate", self.aggregate)
        self._diverged = dict(state.get("diverged", {}))
        self._stopped = dict(state.get("stopped", {}))
