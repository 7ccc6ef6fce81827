"""OptunaOracle and OptunaSearch: space mapping, sampling, pruning, failures, resume."""

import importlib.util
import math
import sys
import warnings

import keras
import keras_tuner
import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from keras_hpt.oracles import optuna_oracle  # noqa: E402
from keras_hpt.oracles.optuna_oracle import TRIAL_ID_ATTR, OptunaOracle  # noqa: E402
from keras_hpt.tuners.optuna_search import OptunaSearch  # noqa: E402
from tests.oracles.simulate import run_oracle  # noqa: E402

States = optuna.trial.TrialState


def every_kind():
    hp = keras_tuner.HyperParameters()
    hp.Int("int", 1, 10, step=3)
    hp.Int("int_log", 1, 1000, sampling="log")
    hp.Int("int_log_step", 1, 1000, step=2, sampling="log")
    hp.Int("int_reverse", 1, 100, sampling="reverse_log")
    hp.Float("float", -1.0, 1.0)
    hp.Float("float_step", 0.0, 1.0, step=0.3)
    hp.Float("float_log", 1e-4, 1e-1, sampling="log")
    hp.Float("float_reverse", 1.0, 100.0, sampling="reverse_log")
    hp.Float("float_log_step", 1e-4, 1.0, step=10, sampling="log")
    hp.Choice("choice", ["a", "b", "c"])
    hp.Boolean("boolean")
    hp.Fixed("fixed", 3)
    hp.Choice("model", ["mlp", "cnn"])
    with hp.conditional_scope("model", ["mlp"]):
        hp.Int("units", 8, 64)
        with hp.conditional_scope("units", list(range(8, 30))):
            hp.Float("dropout", 0.0, 0.5)
    with hp.conditional_scope("model", ["cnn"]):
        hp.Choice("kernel", [3, 5])
    return hp


def is_valid(hp, value):
    """Whether `value` is one keras-tuner could draw for `hp`, checked from its definition."""
    if isinstance(hp, keras_tuner.engine.hyperparameters.Fixed):
        return value == hp.value
    if isinstance(hp, keras_tuner.engine.hyperparameters.Boolean):
        return type(value) is bool
    if isinstance(hp, keras_tuner.engine.hyperparameters.Choice):
        return value in hp.values
    is_int = isinstance(hp, keras_tuner.engine.hyperparameters.Int)
    if is_int and type(value) is not int:
        return False
    if not hp.min_value - 1e-9 <= value <= hp.max_value + 1e-9:
        return False
    if hp.step is None:
        return True
    if hp.sampling == "linear":
        k = (value - hp.min_value) / hp.step
        return abs(k - round(k)) < 1e-6
    k = math.log(value / hp.min_value, hp.step)
    return abs(k - round(k)) < 1e-6


@pytest.mark.parametrize("sampler", ["default", "random", "qmc"])
def test_draws_only_valid_active_values(tmp_path, sampler):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        samplers = {
            "default": None,
            "random": optuna.samplers.RandomSampler(seed=0),
            "qmc": optuna.samplers.QMCSampler(seed=0, warn_independent_sampling=False),
        }
    space = every_kind()
    oracle = OptunaOracle("loss", samplers[sampler], hyperparameters=space, seed=0)
    trials = run_oracle(oracle, tmp_path, lambda v, e: v["float"] ** 2, requests=40)
    assert len(trials) == 40
    for trial in trials:
        values = trial.hyperparameters.values
        active = {}
        for hp in space.space:
            if all(values.get(c.name) in c.values for c in hp.conditions):
                active[hp.name] = hp
        assert set(values) == set(active)
        for name, value in values.items():
            assert is_valid(active[name], value), (name, value)
    drawn = [t.hyperparameters.values for t in trials]
    assert {v["model"] for v in drawn} == {"mlp", "cnn"}
    assert {v["boolean"] for v in drawn} == {False, True}
    assert any("dropout" in v for v in drawn) and any("kernel" in v for v in drawn)
    names = set().union(*(t.params for t in oracle.study.trials))
    assert "fixed" not in names
    assert {"units if model in ['mlp']", "kernel if model in ['cnn']"} <= names


