"""Wall time of `fit` with keras_hpt's monitoring callbacks against Keras' own, and NaN latency.

The same MLP as in `schedules.py` is trained on the same data (sklearn's
bundled `load_digits`, standardised, 56 batches of 32 reshuffled every epoch;
Adam), and validated, where a variant validates, on 448 of those samples given
as arrays (a timing benchmark: what the validation scores does not matter).

Overhead. Two pairs, each keras_hpt callback against the Keras way of doing
the same, with a target of at most 1.03 times the Keras time:

- `fit(validation_data=...)` with `keras.callbacks.EarlyStopping` against the
  same with `keras_hpt.callbacks.EarlyStopping` (`monitor="val_loss"`,
  patience too large to ever stop);
- `fit(validation_data=...)`, which validates at the end of every epoch,
  against `fit()` with `keras_hpt.callbacks.ValidationMonitor(every_n_steps=
  steps_per_epoch)`, which validates at the same steps.

For information, against the same `fit(validation_data=...)`: an identical
A/A control, whose ratio shows the noise level; ValidationMonitor validating
4 times per epoch; ValidationMonitor given its validation data as a
`tf.data.Dataset` built once (whether array input costs it extra); `fit()`
without validation; and, against that, `fit()` with a callback whose
`on_train_batch_end` does nothing (what any per-step hook costs).

All variants are timed together by `_results.time_interleaved`: each trains
in one `fit` call for one warm-up epoch and `--epochs` timed epochs, taking
turns epoch by epoch in a rotated and alternated order, repeated `--runs` times. The table
gives each variant's median milliseconds per epoch, the ratio of medians, and
the paired ratio (median over (run, epoch) of the variant's epoch time over
its reference's same epoch), on which the target is judged.

NaN latency. A layer adds NaN to its output from a given training step on, and
each NaN-stopping callback trains the model until it stops: the table gives
the step at which training stopped (the optimizer's step count) and how many
steps after the first NaN step that is.

Run from the repository root:

    python benchmarks/callbacks.py             # full run, updates benchmarks/RESULTS.md
    python benchmarks/callbacks.py --quick     # smoke test: prints the tables only
"""

import contextlib
import os
import sys
from dataclasses import dataclass
from typing import Callable, List, NamedTuple, Optional, Tuple

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from _results import (  # noqa: E402
    Times,
    Trainee,
    argument_parser,
    digits,
    interleaved_method,
    load_average,
    markdown_table,
    median_ms,
    paired_ratio,
    parse_args,
    publish,
    section,
    time_interleaved,
    training_dataset,
    verdict,
)

import keras_hpt  # noqa: E402

TARGET_RATIO = 1.03
LEARNING_RATE = 1e-3
BATCH_SIZE = 32
VALIDATION_SAMPLES = 448
PATIENCE = 1000  # more epochs than any run: the early-stopping callbacks never stop it
NAN_EPOCHS = 6
SEED = 0

KERAS_EARLY_STOPPING = "keras.callbacks.EarlyStopping, fit(validation_data)"
OUR_EARLY_STOPPING = "keras_hpt EarlyStopping, fit(validation_data)"
KERAS_VALIDATION = "fit(validation_data)"
CONTROL = "fit(validation_data), A/A control"
MONITOR = "ValidationMonitor, every_n_steps=steps_per_epoch"
MONITOR_X4 = "ValidationMonitor, every_n_steps=steps_per_epoch // 4"
MONITOR_DATASET = "ValidationMonitor, every_n_steps=steps_per_epoch, tf.data validation"
PLAIN = "fit() without validation"
BATCH_HOOK = "fit() + a no-op on_train_batch_end callback"


class Validation(NamedTuple):
    """The validation data, as arrays and as a `tf.data.Dataset` of the same batches."""

    arrays: Tuple[np.ndarray, np.ndarray]
    dataset: tf.data.Dataset
    steps_per_epoch: int


