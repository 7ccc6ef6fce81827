"""Asynchronous successive halving (ASHA; Li et al., MLSys 2020)."""

import math

import numpy as np

from keras_hpt._validation import check_choice, check_condition, check_number
from keras_hpt.oracles._acquisition import SuggesterForSpace
from keras_hpt.oracles.base import Oracle, TrialStatus, configuration


def rung_epochs(min_epochs: int, max_epochs: int, factor: float) -> list:
    """The epochs at which successive halving compares trials: `min_epochs * factor**k`.

    The last rung is `max_epochs`, whether or not it is a power of `factor`
    away from `min_epochs`.

    Args:
        min_epochs: Epochs of the first rung.
        max_epochs: Epochs of the last rung.
        factor: Ratio between the epochs of successive rungs.

    Returns:
        The increasing list of rung epochs.

    Example:

    >>> rung_epochs(1, 27, 3)
    [1, 3, 9, 27]
    >>> rung_epochs(2, 20, 3)
    [2, 6, 18, 20]
    """
    rungs = [min_epochs]
    while rungs[-1] * factor < max_epochs * (1 - 1e-9):
        rungs.append(max(rungs[-1] + 1, int(round(min_epochs * factor ** len(rungs)))))
    if rungs[-1] != max_epochs:
        rungs.append(max_epochs)
    return rungs