def test_log_and_reverse_log_keep_keras_tuner_priors(tmp_path):
    hp = keras_tuner.HyperParameters()
    hp.Float("log", 1.0, 100.0, sampling="log")
    hp.Float("reverse", 1.0, 100.0, sampling="reverse_log")
    oracle = OptunaOracle("loss", optuna.samplers.RandomSampler(seed=1), hyperparameters=hp)
    trials = run_oracle(oracle, tmp_path, lambda v, e: 0.0, requests=120)
    log = np.array([t.hyperparameters.values["log"] for t in trials])
    reverse = np.array([t.hyperparameters.values["reverse"] for t in trials])
    # Log-uniform on [1, 100]: P(v < 10) = 1/2. keras-tuner's reverse_log is
    # 101 - u for a log-uniform u: P(v > 91) = P(u < 10) = 1/2, where uniform gives 0.09.
    assert abs(np.mean(log < 10) - 0.5) < 0.15
    assert abs(np.mean(reverse > 91) - 0.5) < 0.15


def quadratic(values, epoch):
    return (values["x"] - 1.0) ** 2 + (values["y"] + 2.0) ** 2


def plane():
    hp = keras_tuner.HyperParameters()
    hp.Float("x", -5.0, 5.0)
    hp.Float("y", -5.0, 5.0)
    return hp


def test_tpe_beats_random_search(tmp_path):
    best = {"tpe": [], "random": []}
    for seed in range(5):
        for name, sampler in (("tpe", None), ("random", optuna.samplers.RandomSampler(seed))):
            oracle = OptunaOracle("loss", sampler, hyperparameters=plane(), seed=seed)
            trials = run_oracle(oracle, tmp_path / f"{name}{seed}", quadratic, requests=30)
            best[name].append(min(t.score for t in trials))
    assert np.median(best["tpe"]) < 0.5 * np.median(best["random"]), best