@dataclass(frozen=True)
class Variant:
    """One way of training: what `fit` gets, and the variant its ratio is taken against.

    `setup` builds the callbacks and the extra `fit` arguments; `has_target`
    marks the keras_hpt callbacks the 1.03 target applies to.
    """

    name: str
    reference: str
    setup: Callable[[Validation], Tuple[list, dict]]
    has_target: bool = False


class BatchHook(keras.callbacks.Callback):
    """Does nothing at every step; its mere `on_train_batch_end` makes Keras call it."""

    def on_train_batch_end(self, batch, logs=None):
        pass


def _keras_validation(validation: Validation) -> Tuple[list, dict]:
    fit_kwargs = dict(validation_data=validation.arrays, validation_batch_size=BATCH_SIZE)
    return [], fit_kwargs


def _with_keras_validation(make_callback: Callable[[], keras.callbacks.Callback]):
    return lambda validation: ([make_callback()], _keras_validation(validation)[1])


def _monitor(every: Callable[[int], int], as_dataset: bool = False):
    def setup(validation: Validation) -> Tuple[list, dict]:
        data = validation.dataset if as_dataset else validation.arrays
        monitor = keras_hpt.callbacks.ValidationMonitor(
            data,
            every_n_steps=every(validation.steps_per_epoch),
            batch_size=None if as_dataset else BATCH_SIZE,
        )
        return [monitor], {}

    return setup


def _plain(validation: Validation) -> Tuple[list, dict]:
    return [], {}


VARIANTS = [
    Variant(
        KERAS_EARLY_STOPPING,
        KERAS_EARLY_STOPPING,
        _with_keras_validation(
            lambda: keras.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE)
        ),
    ),
    Variant(
        OUR_EARLY_STOPPING,
        KERAS_EARLY_STOPPING,
        _with_keras_validation(
            lambda: keras_hpt.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE)
        ),
        has_target=True,
    ),
    Variant(KERAS_VALIDATION, KERAS_VALIDATION, _keras_validation),
    Variant(CONTROL, KERAS_VALIDATION, _keras_validation),
    Variant(MONITOR, KERAS_VALIDATION, _monitor(lambda steps: steps), has_target=True),
    Variant(MONITOR_X4, KERAS_VALIDATION, _monitor(lambda steps: steps // 4)),
    Variant(MONITOR_DATASET, KERAS_VALIDATION, _monitor(lambda steps: steps, as_dataset=True)),
    Variant(PLAIN, KERAS_VALIDATION, _plain),
    Variant(BATCH_HOOK, PLAIN, lambda validation: ([BatchHook()], {})),
]


class NaNFromStep(keras.layers.Layer):
    """The identity until training step `step` (counted from 1), then adds NaN to its input.

    A non-trainable weight counts the training calls. NaN is added, not
    multiplied, so gradients stay finite before `step`.
    """

    def __init__(self, step: int, **kwargs):
        super().__init__(**kwargs)
        self.step = step

    def build(self, input_shape):
        self.calls = self.add_weight(shape=(), initializer="zeros", trainable=False, name="calls")

    def call(self, inputs, training=False):
        if training:
            self.calls.assign_add(1.0)
        return inputs + keras.ops.where(self.calls >= self.step, float("nan"), 0.0)


def build_model(steps_per_execution: int = 1, nan_step: Optional[int] = None) -> keras.Model:
    """A fresh MLP compiled with Adam, seeded: every variant starts alike.

    With `nan_step`, a `NaNFromStep` layer before the output makes training
    NaN from that step on.
    """
    keras.utils.set_random_seed(SEED)
    layers = [
        keras.Input((64,)),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(64, activation="relu"),
    ]
    if nan_step is not None:
        layers.append(NaNFromStep(nan_step))
    model = keras.Sequential([*layers, keras.layers.Dense(10, activation="softmax")])
    model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
        steps_per_execution=steps_per_execution,
    )
    return model