class ASHAOracle(Oracle):
    """Asynchronous successive halving: promote the best trials, never wait.

    A new configuration trains for `min_epochs` (the first rung). Whenever a
    worker asks for a trial, the oracle looks for a trial in the top
    `1 / factor` of its rung that has not been promoted yet, from the highest
    rung down; it promotes it to the next rung, where it continues from its
    last-epoch checkpoint (optimizer state included) instead of retraining.
    With nothing to promote it starts a new configuration, so no worker ever
    waits for another. Trials that diverged or failed take their place in
    their rung and are never promoted.

    With `brackets > 1`, new configurations are spread over brackets whose
    first rung is `factor` times later than the previous bracket's, in the
    proportions of Hyperband, to hedge against early rungs misjudging trials.

    With `sampler="gaussian_process"`, new configurations come from a model of
    the results instead of at random, as in BOHB (Falkner et al., 2018): a
    Gaussian process fitted to the longest rung with enough results (the
    number of encoded dimensions plus two) proposes the configuration of
    highest expected improvement, the running ones taken into account.
    Unlike BOHB, the configurations pruned before that rung count as its
    worst results, so the model does not mistake the regions it pruned for
    unexplored ones. A share `random_fraction` of new configurations stays
    random, so the model cannot starve a region it misjudged.

    Each rung's run is its own trial record, like keras-tuner's Hyperband:
    `tuner/trial_id` names the trial it continues, `tuner/initial_epoch` and
    `tuner/epochs` the epochs it trains, `tuner/bracket` and `tuner/rung` its
    place. ASHA runs until `max_trials` records or a budget of the tuner
    (`epoch_budget`, `time_budget`) ends it.

    Args:
        objective: The objective, as for any keras-tuner oracle.
        min_epochs: Epochs of the first rung.
        max_epochs: Epochs of the last rung: no trial trains longer.
        factor: Ratio between successive rungs' epochs, and the inverse of the
            fraction of a rung that is promoted.
        brackets: Number of brackets (1 is ASHA as published).
        sampler: How new configurations are drawn: `"random"` (ASHA as
            published) or `"gaussian_process"` (model-based, see above).
        random_fraction: With `sampler="gaussian_process"`, the probability
            that a new configuration is drawn at random all the same.
        max_trials: Maximum number of trial records (promotions count), or
            `None` to rely on the tuner's budgets.
        hyperparameters: Optional `HyperParameters` to start the space from.
        seed: Random seed.
        **kwargs: Passed to `keras_hpt.oracles.base.Oracle`
            (`max_retries_per_trial`, `aggregate`, ...).

    Example:

    >>> oracle = keras_hpt.oracles.ASHAOracle("val_loss", min_epochs=1, max_epochs=9, factor=3)
    >>> oracle.rungs
    [[1, 3, 9]]
    """

    continues_trials = True
    unbounded = True

    def __init__(
        self,
        objective=None,
        min_epochs: int = 1,
        max_epochs: int = 27,
        factor: float = 3,
        brackets: int = 1,
        sampler: str = "random",
        random_fraction: float = 1 / 3,
        max_trials=None,
        hyperparameters=None,
        seed=None,
        **kwargs,
    ):
        self.min_epochs = check_number("min_epochs", min_epochs, low=0, low_open=True, integer=True)
        self.max_epochs = check_number("max_epochs", max_epochs, low=0, low_open=True, integer=True)
        check_condition(
            max_epochs >= min_epochs, "max_epochs", max_epochs, f">= min_epochs={min_epochs}"
        )
        self.factor = check_number("factor", factor, low=1, low_open=True)
        first = rung_epochs(self.min_epochs, self.max_epochs, self.factor)
        self.brackets = check_number("brackets", brackets, low=1, high=len(first), integer=True)
        self.sampler = check_choice("sampler", sampler, ("random", "gaussian_process"))
        self.random_fraction = check_number("random_fraction", random_fraction, low=0, high=1)
        check_number("max_trials", max_trials, low=0, low_open=True, integer=True, allow_none=True)
        super().__init__(
            objective=objective,
            max_trials=max_trials,
            hyperparameters=hyperparameters,
            seed=seed,
            **kwargs,
        )
        self.rungs = [first[s:] for s in range(self.brackets)]
        # Hyperband starts ceil((s_max+1)/(s_max-s+1) * factor^(s_max-s)) configurations
        # in bracket s; new configurations follow the same proportions.
        top = len(first) - 1
        self._bracket_weights = [
            math.ceil((top + 1) / (top - s + 1) * self.factor ** (top - s))
            for s in range(self.brackets)
        ]
        self._suggesters = SuggesterForSpace(n_initial_points=1)

    def _ended(self) -> list:
        return [
            t
            for t in self.trials.values()
            if t.status in (TrialStatus.COMPLETED, TrialStatus.FAILED)
            and "tuner/rung" in t.hyperparameters.values
        ]

    def _better_first(self, trials) -> list:
        finite = [t for t in trials if t.status == TrialStatus.COMPLETED and t.score is not None]
        return sorted(finite, key=lambda t: t.score, reverse=self.objective.direction == "max")

    def _promotion(self):
        """The best unpromoted trial in the top `1/factor` of its rung, highest rung first."""
        promoted = {
            t.hyperparameters.values.get("tuner/trial_id") for t in self.trials.values()
        }
        ended = self._ended()
        levels = sorted(
            {(len(self.rungs[b]) - 1 - r, b, r) for b in range(self.brackets)
             for r in range(len(self.rungs[b]) - 1)}
        )
        for _, bracket, rung in levels:
            group = [
                t for t in ended
                if t.hyperparameters.values["tuner/bracket"] == bracket
                and t.hyperparameters.values["tuner/rung"] == rung
            ]
            quota = int(len(group) // self.factor)
            for trial in self._better_first(group)[:quota]:
                if trial.trial_id not in promoted:
                    return trial, bracket, rung + 1
        return None

    def _next_bracket(self) -> int:
        """The bracket furthest below its share of new configurations."""
        started = [0] * self.brackets
        for trial in self.trials.values():
            values = trial.hyperparameters.values
            if values.get("tuner/rung") == 0:
                started[values["tuner/bracket"]] += 1
        total = sum(started) + 1
        weights = self._bracket_weights
        deficits = [w / sum(weights) * total - n for w, n in zip(weights, started)]
        return max(range(self.brackets), key=lambda b: deficits[b])

    def _new_configuration(self, trial_id):
        """Hyperparameter values for a new configuration, or `None` if none is left."""
        if self.sampler == "random":
            return self._random_values()
        rng = self._rng(len(self.trials), 7)
        if rng.random() < self.random_fraction:
            return self._random_values()
        suggester = self._suggesters.get(self.hyperparameters)
        encoder = suggester.encoder
        evidence = self._model_evidence(encoder.dim + 2)
        if encoder.dim == 0 or evidence is None:
            return self._random_values()
        sign = -1.0 if self.objective.direction == "max" else 1.0
        observed = [encoder.encode(values) for values, _ in evidence]
        scores = [sign * score for _, score in evidence]
        # The running new configurations are pending for the model; promotions
        # repeat a configuration it has already seen.
        pending = [
            encoder.encode(configuration(t.hyperparameters.values))
            for t in self.trials.values()
            if t.status == TrialStatus.RUNNING and t.hyperparameters.values.get("tuner/rung") == 0
        ]
        vector = suggester.suggest(
            np.array(observed), np.array(scores, dtype=float),
            np.array(pending) if pending else None, rng=rng,
        )
        values = None if vector is None else encoder.decode(vector)
        if values is None or self._duplicate(values):
            return self._random_values()
        return values

    def _model_evidence(self, minimum: int):
        """What the model learns from: `(configuration, score)` pairs, or `None` if too few.

        The scores are those of the longest rung (in epochs, so brackets
        compare) with at least `minimum` results. Configurations that rung
        never saw because successive halving pruned them (they ended below the
        top `1 / factor` of a shorter rung) count as failures, the worst score:
        a model of the survivors alone would take every pruned region for
        unexplored and promising.
        """
        by_epochs = {}
        for trial in self._ended():
            by_epochs.setdefault(trial.hyperparameters.values["tuner/epochs"], []).append(trial)
        enough = [e for e, group in by_epochs.items() if len(group) >= minimum]
        if not enough:
            return None
        top = max(enough)
        evidence = {}
        for epochs in sorted(by_epochs):
            group = by_epochs[epochs]
            if epochs == top:
                for trial in group:
                    finite = trial.status == TrialStatus.COMPLETED and trial.score is not None
                    values = configuration(trial.hyperparameters.values)
                    evidence[self._compute_values_hash(values)] = (
                        values, trial.score if finite else math.nan)
            elif epochs < top:
                survivors = {t.trial_id for t in
                             self._better_first(group)[:int(len(group) // self.factor)]}
                for trial in group:
                    values = configuration(trial.hyperparameters.values)
                    key = self._compute_values_hash(values)
                    if trial.trial_id not in survivors and key not in evidence:
                        evidence[key] = (values, math.nan)
        return list(evidence.values())

    def populate_space(self, trial_id):
        found = self._promotion()
        if found is not None:
            parent, bracket, rung = found
            values = configuration(parent.hyperparameters.values)
            values.update({
                "tuner/trial_id": parent.trial_id,
                "tuner/initial_epoch": self.rungs[bracket][rung - 1],
                "tuner/epochs": self.rungs[bracket][rung],
                "tuner/bracket": bracket,
                "tuner/rung": rung,
            })
            return {"status": TrialStatus.RUNNING, "values": values}
        values = self._new_configuration(trial_id)
        if values is None:
            # The space is exhausted: wait for running trials to open promotions.
            running = any(t.status == TrialStatus.RUNNING for t in self.trials.values())
            return {"status": TrialStatus.IDLE if running else TrialStatus.STOPPED}
        bracket = self._next_bracket()
        values.update({
            "tuner/initial_epoch": 0,
            "tuner/epochs": self.rungs[bracket][0],
            "tuner/bracket": bracket,
            "tuner/rung": 0,
        })
        return {"status": TrialStatus.RUNNING, "values": values}

    def get_state(self):
        state = super().get_state()
        state.update(
            min_epochs=self.min_epochs,
            max_epochs=self.max_epochs,
            factor=self.factor,
            brackets=self.brackets,
            sampler=self.sampler,
            random_fraction=self.random_fraction,
        )
        return state