def test_cma_es_samples_the_continuous_space_jointly(tmp_path):
    pytest.importorskip("cmaes")
    best = {"cma": [], "random": []}
    for seed in range(3):
        for name, sampler in (("cma", optuna.samplers.CmaEsSampler(seed=seed)),
                              ("random", optuna.samplers.RandomSampler(seed))):
            oracle = OptunaOracle("loss", sampler, hyperparameters=plane(), seed=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("error", UserWarning)  # no fallback to independent draws
                trials = run_oracle(oracle, tmp_path / f"{name}{seed}", quadratic, requests=60)
            best[name].append(min(t.score for t in trials))
    # CMA-ES adapts a covariance to the bowl: far below random search's best of 60.
    assert np.median(best["cma"]) < 0.25 * np.median(best["random"]), best


def test_same_seed_same_trials(tmp_path):
    def values(seed, path):
        oracle = OptunaOracle("loss", hyperparameters=every_kind(), seed=seed)
        trials = run_oracle(oracle, path, lambda v, e: v["float"] ** 2, requests=15)
        return [t.hyperparameters.values for t in trials]

    assert values(7, tmp_path / "a") == values(7, tmp_path / "b")
    assert values(7, tmp_path / "c") != values(8, tmp_path / "d")


def with_epochs(epochs):
    def set_epochs(oracle, trial):
        trial.hyperparameters.values["tuner/epochs"] = epochs

    return set_epochs


def wiggle(values, epoch):
    """Curves whose order changes from epoch to epoch."""
    return abs(math.sin(7.0 * values["x"] + epoch))


@pytest.mark.parametrize("direction", ["min", "max"])
def test_median_pruner_stops_exactly_the_trials_below_the_median(tmp_path, direction):
    hp = keras_tuner.HyperParameters()
    hp.Float("x", 0.0, 1.0)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    oracle = OptunaOracle(
        keras_tuner.Objective("score", direction), pruner=pruner, hyperparameters=hp, seed=2
    )
    sign = 1.0 if direction == "min" else -1.0
    trials = run_oracle(
        oracle, tmp_path, lambda v, e: sign * wiggle(v, e), requests=20,
        on_create=with_epochs(5),
    )
    # The median rule, restated: after two unpruned trials, a trial stops at the first
    # epoch where its best value so far is worse than the median of the unpruned
    # earlier trials at that epoch.
    unpruned, expected = [], {}
    for trial in trials:
        curve = [sign * wiggle(trial.hyperparameters.values, e) for e in range(5)]
        for step in range(5 if len(unpruned) >= 2 else 0):
            median = np.median([c[step] for c in unpruned])
            best = min(curve[: step + 1]) if direction == "min" else max(curve[: step + 1])
            if (best > median) if direction == "min" else (best < median):
                expected[trial.trial_id] = step
                break
        if trial.trial_id not in expected:
            unpruned.append(curve)
    assert 0 < len(expected) < len(trials)
    for trial in trials:
        steps = [o.step for o in trial.metrics.get_history("score")]
        if trial.trial_id in expected:
            step = expected[trial.trial_id]
            assert oracle.stop_reason(trial.trial_id) == f"pruned by MedianPruner at epoch {step}"
            assert steps == list(range(step + 1))
        else:
            assert oracle.stop_reason(trial.trial_id) is None and steps == list(range(5))
    states = [t.state for t in oracle.study.trials]
    assert states.count(States.PRUNED) == len(expected)
    assert states.count(States.COMPLETE) == len(trials) - len(expected)


def test_diverged_trials_fail_in_optuna_and_the_search_goes_on(tmp_path):
    def curve(values, epoch):
        return float("nan") if values["x"] > 0.0 and epoch == 1 else quadratic(values, epoch)

    oracle = OptunaOracle("loss", hyperparameters=plane(), seed=3, max_consecutive_failed_trials=2)
    trials = run_oracle(oracle, tmp_path, curve, requests=20, on_create=with_epochs(3))
    assert len(trials) == 20
    failed = {t.trial_id for t in trials if t.status == "FAILED"}
    assert len(failed) >= 3
    assert failed == {t.trial_id for t in trials if t.hyperparameters.values["x"] > 0.0}
    told = {t.user_attrs[TRIAL_ID_ATTR]: t.state for t in oracle.study.trials}
    assert told == {t.trial_id: States.FAIL if t.trial_id in failed else States.COMPLETE
                    for t in trials}


def test_executions_report_each_epoch_once(tmp_path):
    oracle = OptunaOracle("loss", hyperparameters=plane(), seed=4)
    oracle._set_project_dir(str(tmp_path), "executions")
    oracle.verbose = 0
    trial = oracle.create_trial("tuner0")
    with warnings.catch_warnings():
        # Optuna warns (a UserWarning) when a step is reported twice.
        warnings.simplefilter("error", UserWarning)
        for execution_losses in ([4.0, 2.0], [6.0, 1.0]):
            for step, loss in enumerate(execution_losses):
                oracle.update_trial(trial.trial_id, {"loss": loss}, step=step)
    trial.status = "COMPLETED"
    oracle.end_trial(trial)
    (told,) = oracle.study.trials
    # The first execution's values at each epoch; the score combines both executions.
    assert told.intermediate_values == {0: 4.0, 1: 2.0}
    assert told.value == pytest.approx((2.0 + 1.0) / 2)


def test_repeated_configurations_are_not_run_twice(tmp_path):
    hp = keras_tuner.HyperParameters()
    hp.Choice("c", ["a", "b", "c"])
    oracle = OptunaOracle("loss", hyperparameters=hp, seed=5)
    trials = run_oracle(oracle, tmp_path, lambda v, e: 0.0, requests=6)
    assert sorted(t.hyperparameters.values["c"] for t in trials) == ["a", "b", "c"]
    assert not oracle.study.get_trials(states=(States.RUNNING, States.WAITING))


def pruned_and_failed_search(oracle, tmp_path, requests):
    def curve(values, epoch):
        return float("nan") if values["x"] > 2.5 else quadratic(values, 0) + 1.0 / (epoch + 1)

    return run_oracle(oracle, tmp_path, curve, requests=requests, on_create=with_epochs(3))


def resumable_oracle():
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2)
    sampler = optuna.samplers.TPESampler(seed=6, n_startup_trials=4)
    return OptunaOracle("loss", sampler, pruner, hyperparameters=plane(), seed=6)


