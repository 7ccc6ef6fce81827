"""Bayesian optimisation with a Gaussian process, in milliseconds per suggestion."""

import math

import numpy as np

from keras_hpt._validation import check_choice, check_number
from keras_hpt.oracles._acquisition import SuggesterForSpace
from keras_hpt.oracles.base import Oracle, TrialStatus, configuration


class GaussianProcessOracle(Oracle):
    """Bayesian optimisation: a Gaussian process and log expected improvement.

    What it does differently from keras-tuner's `BayesianOptimizationOracle`:

    - an unordered `Choice` is a real categorical (one-hot), not a number;
    - the Gaussian process (Matérn 5/2 with one length scale per dimension)
      is refitted from its previous hyperparameters, and the acquisition is
      maximised over quasi-random candidates plus a few local searches, so a
      suggestion takes milliseconds, not seconds;
    - trials still running (other workers') are taken into account by a
      kriging believer, so parallel workers do not get the same suggestion;
    - a configuration already tried or running is never suggested again;
    - failed and diverged trials count as the worst value seen, so the
      search moves away from them instead of ignoring them.

    The first trials (`num_initial_points`, by default between 5 and 10
    depending on the number of dimensions) fill the space quasi-randomly.

    Args:
        objective: The objective, as for any keras-tuner oracle.
        max_trials: Number of trials, or `None` to rely on the tuner's budgets.
        num_initial_points: Space-filling trials before the model takes over,
            or `None` for `min(max(5, 2 * dimensions), 10)`.
        output_warping: How scores are transformed before the fit:
            `"power"` (outliers compressed, then Yeo-Johnson), `"rank"` or
            `"none"`.
        hyperparameters: Optional `HyperParameters` to start the space from.
        seed: Random seed.
        **kwargs: Passed to `keras_hpt.oracles.base.Oracle`.

    Example:

    >>> hp = keras_tuner.HyperParameters()
    >>> _ = hp.Float("x", -2.0, 2.0)
    >>> oracle = keras_hpt.oracles.GaussianProcessOracle(
    ...     keras_tuner.Objective("score", "min"), max_trials=15, hyperparameters=hp, seed=1)
    >>> oracle.num_initial_points is None
    True
    """

    unbounded = True

    def __init__(
        self,
        objective=None,
        max_trials=None,
        num_initial_points=None,
        output_warping: str = "power",
        hyperparameters=None,
        seed=None,
        **kwargs,
    ):
        check_number("max_trials", max_trials, low=0, low_open=True, integer=True,
                     allow_none=True)
        self.num_initial_points = check_number(
            "num_initial_points", num_initial_points, low=0, low_open=True, integer=True,
            allow_none=True,
        )
        self.output_warping = check_choice(
            "output_warping", output_warping, ("power", "rank", "none")
        )
        super().__init__(
            objective=objective,
            max_trials=max_trials,
            hyperparameters=hyperparameters,
            seed=seed,
            **kwargs,
        )
        self._suggesters = SuggesterForSpace(
            n_initial_points=self.num_initial_points, output_warping=self.output_warping
        )

    def _observations(self, encoder):
        observed, scores, pending = [], [], []
        sign = -1.0 if self.objective.direction == "max" else 1.0
        for trial in self.trials.values():
            values = configuration(trial.hyperparameters.values)
            if trial.status == TrialStatus.RUNNING:
                pending.append(encoder.encode(values))
            elif trial.status == TrialStatus.COMPLETED and trial.score is not None:
                observed.append(encoder.encode(values))
                scores.append(sign * trial.score)
            elif trial.status in (TrialStatus.FAILED, TrialStatus.INVALID):
                # The suggester reads NaN as the worst value observed.
                observed.append(encoder.encode(values))
                scores.append(math.nan)
        dim = encoder.dim
        return (
            np.array(observed).reshape(-1, dim),
            np.array(scores, dtype=float),
            np.array(pending).reshape(-1, dim) if pending else None,
        )

    def populate_space(self, trial_id):
        suggester = self._suggesters.get(self.hyperparameters)
        encoder = suggester.encoder
        if encoder.dim == 0:
            values = self._random_values()
            return {"status": TrialStatus.RUNNING if values is not None else TrialStatus.STOPPED,
                    "values": values}
        observed, scores, pending = self._observations(encoder)
        vector = suggester.suggest(observed, scores, pending, rng=self._rng(len(self.trials), 5))
        if vector is None:
            return {"status": TrialStatus.STOPPED}
        values = encoder.decode(vector)
        if self._duplicate(values):
            values = self._random_values()
            if values is None:
                return {"status": TrialStatus.STOPPED}
        return {"status": TrialStatus.RUNNING, "values": values}

    def get_state(self):
        state = super().get_state()
        state.update(num_initial_points=self.num_initial_points,
                     output_warping=self.output_warping)
        return state
