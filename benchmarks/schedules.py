"""Training time per epoch with each keras_hpt schedule, against a constant learning rate.

The same MLP is trained on the same data (sklearn's bundled `load_digits`,
standardised, cut to 56 whole batches of 32, reshuffled every epoch) with Adam and one variant of
its learning rate each time:

- a constant float learning rate: the baseline every ratio is taken against,
  and the same again as an A/A control, whose ratio shows the noise level;
- each keras_hpt schedule held by the optimizer, which evaluates it inside the
  compiled train step once per step: these should cost nothing measurable,
  and the target is a median at most 1.03 times the baseline's;
- `keras_hpt.callbacks.LearningRateScheduler` setting a float rate from Python,
  per step and per epoch;
- Keras' own `keras.optimizers.schedules.CosineDecay`, the real alternative.

All variants' models are built first; each then trains in one continuous
`fit` call, one warm-up epoch (tracing and graph building, not timed) and
`--epochs` timed epochs, and the variants take turns epoch by epoch, in an
order rotated every epoch and reversed every other, so slow drifts of the machine hit them all alike
(`_results.time_interleaved`). The whole set is repeated `--runs` times. The
table gives each variant's median milliseconds per epoch over all timed epochs
of all runs, the ratio of that median to the baseline's, and the paired
ratio: the median over (run, epoch) of the variant's epoch time over the
baseline's same epoch, run moments apart. The 1.03 target is judged on the
paired ratio, the statistic least disturbed by other work on the machine.

Run from the repository root:

    python benchmarks/schedules.py             # full run, updates benchmarks/RESULTS.md
    python benchmarks/schedules.py --quick     # smoke test: prints the table only
"""

import os
from dataclasses import dataclass
from typing import Callable, List, Optional

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
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

from keras_hpt import schedules  # noqa: E402
from keras_hpt.callbacks import LearningRateScheduler  # noqa: E402

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


def build_model(learning_rate, jit_compile) -> keras.Model:
    """A fresh MLP compiled with Adam at `learning_rate`, seeded: every variant starts alike."""
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


def trainees(length: RunLength, jit_compile) -> List[Trainee]:
    """Every variant's model, seeded alike, and callbacks, for one run of `length`."""
    return [
        Trainee(
            variant.name,
            build_model(variant.learning_rate(length), jit_compile),
            variant.callbacks(length),
        )
        for variant in VARIANTS
    ]


def run_benchmark(data: tuple, runs: int, epochs: int, jit_compile) -> Times:
    """Seconds of every timed epoch of every variant, the variants trained by turns.

    Each variant trains in one `fit` call, so schedules see one continuous
    run of `epochs + 1` epochs (the first, a warm-up, is not timed).
    """
    x, y = data
    length = RunLength(len(x) // BATCH_SIZE, epochs + 1)
    dataset = training_dataset(x, y, BATCH_SIZE, SEED)
    fit_kwargs = dict(x=dataset, shuffle=False, verbose=0)
    return time_interleaved(lambda: trainees(length, jit_compile), fit_kwargs, runs, epochs)


def summarise(times: Times) -> List[dict]:
    """One row per variant: median ms per epoch, ratio of medians, paired ratio, verdict."""
    baseline = median_ms(times, BASELINE)
    rows = []
    for variant in VARIANTS:
        median = median_ms(times, variant.name)
        paired = paired_ratio(times, variant.name, BASELINE)
        rows.append(
            {
                "name": variant.name,
                "median_ms": median,
                "ratio": median / baseline,
                "paired": paired,
                "verdict": verdict(paired, TARGET_RATIO) if variant.has_target else "-",
            }
        )
    return rows


def results_table(rows: List[dict]) -> str:
    """The rows as a markdown table, PASS/FAIL only where the target applies."""
    return markdown_table(
        [
            "variant",
            "median ms/epoch",
            "ratio of medians",
            "paired ratio",
            f"paired <= {TARGET_RATIO:.2f}x",
        ],
        [
            [
                row["name"],
                f"{row['median_ms']:.1f}",
                f"{row['ratio']:.3f}",
                f"{row['paired']:.3f}",
                row["verdict"],
            ]
            for row in rows
        ],
        "lrrrc",
    )


def interpretation(rows: List[dict]) -> str:
    """A few sentences on what the table says, derived from the table itself."""
    held = [row for row in rows if row["verdict"] != "-"]
    worst = max(held, key=lambda row: row["paired"])
    failed = [row["name"] for row in held if row["verdict"] == "FAIL"]
    per_step = next(row for row in rows if row["name"].endswith("unit=step"))
    control = next(row for row in rows if row["name"] == CONTROL)
    if failed:
        finding = (
            f"{len(failed)} of {len(held)} keras_hpt schedules held by the optimizer miss the "
            f"{TARGET_RATIO:.2f}x target ({', '.join(failed)})"
        )
    else:
        finding = (
            f"every keras_hpt schedule held by the optimizer is within the "
            f"{TARGET_RATIO:.2f}x target"
        )
    reliability = (
        f"The A/A control, an identical constant-rate model, reads {control['paired']:.3f}x "
        f"paired ({control['ratio']:.3f}x by medians)"
    )
    if abs(control["paired"] - 1.0) > TARGET_RATIO - 1.0:
        reliability += (
            ": this run's noise is larger than the target, so its verdicts are not evidence "
            "either way; rerun on a quiet machine."
        )
    else:
        reliability += ", so noise is within the target's margin."
    return (
        f"{finding[0].upper()}{finding[1:]} (paired ratio); the slowest is {worst['name']} at "
        f"{worst['paired']:.3f}x. Setting the rate from Python every step "
        f"(LearningRateScheduler, unit=step) costs {per_step['paired']:.3f}x. {reliability}"
    )


def schedules_section(rows: List[dict], args, steps_per_epoch: int, load) -> str:
    """The `## schedules.py` section of RESULTS.md."""
    return section(
        __file__,
        f"Training time per epoch of an MLP on `load_digits` (Adam, batch {BATCH_SIZE}, "
        f"{steps_per_epoch} steps/epoch) with each learning-rate schedule, against a "
        "constant float learning rate.",
        args.command,
        load,
        f"{interleaved_method(args.runs, args.epochs, 'the baseline')}; "
        f"jit_compile={args.jit_compile}",
        [results_table(rows), interpretation(rows)],
    )


def main(argv: Optional[List[str]] = None):
    parser = argument_parser(__doc__, runs=5, epochs=10)
    parser.add_argument(
        "--jit-compile",
        action="store_true",
        help="compile the train step with XLA (default: Keras' 'auto', no XLA on CPU)",
    )
    args = parse_args(parser, argv)
    args.jit_compile = True if args.jit_compile else "auto"
    data = digits(BATCH_SIZE)
    load_before = load_average()
    rows = summarise(run_benchmark(data, args.runs, args.epochs, args.jit_compile))
    load = (load_before, load_average())
    publish(schedules_section(rows, args, len(data[0]) // BATCH_SIZE, load), args.output)


if __name__ == "__main__":
    main()
