"""What a user ends up with: `keras_hpt.tune` against the searches and models they would write.

Seven public tabular tasks (sklearn's bundled and generated data, statsmodels'
bundled datasets), each with a fixed 60/20/20 train/validation/test split per
seed (stratified for classification). Side by side, on the same split:

- `keras_hpt.tune`, raw features, 200 epochs in all;
- keras-tuner `RandomSearch` over the getting-started guide's hand-written
  space (one Dense layer of 32-512 units, relu/tanh, optional dropout 0.25,
  Adam with a log learning rate 1e-4..1e-2; 20 trials x 10 epochs, batch 32,
  objective `val_loss`), its best model scored;
- keras-tuner `Hyperband` over the same space (`max_epochs=10, factor=3`,
  two iterations: about the same epochs);
- Optuna TPE with its Hyperband pruner over the same space (20 trials of up
  to 10 epochs, reporting `val_loss` every epoch), the best trial's best epoch
  scored;
- the best classical model: logistic (ridge) regression or
  `HistGradientBoosting*`, the one with the better validation score refitted
  on train + validation.

The baselines get standardised features (and standardised regression targets);
`tune` standardises by itself. The test rows are used once, at the end.
Scores: test log loss and accuracy (classification), test R^2 (regression).
Medians over seeds; a run that fails counts as the worst score of its task (a
miss). Wall-time ratio: median over (task, seed) of tune's time / RandomSearch's.

    python benchmarks/outcome.py                       # 5 seeds, updates RESULTS.md
    python benchmarks/outcome.py --seeds 0 1 --tasks wine digits --no-output
    python benchmarks/outcome.py --publish             # the table from cached raw results

Every (task, seed, method) result is cached as JSON in `--raw`
(`benchmarks/.raw/outcome`), so runs can be split over processes and resumed.
"""

import argparse
import json
import math
import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _results  # noqa: E402

BUDGET = 200
METHODS = ("tune", "random_search", "hyperband", "optuna_tpe", "classical")
LABELS = {
    "tune": "keras_hpt.tune",
    "random_search": "kt RandomSearch (guide)",
    "hyperband": "kt Hyperband (guide)",
    "optuna_tpe": "Optuna TPE + Hyperband pruner",
    "classical": "best classical",
}
DEFAULT_RAW = Path(__file__).resolve().parent / ".raw" / "outcome"


# Tasks -------------------------------------------------------------------

def _digits():
    from sklearn.datasets import load_digits
    return load_digits(return_X_y=True)


def _wine():
    from sklearn.datasets import load_wine
    return load_wine(return_X_y=True)


def _breast_cancer():
    from sklearn.datasets import load_breast_cancer
    return load_breast_cancer(return_X_y=True)


def _noisy_classes():
    from sklearn.datasets import make_classification
    return make_classification(n_samples=2000, n_features=20, n_informative=8,
                               n_redundant=4, n_classes=4, flip_y=0.1, class_sep=1.0,
                               random_state=7)


def _friedman1():
    from sklearn.datasets import make_friedman1
    return make_friedman1(n_samples=1000, n_features=10, noise=1.0, random_state=7)


def _anes96():
    import statsmodels.api as sm
    data = sm.datasets.anes96.load_pandas().data
    y = data["PID"].to_numpy().astype(int)
    return data.drop(columns=["PID"]).to_numpy(dtype=float), y


def _randhie():
    import statsmodels.api as sm
    data = sm.datasets.randhie.load_pandas().data
    rows = np.random.default_rng(7).permutation(len(data))[:6000]
    data = data.iloc[rows]
    return data.drop(columns=["mdvis"]).to_numpy(dtype=float), data["mdvis"].to_numpy(float)


#: name -> (loader, kind): kind is "classification" (binary included) or "regression".
TASKS = {
    "digits": (_digits, "classification"),
    "wine": (_wine, "classification"),
    "breast_cancer": (_breast_cancer, "classification"),
    "noisy_4_classes": (_noisy_classes, "classification"),
    "friedman1": (_friedman1, "regression"),
    "anes96_party": (_anes96, "classification"),
    "randhie_visits": (_randhie, "regression"),
}


