"""Regularized (aging) evolution with uniform crossover (after Real et al., AAAI 2019)."""

from typing import Optional

from keras_tuner.src.engine.hyperparameters import hp_types

from keras_hpt._validation import check_number
from keras_hpt.oracles.base import Oracle, TrialStatus, configuration

# Children drawn before falling back to random configurations, then random draws
# before declaring a space without an enumerable grid exhausted.
_CHILD_ATTEMPTS = 20
_RANDOM_ATTEMPTS = 50
# Largest finite space that is enumerated to find the configurations not tried yet.
_MAX_GRID = 20000


def _grid(hp):
    """All values of a hyperparameter, as sampling would return them, or `None` if continuous."""
    if isinstance(hp, (hp_types.Choice, hp_types.Boolean, hp_types.Fixed)):
        return list(hp.values)
    if isinstance(hp, hp_types.Int) and hp.step is None:
        count = hp.max_value - hp.min_value + 1
    elif isinstance(hp, (hp_types.Int, hp_types.Float)) and hp.step is not None:
        count = hp._get_n_values()
    else:
        return None
    if count > _MAX_GRID:
        return None
    # The centre of each probability bucket maps to the value keras-tuner would sample.
    return [hp.prob_to_value((i + 0.5) / count) for i in range(count)]


def _is_active(hp, values) -> bool:
    return all(condition.is_active(values) for condition in hp.conditions)


def _mutable(hp) -> bool:
    grid = _grid(hp)
    if grid is not None:
        return len(grid) > 1
    return hp.min_value != hp.max_value


def _valid(hp, value) -> bool:
    """Whether a parent's value lies in this hyperparameter's domain (names can be reused)."""
    if isinstance(hp, (hp_types.Int, hp_types.Float)):
        return isinstance(value, (int, float)) and hp.min_value <= value <= hp.max_value
    return value in list(hp.values)


