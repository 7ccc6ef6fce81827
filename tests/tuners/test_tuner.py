"""keras_hpt.tuners.Tuner: reports every epoch, obeys stops, survives divergence, budgets."""

import keras
import keras_tuner
import numpy as np
import pytest

from keras_hpt.oracles.base import Oracle
from keras_hpt.tuners import Tuner


@pytest.fixture(scope="module")
def regression():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 3.0], dtype="float32"))[:, None]
    return x, y


def build(hp):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    rate = hp.Float("learning_rate", 1e-3, 1e-1, sampling="log")
    if hp.Boolean("explode", default=False):
        # Multiplying by infinity makes every prediction, hence the loss, non-finite.
        model.add(keras.layers.Lambda(lambda t: t * float("inf")))
    model.compile(keras.optimizers.SGD(rate), loss="mse")
    return model


class RandomOracle(Oracle):
    """A random search on keras_hpt's base oracle, with an optional fixed stop."""

    def __init__(self, *args, stop_after=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.stop_after = stop_after

    def populate_space(self, trial_id):
        values = self._random_values()
        if values is None:
            return {"status": "STOPPED"}
        return {"status": "RUNNING", "values": values}

    def _should_stop(self, trial, step):
        if self.stop_after is not None and step >= self.stop_after:
            return f"stopped after epoch {step}"
        return None


def fixed_space():
    hp = keras_tuner.HyperParameters()
    hp.Float("learning_rate", 1e-3, 1e-1, sampling="log")
    hp.Fixed("explode", False)
    return hp


def steps(trial, name="val_loss"):
    return [obs.step for obs in trial.metrics.get_history(name)]


def test_every_epoch_reaches_the_oracle(regression, tmp_path):
    oracle = RandomOracle("val_loss", max_trials=2, seed=3, hyperparameters=fixed_space())
    tuner = Tuner(oracle, build, directory=tmp_path)
    tuner.search(*regression, epochs=4, validation_split=0.25, verbose=0)
    for trial in oracle.trials.values():
        assert steps(trial) == [0, 1, 2, 3]
        values = [obs.mean() for obs in trial.metrics.get_history("val_loss")]
        assert trial.score == min(values)
        assert trial.metrics.exists("loss")


def test_a_stop_from_the_oracle_ends_fit(regression, tmp_path):
    oracle = RandomOracle(
        "val_loss", max_trials=3, seed=3, stop_after=1, hyperparameters=fixed_space()
    )
    tuner = Tuner(oracle, build, directory=tmp_path)
    tuner.search(*regression, epochs=6, validation_split=0.25, verbose=0)
    assert [steps(t) for t in oracle.trials.values()] == [[0, 1]] * 3
    assert all(t.status == "COMPLETED" for t in oracle.trials.values())
    assert all(oracle.stop_reason(t) == "stopped after epoch 1" for t in oracle.trials)
    assert tuner.epochs_trained == 6


def test_same_trials_and_scores_as_keras_tuner(regression, tmp_path):
    def run(tuner_class, path):
        keras.utils.set_random_seed(0)
        oracle = keras_tuner.oracles.RandomSearchOracle(
            "val_loss", max_trials=3, seed=5, hyperparameters=fixed_space()
        )
        tuner = tuner_class(oracle=oracle, hypermodel=build, directory=path)
        tuner.search(*regression, epochs=3, validation_split=0.25, verbose=0)
        trials = sorted(oracle.trials.values(), key=lambda t: t.trial_id)
        return [t.hyperparameters.values for t in trials], [t.score for t in trials]

    ours = run(Tuner, tmp_path / "ours")
    theirs = run(keras_tuner.Tuner, tmp_path / "theirs")
    assert ours[0] == theirs[0]
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5)


