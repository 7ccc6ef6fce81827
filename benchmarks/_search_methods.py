"""The searches `search.py` compares: how each is set up, and how its results are judged."""

import statistics
import tempfile
import time

import keras
import keras_tuner
import numpy as np

import _problems
import _results
import keras_hpt
from keras_hpt.hypermodels import MLPHyperModel

KT_RANDOM = "keras-tuner RandomSearch"
KT_BO = "keras-tuner BayesianOptimization"
OPTUNA_TPE = "Optuna TPESampler"
OURS_GP = "keras_hpt GaussianProcessOracle"
OURS_EVOLUTION = "keras_hpt EvolutionOracle"
OURS_OPTUNA = "keras_hpt OptunaOracle (TPE)"
OBJECTIVE = keras_tuner.Objective("score", "min")


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


def raw_path(folder, part: str, method: str, seed: int):
    """Where one search's raw result is kept, or None without `--raw`."""
    return None if folder is None else folder / f"{part}-{slug(method)}-{seed}.json"


def _ours(attribute, module, **kwargs):
    """A factory for one of our oracles, or None while that oracle does not exist."""
    cls = getattr(keras_hpt.oracles, attribute, None)
    if cls is None:
        try:
            cls = getattr(__import__(f"keras_hpt.oracles.{module}", fromlist=[attribute]),
                          attribute)
        except ImportError:
            return None
    return lambda space, seed, n: cls(OBJECTIVE, max_trials=n, hyperparameters=space,
                                      seed=seed, **kwargs)


ORACLES = {
    KT_RANDOM: lambda space, seed, n: keras_tuner.oracles.RandomSearchOracle(
        OBJECTIVE, max_trials=n, hyperparameters=space, seed=seed + 1),
    KT_BO: lambda space, seed, n: keras_tuner.oracles.BayesianOptimizationOracle(
        OBJECTIVE, max_trials=n, hyperparameters=space, seed=seed + 1),
}
for _name, _factory in (
    (OURS_GP, _ours("GaussianProcessOracle", "gaussian_process")),
    (OURS_EVOLUTION, _ours("EvolutionOracle", "evolution")),
    (OURS_OPTUNA, _ours("OptunaOracle", "optuna_oracle")),
):
    if _factory is not None:
        ORACLES[_name] = _factory
ALL_ORACLE_METHODS = (*ORACLES, OPTUNA_TPE)


def suggest(trial, hp):
    """Asks an Optuna trial for a keras-tuner hyperparameter's value, natively."""
    hps = keras_tuner.engine.hyperparameters
    if isinstance(hp, hps.Fixed):
        return hp.value
    if isinstance(hp, hps.Boolean):
        return trial.suggest_categorical(hp.name, [False, True])
    if isinstance(hp, hps.Choice):
        return trial.suggest_categorical(hp.name, list(hp.values))
    log = hp.sampling == "log"
    if isinstance(hp, hps.Int):
        return trial.suggest_int(hp.name, hp.min_value, hp.max_value, step=hp.step or 1, log=log)
    return trial.suggest_float(hp.name, hp.min_value, hp.max_value, step=hp.step, log=log)


