"""Train one model on the digits data with each keras_hpt schedule and compare.

The three ways to use a schedule are all here: pass it to the optimizer
(`SGD(learning_rate=schedule)`), drive a float learning rate with the
`LearningRateScheduler` callback per step, and save snapshots at warm
restarts with `SnapshotEnsemble` (whose snapshots are then averaged).

Run:
    python examples/schedules_fit.py            # about a minute on 2 CPU cores
    python examples/schedules_fit.py --quick    # a few seconds, for smoke tests
"""

import argparse
import math
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

import keras_hpt  # noqa: E402
from keras_hpt import callbacks, schedules  # noqa: E402

BATCH_SIZE = 32
PEAK = 0.05


def load_data(seed):
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=seed, stratify=y
    )
    return (x_train, y_train), (x_test, y_test)


def build_model(learning_rate):
    model = keras.Sequential([
        keras.Input((64,)),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def variants(epochs, steps_per_epoch, output):
    """(name, learning rate for the optimizer, extra callbacks) for each run."""
    total = epochs * steps_per_epoch
    restarts = schedules.CosineWarmRestarts.from_epochs(
        steps_per_epoch, initial_learning_rate=PEAK, first_decay_steps=epochs / 3,
        t_mul=1.0, max_cycles=3,
    )
    snapshots = callbacks.SnapshotEnsemble(os.path.join(output, "snapshot_{snapshot}.weights.h5"))
    return [
        ("constant", PEAK, []),
        ("StepDecay (halve every 1/3 of training)",
         schedules.StepDecay.from_epochs(steps_per_epoch, initial_learning_rate=PEAK,
                                         step_size=max(epochs / 3, 1 / steps_per_epoch)), []),
        ("Warmup + CosineDecay",
         schedules.Warmup(schedules.CosineDecay(PEAK, decay_steps=total - steps_per_epoch),
                          warmup_steps=steps_per_epoch), []),
        ("OneCycle", schedules.OneCycle(PEAK * 4, total_steps=total), []),
        ("ExponentialDecay via LearningRateScheduler(unit='step')", PEAK,
         [callbacks.LearningRateScheduler(
             schedules.ExponentialDecay(PEAK, decay_steps=total, decay_rate=0.05), unit="step")]),
        ("CosineWarmRestarts + SnapshotEnsemble", restarts, [snapshots]),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="keras_hpt_output/schedules_fit",
                        help="folder for snapshots and the schedule plot")
    parser.add_argument("--quick", action="store_true", help="3 epochs, for smoke tests")
    args = parser.parse_args(argv)
    epochs = 3 if args.quick else args.epochs
    os.makedirs(args.output, exist_ok=True)

    (x_train, y_train), (x_test, y_test) = load_data(args.seed)
    steps_per_epoch = math.ceil(len(x_train) * 0.8 / BATCH_SIZE)
    rows = []
    runs = variants(epochs, steps_per_epoch, args.output)
    for name, learning_rate, extra in runs:
        keras.utils.set_random_seed(args.seed)
        model = build_model(learning_rate)
        start = time.perf_counter()
        history = model.fit(
            x_train, y_train, batch_size=BATCH_SIZE, epochs=epochs, validation_split=0.2,
            callbacks=[callbacks.LearningRateLogger(), *extra], verbose=0,
        )
        seconds = time.perf_counter() - start
        _, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
        rows.append((name, history.history["val_accuracy"][-1], test_accuracy,
                     history.history["learning_rate"][-1], seconds))
        for callback in extra:
            if isinstance(callback, callbacks.SnapshotEnsemble) and callback.snapshots:
                rows.append(_ensemble_row(callback.snapshots, learning_rate, x_test, y_test))

    print(f"\nDigits, {epochs} epochs of {steps_per_epoch} steps, SGD momentum 0.9\n")
    print(f"| {'schedule':<58} | val acc | test acc | final lr  | seconds |")
    print(f"|{'-' * 60}|---------|----------|-----------|---------|")
    for name, val, test, lr, seconds in rows:
        val, lr, seconds = _text(val, ".3f"), _text(lr, ".2e"), _text(seconds, ".1f")
        print(f"| {name:<58} | {val:>7} | {test:8.3f} | {lr:>9} | {seconds:>7} |")
    _plot(runs, epochs * steps_per_epoch, steps_per_epoch, args.output)


def _text(value, spec):
    return "-" if value is None else format(value, spec)


def _ensemble_row(paths, learning_rate, x_test, y_test):
    """Averages the snapshots' predictions (Huang et al.'s snapshot ensemble)."""
    probabilities = 0
    for path in paths:
        model = build_model(learning_rate)
        model.load_weights(path)
        probabilities = probabilities + model.predict(x_test, verbose=0)
    accuracy = float(np.mean(np.argmax(probabilities, axis=1) == y_test))
    return (f"  ensemble of its {len(paths)} snapshots", None, accuracy, None, None)


def _plot(runs, steps, steps_per_epoch, output):
    try:
        figure = None
        for name, learning_rate, extra in runs:
            schedule = learning_rate
            for callback in extra:
                if isinstance(callback, callbacks.LearningRateScheduler):
                    schedule = callback.schedule
            ax = figure.axes[0] if figure else None
            figure = keras_hpt.plot_schedule(schedule, steps, ax=ax, label=name.split(" (")[0],
                                             steps_per_epoch=steps_per_epoch)
    except ImportError as error:
        print(f"\n(no plot: {error})")
        return
    path = os.path.join(output, "schedules.png")
    figure.savefig(path, dpi=120)
    print(f"\nschedule plot: {path}")


if __name__ == "__main__":
    main()
