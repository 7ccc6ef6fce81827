"""Training time per epoch with each keras_hpt schedule, against a constant learning rate.

The same MLP is trained on the same data (sklearn's bundled `load_digits`,
standardised, cut to 56 whole batches of 32) with Adam and one variant of
its learning rate each time:

- a constant float learning rate: the baseline every ratio is taken against,
  and the same again as an A/A control, whose ratio shows the noise level;
- each keras_hpt schedule held by the optimizer, which evaluates it inside the
  compiled train step once per step: these should cost nothing measurable,
  and the target is a median at most 1.03 times the baseline's;
- `keras_hpt.callbacks.LearningRateScheduler` setting a float rate from Python,
  per step and per epoch;
- Keras' own `keras.optimizers.schedules.CosineDecay`, the real alternative.

Each variant compiles a fresh model and trains for one warm-up epoch (tracing
and graph building, not timed) and then `--epochs` timed epochs, of which a
run keeps the median epoch time. The whole set is repeated `--runs` times,
with the order rotated every run so machine noise hits all variants alike.
The table gives the median and the fastest of the runs in milliseconds per
epoch, and the ratio of the median to the baseline's median.

Run from the repository root:

    python benchmarks/schedules.py             # full run, updates benchmarks/RESULTS.md
    python benchmarks/schedules.py --quick     # smoke test: prints the table only
"""

import argparse
import datetime
import os
import platform
import re
import shlex
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from keras_hpt import schedules  # noqa: E402
from keras_hpt.callbacks import LearningRateScheduler  # noqa: E402

SECTION = "## schedules.py"
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "RESULTS.md"
BASELINE = "constant (float lr)"
CONTROL = "constant (float lr), A/A control"
TARGET_RATIO = 1.03
LEARNING_RATE = 1e-3
BATCH_SIZE = 32
SEED = 0


@dataclass(frozen=True)
class RunLength:
    """How long one training run is, in the units the schedules are sized in."""

    steps_per_epoch: int
    epochs: int

    @property
    def steps(self) -> int:
        return self.steps_per_epoch * self.epochs


@dataclass(frozen=True)
class Variant:
    """One way of giving the optimizer its learning rate.

    `learning_rate` builds what the optimizer is constructed with and
    `callbacks` the callbacks `fit` gets; `has_target` marks the keras_hpt
    schedules held by the optimizer, which the 1.03 target applies to.
    """

    name: str
    learning_rate: Callable[[RunLength], object]
    callbacks: Callable[[RunLength], list] = lambda length: []
    has_target: bool = False


def _cosine(length: RunLength) -> schedules.CosineDecay:
    return schedules.CosineDecay(LEARNING_RATE, decay_steps=length.steps)


