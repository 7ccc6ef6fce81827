"""Write your own search space: subclass `keras_hpt.hypermodels.HyperModel`, then report it.

The model is a small residual MLP for the digits data, built from the
`dense_stack` block with its own hyperparameters (a skip connection or not,
label smoothing); `self.compile` adds the tuned optimizer, learning rate and
batch size. `BayesianOptimization` searches it, `SearchProgress` prints a
line per trial, and `keras_hpt.reporting` writes the trials and the plots.

Run:
    python examples/custom_hypermodel.py            # about a minute on 2 CPU cores
    python examples/custom_hypermodel.py --quick    # a few seconds, for smoke tests
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from keras_hpt import hypermodels, reporting, tuners  # noqa: E402


class ResidualMLP(hypermodels.HyperModel):
    """A dense stack with an optional skip connection around it."""

    def build(self, hp):
        inputs = keras.Input((64,))
        x = keras.layers.Dense(hp.Choice("width", [32, 64, 128]), activation="relu")(inputs)
        stacked = hypermodels.dense_stack(hp, x, num_layers=(1, 2), units=(16, 128),
                                          dropout=(0.0, 0.3))
        if hp.Boolean("skip"):
            stacked = keras.layers.Concatenate()([x, stacked])
        outputs = keras.layers.Dense(10, activation="softmax")(stacked)
        loss = keras.losses.CategoricalCrossentropy(
            label_smoothing=hp.Float("label_smoothing", 0.0, 0.2))
        return self.compile(hp, keras.Model(inputs, outputs), loss=loss, metrics=["accuracy"])

    def fit(self, hp, model, x, y, validation_data=None, **kwargs):
        # One-hot labels for the label-smoothed loss, done here so the data stays as given.
        y = keras.utils.to_categorical(y, 10)
        x_val, y_val = validation_data
        validation_data = (x_val, keras.utils.to_categorical(y_val, 10))
        return super().fit(hp, model, x, y, validation_data=validation_data, **kwargs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=8, help="epochs per trial")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="keras_hpt_output/custom_hypermodel")
    parser.add_argument("--quick", action="store_true", help="3 trials of 1 epoch")
    args = parser.parse_args(argv)
    trials, epochs = (3, 1) if args.quick else (args.trials, args.epochs)
    keras.utils.set_random_seed(args.seed)
    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(
        (x / 16.0).astype("float32"), y, test_size=0.25, stratify=y, random_state=args.seed)

    hypermodel = ResidualMLP(optimizers="adam", learning_rate=(1e-4, 1e-2), batch_size=[32, 64])
    tuner = tuners.BayesianOptimization(hypermodel, "val_accuracy", max_trials=trials,
                                        num_initial_points=3, seed=args.seed, overwrite=True,
                                        directory=args.output, project_name="search")
    reporting.SearchProgress().attach(tuner)
    tuner.search(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, verbose=0)

    report = os.path.join(args.output, "report")
    os.makedirs(report, exist_ok=True)
    reporting.write_trials(tuner, os.path.join(report, "trials.csv"))
    reporting.plot_history(tuner, path=os.path.join(report, "history.png"))
    reporting.plot_hyperparameters(tuner, path=os.path.join(report, "hyperparameters.png"))
    best = tuner.oracle.get_best_trials(1)[0]
    print(f"\nBest of {trials} trials of {epochs} epochs:\n")
    print("| hyperparameter | value |\n|---|---|")
    for name, value in best.hyperparameters.values.items():
        print(f"| {name} | {value} |")
    print(f"| **val_accuracy** | **{best.score:.4f}** |")
    print(f"\nTrials and plots in {report}")


if __name__ == "__main__":
    main()
