"""Where a small search's time goes: inside training epochs, or around them, per trial.

On sklearn's breast-cancer data (455 training rows, a small MLP), each search
runs with a callback that clocks every epoch (from `on_epoch_begin` to
`on_epoch_end`, so an epoch's training steps and its validation). The time
outside them, divided by the trials, is what a trial costs beyond its
training: building and compiling the model, tracing, the tuner's files, the
oracle. Side by side: `keras_hpt.tune` (200 epochs in all, its range test
and final model included) and keras-tuner `RandomSearch` over the
getting-started guide's space (20 trials x 10 epochs). Resident memory is
read before and after each search. Target (issue 14): <= 0.3 s per trial
outside the training epochs, median over runs.

    python benchmarks/trial_overhead.py            # 3 runs, updates RESULTS.md
    python benchmarks/trial_overhead.py --runs 1 --no-output
"""

import argparse
import os
import shlex
import statistics
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _results  # noqa: E402
import outcome  # noqa: E402


def _rss_mb() -> float:
    with open("/proc/self/status") as file:
        for line in file:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _epoch_clock():
    import keras

    class Clock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds, self.epochs, self.fits, self._start = 0.0, 0, 0, None

        def __deepcopy__(self, memo):
            # keras-tuner copies a search's callbacks for every trial; one clock counts all.
            return self

        def on_train_begin(self, logs=None):
            self.fits += 1

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds += time.perf_counter() - self._start
            self.epochs += 1

    return Clock()


def measure(method: str, seed: int) -> dict:
    import keras
    import keras_tuner

    import keras_hpt

    train, val, _ = outcome.split("breast_cancer", seed)
    data = outcome._Standardised("classification", train, val, val)
    clock = _epoch_clock()
    keras.backend.clear_session()
    before = _rss_mb()
    start = time.perf_counter()
    if method == "tune":
        result = keras_hpt.tune(train[0], train[1], validation_data=val, seed=seed,
                                verbose=0, callbacks=[clock])
        trials = len(result.tuner.oracle.trials)
    else:
        tuner = keras_tuner.RandomSearch(
            outcome.guide_builder(data), objective="val_loss", max_trials=20, seed=seed,
            directory=tempfile.mkdtemp(prefix="overhead_"), project_name="p", overwrite=True)
        tuner.search(*data.train, validation_data=data.val, epochs=10, batch_size=32,
                     verbose=0, callbacks=[clock])
        tuner.get_best_models(1)
        trials = len(tuner.oracle.trials)
    wall = time.perf_counter() - start
    return {"wall": wall, "epoch_seconds": clock.seconds, "epochs": clock.epochs,
            "trials": trials, "outside_per_trial": (wall - clock.seconds) / trials,
            "memory_mb": _rss_mb() - before}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-output", action="store_true")
    args = parser.parse_args(argv)
    command = shlex.join(["python", "benchmarks/trial_overhead.py",
                          *(sys.argv[1:] if argv is None else argv)])
    load = [_results.load_average()]
    runs = {"tune": [], "random_search": []}
    for seed in range(args.runs):
        for method in runs:
            runs[method].append(measure(method, seed))
            print(method, seed, runs[method][-1], flush=True)
    load.append(_results.load_average())
    rows = []
    for method, label in (("tune", "keras_hpt.tune (200 epochs)"),
                          ("random_search", "kt RandomSearch, guide space (20 x 10)")):
        values = runs[method]

        def median(key):
            return statistics.median(v[key] for v in values)

        rows.append([label, f"{median('trials'):.0f}", f"{median('epochs'):.0f}",
                     f"{median('wall'):.1f}", f"{median('epoch_seconds'):.1f}",
                     f"{median('outside_per_trial'):.2f}", f"{median('memory_mb'):+.0f}"])
    ratio = statistics.median(t["wall"] / r["wall"] for t, r in zip(runs["tune"],
                                                                    runs["random_search"]))
    outside = statistics.median(v["outside_per_trial"] for v in runs["tune"])
    table = _results.markdown_table(
        ["search", "trials", "epochs", "wall s", "s inside epochs", "s outside epochs per trial",
         "memory MB"], rows, "lrrrrrr")
    body = [table, f"tune's time outside training epochs: {outside:.2f} s per trial (target "
                   f"<= 0.3 s: {_results.verdict(outside, 0.3)}); wall time tune / "
                   f"RandomSearch: {ratio:.2f}x (median of paired runs)."]
    section = _results.section(
        "trial_overhead.py",
        "Time per trial outside the training epochs, and memory, for a small search on "
        "breast-cancer data (455 training rows): keras_hpt.tune against keras-tuner "
        "RandomSearch over the guide's space.",
        command, (load[0], load[-1]),
        f"{args.runs} runs (seeds 0..{args.runs - 1}), medians; epochs clocked from "
        "on_epoch_begin to on_epoch_end (training steps and validation)", body)
    _results.publish(section, None if args.no_output else _results.DEFAULT_OUTPUT)


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
