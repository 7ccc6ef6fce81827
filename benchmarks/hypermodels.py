"""MLPHyperModel's default search space against a typical hand-written keras-tuner space.

Both spaces are searched by `keras_tuner.RandomSearch` with the same budget
(`--trials` trials of `--epochs` epochs each) on sklearn's bundled digits
(80 % train, 20 % validation, stratified, the same split for every seed),
once per seed (`--runs` seeds). The hand-written space is the one keras-tuner's
getting-started guide builds: 1-3 dense layers of 32-512 units in steps of 32,
one shared activation (relu or tanh), an optional dropout of 0.25, Adam with a
log-scale learning rate in [1e-4, 1e-2], batch size 32. The table gives each
search's best validation accuracy and wall time.

Target: the default space reaches at least 0.97 validation accuracy (median
over seeds) and is no worse than the hand-written one.

Run from the repository root:

    python benchmarks/hypermodels.py            # full run, updates benchmarks/RESULTS.md
    python benchmarks/hypermodels.py --quick    # smoke test: prints the table only
"""

import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import keras_tuner  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _results  # noqa: E402

from keras_hpt.hypermodels import MLPHyperModel  # noqa: E402

TARGET_ACCURACY = 0.97
OURS = "keras_hpt MLPHyperModel (default space)"
HAND = "hand-written space (keras-tuner guide)"


def load_data():
    """Digits scaled to [0, 1], split 80/20 with stratification (fixed split)."""
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    return train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)


def hand_written_model(hp) -> keras.Model:
    """The search space of keras-tuner's getting-started guide, on 64 digit features."""
    model = keras.Sequential([keras.Input((64,))])
    activation = hp.Choice("activation", ["relu", "tanh"])
    for i in range(hp.Int("num_layers", 1, 3)):
        model.add(keras.layers.Dense(hp.Int(f"units_{i}", 32, 512, step=32),
                                     activation=activation))
    if hp.Boolean("dropout"):
        model.add(keras.layers.Dropout(0.25))
    model.add(keras.layers.Dense(10, activation="softmax"))
    learning_rate = hp.Float("lr", 1e-4, 1e-2, sampling="log")
    model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def search(space: str, seed: int, trials: int, epochs: int, data) -> dict:
    """One RandomSearch; returns its best validation accuracy and wall time."""
    x_train, x_val, y_train, y_val = data
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    with tempfile.TemporaryDirectory() as folder:
        common = dict(max_trials=trials, seed=seed, directory=folder, project_name="p")
        if space == OURS:
            hypermodel = MLPHyperModel((64,), 10)
            tuner = keras_tuner.RandomSearch(hypermodel, objective=hypermodel.objective, **common)
            fit_kwargs = {}
        else:
            tuner = keras_tuner.RandomSearch(hand_written_model, objective="val_accuracy",
                                             **common)
            fit_kwargs = {"batch_size": 32}
        start = time.perf_counter()
        tuner.search(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, verbose=0,
                     **fit_kwargs)
        seconds = time.perf_counter() - start
        best = tuner.oracle.get_best_trials(1)[0]
    print(f"seed {seed}  {space:<42} best val_accuracy {best.score:.4f}  {seconds:6.1f} s",
          file=sys.stderr, flush=True)
    return {"accuracy": best.score, "seconds": seconds}


def summary_rows(results: dict) -> list:
    rows = []
    for space in (OURS, HAND):
        accuracies = [r["accuracy"] for r in results[space]]
        seconds = [r["seconds"] for r in results[space]]
        rows.append([space, f"{statistics.median(accuracies):.4f}", f"{min(accuracies):.4f}",
                     f"{max(accuracies):.4f}", f"{statistics.median(seconds):.1f}"])
    return rows


def interpretation(results: dict) -> str:
    ours = statistics.median(r["accuracy"] for r in results[OURS])
    hand = statistics.median(r["accuracy"] for r in results[HAND])
    wins = sum(o["accuracy"] >= h["accuracy"] for o, h in zip(results[OURS], results[HAND]))
    reached = "reaches" if ours >= TARGET_ACCURACY else "misses"
    compared = "no worse than" if ours >= hand else "worse than"
    verdict = "PASS" if ours >= TARGET_ACCURACY and ours >= hand else "FAIL"
    return (
        f"{verdict}: the default space {reached} the {TARGET_ACCURACY} target with a median best "
        f"validation accuracy of {ours:.4f}, {compared} the hand-written space's {hand:.4f}; "
        f"it is at least as good on {wins} of {len(results[OURS])} seeds."
    )


def main(argv=None):
    parser = _results.argument_parser(__doc__, runs=3, epochs=20, quick=(1, 2))
    parser.add_argument("--trials", type=int, help="trials per search (default 20, quick 2)")
    args = _results.parse_args(parser, argv)
    trials = args.trials or (2 if args.quick else 20)
    data = load_data()
    load_before = _results.load_average()
    results = {OURS: [], HAND: []}
    for seed in range(args.runs):
        for space in (OURS, HAND) if seed % 2 == 0 else (HAND, OURS):
            results[space].append(search(space, seed, trials, args.epochs, data))
    load = (load_before, _results.load_average())
    per_seed = [[seed, f"{results[OURS][seed]['accuracy']:.4f}",
                 f"{results[HAND][seed]['accuracy']:.4f}",
                 f"{results[OURS][seed]['seconds']:.1f}", f"{results[HAND][seed]['seconds']:.1f}"]
                for seed in range(args.runs)]
    body = [
        _results.markdown_table(["search space", "median best val acc", "min", "max",
                                 "median wall s"], summary_rows(results), "lrrrr"),
        _results.markdown_table(["seed", "ours val acc", "hand-written val acc", "ours s",
                                 "hand-written s"], per_seed, "rrrrr"),
        interpretation(results),
    ]
    method = (f"keras_tuner.RandomSearch, {trials} trials x {args.epochs} epochs per search, "
              f"{args.runs} seeds (seed = tuner seed and Keras seed); digits 1437 train / 360 "
              "validation; objective val_accuracy")
    _results.publish(_results.section(
        "hypermodels.py", "Best validation accuracy of a 20-trial random search with "
        "MLPHyperModel's default space against a hand-written keras-tuner space.",
        args.command, load, method, body), args.output)


if __name__ == "__main__":
    main()