def optuna_native(space, seed: int, evaluations: int):
    """Optuna's own TPE (5.0 defaults) on `space`: yields `(values, seconds, tell)` per trial."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    for _ in range(evaluations):
        start = time.perf_counter()
        trial = study.ask()
        values = {hp.name: suggest(trial, hp) for hp in space.space}
        yield values, time.perf_counter() - start, lambda v, t=trial: study.tell(t, v)


def _average_ranks(medians: dict) -> dict:
    problems = sorted({p for p, _ in medians})
    ranks = {}
    for problem in problems:
        entries = sorted((v, m) for (p, m), v in medians.items() if p == problem)
        for rank, (_, method) in enumerate(entries, start=1):
            ranks.setdefault(method, []).append(rank)
    return {method: statistics.mean(r) for method, r in ranks.items()}


def oracle_verdicts(results: dict, medians: dict, checkpoints) -> str:
    """PASS/FAIL lines for the model-based oracle's targets."""
    if (next(iter(results))[0], OURS_GP) not in results:
        return f"{OURS_GP} was not run: no verdict."
    lines = []
    for n in checkpoints:
        worse = []
        for name, problem in _problems.PROBLEMS.items():
            if (name, KT_BO) not in results:
                continue
            ours = statistics.median(max(0.0, min(r["values"][:n]) - problem.optimum)
                                     for r in results[(name, OURS_GP)])
            theirs = statistics.median(max(0.0, min(r["values"][:n]) - problem.optimum)
                                       for r in results[(name, KT_BO)])
            if ours > theirs:
                worse.append(f"{name} ({ours:.4f} > {theirs:.4f})")
        lines.append(f"{'FAIL' if worse else 'PASS'}: after {n} evaluations the GP oracle's "
                     "median regret is at most keras-tuner BayesianOptimization's on every "
                     f"problem{': worse on ' + ', '.join(worse) if worse else ''}.")
    ranks = _average_ranks(medians)
    ours, tpe = ranks.get(OURS_GP), ranks.get(OPTUNA_TPE)
    if tpe is not None:
        lines.append(f"{'PASS' if ours <= tpe else 'FAIL'}: average rank of the median regret "
                     f"@{checkpoints[-1]}: GP oracle {ours:.2f}, Optuna TPE {tpe:.2f} "
                     f"(all: {', '.join(f'{m} {r:.2f}' for m, r in sorted(ranks.items()))}).")
    pooled = np.array([t for (_, m), runs in results.items() if m == OURS_GP
                       for r in runs for t in r["latencies"]]) * 1000
    median, p95 = np.median(pooled), np.percentile(pooled, 95)
    lines.append(f"{'PASS' if median <= 50 and p95 <= 250 else 'FAIL'}: GP oracle suggestion "
                 f"time median {median:.1f} ms (target 50), p95 {p95:.1f} ms (target 250).")
    return "\n\n".join(lines)


# Training on digits ---------------------------------------------------------------------


def digits_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    return train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)


class EpochLog(keras.callbacks.Callback):
    """Records the validation accuracy of every epoch trained, in order, in all trials.

    The record is a class attribute on purpose: keras-tuner deep-copies the
    callbacks of every trial, and all copies must write to one list.
    """

    curve: list = []
    budget = None
    target = None

    def on_epoch_end(self, epoch, logs=None):
        EpochLog.curve.append(float(logs["val_accuracy"]))
        if EpochLog.budget is not None and len(EpochLog.curve) >= EpochLog.budget:
            self.model.stop_training = True
        if EpochLog.target is not None and EpochLog.curve[-1] >= EpochLog.target:
            # Later epochs cannot change the epochs to the target: end the whole search.
            raise TargetReached()


class TargetReached(keras_tuner.errors.FatalError):
    """Raised through keras-tuner (which re-raises fatal errors) to end a search."""


class OptunaHyperParameters(keras_tuner.HyperParameters):
    """keras-tuner hyperparameters whose values Optuna's trial suggests as they are declared."""

    def __init__(self, trial):
        super().__init__()
        self._trial = trial

    def _register(self, hyperparameter, overwrite=False):
        if self._conditions_are_active(hyperparameter.conditions) and (
            hyperparameter.name not in self.values
        ):
            self.values[hyperparameter.name] = suggest(self._trial, hyperparameter)
        return super()._register(hyperparameter, overwrite)


def _sizes(quick: bool) -> dict:
    return {"max_epochs": 3, "budget": 8, "random_trials": 2} if quick else {
        "max_epochs": 27, "budget": 375, "random_trials": 30}


