"""ASHAOracle and the ASHA tuner: promotions, continuation, resume, reproducibility."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import keras
import keras_tuner
import numpy as np
import pytest

from keras_hpt.oracles import ASHAOracle, rung_epochs
from keras_hpt.tuners import ASHA
from tests.oracles.simulate import run_oracle
from tests.scripts import TINY_SEARCH_PRELUDE


def space():
    hp = keras_tuner.HyperParameters()
    hp.Int("x", 0, 999)
    return hp


def score(values, epoch):
    """A higher `x` is better at every epoch; more epochs add a little."""
    return values["x"] + 0.01 * epoch


@pytest.mark.parametrize(
    "low, high, factor, expected",
    [(1, 27, 3, [1, 3, 9, 27]), (1, 100, 3, [1, 3, 9, 27, 81, 100]), (4, 4, 2, [4]),
     (1, 10, 2.5, [1, 2, 6, 10])],
)
def test_rungs(low, high, factor, expected):
    assert rung_epochs(low, high, factor) == expected


def test_promotes_exactly_the_top_of_each_rung(tmp_path):
    oracle = ASHAOracle(
        keras_tuner.Objective("score", "max"), min_epochs=1, max_epochs=9, factor=3,
        hyperparameters=space(), seed=4,
    )
    checked = {"promotions": 0, "new": 0}

    def check(oracle, trial):
        # Independent statement of the rule: a promotion takes a trial from the top
        # floor(n / 3) of the n ended trials of its rung; a new configuration is only
        # started when no such unpromoted trial exists on any rung.
        ended = [t for t in oracle.trials.values() if t.status == "COMPLETED"]
        parents = {t.hyperparameters.values.get("tuner/trial_id") for t in oracle.trials.values()
                   if t is not trial}
        eligible = set()
        for rung in (0, 1):
            group = sorted((t for t in ended if t.hyperparameters.values["tuner/rung"] == rung),
                           key=lambda t: -t.score)
            eligible |= {t.trial_id for t in group[: len(group) // 3]} - parents
        parent = trial.hyperparameters.values.get("tuner/trial_id")
        if parent is None:
            assert not eligible
            checked["new"] += 1
        else:
            assert parent in eligible
            checked["promotions"] += 1

    trials = run_oracle(oracle, tmp_path, score, requests=40, on_create=check)
    assert len(trials) == 40
    rungs = [t.hyperparameters.values["tuner/rung"] for t in trials]
    # Asynchronous promotion never promotes fewer than successive halving would, and
    # more when later trials push earlier promoted ones out of the top third.
    assert rungs.count(1) >= rungs.count(0) // 3 > 0
    assert rungs.count(2) >= rungs.count(1) // 3 > 0
    assert checked["promotions"] == rungs.count(1) + rungs.count(2)
    for trial in trials:
        values = trial.hyperparameters.values
        expected = [1, 3, 9][values["tuner/rung"]]
        assert values["tuner/epochs"] == expected
        assert values["tuner/initial_epoch"] == [0, 1, 3][values["tuner/rung"]]


def test_same_seed_same_trials(tmp_path):
    def values(seed, path):
        oracle = ASHAOracle("loss", max_epochs=9, hyperparameters=space(), seed=seed, brackets=2)
        trials = run_oracle(oracle, path, lambda v, e: v["x"] / (e + 1), requests=25)
        return [t.hyperparameters.values for t in trials]

    assert values(7, tmp_path / "a") == values(7, tmp_path / "b")
    assert values(7, tmp_path / "a2") != values(8, tmp_path / "c")


def test_brackets_start_at_later_rungs(tmp_path):
    oracle = ASHAOracle("loss", max_epochs=9, hyperparameters=space(), seed=1, brackets=3)
    assert oracle.rungs == [[1, 3, 9], [3, 9], [9]]
    trials = run_oracle(oracle, tmp_path, lambda v, e: v["x"], requests=60)
    first = [t.hyperparameters.values["tuner/epochs"] for t in trials
             if "tuner/trial_id" not in t.hyperparameters.values]
    # Hyperband's proportions for three brackets: 9 : 5 : 3 (rounded up).
    counts = [first.count(e) for e in (1, 3, 9)]
    expected = [9 / 17 * len(first), 5 / 17 * len(first), 3 / 17 * len(first)]
    assert all(abs(c - e) <= 1 for c, e in zip(counts, expected)), (counts, expected)


def test_diverged_trials_are_never_promoted(tmp_path):
    oracle = ASHAOracle(keras_tuner.Objective("score", "max"), max_epochs=3, factor=3,
                        hyperparameters=space(), seed=3)
    trials = run_oracle(
        oracle, tmp_path, lambda v, e: float("nan") if v["x"] > 500 else v["x"], requests=30
    )
    failed = {t.trial_id for t in trials if t.status == "FAILED"}
    assert failed and all(t.hyperparameters.values["x"] > 500 for t in trials
                          if t.trial_id in failed)
    parents = {t.hyperparameters.values.get("tuner/trial_id") for t in trials}
    assert not parents & failed


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"factor": 1}, "`factor` must be a number > 1"),
        ({"min_epochs": 0}, "`min_epochs` must be a positive integer"),
        ({"min_epochs": 5, "max_epochs": 3}, "`max_epochs` must be >= min_epochs=5"),
        ({"brackets": 5, "max_epochs": 9}, r"`brackets` must be an integer in \[1, 3\]"),
        ({"max_trials": 0}, "`max_trials` must be a positive integer"),
        ({"sampler": "tpe"}, "`sampler` must be one of"),
        ({"random_fraction": 1.5}, "`random_fraction` must be"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ASHAOracle("val_loss", **kwargs)


def test_needs_a_budget(tmp_path):
    with pytest.raises(ValueError, match="runs until a budget ends it"):
        ASHA(lambda hp: None, "val_loss", directory=tmp_path)


def regression():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 3.0], dtype="float32"))[:, None]
    return x, y


def build(hp):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(hp.Float("lr", 3e-3, 3e-2, sampling="log")), loss="mse")
    return model


def test_promoted_trials_continue_their_parents_training(tmp_path):
    tuner = ASHA(build, "val_loss", min_epochs=2, max_epochs=6, factor=3, seed=2,
                 epoch_budget=30, directory=tmp_path)
    tuner.search(*regression(), validation_split=0.25, verbose=0)
    trials = tuner.oracle.trials
    children = [t for t in trials.values() if "tuner/trial_id" in t.hyperparameters.values]
    assert children
    assert tuner.epochs_trained == 30
    for child in children:
        parent = trials[child.hyperparameters.values["tuner/trial_id"]]
        parent_steps = [o.step for o in parent.metrics.get_history("loss")]
        child_steps = [o.step for o in child.metrics.get_history("loss")]
        assert parent_steps == [0, 1] and child_steps == [2, 3, 4, 5]
        parent_loss = parent.metrics.get_history("loss")[-1].mean()
        first_loss = child.metrics.get_history("loss")[0].mean()
        # Training continues from the parent's last epoch: no jump back to a fresh model's loss.
        assert first_loss < parent_loss
        fresh = parent.metrics.get_history("loss")[0].mean()
        assert first_loss < 0.9 * fresh
    best = tuner.get_best_models(1)[0]
    assert isinstance(best, keras.Model)


RESUMABLE_SEARCH = TINY_SEARCH_PRELUDE + """
class Slow(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        time.sleep(0.15)

tuner = keras_hpt.tuners.ASHA(build, "val_loss", min_epochs=3, max_epochs=9, seed=5,
                              epoch_budget=40, directory=sys.argv[1], overwrite=False)
tuner.search(x, y, validation_split=0.25, callbacks=[Slow()], verbose=0)
print("DONE", tuner.epochs_trained)
"""


def _trials_on_disk(directory):
    found = {}
    for root, _, files in os.walk(directory):
        if "trial.json" in files:
            with open(os.path.join(root, "trial.json")) as f:
                state = json.load(f)
            found[state["trial_id"]] = state
    return found


def test_killed_search_resumes_without_losing_trials(tmp_path):
    script = tmp_path / "search.py"
    script.write_text(textwrap.dedent(RESUMABLE_SEARCH))
    env = dict(os.environ, PYTHONPATH=os.getcwd(), TF_CPP_MIN_LOG_LEVEL="3")
    command = [sys.executable, str(script), str(tmp_path / "search")]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        trials = _trials_on_disk(tmp_path / "search")
        done = [t for t in trials.values() if t["status"] == "COMPLETED"]
        running = [t for t in trials.values() if t["status"] == "RUNNING"
                   and t["metrics"]["metrics"].get("val_loss")]
        if len(done) >= 3 and running:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = _trials_on_disk(tmp_path / "search")
    completed = {k: v["score"] for k, v in before.items() if v["status"] == "COMPLETED"}
    interrupted = [k for k, v in before.items() if v["status"] == "RUNNING"]
    assert len(completed) >= 3 and interrupted

    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert "DONE 40" in finished.stdout
    after = _trials_on_disk(tmp_path / "search")
    for trial_id, value in completed.items():
        assert after[trial_id]["status"] == "COMPLETED"
        assert after[trial_id]["score"] == value
    for trial_id in interrupted:
        assert after[trial_id]["status"] == "COMPLETED"
        observations = after[trial_id]["metrics"]["metrics"]["val_loss"]["observations"]
        # Continued from its checkpoint: no epoch was trained (and reported) twice.
        assert all(len(obs["value"]) == 1 for obs in observations)
        steps = [obs["step"] for obs in observations]
        assert steps == sorted(set(steps))


def _new_configurations(sampler, tmp_path, seed):
    hp = keras_tuner.HyperParameters()
    hp.Float("x", 0.0, 1.0)
    hp.Choice("kind", ["a", "b", "c"])
    oracle = ASHAOracle(keras_tuner.Objective("score", "max"), min_epochs=1, max_epochs=9,
                        factor=3, hyperparameters=hp, seed=seed, sampler=sampler)

    def curve(values, epoch):
        # The optimum, x = 0.7 with kind "b", is the same at every fidelity.
        return -abs(values["x"] - 0.7) - 0.3 * (values["kind"] != "b") + 0.01 * epoch

    trials = run_oracle(oracle, tmp_path / f"{sampler}{seed}", curve, requests=60)
    new = [t.hyperparameters.values for t in trials if t.hyperparameters.values["tuner/rung"] == 0]
    return oracle, new


def test_model_based_sampler_concentrates_new_configurations_near_the_optimum(tmp_path):
    for seed in (1, 2):
        _, model_based = _new_configurations("gaussian_process", tmp_path, seed)
        _, random_ = _new_configurations("random", tmp_path, seed)

        def near(values):
            return sum(abs(v["x"] - 0.7) < 0.1 and v["kind"] == "b" for v in values[-15:])

        # At random, 1 in 15 new configurations lands within 0.1 of x = 0.7 with
        # kind "b"; the model, with a third of its draws still random, far more.
        assert near(random_) <= 4
        assert near(model_based) >= 7


def test_model_based_sampler_is_reproducible_and_never_repeats(tmp_path):
    oracle, first = _new_configurations("gaussian_process", tmp_path / "a", seed=3)
    _, second = _new_configurations("gaussian_process", tmp_path / "b", seed=3)
    assert first == second
    keys = [(v["x"], v["kind"]) for v in first]
    assert len(keys) == len(set(keys))
    assert oracle.get_state()["sampler"] == "gaussian_process"
