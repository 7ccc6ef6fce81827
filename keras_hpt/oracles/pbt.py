"""Population based training (PBT; Jaderberg et al., 2017), asynchronous."""

import math

import keras_tuner

from keras_hpt._validation import check_condition, check_number
from keras_hpt.oracles.base import Oracle, TrialStatus, configuration

_NUMERIC = (keras_tuner.engine.hyperparameters.Float, keras_tuner.engine.hyperparameters.Int)


class PBTOracle(Oracle):
    """Population based training: members train in intervals and copy the leaders.

    `population_size` members start from random configurations. Each trains
    `interval` epochs at a time; when an interval ends, the member is ranked
    by its latest objective value against the other members' latest values.
    A member in the bottom `quantile` copies a member of the top `quantile`
    (exploit: it continues from the leader's last-epoch checkpoint, with the
    leader's hyperparameters) and then perturbs the `mutable` ones (explore:
    each is resampled with probability `resample_probability`, else
    multiplied by one of `perturb_factors`). Any other member continues its
    own training. A member that diverged copies a leader at once. The search
    ends when every member has trained `max_epochs`.

    Each interval is its own trial record. Its values carry the member
    (`tuner/member`), the record whose checkpoint it starts from
    (`tuner/trial_id`), the member copied in an exploit
    (`tuner/exploited`, else -1) and its epochs (`tuner/initial_epoch`,
    `tuner/epochs`); `lineage(member)` lists them.

    Only hyperparameters that leave the weights' shapes unchanged can be
    mutable, since the checkpoint is loaded into the perturbed model; by
    default every `Float` hyperparameter is (learning rate, dropout, weight
    decay, ...).

    Args:
        objective: The objective, as for any keras-tuner oracle.
        population_size: Number of members trained side by side.
        interval: Epochs between two exploit/explore decisions.
        max_epochs: Epochs each member trains in all.
        quantile: Fraction of the population that counts as bottom (and top).
        resample_probability: Chance that an explored value is drawn afresh.
        perturb_factors: Factors a numeric value is multiplied by otherwise.
        mutable: Names of the hyperparameters explored, or `None` for every
            `Float` hyperparameter.
        hyperparameters: Optional `HyperParameters` to start the space from.
        seed: Random seed.
        **kwargs: Passed to `keras_hpt.oracles.base.Oracle`.

    Example:

    >>> oracle = keras_hpt.oracles.PBTOracle("val_loss", population_size=4, interval=2,
    ...                                      max_epochs=10)
    >>> oracle.population_size * oracle.max_epochs  # at most this many epochs in all
    40
    """

    continues_trials = True

    def __init__(
        self,
        objective=None,
        population_size: int = 8,
        interval: int = 2,
        max_epochs: int = 20,
        quantile: float = 0.25,
        resample_probability: float = 0.25,
        perturb_factors=(0.8, 1.2),
        mutable=None,
        hyperparameters=None,
        seed=None,
        **kwargs,
    ):
        self.population_size = check_number(
            "population_size", population_size, low=2, integer=True
        )
        self.interval = check_number("interval", interval, low=0, low_open=True, integer=True)
        self.max_epochs = check_number(
            "max_epochs", max_epochs, low=0, low_open=True, integer=True
        )
        check_condition(
            max_epochs >= interval, "max_epochs", max_epochs, f">= interval={interval}"
        )
        self.quantile = check_number("quantile", quantile, low=0, high=0.5, low_open=True)
        self.resample_probability = check_number(
            "resample_probability", resample_probability, low=0, high=1
        )
        factors = tuple(perturb_factors) if isinstance(perturb_factors, (list, tuple)) else None
        check_condition(
            bool(factors) and all(
                isinstance(f, (int, float)) and not isinstance(f, bool) and f > 0
                for f in factors
            ),
            "perturb_factors",
            perturb_factors,
            "a non-empty list of positive numbers",
        )
        self.perturb_factors = factors
        if mutable is not None and (
            isinstance(mutable, str) or not all(isinstance(m, str) for m in mutable)
        ):
            raise TypeError(
                "`mutable` must be a list of hyperparameter names or None. "
                f"Received: mutable={mutable!r}"
            )
        self.mutable = None if mutable is None else list(mutable)
        super().__init__(objective=objective, hyperparameters=hyperparameters, seed=seed, **kwargs)

    # The population, read from the trial records ---------------------------

    def _records(self, member: int) -> list:
        return [
            t for t in self.trials.values()
            if t.hyperparameters.values.get("tuner/member") == member
        ]

    def lineage(self, member: int) -> list:
        """The intervals a member trained: `(trial_id, epochs, copied_member, values)` each.

        Args:
            member: The member's index, from 0 to `population_size - 1`.

        Returns:
            A list in training order; `epochs` is `(first, last)` and
            `copied_member` is the member copied at its start, or -1.
        """
        return [
            (
                t.trial_id,
                (t.hyperparameters.values["tuner/initial_epoch"],
                 t.hyperparameters.values["tuner/epochs"]),
                t.hyperparameters.values["tuner/exploited"],
                configuration(t.hyperparameters.values),
            )
            for t in sorted(self._records(member), key=lambda t: t.trial_id)
        ]

    def _latest(self, member: int):
        records = self._records(member)
        return max(records, key=lambda t: t.trial_id) if records else None

    def _current_value(self, trial):
        """The member's latest objective value (PBT ranks on current, not best, values)."""
        finite = [v for _, v in self.aggregated_history(trial) if math.isfinite(v)]
        return finite[-1] if finite and trial.status == TrialStatus.COMPLETED else None

    def _ranked_members(self) -> list:
        """Members with a finished interval, best first, with their latest records."""
        ranked = []
        for member in range(self.population_size):
            latest = self._latest(member)
            if latest is not None and latest.status != TrialStatus.RUNNING:
                value = self._current_value(latest)
                if value is not None:
                    ranked.append((value, member, latest))
        ranked.sort(key=lambda item: item[0], reverse=self.objective.direction == "max")
        return ranked

    # Suggestions ----------------------------------------------------------

    def _mutable_names(self) -> list:
        names = [hp.name for hp in self.hyperparameters.space]
        if self.mutable is None:
            return [
                hp.name for hp in self.hyperparameters.space
                if isinstance(hp, keras_tuner.engine.hyperparameters.Float)
            ]
        unknown = [m for m in self.mutable if m not in names]
        if unknown:
            raise ValueError(
                f"`mutable` names hyperparameters that are not in the search space: {unknown}. "
                f"The space has: {names}. Received: mutable={self.mutable!r}"
            )
        return list(self.mutable)

    def _explore(self, values: dict, rng) -> dict:
        values, mutable = dict(values), set(self._mutable_names())
        for hp in self.hyperparameters.space:
            if hp.name not in mutable or hp.name not in values:
                continue
            if rng.random() < self.resample_probability or not isinstance(hp, _NUMERIC):
                values[hp.name] = hp.random_sample(int(rng.integers(2**31)))
                continue
            factor = self.perturb_factors[int(rng.integers(len(self.perturb_factors)))]
            value = min(max(values[hp.name] * factor, hp.min_value), hp.max_value)
            if isinstance(hp, keras_tuner.engine.hyperparameters.Int):
                value = int(round(value))
            values[hp.name] = value
        return values

    def _interval(self, member, start, parent, copied, values) -> dict:
        values = dict(values)
        values.update({
            "tuner/member": member,
            "tuner/trial_id": parent,
            "tuner/exploited": copied,
            "tuner/initial_epoch": start,
            "tuner/epochs": min(start + self.interval, self.max_epochs),
        })
        if parent is None:
            del values["tuner/trial_id"]
        return {"status": TrialStatus.RUNNING, "values": values}

    def populate_space(self, trial_id):
        self._mutable_names()  # reports unknown names before the first trial runs
        rng = self._rng(len(self.trials), 11)
        for member in range(self.population_size):
            if self._latest(member) is None:
                values = self._random_values()
                if values is None:
                    return {"status": TrialStatus.STOPPED}
                return self._interval(member, 0, None, -1, values)
        ready = []
        for member in range(self.population_size):
            latest = self._latest(member)
            done = latest.hyperparameters.values["tuner/epochs"]
            if latest.status != TrialStatus.RUNNING and done < self.max_epochs:
                ready.append((done, member, latest))
        if not ready:
            running = any(t.status == TrialStatus.RUNNING for t in self.trials.values())
            return {"status": TrialStatus.IDLE if running else TrialStatus.STOPPED}
        done, member, latest = min(ready, key=lambda item: item[:2])
        ranked = self._ranked_members()
        cut = max(1, int(math.ceil(len(ranked) * self.quantile)))
        # A leader that has finished cannot be copied: the copy would have nothing to train.
        top = [
            (value, leader, record) for value, leader, record in ranked[:cut]
            if leader != member and record.hyperparameters.values["tuner/epochs"] < self.max_epochs
        ]
        bottom = {item[1] for item in ranked[-cut:]} if len(ranked) > cut else set()
        alive = self._current_value(latest) is not None
        if alive and (member not in bottom or not top):
            return self._interval(
                member, done, latest.trial_id, -1, configuration(latest.hyperparameters.values)
            )
        if not top:
            # Nobody to copy yet: a diverged member starts again from scratch.
            return self._interval(member, 0, None, -1, self._random_values() or {})
        _, leader, source = top[int(rng.integers(len(top)))]
        values = self._explore(configuration(source.hyperparameters.values), rng)
        start = source.hyperparameters.values["tuner/epochs"]
        return self._interval(member, start, source.trial_id, leader, values)
