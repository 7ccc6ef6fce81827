"""EvolutionOracle and the Evolution tuner: operators, population, duplicates, quality."""

import itertools
import math

import keras
import keras_tuner
import numpy as np
import pytest

from keras_hpt.oracles.evolution import EvolutionOracle
from keras_hpt.tuners.evolution import Evolution
from tests.oracles.simulate import run_oracle

UNITS = [8, 16, 32, 64, 128]
DROPOUTS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
ACTIVATIONS = ["relu", "tanh", "gelu"]


def flat_space():
    hp = keras_tuner.HyperParameters()
    hp.Int("units", 8, 128, step=2, sampling="log")
    hp.Float("lr", 1e-4, 1e-1, sampling="log")
    hp.Float("dropout", 0.0, 0.5, step=0.1)
    hp.Int("layers", 1, 6)
    hp.Choice("act", ACTIVATIONS)
    hp.Boolean("bn")
    return hp


def flat_loss(values, epoch):
    return (
        (math.log10(values["lr"]) + 2.5) ** 2 + abs(values["layers"] - 3) + values["dropout"]
        + (values["act"] != "tanh") + abs(math.log2(values["units"]) - 5) + values["bn"]
    )


def in_domain(name, value):
    """The flat space's domains, written out by hand."""
    if name == "units":
        return value in UNITS
    if name == "lr":
        return 1e-4 <= value <= 1e-1
    if name == "dropout":
        return any(math.isclose(value, d, abs_tol=1e-9) for d in DROPOUTS)
    if name == "layers":
        return isinstance(value, int) and 1 <= value <= 6
    if name == "act":
        return value in ACTIVATIONS
    return isinstance(value, bool)


def conditional_space():
    hp = keras_tuner.HyperParameters()
    hp.Float("lr", 1e-3, 1e-1, sampling="log")
    hp.Choice("model", ["mlp", "cnn"])
    with hp.conditional_scope("model", ["mlp"]):
        hp.Int("width", 4, 64)
        hp.Boolean("residual")
        with hp.conditional_scope("residual", [True]):
            hp.Choice("norm", ["batch", "layer"])
    with hp.conditional_scope("model", ["cnn"]):
        hp.Int("filters", 8, 32, step=8)
        hp.Choice("kernel", [3, 5])
    return hp


def conditional_loss(values, epoch):
    base = (math.log10(values["lr"]) + 2) ** 2
    if values["model"] == "mlp":
        return base + abs(values["width"] - 30) / 10 + 0.5 * values["residual"]
    return base + abs(values["filters"] - 16) / 8 + (values["kernel"] == 5)


def expected_keys(values):
    """The active names of the conditional space for these values, by hand."""
    if values["model"] == "cnn":
        return {"lr", "model", "filters", "kernel"}
    keys = {"lr", "model", "width", "residual"}
    return keys | {"norm"} if values["residual"] else keys


def window(oracle, size):
    """The last `size` trials that ended COMPLETED, read from keras-tuner's own records."""
    ended = [oracle.trials[i] for i in oracle.end_order]
    return [t.trial_id for t in ended if t.status == "COMPLETED"][-size:]


def lr_position(value):
    """Where `lr` lies in [0, 1] under log sampling between 1e-4 and 1e-1."""
    return math.log(value / 1e-4) / math.log(1e-1 / 1e-4)


@pytest.mark.parametrize("mutation_rate", [0.0, 0.4])
def test_mutation_changes_at_least_one_hp_of_one_recent_parent(tmp_path, mutation_rate):
    oracle = EvolutionOracle("loss", population_size=6, tournament_size=3, crossover_rate=0.0,
                             mutation_rate=mutation_rate, hyperparameters=flat_space(), seed=3)
    children, steps = [], []

    def check(oracle, trial):
        parents = oracle.parents(trial.trial_id)
        if len(oracle.trials) <= 6:
            assert parents == []
            return
        assert len(parents) == 1 and parents[0] in window(oracle, 6)
        parent = oracle.trials[parents[0]].hyperparameters.values
        child = trial.hyperparameters.values
        assert set(child) == set(parent)
        changed = [name for name in child if child[name] != parent[name]]
        assert len(changed) >= 1
        if mutation_rate == 0.0:
            assert len(changed) == 1
        assert all(in_domain(name, child[name]) for name in child)
        if "lr" in changed:
            steps.append(abs(lr_position(child["lr"]) - lr_position(parent["lr"])))
        children.append(len(changed))

    run_oracle(oracle, tmp_path, flat_loss, requests=60, on_create=check)
    assert len(children) == 54
    if mutation_rate > 0:
        # About 1 + 0.4 * 5 changed hps per child when at least one is forced.
        assert 1.5 < np.mean(children) < 3.5
    # Gaussian steps of standard deviation 0.1 in probability space: small moves.
    assert steps and max(steps) < 0.5 and np.median(steps) < 0.15


