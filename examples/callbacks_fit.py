"""Add keras_hpt's callbacks to your own `model.fit`: early stopping, step validation, a schedule.

No search here: one model on the digits data, trained with
`LearningRateScheduler` driving a warm-up + cosine schedule per step,
`ValidationMonitor` validating every half epoch (and stopping at the first
NaN), `EarlyStopping` with a relative `min_delta` restoring the best weights,
and `LearningRateLogger` putting the rate into the logs. It prints why and
when training stopped, and the test accuracy of the restored weights.

Run:
    python examples/callbacks_fit.py            # about 20 seconds on 2 CPU cores
    python examples/callbacks_fit.py --quick    # a few seconds, for smoke tests
"""

import argparse
import json
import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from keras_hpt import callbacks, schedules  # noqa: E402

BATCH_SIZE = 32


def load_data(seed):
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y,
                                                        random_state=seed)
    x_train, x_val, y_train, y_val = train_test_split(x_train, y_train, test_size=0.2,
                                                      stratify=y_train, random_state=seed)
    return (x_train, y_train), (x_val, y_val), (x_test, y_test)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="keras_hpt_output/callbacks_fit",
                        help="folder for the training log")
    parser.add_argument("--quick", action="store_true", help="4 epochs, for smoke tests")
    args = parser.parse_args(argv)
    epochs = 4 if args.quick else args.epochs
    os.makedirs(args.output, exist_ok=True)
    keras.utils.set_random_seed(args.seed)
    train, val, test = load_data(args.seed)
    steps_per_epoch = math.ceil(len(train[0]) / BATCH_SIZE)

    model = keras.Sequential([
        keras.Input((64,)),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(keras.optimizers.SGD(0.05, momentum=0.9),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    schedule = schedules.Warmup(
        schedules.CosineDecay(0.05, decay_steps=(epochs - 1) * steps_per_epoch),
        warmup_steps=steps_per_epoch)
    monitor = callbacks.ValidationMonitor(val, every_n_steps=max(steps_per_epoch // 2, 1),
                                          early_stopping_rounds=6 * steps_per_epoch,
                                          restore_best_weights=True)
    stopper = callbacks.EarlyStopping(monitor="val_loss", patience=5, min_delta=0.01,
                                      min_delta_mode="rel", restore_best_weights=True)
    history = model.fit(*train, batch_size=BATCH_SIZE, epochs=epochs, verbose=0,
                        validation_data=val, callbacks=[
                            callbacks.LearningRateScheduler(schedule, unit="step"),
                            callbacks.LearningRateLogger(), monitor, stopper])
    _, accuracy = model.evaluate(*test, verbose=0)
    with open(os.path.join(args.output, "history.json"), "w") as file:
        json.dump({k: [float(v) for v in vs] for k, vs in history.history.items()}, file)

    print(f"\nDigits, up to {epochs} epochs of {steps_per_epoch} steps, SGD momentum 0.9\n")
    print("| what | value |\n|---|---|")
    print(f"| epochs trained | {len(history.epoch)} |")
    print(f"| EarlyStopping stop reason | {stopper.stop_reason or 'ran to the end'} |")
    print(f"| ValidationMonitor evaluations | {len(monitor.evaluations)} |")
    print(f"| ValidationMonitor best step | {monitor.best_step} |")
    print(f"| ValidationMonitor stop reason | {monitor.stop_reason or 'ran to the end'} |")
    print(f"| last learning rate | {history.history['learning_rate'][-1]:.3g} |")
    print(f"| test accuracy | {accuracy:.4f} |")


if __name__ == "__main__":
    main()
