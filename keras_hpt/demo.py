"""`keras-hpt demo`: the whole workflow on the digits data that ships with scikit-learn.

LR range test on a typical MLP -> search of `MLPHyperModel`'s space with a
keras_hpt tuner, the learning-rate range centred on the range test's
suggestion -> the best configuration retrained with a one-cycle schedule
peaking at its tuned rate and early stopping -> accuracy on a held-out test
split. Plots, the trials and the best hyperparameters go to `--output`.
"""

import json
import math
import os
import time
from typing import Optional

#: Default search budget in epochs: about 5 minutes for the whole demo on 2 CPU cores.
DEFAULT_BUDGET = 250
QUICK_BUDGET = 8
TUNERS = ("asha", "bayesian", "evolution", "random")


def _say(quiet: bool, *lines):
    if not quiet:
        for line in lines:
            print(line, flush=True)


def load_digits_splits(seed: int):
    """Digits scaled to [0, 1], split 60/20/20 into train, validation and test, stratified."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        raise SystemExit(
            "keras-hpt demo: the demo's data ships with scikit-learn, which is not installed. "
            'Install it with: pip install "keras-hpt[examples]"'
        )
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    y = y.astype("int32")
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=seed)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=0.25, stratify=y_rest, random_state=seed)
    return (x_train, y_train), (x_val, y_val), (x_test, y_test)


def _max_epochs(budget: int) -> int:
    """Epochs of a full trial: a fifth of the budget, between 2 and 27."""
    return int(min(27, max(2, budget // 5)))


def make_tuner(name: str, hypermodel, budget: int, seed: int, directory: str):
    """The tuner called `name`, stopped by `budget` epochs in all."""
    import keras_tuner

    from keras_hpt import tuners

    common = dict(seed=seed, epoch_budget=budget, directory=directory, project_name="search",
                  overwrite=True)
    objective = hypermodel.objective
    max_epochs = _max_epochs(budget)
    if name == "asha":
        return tuners.ASHA(hypermodel, objective, min_epochs=max(1, max_epochs // 9),
                           max_epochs=max_epochs, factor=3, **common)
    if name == "bayesian":
        return tuners.BayesianOptimization(hypermodel, objective, max_trials=budget,
                                           num_initial_points=4, **common)
    if name == "evolution":
        return tuners.Evolution(hypermodel, objective, population_size=4, **common)
    if name == "random":
        seed = common.pop("seed")
        oracle = keras_tuner.oracles.RandomSearchOracle(objective, max_trials=budget, seed=seed)
        return tuners.Tuner(oracle, hypermodel, **common)
    raise ValueError(f"`tuner` must be one of {TUNERS}. Received: tuner={name!r}")


def _range_test(train, seed: int, output: str):
    import keras_tuner

    import keras_hpt
    from keras_hpt import hypermodels

    typical = hypermodels.MLPHyperModel((64,), 10, num_layers=2, units=64, dropout=0.1,
                                        activation="relu", batch_norm=False, optimizers="adam",
                                        batch_size=32)
    model = typical.build(keras_tuner.HyperParameters())
    result = keras_hpt.lr_find(model, *train, batch_size=32, seed=seed)
    result.plot().savefig(os.path.join(output, "lr_finder.png"), dpi=120)
    with open(os.path.join(output, "lr_finder.json"), "w") as file:
        json.dump(result.to_dict(), file, indent=1)
    return result


def _retrain(hypermodel, best, train, val, epochs: int, output: str):
    """The best configuration, trained anew with a one-cycle schedule and early stopping."""
    import keras_hpt
    from keras_hpt import callbacks, schedules

    model = hypermodel.build(best)
    batch_size = best.values.get("batch_size", 32)
    steps_per_epoch = math.ceil(len(train[0]) / batch_size)
    one_cycle = schedules.OneCycle(best.values["learning_rate"],
                                   total_steps=epochs * steps_per_epoch)
    keras_hpt.plot_schedule(one_cycle, epochs * steps_per_epoch, log_scale=True,
                            steps_per_epoch=steps_per_epoch).savefig(
        os.path.join(output, "schedule.png"), dpi=120)
    stopper = callbacks.EarlyStopping(monitor="val_loss", patience=max(3, epochs // 4),
                                      restore_best_weights=True)
    history = model.fit(*train, validation_data=val, batch_size=batch_size, epochs=epochs,
                        verbose=0, callbacks=[
                            callbacks.LearningRateScheduler(one_cycle, unit="step"), stopper])
    return model, len(history.epoch), stopper


def run_demo(budget: Optional[int] = None, output: str = "keras_hpt_demo", seed: int = 0,
             tuner: str = "asha", quick: bool = False, quiet: bool = False) -> dict:
    """Runs the demo and writes its files to `output`.

    Args:
        budget: Epochs the search may train in all. Defaults to
            `DEFAULT_BUDGET` (`QUICK_BUDGET` with `quick`).
        output: Folder for the results.
        seed: Random seed of the splits, the models and the search.
        tuner: `"asha"`, `"bayesian"`, `"evolution"` or `"random"`.
        quick: A tiny budget and a short retraining, for smoke tests.
        quiet: Print nothing.

    Returns:
        A dict of the results: the range test's suggestion, the best trial,
        the best hyperparameters, the test accuracy, seconds taken.
    """
    import keras

    from keras_hpt import hypermodels, reporting
    from keras_hpt.oracles.base import configuration

    if tuner not in TUNERS:
        raise ValueError(f"`tuner` must be one of {TUNERS}. Received: tuner={tuner!r}")
    budget = budget or (QUICK_BUDGET if quick else DEFAULT_BUDGET)
    start = time.monotonic()
    os.makedirs(output, exist_ok=True)
    keras.utils.set_random_seed(seed)
    train, val, test = load_digits_splits(seed)
    _say(quiet, f"Digits: {len(train[0])} training, {len(val[0])} validation, "
                f"{len(test[0])} test samples.", "1/4 learning-rate range test ...")

    found = _range_test(train, seed, output)
    centre = found.suggested_lr or 1e-3
    _say(quiet, f"    suggested learning rate {centre:.2g} ({found.default_rule}"
                f"{'' if found.suggested_lr else ': none found, ' + str(found.reason)})",
         f"2/4 search with {tuner}, {budget} epochs in all ...")

    hypermodel = hypermodels.MLPHyperModel(
        (64,), 10, optimizers=["adam", "adamw"],
        learning_rate=(centre / 10, min(centre * 3, 1.0)))
    search = make_tuner(tuner, hypermodel, budget, seed, output)
    progress = reporting.SearchProgress(verbose=0 if quiet else 1).attach(search)
    search.search(*train, validation_data=val, epochs=_max_epochs(budget), verbose=0)
    search_seconds = progress.elapsed() or 0.0
    best_trial = search.oracle.get_best_trials(1)[0]
    best = best_trial.hyperparameters
    values = configuration(best.values)

    epochs = _max_epochs(budget) * (1 if quick else 2)
    _say(quiet, f"3/4 retraining trial {best_trial.trial_id} for up to {epochs} epochs "
                "(one-cycle schedule, early stopping) ...")
    model, trained, stopper = _retrain(hypermodel, best, train, val, epochs, output)
    _, accuracy = model.evaluate(*test, verbose=0)

    _say(quiet, "4/4 reports ...")
    reporting.plot_history(search, path=os.path.join(output, "history.png"))
    reporting.plot_learning_curves(search, path=os.path.join(output, "learning_curves.png"))
    reporting.plot_hyperparameters(search, path=os.path.join(output, "hyperparameters.png"))
    for name in ("trials.csv", "trials.json"):
        reporting.write_trials(search, os.path.join(output, name))
    summary = {
        "tuner": tuner,
        "budget_epochs": budget,
        "epochs_trained": search.epochs_trained,
        "trials": len(search.oracle.trials),
        "suggested_lr": found.suggested_lr,
        "best_trial": best_trial.trial_id,
        "objective": hypermodel.objective.name,
        "best_score": best_trial.score,
        "hyperparameters": values,
        "retraining_epochs": trained,
        "test_accuracy": float(accuracy),
        "seconds": round(time.monotonic() - start, 1),
        "search_seconds": round(search_seconds, 1),
    }
    with open(os.path.join(output, "best_hyperparameters.json"), "w") as file:
        json.dump(summary, file, indent=1)
    _say(quiet, "", f"Trials, best first ({summary['trials']} trials, "
                f"{search.epochs_trained} epochs):",
         reporting.format_table(search, top=10), "",
         "| result | value |", "|---|---|",
         f"| range-test learning rate | {centre:.3g} |",
         f"| best {hypermodel.objective.name} (trial {best_trial.trial_id}) | "
         f"{best_trial.score:.4f} |",
         f"| retraining epochs (early stopping) | {trained} |",
         f"| test accuracy | {accuracy:.4f} |",
         f"| time | {summary['seconds']:.0f} s (search {summary['search_seconds']:.0f} s) |",
         "", f"Files in {output}: lr_finder.png, schedule.png, history.png, "
             "learning_curves.png, hyperparameters.png, trials.csv, trials.json, "
             "best_hyperparameters.json; the search itself in "
             f"{os.path.join(output, 'search')} (keras-hpt report it).")
    return summary


def main_from_arguments(args) -> int:
    """Runs the demo for the parsed `keras-hpt demo` arguments; returns the exit status."""
    run_demo(budget=args.budget, output=args.output, seed=args.seed, tuner=args.tuner,
             quick=args.quick, quiet=args.quiet)
    return 0
