"""PBTOracle and the PBT tuner: exploit, explore, lineage, the end of the search."""

import math

import keras
import keras_tuner
import numpy as np
import pytest

from keras_hpt.oracles import PBTOracle
from keras_hpt.tuners import PBT
from tests.oracles.simulate import run_oracle


def space():
    hp = keras_tuner.HyperParameters()
    hp.Float("lr", 1e-4, 1.0, sampling="log")
    hp.Int("units", 1, 4)
    return hp


def curve(values, epoch):
    """Better with epochs and with a learning rate near 1e-2."""
    return 0.1 * epoch - (math.log10(values["lr"]) + 2) ** 2


def make(**kwargs):
    options = dict(population_size=4, interval=2, max_epochs=8, seed=3, hyperparameters=space())
    options.update(kwargs)
    return PBTOracle(keras_tuner.Objective("score", "max"), **options)


def test_first_round_then_exploit_and_explore(tmp_path):
    oracle = make()
    seen = {"exploits": 0, "continues": 0}

    def check(oracle, trial):
        values = trial.hyperparameters.values
        member = values["tuner/member"]
        if "tuner/trial_id" not in values:
            assert (values["tuner/initial_epoch"], values["tuner/epochs"]) == (0, 2)
            return
        # The rule, stated independently: with 4 members and quantile 0.25 the single
        # worst member (by its latest value) copies the single best one; others continue.
        latest = {}
        for other in oracle.trials.values():
            m = other.hyperparameters.values["tuner/member"]
            if other is not trial and (m not in latest or other.trial_id > latest[m].trial_id):
                latest[m] = other
        current = {
            m: curve(t.hyperparameters.values, t.hyperparameters.values["tuner/epochs"] - 1)
            for m, t in latest.items()
        }
        worst, best = min(current, key=current.get), max(current, key=current.get)
        if member == worst:
            leader = latest[best].hyperparameters.values
            assert values["tuner/exploited"] == best
            assert values["tuner/trial_id"] == latest[best].trial_id
            assert values["units"] == leader["units"]
            assert values["lr"] != leader["lr"]
            assert values["tuner/initial_epoch"] == leader["tuner/epochs"]
            seen["exploits"] += 1
        else:
            own = latest[member].hyperparameters.values
            assert values["tuner/exploited"] == -1
            assert values["tuner/trial_id"] == latest[member].trial_id
            assert values["lr"] == own["lr"] and values["units"] == own["units"]
            assert values["tuner/initial_epoch"] == own["tuner/epochs"]
            seen["continues"] += 1

    trials = run_oracle(oracle, tmp_path, curve, requests=12, on_create=check)
    assert [t.hyperparameters.values["tuner/member"] for t in trials[:4]] == [0, 1, 2, 3]
    assert seen["exploits"] > 0 and seen["continues"] > 0


def test_ends_when_every_member_has_trained_max_epochs(tmp_path):
    oracle = make()
    trials = run_oracle(oracle, tmp_path, curve, requests=100)
    assert oracle.create_trial("tuner0").status == "STOPPED"
    trained = {t.trial_id: t for t in trials}
    for member in range(4):
        lineage = oracle.lineage(member)
        assert lineage[-1][1][1] == 8
        for (_, (start, end), copied, _), trial_id in zip(lineage, [x[0] for x in lineage]):
            parent = trained[trial_id].hyperparameters.values.get("tuner/trial_id")
            if parent is not None:
                # Each interval starts where the checkpoint it loads ended.
                assert start == trained[parent].hyperparameters.values["tuner/epochs"]
            assert end - start <= 2
    # Exploits happened, and they moved the population towards lr = 1e-2.
    copied = [x[2] for m in range(4) for x in oracle.lineage(m) if x[2] != -1]
    assert copied
    final = [oracle.lineage(m)[-1][3]["lr"] for m in range(4)]
    initial = [oracle.lineage(m)[0][3]["lr"] for m in range(4)]

    def distance(rates):
        return np.median([abs(math.log10(lr) + 2) for lr in rates])

    assert distance(final) <= distance(initial)


def test_diverged_member_copies_a_leader(tmp_path):
    oracle = make()

    def exploding(values, epoch):
        return float("nan") if values["tuner/member"] == 2 and epoch < 2 else curve(values, epoch)

    trials = run_oracle(oracle, tmp_path, exploding, requests=8)
    assert trials[2].status == "FAILED"
    again = [t for t in trials[4:] if t.hyperparameters.values["tuner/member"] == 2]
    assert again and again[0].hyperparameters.values["tuner/exploited"] != -1


def test_same_seed_same_lineage(tmp_path):
    def lineages(seed, path):
        oracle = make(seed=seed)
        run_oracle(oracle, path, curve, requests=40)
        return [oracle.lineage(m) for m in range(4)]

    assert lineages(5, tmp_path / "a") == lineages(5, tmp_path / "b")


def test_unknown_mutable_name_fails_before_the_first_trial(tmp_path):
    oracle = make(mutable=["learning_rate"])
    with pytest.raises(ValueError, match="not in the search space"):
        run_oracle(oracle, tmp_path, curve, requests=1)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"population_size": 1}, ValueError, "`population_size` must be an integer >= 2"),
        ({"interval": 0}, ValueError, "`interval` must be a positive integer"),
        ({"interval": 5, "max_epochs": 3}, ValueError, "`max_epochs` must be >= interval=5"),
        ({"quantile": 0.7}, ValueError, r"`quantile` must be a number in \(0, 0.5\]"),
        ({"perturb_factors": (0.8, -1)}, ValueError, "`perturb_factors` must be a non-empty"),
        ({"mutable": "lr"}, TypeError, "`mutable` must be a list"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        PBTOracle("val_loss", **kwargs)


def test_exploit_continues_from_the_leaders_checkpoint(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 3.0], dtype="float32"))[:, None]

    def build(hp):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(1)])
        model.compile(keras.optimizers.Adam(hp.Float("lr", 1e-4, 3e-2, sampling="log")),
                      loss="mse")
        return model

    tuner = PBT(build, "val_loss", population_size=3, interval=2, max_epochs=6, seed=1,
                quantile=0.34, directory=tmp_path)
    tuner.search(x, y, validation_split=0.25, verbose=0)
    trials = tuner.oracle.trials
    copies = [t for t in trials.values() if t.hyperparameters.values["tuner/exploited"] != -1]
    assert copies
    for child in copies:
        leader = trials[child.hyperparameters.values["tuner/trial_id"]]
        leader_last = leader.metrics.get_history("loss")[-1].mean()
        member_last = min(
            (t for t in trials.values()
             if t.hyperparameters.values["tuner/member"] == child.hyperparameters.values[
                 "tuner/member"] and t.trial_id < child.trial_id),
            key=lambda t: -int(t.trial_id),
        ).metrics.get_history("loss")[-1].mean()
        first = child.metrics.get_history("loss")[0].mean()
        # The copy starts near the leader's loss, far below where the member itself was.
        assert first < member_last
        assert first < 3 * leader_last
    assert all(t.status == "COMPLETED" for t in trials.values())