def _warmup_cosine(length: RunLength) -> schedules.Warmup:
    warmup_steps = max(1, length.steps // 10)
    cosine = schedules.CosineDecay(LEARNING_RATE, length.steps - warmup_steps)
    return schedules.Warmup(cosine, warmup_steps=warmup_steps)


def _per_step_scheduler(length: RunLength) -> list:
    return [LearningRateScheduler(_cosine(length), unit="step")]


def _per_epoch_scheduler(length: RunLength) -> list:
    cosine = schedules.CosineDecay(LEARNING_RATE, decay_steps=length.epochs)
    return [LearningRateScheduler(cosine, unit="epoch")]


def _held(name: str, make: Callable[[RunLength], object]) -> Variant:
    return Variant(f"{name} (optimizer)", make, has_target=True)


def _constant(length: RunLength) -> float:
    return LEARNING_RATE


VARIANTS = [
    Variant(BASELINE, _constant),
    Variant(CONTROL, _constant),
    _held(
        "StepDecay",
        lambda n: schedules.StepDecay(LEARNING_RATE, step_size=n.steps_per_epoch, factor=0.5),
    ),
    _held(
        "ExponentialDecay",
        lambda n: schedules.ExponentialDecay(LEARNING_RATE, n.steps, decay_rate=0.1),
    ),
    _held(
        "TimeBasedDecay",
        lambda n: schedules.TimeBasedDecay(LEARNING_RATE, 1.0, decay_steps=n.steps_per_epoch),
    ),
    _held("CosineDecay", _cosine),
    _held(
        "CosineWarmRestarts",
        lambda n: schedules.CosineWarmRestarts(LEARNING_RATE, n.steps_per_epoch, t_mul=2.0),
    ),
    _held("OneCycle", lambda n: schedules.OneCycle(10 * LEARNING_RATE, total_steps=n.steps)),
    _held("Warmup(CosineDecay)", _warmup_cosine),
    Variant("LearningRateScheduler(CosineDecay), unit=step", _constant, _per_step_scheduler),
    Variant("LearningRateScheduler(CosineDecay), unit=epoch", _constant, _per_epoch_scheduler),
    Variant(
        "keras.optimizers.schedules.CosineDecay (optimizer)",
        lambda n: keras.optimizers.schedules.CosineDecay(LEARNING_RATE, n.steps),
    ),
]


class EpochTimer(keras.callbacks.Callback):
    """Records the wall-clock duration of every epoch, in seconds."""

    def on_train_begin(self, logs=None):
        self.durations = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.durations.append(time.perf_counter() - self._start)


def load_data():
    """`load_digits`, standardised feature by feature, cut to whole batches.

    1792 of the 1797 samples: a partial last batch would be a second input
    shape, which XLA (`--jit-compile`) compiles on its own, sometimes only in
    the first timed epoch.
    """
    x, y = load_digits(return_X_y=True)
    std = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    n = len(x) // BATCH_SIZE * BATCH_SIZE
    return x[:n].astype("float32"), y[:n].astype("int32")


def build_model(learning_rate, jit_compile) -> keras.Model:
    """A fresh, seeded MLP compiled with Adam at `learning_rate`."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(SEED)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        jit_compile=jit_compile,
    )
    return model


def time_variant(variant: Variant, data: tuple, epochs: int, jit_compile) -> float:
    """Median seconds per epoch over `epochs` timed epochs, after one untimed warm-up epoch.

    The epochs run in one `fit` call, so schedules see one continuous run; the
    timer is the first callback and so also counts the others' epoch hooks.
    The median, not the mean, because on a small shared machine some epochs
    lose a core to another process and take far longer, whatever the variant.
    """
    x, y = data
    length = RunLength(len(x) // BATCH_SIZE, epochs + 1)
    model = build_model(variant.learning_rate(length), jit_compile)
    timer = EpochTimer()
    model.fit(
        x,
        y,
        batch_size=BATCH_SIZE,
        epochs=length.epochs,
        callbacks=[timer, *variant.callbacks(length)],
        shuffle=True,
        verbose=0,
    )
    return statistics.median(timer.durations[1:])


def run_benchmark(data: tuple, runs: int, epochs: int, jit_compile) -> Dict[str, List[float]]:
    """Seconds per epoch of every variant in every run, variants rotated each run."""
    times = {variant.name: [] for variant in VARIANTS}
    for run in range(runs):
        shift = run % len(VARIANTS)
        for variant in VARIANTS[shift:] + VARIANTS[:shift]:
            seconds = time_variant(variant, data, epochs, jit_compile)
            times[variant.name].append(seconds)
            print(
                f"run {run + 1}/{runs}  {variant.name:<52} {1000 * seconds:8.1f} ms/epoch",
                file=sys.stderr,
                flush=True,
            )
    return times


def summarise(times: Dict[str, List[float]]) -> List[dict]:
    """One row per variant: median and fastest ms per epoch, ratio to the baseline."""
    baseline = statistics.median(times[BASELINE])
    rows = []
    for variant in VARIANTS:
        median = statistics.median(times[variant.name])
        ratio = median / baseline
        verdict = "-"
        if variant.has_target:
            verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
        rows.append(
            {
                "name": variant.name,
                "median_ms": 1000 * median,
                "min_ms": 1000 * min(times[variant.name]),
                "ratio": ratio,
                "verdict": verdict,
            }
        )
    return rows


def markdown_table(rows: List[dict]) -> str:
    """The rows as a markdown table, PASS/FAIL only where the target applies."""
    lines = [
        f"| variant | median ms/epoch | min ms/epoch | ratio to constant | "
        f"<= {TARGET_RATIO:.2f}x |",
        "|---|---:|---:|---:|:---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['name']} | {row['median_ms']:.1f} | {row['min_ms']:.1f} | "
            f"{row['ratio']:.3f} | {row['verdict']} |"
        )
    return "\n".join(lines)


def interpretation(rows: List[dict]) -> str:
    """A few sentences on what the table says, derived from the table itself."""
    held = [row for row in rows if row["verdict"] != "-"]
    worst = max(held, key=lambda row: row["ratio"])
    failed = [row["name"] for row in held if row["verdict"] == "FAIL"]
    per_step = next(row for row in rows if row["name"].endswith("unit=step"))
    control = next(row for row in rows if row["name"] == CONTROL)
    if failed:
        verdict = (
            f"{len(failed)} of {len(held)} keras_hpt schedules held by the optimizer miss the "
            f"{TARGET_RATIO:.2f}x target ({', '.join(failed)})"
        )
    else:
        verdict = (
            f"every keras_hpt schedule held by the optimizer is within the "
            f"{TARGET_RATIO:.2f}x target"
        )
    noise = abs(control["ratio"] - 1.0)
    if noise > TARGET_RATIO - 1.0:
        reliability = (
            f"The A/A control, an identical constant-rate model, reads {control['ratio']:.3f}x: "
            "this run's noise is larger than the target, so its verdicts are not evidence "
            "either way; rerun on a quiet machine."
        )
    else:
        reliability = (
            f"The A/A control, an identical constant-rate model, reads {control['ratio']:.3f}x."
        )
    return (
        f"{verdict[0].upper()}{verdict[1:]}; the slowest is {worst['name']} at "
        f"{worst['ratio']:.3f}x. Setting the rate from Python every step "
        f"(LearningRateScheduler, unit=step) costs {per_step['ratio']:.3f}x. {reliability}"
    )


def machine() -> str:
    """Platform, CPU count and the versions that decide the timings."""
    return (
        f"{platform.platform()}, {os.cpu_count()} CPUs ({platform.processor() or 'unknown'}), "
        f"Python {platform.python_version()}, TensorFlow {tf.__version__}, "
        f"Keras {keras.__version__} ({keras.backend.backend()} backend)"
    )


def section(
    rows: List[dict], args: argparse.Namespace, steps_per_epoch: int, load: Tuple[float, float]
) -> str:
    """The `## schedules.py` section of RESULTS.md, ending in a newline.

    `load` is the 1-minute load average before and after the runs: other
    work on the machine is the main source of noise.
    """
    return "\n".join(
        [
            SECTION,
            "",
            f"Training time per epoch of an MLP on `load_digits` (Adam, batch {BATCH_SIZE}, "
            f"{steps_per_epoch} steps/epoch) with each learning-rate schedule, against a "
            "constant float learning rate.",
            "",
            f"- Command: `{args.command}`",
            f"- Date: {datetime.date.today().isoformat()}",
            f"- Machine: {machine()}; load average {load[0]:.2f} before, {load[1]:.2f} after",
            f"- Method: {args.runs} runs x {args.epochs} timed epochs after 1 warm-up epoch; "
            "a run's time is its median epoch; variants rotated each run; "
            f"jit_compile={args.jit_compile}",
            "",
            markdown_table(rows),
            "",
            interpretation(rows),
            "",
        ]
    )


def replace_section(text: str, new_section: str) -> str:
    """`text` with its `## schedules.py` section replaced (or appended)."""
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        return pattern.sub(lambda match: new_section + "\n", text, count=1).rstrip("\n") + "\n"
    return text.rstrip("\n") + "\n\n" + new_section


def write_results(path: Path, new_section: str):
    """Puts `new_section` into the results file, creating the file if needed."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(replace_section(text, new_section))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, help="repetitions of every variant (default 5)")
    parser.add_argument("--epochs", type=int, help="timed epochs per run (default 10)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 2 runs of 2 epochs; writes RESULTS.md only with --output",
    )
    parser.add_argument(
        "--output", type=Path, help=f"results file to update (default {DEFAULT_OUTPUT})"
    )
    parser.add_argument(
        "--jit-compile",
        action="store_true",
        help="compile the train step with XLA (default: Keras' 'auto', no XLA on CPU)",
    )
    args = parser.parse_args(argv)
    args.command = shlex.join(["python", sys.argv[0], *(sys.argv[1:] if argv is None else argv)])
    quick_runs, quick_epochs = (2, 2) if args.quick else (5, 10)
    args.runs = quick_runs if args.runs is None else args.runs
    args.epochs = quick_epochs if args.epochs is None else args.epochs
    if args.runs < 1 or args.epochs < 1:
        parser.error(f"--runs and --epochs must be positive. Received: {args.runs}, {args.epochs}")
    if args.output is None and not args.quick:
        args.output = DEFAULT_OUTPUT
    args.jit_compile = True if args.jit_compile else "auto"
    return args


def main(argv: Optional[List[str]] = None):
    args = parse_args(argv)
    data = load_data()
    load_before = os.getloadavg()[0]
    rows = summarise(run_benchmark(data, args.runs, args.epochs, args.jit_compile))
    load = (load_before, os.getloadavg()[0])
    new_section = section(rows, args, len(data[0]) // BATCH_SIZE, load)
    print(new_section)
    if args.output is not None:
        write_results(args.output, new_section)
        print(f"Updated {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