def test_crossover_takes_every_value_from_one_of_two_parents(tmp_path):
    oracle = EvolutionOracle("loss", population_size=8, crossover_rate=1.0, mutation_rate=0.0,
                             hyperparameters=flat_space(), seed=5)
    mixed, random = [], []

    def check(oracle, trial):
        parents = oracle.parents(trial.trial_id)
        if len(oracle.trials) <= 8 or not parents:
            # Without mutation the population loses variety: children that would
            # repeat a tried configuration give way to random ones.
            random.append(trial.trial_id)
            return
        assert len(parents) == 2 and parents[0] != parents[1]
        assert set(parents) <= set(window(oracle, 8))
        a, b = (oracle.trials[p].hyperparameters.values for p in parents)
        child = trial.hyperparameters.values
        assert all(child[k] in (a[k], b[k]) for k in child)
        mixed.append(any(child[k] != a[k] for k in child) and any(child[k] != b[k] for k in child))

    run_oracle(oracle, tmp_path, flat_loss, requests=50, on_create=check)
    assert len(mixed) + len(random) == 50 and len(mixed) >= 35 and all(mixed)


@pytest.mark.parametrize("crossover_rate, mutation_rate", [(1.0, 0.0), (0.5, 0.3), (0.0, 0.6)])
def test_conditional_scopes_stay_valid(tmp_path, crossover_rate, mutation_rate):
    oracle = EvolutionOracle("loss", population_size=6, crossover_rate=crossover_rate,
                             mutation_rate=mutation_rate, hyperparameters=conditional_space(),
                             seed=11)

    def check(oracle, trial):
        child = trial.hyperparameters.values
        assert set(child) == expected_keys(child)
        parents = [oracle.trials[p].hyperparameters.values for p in oracle.parents(trial.trial_id)]
        if len(parents) == 2 and mutation_rate == 0.0:
            for name, value in child.items():
                donors = [p[name] for p in parents if name in p]
                # A hyperparameter neither parent had active is sampled.
                assert not donors or value in donors

    trials = run_oracle(oracle, tmp_path, conditional_loss, requests=40, on_create=check)
    models = {t.hyperparameters.values["model"] for t in trials}
    assert models == {"mlp", "cnn"}


def test_parents_are_recent_and_never_failed(tmp_path):
    def loss(values, epoch):
        return float("nan") if values["layers"] >= 5 else flat_loss(values, epoch)

    oracle = EvolutionOracle("loss", population_size=5, hyperparameters=flat_space(), seed=2)
    seen = []

    def check(oracle, trial):
        for parent in oracle.parents(trial.trial_id):
            assert parent in window(oracle, 5)
            assert oracle.trials[parent].status == "COMPLETED"
            seen.append(parent)

    trials = run_oracle(oracle, tmp_path, loss, requests=50, on_create=check)
    failed = {t.trial_id for t in trials if t.status == "FAILED"}
    assert failed and not failed & set(seen)
    # Aging: the first trials leave the population, however good they were.
    first = {t.trial_id for t in trials[:5]}
    assert not first & set(seen[-20:])


@pytest.mark.parametrize("direction", ["min", "max"])
def test_a_full_tournament_always_picks_the_best_of_the_population(tmp_path, direction):
    objective = keras_tuner.Objective("score", direction)
    oracle = EvolutionOracle(objective, population_size=5, tournament_size=5, crossover_rate=0.0,
                             hyperparameters=flat_space(), seed=8)
    picked = []

    def check(oracle, trial):
        parents = oracle.parents(trial.trial_id)
        if parents:
            scores = {i: oracle.trials[i].score for i in window(oracle, 5)}
            best = (min if direction == "min" else max)(scores.values())
            # Ties happen (relu and gelu score alike), so the score is what must match.
            assert len(parents) == 1 and scores[parents[0]] == best
            picked.append(parents[0])

    run_oracle(oracle, tmp_path, flat_loss, requests=30, on_create=check)
    assert len(picked) == 25


def test_several_workers_never_wait(tmp_path):
    oracle = EvolutionOracle("loss", population_size=4, hyperparameters=flat_space(), seed=9)
    oracle._set_project_dir(str(tmp_path), "workers")
    oracle.verbose = 0
    running = {}
    for step in range(40):
        worker = f"worker{step % 3}"
        if worker in running:
            trial = running.pop(worker)
            loss = flat_loss(trial.hyperparameters.values, 0)
            oracle.update_trial(trial.trial_id, {"loss": loss})
            trial.status = "COMPLETED"
            oracle.end_trial(trial)
        trial = oracle.create_trial(worker)
        assert trial.status == "RUNNING"
        busy = {t.trial_id for t in running.values()}
        assert not set(oracle.parents(trial.trial_id)) & busy
        running[worker] = trial
    assert sum(bool(oracle.parents(t)) for t in oracle.trials) > 25