def _run_tuner(make_tuner, data, budget=None):
    x, x_val, y, y_val = data
    EpochLog.curve, EpochLog.budget = [], budget
    with tempfile.TemporaryDirectory() as folder:
        tuner = make_tuner(folder)
        tuner.search(x, y, validation_data=(x_val, y_val), callbacks=[EpochLog()], verbose=0)
    return list(EpochLog.curve)


def kt_hyperband(data, seed, quick=False):
    size = _sizes(quick)
    hypermodel = MLPHyperModel((64,), 10)
    return _run_tuner(lambda folder: keras_tuner.Hyperband(
        hypermodel, objective=hypermodel.objective, max_epochs=size["max_epochs"], factor=3,
        seed=seed + 1, directory=folder, project_name="p"), data)


def kt_random(data, seed, quick=False, target=None):
    size = _sizes(quick)
    hypermodel = MLPHyperModel((64,), 10)
    x, x_val, y, y_val = data
    EpochLog.curve, EpochLog.budget, EpochLog.target = [], None, target
    try:
        with tempfile.TemporaryDirectory() as folder:
            tuner = keras_tuner.RandomSearch(hypermodel, objective=hypermodel.objective,
                                             max_trials=size["random_trials"], seed=seed + 1,
                                             directory=folder, project_name="p")
            tuner.search(x, y, validation_data=(x_val, y_val), epochs=size["max_epochs"],
                         callbacks=[EpochLog()], verbose=0)
    except TargetReached:
        pass
    finally:
        EpochLog.target = None
    return list(EpochLog.curve)


def optuna_hyperband(data, seed, quick=False):
    import optuna
    from optuna_integration import KerasPruningCallback

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    size = _sizes(quick)
    hypermodel = MLPHyperModel((64,), 10)
    x, x_val, y, y_val = data
    EpochLog.curve, EpochLog.budget = [], size["budget"]
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.HyperbandPruner(1, size["max_epochs"], 3))

    def objective(trial):
        keras.backend.clear_session()
        hp = OptunaHyperParameters(trial)
        model = hypermodel.build(hp)
        history = hypermodel.fit(
            hp, model, x, y, validation_data=(x_val, y_val), epochs=size["max_epochs"],
            verbose=0, callbacks=[EpochLog(), KerasPruningCallback(trial, "val_accuracy")])
        return max(history.history["val_accuracy"])

    def stop(study, trial):
        if len(EpochLog.curve) >= size["budget"]:
            study.stop()

    study.optimize(objective, callbacks=[stop])
    return list(EpochLog.curve)


def ours_asha(data, seed, quick=False, **kwargs):
    size = _sizes(quick)
    hypermodel = MLPHyperModel((64,), 10)
    kwargs = {"min_epochs": 1, "factor": 3, **kwargs}
    return _run_tuner(lambda folder: keras_hpt.tuners.ASHA(
        hypermodel, hypermodel.objective, max_epochs=size["max_epochs"], seed=seed,
        epoch_budget=size["budget"], directory=folder, project_name="p", **kwargs), data)


KT_HYPERBAND = "keras-tuner Hyperband(max_epochs=27, factor=3)"
KT_RANDOM_TRAINING = "keras-tuner RandomSearch (up to 30 trials x 27 epochs)"
OPTUNA_HYPERBAND = "Optuna TPE + HyperbandPruner(1, 27, 3)"
OURS_ASHA = "keras_hpt ASHA(1, 27, 3), 375-epoch budget"
OURS_ASHA_GP = "keras_hpt ASHA(1, 27, 3) + GP sampler, 375-epoch budget"
TRAINING = {
    KT_HYPERBAND: kt_hyperband,
    KT_RANDOM_TRAINING: kt_random,
    OPTUNA_HYPERBAND: optuna_hyperband,
    OURS_ASHA: ours_asha,
    OURS_ASHA_GP: lambda data, seed, quick=False: ours_asha(data, seed, quick,
                                                            sampler="gaussian_process"),
}


def epochs_to(curve, target):
    best = -np.inf
    for epoch, value in enumerate(curve, start=1):
        best = max(best, value)
        if best >= target:
            return epoch
    return None