def test_reload_rebuilds_the_study_and_reruns_interrupted_trials(tmp_path):
    first = resumable_oracle()
    trials = pruned_and_failed_search(first, tmp_path, requests=12)
    interrupted = first.create_trial("tuner0")
    first.update_trial(interrupted.trial_id, {"loss": 50.0}, step=0)

    resumed = resumable_oracle()
    resumed._set_project_dir(str(tmp_path), "simulated")
    resumed.reload()
    original = {t.user_attrs[TRIAL_ID_ATTR]: t for t in first.study.trials
                if TRIAL_ID_ATTR in t.user_attrs and t.state.is_finished()}
    rebuilt = {t.user_attrs[TRIAL_ID_ATTR]: t for t in resumed.study.trials}
    assert set(rebuilt) == set(original) == {t.trial_id for t in trials}
    assert len(resumed.study.get_trials(states=(States.COMPLETE,))) == sum(
        t.status == "COMPLETED" and first.stop_reason(t.trial_id) is None for t in trials
    )
    for trial_id, before in original.items():
        after = rebuilt[trial_id]
        assert after.state == before.state
        assert after.params == pytest.approx(before.params)
        assert after.value == pytest.approx(before.value)
        if before.state == States.PRUNED:
            assert after.intermediate_values == pytest.approx(before.intermediate_values)
    assert {t.state for t in original.values()} == {States.COMPLETE, States.PRUNED, States.FAIL}

    # The interrupted trial runs first, as a new Optuna trial with its own values.
    rerun, new = pruned_and_failed_search(resumed, tmp_path, requests=2)
    assert rerun.trial_id == interrupted.trial_id
    (told,) = [t for t in resumed.study.trials if t.user_attrs[TRIAL_ID_ATTR] == rerun.trial_id]
    assert told.params == pytest.approx({k: interrupted.hyperparameters.values[k] for k in "xy"})
    assert told.state.is_finished()
    fresh = pruned_and_failed_search(resumable_oracle(), tmp_path / "fresh", requests=1)[0]
    previous = [t.hyperparameters.values for t in trials]
    assert new.hyperparameters.values != fresh.hyperparameters.values
    assert new.hyperparameters.values not in previous


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"sampler": "tpe"}, TypeError,
         r"`sampler` must be an optuna.samplers.BaseSampler or None. Received: sampler='tpe'"),
        ({"pruner": 0.5}, TypeError,
         r"`pruner` must be an optuna.pruners.BasePruner or None. Received: pruner=0.5"),
        ({"max_trials": 0}, ValueError, "`max_trials` must be a positive integer or None"),
        ({"max_trials": 2.5}, TypeError, "`max_trials` must be a positive integer or None"),
        ({"objective": ["loss", "val_loss"]}, ValueError,
         "`objective` must be a single objective"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    kwargs.setdefault("objective", "loss")
    with pytest.raises(error, match=match):
        OptunaOracle(**kwargs)


def test_needs_optuna_only_when_used(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    # The module itself imports without Optuna ...
    spec = importlib.util.spec_from_file_location("optuna_oracle_copy", optuna_oracle.__file__)
    copy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(copy)
    # ... and says how to install it when an oracle is made.
    with pytest.raises(ImportError, match=r"pip install optuna"):
        copy.OptunaOracle("loss")


def build(hp):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(hp.Float("lr", 1e-4, 0.2, sampling="log")), loss="mse")
    return model


def test_search_prunes_trials_while_training(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5], [3.0]], dtype="float32")
    pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=2)
    tuner = OptunaSearch(build, "val_loss", pruner=pruner, max_trials=5, seed=1,
                         directory=tmp_path)
    tuner.search(x, y, epochs=3, validation_split=0.25, verbose=0)
    trials = list(tuner.oracle.trials.values())
    assert len(trials) == 5
    short = {t.trial_id for t in trials if len(t.metrics.get_history("val_loss")) < 3}
    stopped = {t.trial_id for t in trials if tuner.oracle.stop_reason(t.trial_id)}
    assert short and short <= stopped
    for trial_id in stopped:
        assert tuner.oracle.stop_reason(trial_id).startswith(
            "pruned by SuccessiveHalvingPruner at epoch "
        )
    # A trial the pruner rejects at its last epoch is pruned too, as in Optuna's own loop.
    pruned = tuner.oracle.study.get_trials(states=(States.PRUNED,))
    assert {t.user_attrs[TRIAL_ID_ATTR] for t in pruned} == stopped
    best = tuner.oracle.get_best_trials(1)[0]
    assert len(best.metrics.get_history("val_loss")) == 3
