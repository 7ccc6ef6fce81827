"""The parts by hand: search an MLP for the digits data with keras-tuner, then retrain it.

What `keras_hpt.tune` (and `keras-hpt demo`) automates, written out step by
step with the package's parts, for a user who wants to change one of them:
a learning-rate range test on a typical model, keras_hpt's
`BayesianOptimization` (a drop-in for keras-tuner's) over `MLPHyperModel`'s
search space (with the learning-rate range centred on what the range test
found), then the best configuration retrained with a
one-cycle schedule peaking at its tuned rate, `EarlyStopping` and a
`ValidationMonitor`, and evaluated on a held-out test split.

Run:
    python examples/search_digits.py            # about two minutes on 2 CPU cores
    python examples/search_digits.py --quick    # a few seconds, for smoke tests
"""

import argparse
import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import keras_tuner  # noqa: E402

import keras_hpt  # noqa: E402
from keras_hpt import callbacks, hypermodels, schedules  # noqa: E402
from keras_hpt.demo import load_digits_splits  # noqa: E402


def range_test(train, seed, output):
    """lr_find on a typical member of the search space: where should the rates lie?"""
    hypermodel = hypermodels.MLPHyperModel((64,), 10, num_layers=2, units=64, dropout=0.1,
                                           activation="relu", batch_norm=False,
                                           optimizers="adam", batch_size=32)
    model = hypermodel.build(keras_tuner.HyperParameters())
    result = keras_hpt.lr_find(model, *train, batch_size=32, seed=seed)
    try:
        result.plot().savefig(os.path.join(output, "lr_find.png"), dpi=120)
    except ImportError:
        pass
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=15, help="epochs per trial")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", default="keras_hpt_output/search_digits")
    parser.add_argument("--quick", action="store_true", help="2 trials of 2 epochs")
    args = parser.parse_args(argv)
    trials, epochs = (2, 2) if args.quick else (args.trials, args.epochs)
    os.makedirs(args.output, exist_ok=True)
    keras.utils.set_random_seed(args.seed)
    train, val, test = load_digits_splits(args.seed)

    found = range_test(train, args.seed, args.output)
    centre = found.suggested_lr or 1e-3
    print(f"lr_find: suggested {centre:.2g} ({found.default_rule}, {found.steps} steps)")

    hypermodel = hypermodels.MLPHyperModel((64,), 10, optimizers=["adam", "adamw"],
                                           learning_rate=(centre / 10, min(centre * 3, 1.0)))
    tuner = keras_hpt.tuners.BayesianOptimization(
        hypermodel, objective=hypermodel.objective, max_trials=trials, seed=args.seed,
        overwrite=True, directory=args.output, project_name="search")
    tuner.search(*train, validation_data=val, epochs=epochs, verbose=0)
    best = tuner.get_best_hyperparameters(1)[0]
    print(f"best of {trials} trials: val_accuracy "
          f"{tuner.oracle.get_best_trials(1)[0].score:.4f} with {best.values}")

    model = hypermodel.build(best)
    steps_per_epoch = math.ceil(len(train[0]) / best["batch_size"])
    one_cycle = schedules.OneCycle(best["learning_rate"], total_steps=epochs * 2 * steps_per_epoch)
    history = model.fit(
        *train, batch_size=best["batch_size"], epochs=epochs * 2, verbose=0,
        callbacks=[
            callbacks.LearningRateScheduler(one_cycle, unit="step"),
            callbacks.ValidationMonitor(val, every_n_steps=steps_per_epoch // 2 or 1,
                                        terminate_on_nan=True),
            callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True),
        ],
    )
    _, accuracy = model.evaluate(*test, verbose=0)
    print(f"\n| step | value |\n|---|---|\n| range-test suggestion | {centre:.3g} |"
          f"\n| tuned learning rate | {best['learning_rate']:.3g} |"
          f"\n| retraining epochs | {len(history.epoch)} |"
          f"\n| test accuracy | {accuracy:.4f} |")


if __name__ == "__main__":
    main()