def validation_data(x: np.ndarray, y: np.ndarray) -> Validation:
    """The first `VALIDATION_SAMPLES` samples, as arrays and as a dataset built once."""
    arrays = (x[:VALIDATION_SAMPLES], y[:VALIDATION_SAMPLES])
    dataset = tf.data.Dataset.from_tensor_slices(arrays).batch(BATCH_SIZE)
    return Validation(arrays, dataset, len(x) // BATCH_SIZE)


def trainees(validation: Validation) -> List[Trainee]:
    """Every variant's model, seeded alike, with its callbacks and `fit` arguments."""
    built = []
    for variant in VARIANTS:
        callbacks, fit_kwargs = variant.setup(validation)
        built.append(Trainee(variant.name, build_model(), callbacks, fit_kwargs))
    return built


def run_overhead(data: tuple, runs: int, epochs: int) -> Times:
    """Seconds of every timed epoch of every variant, the variants trained by turns."""
    x, y = data
    validation = validation_data(x, y)
    fit_kwargs = dict(x=training_dataset(x, y, BATCH_SIZE, SEED), shuffle=False, verbose=0)
    return time_interleaved(lambda: trainees(validation), fit_kwargs, runs, epochs)


def summarise(times: Times) -> List[dict]:
    """One row per variant: median ms per epoch, both ratios to its reference, verdict."""
    rows = []
    for variant in VARIANTS:
        median = median_ms(times, variant.name)
        paired = paired_ratio(times, variant.name, variant.reference)
        rows.append(
            {
                "name": variant.name,
                "reference": variant.reference,
                "median_ms": median,
                "ratio": median / median_ms(times, variant.reference),
                "paired": paired,
                "verdict": verdict(paired, TARGET_RATIO) if variant.has_target else "-",
            }
        )
    return rows


def overhead_table(rows: List[dict]) -> str:
    """The overhead rows as a markdown table, PASS/FAIL only where the target applies."""
    return markdown_table(
        [
            "variant",
            "against",
            "median ms/epoch",
            "ratio of medians",
            "paired ratio",
            f"paired <= {TARGET_RATIO:.2f}x",
        ],
        [
            [
                row["name"],
                "-" if row["reference"] == row["name"] else row["reference"],
                f"{row['median_ms']:.1f}",
                f"{row['ratio']:.3f}",
                f"{row['paired']:.3f}",
                row["verdict"],
            ]
            for row in rows
        ],
        "llrrrc",
    )


NAN_MONITOR = "keras_hpt ValidationMonitor(every_n_steps=steps_per_epoch)"
TERMINATE_ON_NAN = "keras.callbacks.TerminateOnNaN()"
OUR_LOSS_STOPPING = 'keras_hpt EarlyStopping(monitor="loss")'
KERAS_LOSS_STOPPING = 'keras.callbacks.EarlyStopping(monitor="loss", patience=3)'


def _epoch_monitor(validation: Validation) -> keras.callbacks.Callback:
    return keras_hpt.callbacks.ValidationMonitor(
        validation.arrays, every_n_steps=validation.steps_per_epoch
    )


# NaN latency: (name, steps_per_execution, callback factory given the validation data).
NAN_CASES = [
    (NAN_MONITOR, 1, _epoch_monitor),
    (NAN_MONITOR, 4, _epoch_monitor),
    (TERMINATE_ON_NAN, 1, lambda validation: keras.callbacks.TerminateOnNaN()),
    (TERMINATE_ON_NAN, 4, lambda validation: keras.callbacks.TerminateOnNaN()),
    (
        OUR_LOSS_STOPPING,
        1,
        lambda validation: keras_hpt.callbacks.EarlyStopping(monitor="loss", patience=PATIENCE),
    ),
    (
        KERAS_LOSS_STOPPING,
        1,
        lambda validation: keras.callbacks.EarlyStopping(monitor="loss", patience=3),
    ),
]


def first_nan_step(steps_per_epoch: int) -> int:
    """Mid-way through the second epoch, and not at the end of a 4-step block."""
    return steps_per_epoch + steps_per_epoch // 2 + 2


def nan_latency(data: tuple) -> List[dict]:
    """For each NaN case: the step training stopped at, from the optimizer's step count."""
    x, y = data
    validation = validation_data(x, y)
    dataset = training_dataset(x, y, BATCH_SIZE, SEED)
    nan_step = first_nan_step(validation.steps_per_epoch)
    rows = []
    for name, steps_per_execution, make_callback in NAN_CASES:
        keras.backend.clear_session()
        model = build_model(steps_per_execution, nan_step)
        # TerminateOnNaN prints its verdict; stdout is kept for the tables.
        with contextlib.redirect_stdout(sys.stderr):
            model.fit(
                dataset,
                epochs=NAN_EPOCHS,
                callbacks=[make_callback(validation)],
                shuffle=False,
                verbose=0,
            )
        stopped = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
        rows.append(
            {
                "name": name,
                "steps_per_execution": steps_per_execution,
                "nan_step": nan_step,
                "stopped": stopped if model.stop_training else None,
                "steps": stopped,
            }
        )
    return rows


def latency_table(rows: List[dict]) -> str:
    """The NaN latency rows as a markdown table."""
    cells = []
    for row in rows:
        if row["stopped"] is None:
            stopped, latency = f"did not stop ({row['steps']})", "-"
        else:
            stopped, latency = str(row["stopped"]), str(row["stopped"] - row["nan_step"])
        cells.append([row["name"], row["steps_per_execution"], row["nan_step"], stopped, latency])
    return markdown_table(
        ["callback", "steps_per_execution", "first NaN step", "stopped at step", "latency (steps)"],
        cells,
        "lrrrr",
    )


def _row(rows: List[dict], name: str, steps_per_execution: Optional[int] = None) -> dict:
    return next(
        row
        for row in rows
        if row["name"] == name
        and (steps_per_execution is None or row["steps_per_execution"] == steps_per_execution)
    )


def _judged(row: dict) -> str:
    within = "within" if row["verdict"] == "PASS" else "over"
    return f"{row['paired']:.3f}x ({within} the {TARGET_RATIO:.2f}x target)"


def _costs(row: dict, reference: dict) -> str:
    """`row`'s paired ratio and its difference of medians to `reference`, in words."""
    difference = row["median_ms"] - reference["median_ms"]
    if abs(row["paired"] - 1.0) <= TARGET_RATIO - 1.0:
        return f"costs nothing measurable ({row['paired']:.3f}x, {difference:+.1f} ms/epoch)"
    return f"costs {row['paired']:.3f}x ({difference:+.1f} ms/epoch)"


def _dataset_comparison(monitor: dict, dataset: dict) -> str:
    """Whether array validation data costs ValidationMonitor more than a dataset built once."""
    if monitor["paired"] - dataset["paired"] > TARGET_RATIO - 1.0:
        return (
            "Given the same validation data as a `tf.data.Dataset` built once, it costs "
            f"{dataset['paired']:.3f}x: with arrays, every `evaluate` call builds Keras' array "
            "input pipeline anew, where `fit` builds it once."
        )
    return (
        "Given as a `tf.data.Dataset` built once, the same validation data costs it about the "
        f"same ({dataset['paired']:.3f}x), so arrays add no input-pipeline cost of their own."
    )


def overhead_interpretation(rows: List[dict]) -> str:
    """What the overhead table says, derived from its numbers."""
    ours, monitor = _row(rows, OUR_EARLY_STOPPING), _row(rows, MONITOR)
    reference, dataset = _row(rows, KERAS_VALIDATION), _row(rows, MONITOR_DATASET)
    hook, plain = _row(rows, BATCH_HOOK), _row(rows, PLAIN)
    x4, control = _row(rows, MONITOR_X4), _row(rows, CONTROL)
    return (
        f"keras_hpt's EarlyStopping costs {_judged(ours)} of Keras' EarlyStopping. "
        f"ValidationMonitor validating once per epoch costs {_judged(monitor)} of "
        f"`fit(validation_data)`: by the medians, validation adds "
        f"{monitor['median_ms'] - plain['median_ms']:.1f} ms per epoch through "
        f"ValidationMonitor and {reference['median_ms'] - plain['median_ms']:.1f} ms through "
        f"`fit`'s own. {_dataset_comparison(monitor, dataset)} "
        f"A callback with an empty `on_train_batch_end`, which makes Keras hand it every "
        f"step's logs synchronously, {_costs(hook, plain)} against a plain `fit`. Validating "
        f"4 times per epoch costs {x4['paired']:.3f}x. The A/A control reads "
        f"{control['paired']:.3f}x."
    )


def latency_interpretation(rows: List[dict]) -> str:
    """What the NaN latency table says, derived from its numbers."""

    def after(name: str, steps_per_execution: int = 1) -> str:
        row = _row(rows, name, steps_per_execution)
        if row["stopped"] is None:
            return f"never (it trained all {row['steps']} steps)"
        return f"{row['stopped'] - row['nan_step']} steps after"

    ours = (after(NAN_MONITOR), after(NAN_MONITOR, 4))
    keras_own = (after(TERMINATE_ON_NAN), after(TERMINATE_ON_NAN, 4))
    same = "the same as" if ours == keras_own else "against"
    return (
        f"ValidationMonitor stops training {ours[0]} the first NaN step ({ours[1]} with "
        f"steps_per_execution=4, at the end of the 4-step block), {same} Keras' "
        f"TerminateOnNaN ({keras_own[0]}; {keras_own[1]}). keras_hpt's "
        f"EarlyStopping(monitor=\"loss\") looks at epoch logs and stops at the end of that "
        f"epoch, {after(OUR_LOSS_STOPPING)}; Keras' EarlyStopping does not treat NaN "
        f"specially and stops only when its patience of 3 epochs runs out, "
        f"{after(KERAS_LOSS_STOPPING)}."
    )


def callbacks_section(
    rows: List[dict], latencies: List[dict], args, steps_per_epoch: int, load
) -> str:
    """The `## callbacks.py` section of RESULTS.md."""
    return section(
        __file__,
        f"Wall time per epoch of `fit` for an MLP on `load_digits` (Adam, batch {BATCH_SIZE}, "
        f"{steps_per_epoch} steps/epoch, validation on {VALIDATION_SAMPLES} samples given as "
        "arrays) with keras_hpt's EarlyStopping and ValidationMonitor against the Keras "
        "alternative, and how many steps after a NaN each callback stops training.",
        args.command,
        load,
        f"{interleaved_method(args.runs, args.epochs, 'the reference')}. "
        f"NaN latency: one `fit` of up to {NAN_EPOCHS} epochs per callback, the model adding "
        "NaN to a hidden layer's output from the given step on; stopped at = the optimizer's "
        "step count after `fit`",
        [
            overhead_table(rows),
            overhead_interpretation(rows),
            latency_table(latencies),
            latency_interpretation(latencies),
        ],
    )


def main(argv: Optional[List[str]] = None):
    args = parse_args(argument_parser(__doc__, runs=5, epochs=20), argv)
    data = digits(BATCH_SIZE)
    load_before = load_average()
    rows = summarise(run_overhead(data, args.runs, args.epochs))
    latencies = nan_latency(data)
    load = (load_before, load_average())
    steps_per_epoch = len(data[0]) // BATCH_SIZE
    publish(callbacks_section(rows, latencies, args, steps_per_epoch, load), args.output)


if __name__ == "__main__":
    main()
