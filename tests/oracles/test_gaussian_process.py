"""GaussianProcessOracle: a complete search, categories, pending trials, failures, seeds."""

import math

import keras
import keras_tuner
import numpy as np
import pytest

from keras_hpt.oracles import GaussianProcessOracle
from keras_hpt.tuners import BayesianOptimization
from tests.oracles.simulate import run_oracle


def branin_space():
    hp = keras_tuner.HyperParameters()
    hp.Float("x1", -5.0, 10.0)
    hp.Float("x2", 0.0, 15.0)
    return hp


def branin(values, epoch=0):
    x1, x2 = values["x1"], values["x2"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def test_finds_the_minimum_of_branin(tmp_path):
    oracle = GaussianProcessOracle("loss", max_trials=30, hyperparameters=branin_space(), seed=1)
    trials = run_oracle(oracle, tmp_path, branin, requests=40)
    assert len(trials) == 30
    best = oracle.get_best_trials(1)[0]
    assert best.score - 0.397887 < 0.05
    assert best.score == min(branin(t.hyperparameters.values) for t in trials)


def test_maximising_is_minimising_the_negation(tmp_path):
    def run(direction, sign, path):
        oracle = GaussianProcessOracle(keras_tuner.Objective("loss", direction), max_trials=15,
                                       hyperparameters=branin_space(), seed=2)
        return [t.hyperparameters.values for t in
                run_oracle(oracle, path, lambda v, e: sign * branin(v), requests=15)]

    assert run("min", 1, tmp_path / "a") == run("max", -1, tmp_path / "b")


def test_a_nominal_category_is_learned(tmp_path):
    hp = keras_tuner.HyperParameters()
    hp.Float("x", 0.0, 1.0)
    hp.Choice("kind", ["a", "b", "c", "d", "e"], ordered=False)
    offsets = {"a": 3.0, "b": 2.0, "c": 0.0, "d": 2.5, "e": 1.0}

    def loss(values, epoch=0):
        return (values["x"] - 0.3) ** 2 + offsets[values["kind"]]

    oracle = GaussianProcessOracle("loss", max_trials=30, hyperparameters=hp, seed=3)
    trials = run_oracle(oracle, tmp_path, loss, requests=30)
    assert {t.hyperparameters.values["kind"] for t in trials} <= set(offsets)
    last = [t.hyperparameters.values["kind"] for t in trials[-10:]]
    assert last.count("c") >= 6  # once modelled, the best category is exploited
    assert oracle.get_best_trials(1)[0].score < 0.01


def test_running_trials_are_never_suggested_twice(tmp_path):
    oracle = GaussianProcessOracle("loss", max_trials=40, hyperparameters=branin_space(), seed=4)
    run_oracle(oracle, tmp_path, branin, requests=12)
    workers = [oracle.create_trial(f"worker{i}") for i in range(4)]
    keys = {tuple(sorted(t.hyperparameters.values.items())) for t in workers}
    assert len(keys) == 4
    points = np.array([[t.hyperparameters.values["x1"], t.hyperparameters.values["x2"]]
                       for t in workers])
    gaps = [np.linalg.norm(points[i] - points[j]) for i in range(4) for j in range(i)]
    assert min(gaps) > 1e-3


def test_failed_trials_push_the_search_away(tmp_path):
    hp = keras_tuner.HyperParameters()
    hp.Float("x", 0.0, 1.0)

    def loss(values, epoch=0):
        # Everything right of 0.7 diverges; the minimum sits just left of it.
        return float("nan") if values["x"] > 0.7 else (values["x"] - 0.65) ** 2

    oracle = GaussianProcessOracle("loss", max_trials=25, hyperparameters=hp, seed=5)
    trials = run_oracle(oracle, tmp_path, loss, requests=25)
    assert len(trials) == 25
    failed = [t for t in trials if t.status == "FAILED"]
    assert failed and all("Diverged" in t.message for t in failed)
    assert len(failed) <= 8
    assert oracle.get_best_trials(1)[0].score < 1e-3


def test_same_seed_same_trials(tmp_path):
    def values(seed, path):
        oracle = GaussianProcessOracle("loss", max_trials=14, hyperparameters=branin_space(),
                                       seed=seed)
        return [t.hyperparameters.values for t in run_oracle(oracle, path, branin, requests=14)]

    assert values(6, tmp_path / "a") == values(6, tmp_path / "b")
    assert values(6, tmp_path / "c") != values(7, tmp_path / "d")


def test_a_small_discrete_space_is_exhausted_without_repeats(tmp_path):
    hp = keras_tuner.HyperParameters()
    hp.Int("n", 1, 4)
    hp.Boolean("flag")
    oracle = GaussianProcessOracle("loss", max_trials=50, hyperparameters=hp, seed=8)
    trials = run_oracle(oracle, tmp_path, lambda v, e: v["n"] + v["flag"], requests=50)
    seen = [(t.hyperparameters.values["n"], t.hyperparameters.values["flag"]) for t in trials]
    assert sorted(seen) == sorted({(n, f) for n in range(1, 5) for f in (False, True)})


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_trials": 0}, "`max_trials` must be a positive integer"),
        ({"num_initial_points": 0}, "`num_initial_points` must be a positive integer"),
        ({"output_warping": "log"}, "`output_warping` must be one of"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GaussianProcessOracle("val_loss", **kwargs)


def test_tuner_is_a_drop_in_for_keras_tuners(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 3.0], dtype="float32"))[:, None]

    def build(hp):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile(keras.optimizers.SGD(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
                      loss="mse")
        return model

    common = dict(objective="val_loss", max_trials=4, num_initial_points=2, seed=1,
                  alpha=1e-4, beta=2.6)
    ours = BayesianOptimization(build, directory=tmp_path / "ours", **common)
    ours.search(x, y, epochs=2, validation_split=0.25, verbose=0)
    assert len(ours.oracle.trials) == 4
    assert all(t.status == "COMPLETED" for t in ours.oracle.trials.values())
    assert isinstance(ours.get_best_models(1)[0], keras.Model)