def split(task: str, seed: int):
    """The fixed 60/20/20 split of `task` for `seed`: (train, validation, test) pairs."""
    from sklearn.model_selection import train_test_split

    loader, kind = TASKS[task]
    x, y = loader()
    x = np.asarray(x, dtype=np.float64)
    strat = y if kind == "classification" else None
    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=0.2, random_state=seed,
                                                      stratify=strat)
    strat = y_rest if kind == "classification" else None
    x_train, x_val, y_train, y_val = train_test_split(x_rest, y_rest, test_size=0.25,
                                                      random_state=seed, stratify=strat)
    return (x_train, y_train), (x_val, y_val), (x_test, y_test)


# Scores ------------------------------------------------------------------

def scores(kind: str, y_test, predicted) -> dict:
    """Test log loss and accuracy from class probabilities, or R^2 from predictions."""
    from sklearn.metrics import log_loss, r2_score

    predicted = np.asarray(predicted, dtype=np.float64)
    if kind == "regression":
        return {"r2": float(r2_score(y_test, predicted.reshape(len(y_test))))}
    if predicted.ndim == 1 or predicted.shape[1] == 1:
        p1 = np.clip(predicted.reshape(-1), 1e-7, 1 - 1e-7)
        predicted = np.column_stack([1 - p1, p1])
    predicted = np.clip(predicted, 1e-7, 1.0)
    predicted = predicted / predicted.sum(axis=1, keepdims=True)
    labels = np.arange(predicted.shape[1])
    return {"log_loss": float(log_loss(y_test, predicted, labels=labels)),
            "accuracy": float(np.mean(np.argmax(predicted, axis=1) == y_test))}


class _Standardised:
    """Features (and regression targets) standardised on the training rows, for the baselines."""

    def __init__(self, kind, train, val, test):
        self.kind = kind
        x_train = train[0]
        self.mean, std = x_train.mean(axis=0), x_train.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)
        self.y_mean, self.y_std = 0.0, 1.0
        if kind == "regression":
            self.y_mean, self.y_std = float(train[1].mean()), float(train[1].std() or 1.0)
            self.classes = None
        else:
            self.classes = np.unique(np.concatenate([train[1], val[1], test[1]]))
        self.train, self.val, self.test = (self._pair(p) for p in (train, val, test))

    def _pair(self, pair):
        x = ((pair[0] - self.mean) / self.std).astype("float32")
        if self.kind == "regression":
            return x, ((pair[1] - self.y_mean) / self.y_std).astype("float32")
        return x, np.searchsorted(self.classes, pair[1]).astype("int32")

    def prediction(self, raw):
        return np.asarray(raw) * self.y_std + self.y_mean if self.kind == "regression" else raw


def guide_builder(data: _Standardised):
    """The getting-started guide's hand-written search space, with the task's output layer."""
    import keras

    num_features = data.train[0].shape[1]
    outputs = 1 if data.kind == "regression" else len(data.classes)

    def build(hp):
        model = keras.Sequential([keras.Input((num_features,))])
        model.add(keras.layers.Dense(hp.Int("units", 32, 512, step=32),
                                     activation=hp.Choice("activation", ["relu", "tanh"])))
        if hp.Boolean("dropout"):
            model.add(keras.layers.Dropout(0.25))
        if data.kind == "regression":
            model.add(keras.layers.Dense(1))
            loss = "mean_squared_error"
        else:
            model.add(keras.layers.Dense(outputs, activation="softmax"))
            loss = "sparse_categorical_crossentropy"
        rate = hp.Float("lr", 1e-4, 1e-2, sampling="log")
        model.compile(optimizer=keras.optimizers.Adam(rate), loss=loss)
        return model

    return build