def test_diverged_trials_fail_rank_last_and_never_abort(regression, tmp_path):
    # Four trials in a row explode, more than keras-tuner's three consecutive failures.
    hp = keras_tuner.HyperParameters()
    hp.Float("learning_rate", 1e-3, 1e-1, sampling="log")
    hp.Choice("explode", [True, False])

    class Exploding(RandomOracle):
        def populate_space(self, trial_id):
            response = super().populate_space(trial_id)
            response["values"]["explode"] = int(trial_id) < 4
            return response

    oracle = Exploding("val_loss", max_trials=6, seed=1, hyperparameters=hp)
    tuner = Tuner(oracle, build, directory=tmp_path)
    tuner.search(*regression, epochs=5, validation_split=0.25, verbose=0)
    trials = [oracle.trials[f"{i}"] for i in range(6)]
    assert [t.status for t in trials] == ["FAILED"] * 4 + ["COMPLETED"] * 2
    assert all("Diverged: val_loss=" in t.message for t in trials[:4])
    assert all(steps(t) == [0] for t in trials[:4])  # stopped at the first bad epoch
    best = oracle.get_best_trials(6)
    assert [t.status for t in best] == ["COMPLETED"] * 2 + ["FAILED"] * 4


def test_median_of_executions(regression, tmp_path):
    oracle = RandomOracle("val_loss", max_trials=2, seed=2, hyperparameters=fixed_space())
    tuner = Tuner(oracle, build, directory=tmp_path, executions_per_trial=3, aggregate="median")
    tuner.search(*regression, epochs=3, validation_split=0.25, verbose=0)
    for trial in oracle.trials.values():
        history = trial.metrics.get_history("val_loss")
        assert [len(obs.value) for obs in history] == [3, 3, 3]
        medians = [sorted(obs.value)[1] for obs in history]
        assert trial.score == pytest.approx(min(medians))
        assert trial.best_step == int(np.argmin(medians))


def test_epoch_budget_counts_every_epoch(regression, tmp_path):
    oracle = RandomOracle("val_loss", max_trials=10, seed=2, hyperparameters=fixed_space())
    tuner = Tuner(oracle, build, directory=tmp_path, epoch_budget=7)
    tuner.search(*regression, epochs=3, validation_split=0.25, verbose=0)
    assert [len(steps(t)) for t in oracle.trials.values()] == [3, 3, 1]
    assert tuner.epochs_trained == 7


def test_time_budget_ends_the_search(regression, tmp_path):
    class Slow(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            import time

            time.sleep(0.3)

    oracle = RandomOracle("val_loss", max_trials=50, seed=2, hyperparameters=fixed_space())
    tuner = Tuner(oracle, build, directory=tmp_path, time_budget=1.0)
    tuner.search(*regression, epochs=2, validation_split=0.25, callbacks=[Slow()], verbose=0)
    assert 1 <= len(oracle.trials) < 50


def test_objective_that_is_not_logged(regression, tmp_path):
    oracle = RandomOracle("val_accuracy", max_trials=2, seed=2, hyperparameters=fixed_space())
    tuner = Tuner(oracle, build, directory=tmp_path)
    with pytest.raises(keras_tuner.errors.FatalValueError, match="'val_accuracy' is not among"):
        tuner.search(*regression, epochs=1, validation_split=0.25, verbose=0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"epoch_budget": 0}, "`epoch_budget` must be a positive integer"),
        ({"time_budget": -1.0}, "`time_budget` must be a positive number"),
        ({"executions_per_trial": 0}, "`executions_per_trial` must be"),
        ({"aggregate": "max"}, "`aggregate` must be one of 'mean', 'median'"),
    ],
)
def test_bad_arguments(kwargs, match, tmp_path):
    oracle = RandomOracle("val_loss", max_trials=2)
    with pytest.raises(ValueError, match=match):
        Tuner(oracle, build, directory=tmp_path, **kwargs)


def test_direction_that_contradicts_the_metric(tmp_path):
    oracle = RandomOracle(keras_tuner.Objective("val_accuracy", "min"), max_trials=2)
    with pytest.raises(ValueError, match="'val_accuracy' is a metric to maximize"):
        Tuner(oracle, build, directory=tmp_path)


def test_median_needs_an_own_oracle(tmp_path):
    oracle = keras_tuner.oracles.RandomSearchOracle("val_loss", max_trials=2)
    with pytest.raises(ValueError, match="keras-tuner's own oracles"):
        Tuner(oracle, build, directory=tmp_path, aggregate="median")


def test_seed_zero_is_a_seed():
    assert Oracle("val_loss", seed=0).seed == 0