def test_same_seed_same_trials_and_a_reloaded_search_continues_alike(tmp_path):
    def make(seed):
        return EvolutionOracle("loss", population_size=6, hyperparameters=flat_space(), seed=seed)

    def values(trials):
        return [t.hyperparameters.values for t in trials]

    whole = values(run_oracle(make(4), tmp_path / "a", flat_loss, requests=40))
    assert whole == values(run_oracle(make(4), tmp_path / "b", flat_loss, requests=40))
    assert whole != values(run_oracle(make(5), tmp_path / "c", flat_loss, requests=40))

    run_oracle(make(4), tmp_path / "d", flat_loss, requests=25)
    resumed = make(4)
    resumed._set_project_dir(str(tmp_path / "d"), "simulated")
    resumed.reload()
    resumed.verbose = 0
    # The last trial was saved as ended, so nothing runs twice: 15 more make 40.
    assert not resumed._retry_queue
    run_oracle(resumed, tmp_path / "d", flat_loss, requests=15)
    assert len(resumed.trials) == 40
    assert values(resumed.trials[i] for i in resumed.start_order) == whole


def quadratic_space():
    hp = keras_tuner.HyperParameters()
    for i in range(4):
        hp.Float(f"x{i}", -5.0, 5.0)
    hp.Choice("kind", ["a", "b", "c", "d"])
    return hp


def quadratic(values, epoch):
    target = [1.5, -2.0, 0.5, 3.0]
    distance = sum((values[f"x{i}"] - t) ** 2 for i, t in enumerate(target))
    return distance + (0.0 if values["kind"] == "c" else 5.0)


def test_beats_random_search_on_a_quadratic(tmp_path):
    def best(oracle, name):
        trials = run_oracle(oracle, tmp_path / name, quadratic, requests=60)
        assert len(trials) == 60
        return min(t.score for t in trials)

    # keras-tuner's seeds count up one per sampled value: seeds far apart keep runs independent.
    seeds = [1000, 2000, 3000, 4000, 5000]
    evolution = [
        best(EvolutionOracle("loss", population_size=10, hyperparameters=quadratic_space(),
                             seed=s), f"e{s}")
        for s in seeds
    ]
    random = [
        best(keras_tuner.oracles.RandomSearchOracle("loss", max_trials=60, seed=s,
                                                    hyperparameters=quadratic_space()), f"r{s}")
        for s in seeds
    ]
    assert np.median(evolution) < 0.6 * np.median(random), (evolution, random)


def test_no_duplicates_until_a_finite_space_is_exhausted(tmp_path):
    hp = keras_tuner.HyperParameters()
    hp.Choice("c", [1, 2, 3])
    hp.Choice("kind", ["x", "y"])
    with hp.conditional_scope("kind", ["x"]):
        hp.Int("n", 0, 2)
    with hp.conditional_scope("kind", ["y"]):
        hp.Boolean("flag")
    every = [{"c": c, "kind": "x", "n": n} for c, n in itertools.product([1, 2, 3], range(3))]
    every += [{"c": c, "kind": "y", "flag": f}
              for c, f in itertools.product([1, 2, 3], [True, False])]
    oracle = EvolutionOracle("loss", population_size=4, hyperparameters=hp, seed=1)
    trials = run_oracle(oracle, tmp_path, lambda v, e: v["c"], requests=40)
    proposed = [t.hyperparameters.values for t in trials]
    assert len(proposed) == len(every) == 15
    assert {tuple(sorted(v.items())) for v in proposed} == {tuple(sorted(v.items())) for v in every}
    assert oracle.create_trial("tuner0").status == "STOPPED"


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"population_size": 1}, ValueError, "`population_size` must be an integer >= 2"),
        ({"population_size": 2.5}, TypeError, "`population_size` must be an integer >= 2"),
        ({"tournament_size": 0}, ValueError, r"`tournament_size` must be an integer in \[1, 20\]"),
        ({"population_size": 4, "tournament_size": 5}, ValueError,
         r"`tournament_size` must be an integer in \[1, 4\]. Received: tournament_size=5"),
        ({"mutation_rate": 1.5}, ValueError, r"`mutation_rate` must be a number in \[0, 1\]"),
        ({"crossover_rate": -0.1}, ValueError, r"`crossover_rate` must be a number in \[0, 1\]"),
        ({"mutation_scale": 0}, ValueError, r"`mutation_scale` must be a number in \(0, 1\]"),
        ({"max_trials": 0}, ValueError, "`max_trials` must be a positive integer or None"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        EvolutionOracle("val_loss", **kwargs)


def test_tuner_needs_a_budget(tmp_path):
    with pytest.raises(ValueError, match="runs until a budget ends it"):
        Evolution(lambda hp: None, "val_loss", directory=tmp_path)


def test_real_search_trains_children(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 3.0], dtype="float32"))[:, None]

    def build(hp):
        model = keras.Sequential([keras.Input((4,)),
                                  keras.layers.Dense(hp.Choice("units", [4, 8])),
                                  keras.layers.Dense(1)])
        model.compile(keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
                      loss="mse")
        return model

    tuner = Evolution(build, "val_loss", population_size=2, max_trials=4, seed=2,
                      directory=tmp_path)
    tuner.search(x, y, epochs=2, validation_split=0.25, verbose=0)
    trials = tuner.oracle.trials
    assert len(trials) == 4 and all(t.status == "COMPLETED" for t in trials.values())
    assert all(tuner.oracle.parents(i) for i in tuner.oracle.start_order[2:])
    assert isinstance(tuner.get_best_models(1)[0], keras.Model)
