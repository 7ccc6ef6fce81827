"""`keras-hpt demo`: `keras_hpt.tune` on the digits data that ships with scikit-learn.

The digits are split 60/20/20 into train, validation and test; `tune` runs
its whole pipeline on train and validation (learning-rate range test,
Gaussian-process search from a strong default, ensemble selection), and the
model it returns is scored once on the test split. The model, the trials,
plots and a summary go to `--output`.
"""

import json
import os
import time
from typing import Optional

#: Default budget in epochs, `tune`'s own: about 1 minute on 2 CPU cores.
DEFAULT_BUDGET = 200
QUICK_BUDGET = 10


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


def run_demo(budget: Optional[int] = None, output: str = "keras_hpt_demo", seed: int = 0,
             quick: bool = False, quiet: bool = False) -> dict:
    """Runs the demo and writes its files to `output`.

    Args:
        budget: Epochs `tune` may train in all. Defaults to `DEFAULT_BUDGET`
            (`QUICK_BUDGET` with `quick`).
        output: Folder for the results.
        seed: Random seed of the split and of `tune`.
        quick: A tiny budget, for smoke tests.
        quiet: Print nothing.

    Returns:
        A dict of the results: `tune`'s facts (`result.json`) plus the test
        accuracy and log loss and the seconds taken.
    """
    import numpy as np

    import keras_hpt
    from keras_hpt.pipeline import ensemble, files

    budget = budget or (QUICK_BUDGET if quick else DEFAULT_BUDGET)
    start = time.monotonic()
    os.makedirs(output, exist_ok=True)
    train, val, test = load_digits_splits(seed)
    _say(quiet, f"Digits: {len(train[0])} training, {len(val[0])} validation, "
                f"{len(test[0])} test samples; keras_hpt.tune with {budget} epochs in all.")
    result = keras_hpt.tune(*train, validation_data=val, epoch_budget=budget, seed=seed,
                            directory=os.path.join(output, "search"), verbose=0 if quiet else 1)
    probabilities = result.model.predict(test[0], verbose=0)
    labels = np.searchsorted(result.classes, test[1])
    accuracy = float(np.mean(np.argmax(probabilities, axis=1) == labels))
    log_loss = ensemble.log_loss(probabilities.astype("float64"), labels)
    written = files.write_outputs(result, output)
    summary = dict(files.result_dict(result), budget_epochs=budget, test_accuracy=accuracy,
                   test_log_loss=log_loss, seconds=round(time.monotonic() - start, 1))
    with open(os.path.join(output, "result.json"), "w") as file:
        json.dump(summary, file, indent=1)
    _say(quiet, "", "| on the test split | value |", "|---|---|",
         f"| test accuracy | {accuracy:.4f} |", f"| test log loss | {log_loss:.4f} |",
         f"| time | {summary['seconds']:.0f} s |", "",
         f"Files in {output}: {', '.join(written)}; the search itself in "
         f"{os.path.join(output, 'search')} (keras-hpt report it).")
    return summary


def main_from_arguments(args) -> int:
    """Runs the demo for the parsed `keras-hpt demo` arguments; returns the exit status."""
    run_demo(budget=args.budget, output=args.output, seed=args.seed, quick=args.quick,
             quiet=args.quiet)
    return 0