def training_tables(runs: dict, seeds: list, quick: bool = False) -> list:
    budget = _sizes(quick)["budget"]
    targets = [max(curve) - 0.005 for curve in runs[KT_HYPERBAND]]
    reach = {name: [epochs_to(c, t) for c, t in zip(curves, targets)]
             for name, curves in runs.items()}
    rows = []
    for name, curves in runs.items():
        hits = [e for e in reach[name] if e is not None]
        ratios = [e / h for e, h in zip(reach[name], reach[KT_HYPERBAND]) if e is not None]
        rows.append([
            name, f"{len(hits)}/{len(curves)}",
            f"{statistics.median(hits):.0f}" if hits else "-",
            f"{statistics.median(ratios):.2f}" if ratios and len(hits) == len(curves) else "-",
            f"{statistics.median(max(c[:budget]) for c in curves):.4f}",
            f"{statistics.median(len(c) for c in curves):.0f}",
        ])
    table = _results.markdown_table(
        ["search", "seeds reaching target", "median epochs to target",
         "median ratio to Hyperband", f"median best @{budget} epochs", "epochs trained"],
        rows, "lrrrrr")
    per_seed = _results.markdown_table(
        ["seed", "target", *runs],
        [[seed, f"{target:.4f}", *[reach[name][i] or "-" for name in runs]]
         for i, (seed, target) in enumerate(zip(seeds, targets))], "rr" + "r" * len(runs))

    def median_reach(name):
        values = [e if e is not None else float("inf") for e in reach[name]]
        return statistics.median(values)

    # The verdicts are about the recommended search, ASHA with the model-based sampler.
    ours, hyperband, random_ = (median_reach(n) for n in (OURS_ASHA_GP, KT_HYPERBAND,
                                                          KT_RANDOM_TRAINING))
    ours_best = statistics.median(max(c[:budget]) for c in runs[OURS_ASHA_GP])
    optuna_best = statistics.median(max(c[:budget]) for c in runs[OPTUNA_HYPERBAND])
    verdicts = [
        f"{'PASS' if ours <= 0.5 * hyperband else 'FAIL'}: ASHA reaches the target in a median "
        f"{ours} epochs, {ours / hyperband:.2f}x keras-tuner Hyperband's {hyperband} (target "
        "0.5x).",
        f"{'PASS' if ours <= 0.33 * random_ else 'FAIL'}: {ours / random_:.2f}x keras-tuner "
        f"RandomSearch's {random_} (target 0.33x).",
        f"{'PASS' if ours_best >= optuna_best else 'FAIL'}: best validation accuracy within "
        f"{budget} epochs {ours_best:.4f} against Optuna's {optuna_best:.4f}.",
    ]
    return [table, per_seed, "\n\n".join(verdicts)]


# Workers on a simulated clock ---------------------------------------------------------------


def _simulated(cls, **kwargs):
    return lambda seed: cls(keras_tuner.Objective("accuracy", "max"),
                            hyperparameters=_simulation_space(), seed=seed + 1, **kwargs)


def _simulation_space():
    import _simulation

    return _simulation.curve_space()


SIMULATED = {
    "keras-tuner Hyperband(27, 3)": _simulated(keras_tuner.oracles.HyperbandOracle,
                                               max_epochs=27, factor=3, hyperband_iterations=3),
    "keras_hpt ASHAOracle(1, 27, 3)": _simulated(keras_hpt.oracles.ASHAOracle, max_epochs=27),
    "keras_hpt ASHAOracle, 3 brackets": _simulated(keras_hpt.oracles.ASHAOracle, max_epochs=27,
                                                   brackets=3),
    "keras_hpt PBTOracle(8 members, 3-epoch intervals)": _simulated(
        keras_hpt.oracles.PBTOracle, population_size=8, interval=3, max_epochs=27,
        perturb_factors=(0.8, 1.2)),
}