class _EpochCounter:
    """A Keras callback factory counting every epoch trained."""

    def __init__(self):
        import keras

        counter = self

        class Count(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                counter.epochs += 1

        self.epochs = 0
        self.callback = Count()


# Methods -----------------------------------------------------------------

def run_tune(kind, train, val, test, seed, budget):
    import keras_hpt

    counter = _EpochCounter()
    result = keras_hpt.tune(train[0], train[1], validation_data=val, epoch_budget=budget,
                            seed=seed, verbose=0, callbacks=[counter.callback])
    predicted = result.model.predict(test[0], verbose=0)
    if kind != "regression":
        # Columns follow result.classes; the test labels are indices into the sorted labels.
        full = np.zeros((len(predicted), len(np.unique(np.concatenate(
            [train[1], val[1], test[1]])))))
        classes = np.unique(np.concatenate([train[1], val[1], test[1]]))
        columns = np.searchsorted(classes, result.classes)
        if predicted.shape[1] == 1:
            full[:, columns[1]] = predicted[:, 0]
            full[:, columns[0]] = 1 - predicted[:, 0]
        else:
            full[:, columns] = predicted
        predicted = full
    return predicted, result.epochs_trained, {"trials": len(result.tuner.oracle.trials),
                                              "ensemble": len(result.ensemble),
                                              "counted_epochs": counter.epochs}


def run_keras_tuner(data: _Standardised, seed, kind):
    import keras
    import keras_tuner

    counter = _EpochCounter()
    folder = tempfile.mkdtemp(prefix="outcome_kt_")
    common = dict(objective="val_loss", seed=seed, directory=folder, project_name="p",
                  overwrite=True)
    keras.utils.set_random_seed(seed)
    if kind == "random_search":
        tuner = keras_tuner.RandomSearch(guide_builder(data), max_trials=20, **common)
        tuner.search(*data.train, validation_data=data.val, epochs=10, batch_size=32,
                     verbose=0, callbacks=[counter.callback])
    else:
        tuner = keras_tuner.Hyperband(guide_builder(data), max_epochs=10, factor=3,
                                      hyperband_iterations=2, **common)
        tuner.search(*data.train, validation_data=data.val, batch_size=32, verbose=0,
                     callbacks=[counter.callback])
    model = tuner.get_best_models(1)[0]
    return data.prediction(model.predict(data.test[0], verbose=0)), counter.epochs, {
        "trials": len(tuner.oracle.trials)}


def run_optuna(data: _Standardised, seed):
    import keras
    import keras_tuner
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    build = guide_builder(data)
    best = {"loss": math.inf, "weights": None, "values": None}
    epochs = [0]

    class Report(keras.callbacks.Callback):
        def __init__(self, trial):
            super().__init__()
            self.trial, self.best, self.weights = trial, math.inf, None

        def on_epoch_end(self, epoch, logs=None):
            epochs[0] += 1
            loss = float(logs["val_loss"])
            if loss < self.best:
                self.best, self.weights = loss, self.model.get_weights()
            self.trial.report(loss, epoch)
            if self.trial.should_prune():
                self.model.stop_training = True
                self.pruned = True

    def objective(trial):
        hp = keras_tuner.HyperParameters()
        hp.values = {"units": trial.suggest_int("units", 32, 512, step=32),
                     "activation": trial.suggest_categorical("activation", ["relu", "tanh"]),
                     "dropout": trial.suggest_categorical("dropout", [False, True]),
                     "lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True)}
        keras.backend.clear_session()
        model = build(hp)
        report = Report(trial)
        report.pruned = False
        model.fit(*data.train, validation_data=data.val, epochs=10, batch_size=32, verbose=0,
                  callbacks=[report])
        if report.best < best["loss"]:
            best.update(loss=report.best, weights=report.weights, values=hp.values)
        if report.pruned:
            raise optuna.TrialPruned()
        return report.best

    keras.utils.set_random_seed(seed)
    study = optuna.create_study(
        direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource=10,
                                              reduction_factor=3))
    study.optimize(objective, n_trials=20)
    hp = keras_tuner.HyperParameters()
    hp.values = best["values"]
    model = build(hp)
    model.set_weights(best["weights"])
    return data.prediction(model.predict(data.test[0], verbose=0)), epochs[0], {
        "trials": len(study.trials)}


def run_classical(data: _Standardised, seed, kind):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, Ridge

    if kind == "regression":
        candidates = {"ridge": lambda: Ridge(alpha=1.0),
                      "gradient boosting": lambda: HistGradientBoostingRegressor(
                          random_state=seed)}
    else:
        candidates = {"logistic": lambda: LogisticRegression(max_iter=5000),
                      "gradient boosting": lambda: HistGradientBoostingClassifier(
                          random_state=seed)}
    validation = {}
    for name, make in candidates.items():
        model = make().fit(*data.train)
        if kind == "regression":
            validation[name] = scores(kind, data.val[1], model.predict(data.val[0]))["r2"]
        else:
            proba = _full_proba(model, model.predict_proba(data.val[0]), len(data.classes))
            validation[name] = -scores(kind, data.val[1], proba)["log_loss"]
    chosen = max(validation, key=validation.get)
    model = candidates[chosen]().fit(np.concatenate([data.train[0], data.val[0]]),
                                     np.concatenate([data.train[1], data.val[1]]))
    if kind == "regression":
        predicted = data.prediction(model.predict(data.test[0]))
    else:
        predicted = _full_proba(model, model.predict_proba(data.test[0]), len(data.classes))
    return predicted, 0, {"model": chosen}


def _full_proba(model, proba, count):
    full = np.full((len(proba), count), 1e-7)
    full[:, model.classes_.astype(int)] = proba
    return full


def run(task: str, seed: int, method: str, budget: int = BUDGET) -> dict:
    """One method on one split: its test scores, wall time and epochs."""
    import keras

    kind = TASKS[task][1]
    train, val, test = split(task, seed)
    data = _Standardised(kind, train, val, test)
    keras.backend.clear_session()
    start = time.monotonic()
    if method == "tune":
        predicted, epochs, extra = run_tune(kind, train, val, test, seed, budget)
        y_test = data.test[1] if kind != "regression" else test[1]
    else:
        if method in ("random_search", "hyperband"):
            predicted, epochs, extra = run_keras_tuner(data, seed, method)
        elif method == "optuna_tpe":
            predicted, epochs, extra = run_optuna(data, seed)
        else:
            predicted, epochs, extra = run_classical(data, seed, kind)
        y_test = test[1] if kind == "regression" else data.test[1]
    seconds = time.monotonic() - start
    return {"task": task, "seed": seed, "method": method, "seconds": seconds,
            "epochs": epochs, **scores(kind, y_test, predicted), **extra}


# Aggregation -------------------------------------------------------------

def _primary(kind):
    return ("r2", "max") if kind == "regression" else ("log_loss", "min")


def _median(values, worst):
    """Median over seeds; a missing or failed run counts as `worst`."""
    filled = [worst if v is None or not math.isfinite(v) else v for v in values]
    return statistics.median(filled) if filled else math.nan


def table(results: list, tasks, seeds, methods) -> tuple:
    """The markdown table and the verdicts for the targets."""
    found = {(r["task"], r["seed"], r["method"]): r for r in results}
    rows, verdicts = [], {"beats guide": [], "beats classical": []}
    ratios = []
    for task in tasks:
        kind = TASKS[task][1]
        metric, direction = _primary(kind)
        every = [r[metric] for r in results if r["task"] == task and metric in r]
        worst = (max(every) if direction == "min" else min(every)) if every else math.nan
        medians = {}
        for method in methods:
            # Seeds not run (yet) are left out; a run that failed counts as the worst score.
            runs = [found[(task, s, method)] for s in seeds if (task, s, method) in found]
            if not runs:
                continue
            medians[method] = _median([r.get(metric) for r in runs], worst)
            extra = ""
            if kind != "regression":
                extra = f" (acc {_median([r.get('accuracy') for r in runs], 0.0):.3f})"
            rows.append(["",
                         LABELS[method], len(runs), f"{medians[method]:.4f}{extra}",
                         f"{_median([r.get('seconds') for r in runs], math.inf):.1f}",
                         f"{_median([r.get('epochs') for r in runs], 0):.0f}"])
            if len(medians) == 1:
                rows[-1][0] = task
        if "tune" in medians:
            better = (lambda a, b: a < b) if direction == "min" else (lambda a, b: a > b)
            if "random_search" in medians:
                verdicts["beats guide"].append(better(medians["tune"], medians["random_search"]))
            if "classical" in medians:
                verdicts["beats classical"].append(better(medians["tune"], medians["classical"]))
        for s in seeds:
            a, b = found.get((task, s, "tune")), found.get((task, s, "random_search"))
            if a and b:
                ratios.append(a["seconds"] / b["seconds"])
    header = ["task", "method", "seeds", "test score, median (log loss; R^2 for regression)",
              "wall s, median", "epochs, median"]
    text = _results.markdown_table(header, rows, "llrrrr")
    return text, verdicts, ratios


def _load(raw: Path) -> list:
    return [json.loads(p.read_text()) for p in sorted(raw.glob("*.json"))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--budget", type=int, default=BUDGET)
    parser.add_argument("--raw", type=Path, default=DEFAULT_RAW)
    parser.add_argument("--publish", action="store_true",
                        help="only build the table from the cached raw results")
    parser.add_argument("--no-output", action="store_true", help="print, leave RESULTS.md")
    args = parser.parse_args(argv)
    command = shlex.join(["python", "benchmarks/outcome.py",
                          *(sys.argv[1:] if argv is None else argv)])
    args.raw.mkdir(parents=True, exist_ok=True)
    load = [_results.load_average()]
    if not args.publish:
        for seed in args.seeds:
            for task in args.tasks:
                for method in args.methods:
                    path = args.raw / f"{task}_{seed}_{method}.json"
                    if path.exists():
                        continue
                    try:
                        result = run(task, seed, method, args.budget)
                    except Exception as error:  # a failed run is a miss, not the end
                        result = {"task": task, "seed": seed, "method": method,
                                  "error": repr(error)[:300]}
                    path.write_text(json.dumps(result))
                    print(json.dumps(result), flush=True)
    load.append(_results.load_average())
    results = [r for r in _load(args.raw) if r["task"] in args.tasks
               and r["seed"] in args.seeds and r["method"] in args.methods]
    text, verdicts, ratios = table(results, args.tasks, args.seeds, args.methods)
    body = [text]
    if verdicts["beats guide"]:
        body.append(f"keras_hpt.tune's median test score beats the guide-space RandomSearch "
                    f"on {sum(verdicts['beats guide'])} of {len(verdicts['beats guide'])} "
                    f"tasks (target: all) and the best classical model on "
                    f"{sum(verdicts['beats classical'])} of {len(verdicts['beats classical'])}"
                    " (target: at least half).")
    if ratios:
        body.append(f"Wall time, tune / RandomSearch: median {statistics.median(ratios):.2f}x "
                    f"over {len(ratios)} (task, seed) pairs, range {min(ratios):.2f}-"
                    f"{max(ratios):.2f}x (target: <= 1.0x).")
    errors = [r for r in results if "error" in r]
    if errors:
        body.append(f"{len(errors)} run(s) failed and count as misses: "
                    + "; ".join(f"{r['task']}/{r['seed']}/{r['method']}: {r['error']}"
                                for r in errors[:5]))
    method = (f"seeds {args.seeds}; fixed 60/20/20 splits (stratified for classification); "
              f"{args.budget} epochs per neural search; medians over seeds, a failed run "
              "counting as the task's worst score; test rows scored once, at the end")
    section = _results.section(
        "outcome.py",
        "Test score of the model a user ends up with, and the time it took: keras_hpt.tune "
        "against keras-tuner and Optuna searches over keras-tuner's getting-started space and "
        "the best classical model, on the same splits.",
        command, (load[0], load[-1]), method, body)
    _results.publish(section, None if args.no_output else _results.DEFAULT_OUTPUT)


if __name__ == "__main__":
    main()