class EvolutionOracle(Oracle):
    """Asynchronous steady-state evolution: tournaments, crossover, mutation, aging.

    The first `population_size` trials are random configurations. Every later
    trial is a child: a tournament among the last `population_size` completed
    trials (the population; older trials age out of it, however good they were)
    picks a parent, the best of `tournament_size` members drawn at random. With
    probability `crossover_rate` a second tournament picks another parent and
    the child takes each hyperparameter from one of the two at random. Then each
    active hyperparameter mutates with probability `mutation_rate`: a numeric one
    (`Int`, `Float`, with log sampling or steps) moves by a Gaussian step of
    standard deviation `mutation_scale` in keras-tuner's [0, 1] probability
    space, a `Choice` or `Boolean` takes another of its values. A child without
    crossover always differs from its parent in at least one hyperparameter.

    Conditional scopes stay valid: the child is built by walking the space in
    order, so a hyperparameter is set only when its parent condition holds for
    the child; one that neither parent had active is sampled at random.

    No configuration is proposed twice. When children keep repeating tried
    configurations the oracle samples random ones, and once a finite space is
    exhausted it stops the search. Failed and diverged trials are never parents;
    running trials are not parents until they complete, so any number of
    workers can ask for trials and none ever waits. All draws depend only on
    the seed and the number of trials so far, and the population is rebuilt
    from the saved trials, so a reloaded search continues alike.

    Args:
        objective: The objective, as for any keras-tuner oracle.
        population_size: Number of completed trials that parents are chosen from,
            and of random trials the search starts with. At least 2.
        tournament_size: Members drawn at random for each tournament, from 1 (no
            selection pressure) to `population_size` (always the best).
            Defaults to a third of `population_size`, at least 2.
        mutation_rate: Probability that each hyperparameter of a child mutates.
        crossover_rate: Probability that a child has two parents.
        mutation_scale: Standard deviation of a numeric mutation in probability
            space, in (0, 1].
        max_trials: Maximum number of trials, or `None` to rely on the tuner's
            budgets.
        hyperparameters: Optional `HyperParameters` to start the space from.
        seed: Random seed.
        **kwargs: Passed to `keras_hpt.oracles.base.Oracle`
            (`max_retries_per_trial`, `aggregate`, ...).

    Example:

    >>> from keras_hpt.oracles.evolution import EvolutionOracle
    >>> oracle = EvolutionOracle("val_loss", population_size=8, max_trials=30, seed=1)
    >>> oracle.tournament_size
    2
    """

    unbounded = True

    def __init__(
        self,
        objective=None,
        population_size: int = 20,
        tournament_size: Optional[int] = None,
        mutation_rate: float = 0.3,
        crossover_rate: float = 0.5,
        mutation_scale: float = 0.1,
        max_trials: Optional[int] = None,
        hyperparameters=None,
        seed: Optional[int] = None,
        **kwargs,
    ):
        self.population_size = check_number(
            "population_size", population_size, low=2, integer=True
        )
        if tournament_size is None:
            tournament_size = max(2, self.population_size // 3)
        self.tournament_size = check_number(
            "tournament_size", tournament_size, low=1, high=self.population_size, integer=True
        )
        self.mutation_rate = check_number("mutation_rate", mutation_rate, low=0, high=1)
        self.crossover_rate = check_number("crossover_rate", crossover_rate, low=0, high=1)
        self.mutation_scale = check_number(
            "mutation_scale", mutation_scale, low=0, high=1, low_open=True
        )
        check_number("max_trials", max_trials, low=0, low_open=True, integer=True, allow_none=True)
        super().__init__(
            objective=objective,
            max_trials=max_trials,
            hyperparameters=hyperparameters,
            seed=seed,
            **kwargs,
        )
        # trial_id -> ids of its parents ([] for a random trial); informative only,
        # the search itself needs nothing but the saved trials.
        self._parents = {}

    # Population ------------------------------------------------------------

    def population(self) -> list:
        """The trials parents are chosen from: the last `population_size` completed ones."""
        return self.completed_trials()[-self.population_size:]

    def parents(self, trial_id: str) -> list:
        """The ids of a trial's parents: none for a random trial, one or two for a child."""
        return list(self._parents.get(trial_id, []))

    def _tournament(self, members, rng):
        size = min(self.tournament_size, len(members))
        drawn = [members[i] for i in rng.choice(len(members), size=size, replace=False)]
        sign = -1 if self.objective.direction == "max" else 1
        return min(drawn, key=lambda trial: sign * trial.score)

    # Variation -------------------------------------------------------------

    def _sample(self, hp, rng):
        return hp.prob_to_value(float(rng.random()))

    def _mutate(self, hp, value, rng):
        """Another value of `hp` near `value` (numeric) or any other value (categorical)."""
        if isinstance(hp, (hp_types.Choice, hp_types.Boolean)):
            others = [v for v in hp.values if v != value]
            return others[rng.integers(len(others))]
        prob = hp.value_to_prob(value)
        for _ in range(10):
            moved = abs(prob + rng.normal(0.0, self.mutation_scale))
            # Reflected at both ends so that boundary values are not over-represented.
            moved = min(max(2.0 - moved if moved > 1.0 else moved, 0.0), 1.0 - 1e-12)
            new = hp.prob_to_value(moved)
            if new != value:
                return new
        # A coarse grid rarely leaves its bucket with small steps: move to a neighbour.
        grid = _grid(hp)
        if grid is not None and len(grid) > 1:
            index = min(range(len(grid)), key=lambda i: abs(grid[i] - value))
            step = 1 if index == 0 or (index < len(grid) - 1 and rng.random() < 0.5) else -1
            return grid[index + step]
        return value

    def _walk(self, donors, rng, rate, forced=()):
        """Child values: each active hp from a random donor (or sampled), then maybe mutated.

        Returns:
            The values and the names of the mutated hyperparameters.
        """
        values, mutated = {}, []
        for hp in self.hyperparameters.space:
            if hp.name in values or not _is_active(hp, values):
                continue
            order = rng.permutation(len(donors)) if len(donors) > 1 else range(len(donors))
            candidates = [donors[i].get(hp.name) for i in order if hp.name in donors[i]]
            candidates = [v for v in candidates if _valid(hp, v)]
            values[hp.name] = candidates[0] if candidates else self._sample(hp, rng)
            if _mutable(hp) and (hp.name in forced or rng.random() < rate):
                new = self._mutate(hp, values[hp.name], rng)
                if new != values[hp.name]:
                    values[hp.name] = new
                    mutated.append(hp.name)
        return values, mutated

    def _child(self, population, rng):
        """One child's values and parent ids, or `None` if the population cannot breed."""
        first = self._tournament(population, rng)
        parents = [first]
        others = [t for t in population if t.trial_id != first.trial_id]
        if others and rng.random() < self.crossover_rate:
            parents.append(self._tournament(others, rng))
        donors = [configuration(p.hyperparameters.values) for p in parents]
        values, mutated = self._walk(donors, rng, self.mutation_rate)
        if len(parents) == 1 and not mutated:
            names = [
                hp.name for hp in self.hyperparameters.space
                if hp.name in values and _mutable(hp) and _is_active(hp, values)
            ]
            if not names:
                return None
            forced = {names[rng.integers(len(names))]}
            values, mutated = self._walk(donors, rng, 0.0, forced)
        return values, [p.trial_id for p in parents]

    # Exhaustion ------------------------------------------------------------

    def _all_configurations(self):
        """Every configuration of a finite space, or `None` if it is continuous or too large."""
        space = self.hyperparameters.space
        grids = [_grid(hp) for hp in space]
        if any(g is None for g in grids):
            return None
        found = []

        def extend(index, values):
            if len(found) > _MAX_GRID:
                return
            if index == len(space):
                found.append(dict(values))
                return
            hp = space[index]
            if hp.name in values or not _is_active(hp, values):
                extend(index + 1, values)
                return
            for value in grids[index]:
                values[hp.name] = value
                extend(index + 1, values)
                del values[hp.name]

        extend(0, {})
        return found if len(found) <= _MAX_GRID else None

    def _untried(self, rng):
        """A random configuration not tried yet, or `None` when there is none."""
        for _ in range(_RANDOM_ATTEMPTS):
            values, _ = self._walk([], rng, 0.0)
            if not self._duplicate(values):
                return values
        every = self._all_configurations()
        if every is None:
            return None
        fresh = [values for values in every if not self._duplicate(values)]
        return fresh[rng.integers(len(fresh))] if fresh else None

    # keras-tuner's hook -----------------------------------------------------

    def populate_space(self, trial_id):
        count = len(self.trials)
        population = self.population()
        if count >= self.population_size and population:
            for attempt in range(_CHILD_ATTEMPTS):
                child = self._child(population, self._rng(count, attempt))
                if child is not None and not self._duplicate(child[0]):
                    self._parents[trial_id] = child[1]
                    return {"status": TrialStatus.RUNNING, "values": child[0]}
        values = self._untried(self._rng(count, _CHILD_ATTEMPTS))
        if values is None:
            return {"status": TrialStatus.STOPPED}
        self._parents[trial_id] = []
        return {"status": TrialStatus.RUNNING, "values": values}

    # State -----------------------------------------------------------------

    def get_state(self):
        state = super().get_state()
        state.update(
            population_size=self.population_size,
            tournament_size=self.tournament_size,
            mutation_rate=self.mutation_rate,
            crossover_rate=self.crossover_rate,
            mutation_scale=self.mutation_scale,
            parents={k: list(v) for k, v in self._parents.items()},
        )
        return state

    def set_state(self, state):
        super().set_state(state)
        self._parents = {k: list(v) for k, v in state.get("parents", {}).items()}
