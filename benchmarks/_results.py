"""What every benchmark script shares: interleaved epoch timing, its statistics, and RESULTS.md.

Timing. Each variant trains in one ordinary, continuous `fit` call, in a
thread of its own, and the threads take turns one epoch at a time: epoch `e`
of every variant runs before epoch `e + 1` of any, in an order rotated every
epoch and reversed every other epoch (so that each variant runs as often just
before as just after each other one), and only one thread trains at any
moment. Slow drifts of a shared
machine then hit all variants alike, and an epoch of a variant can be set
against the same epoch of the baseline, run moments apart. A clock started by
the first callback's `on_epoch_begin` and stopped by the last one's
`on_epoch_end` times each epoch, so it counts every callback's epoch hooks and
`fit`'s own validation, but not `fit`'s setup. Because every `fit` call runs
unbroken, what Keras builds once per call (the training iterator, the cached
validation iterator) is built once, as in real use, and schedules held by the
optimizer see one continuous run.

Training data comes as a `tf.data.Dataset` with autotuning off
(`training_dataset`). Keras' pipeline for arrays autotunes, and an autotuned
iterator left idle while the other variants train stalls its variant's next
epoch for up to its optimisation period, which starts at 10 ms and doubles
after every optimisation up to a minute: epochs of 0.65, 1.3, 2.6, 5.2, 10
and 20 s instead of 0.08 s were seen with 12 variants.

Reporting. `section` renders a script's `## <script>.py` section of
RESULTS.md (command, date, machine, load average, method, then tables and
text); `write_section` replaces that section in the file, or appends it.
"""

import argparse
import datetime
import os
import platform
import re
import shlex
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf
from sklearn.datasets import load_digits

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "RESULTS.md"

# Seconds of every timed epoch: times[variant][run][epoch], warm-up epoch left out.
Times = Dict[str, List[List[float]]]


def digits(batch_size: int) -> Tuple[np.ndarray, np.ndarray]:
    """`load_digits`, standardised feature by feature, cut to whole batches of `batch_size`.

    1792 of the 1797 samples for batches of 32: a partial last batch would be
    a second input shape, which XLA (`jit_compile=True`) compiles on its own,
    sometimes only in the first timed epoch.
    """
    x, y = load_digits(return_X_y=True)
    std = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    n = len(x) // batch_size * batch_size
    return x[:n].astype("float32"), y[:n].astype("int32")


def training_dataset(x, y, batch_size: int, seed: int) -> tf.data.Dataset:
    """`(x, y)` in batches, reshuffled every epoch, with tf.data autotuning off (see above)."""
    options = tf.data.Options()
    options.autotune.enabled = False
    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).with_options(options)


@dataclass
class Trainee:
    """One variant ready to be timed: a compiled model and what its `fit` call gets besides."""

    name: str
    model: keras.Model
    callbacks: list = field(default_factory=list)
    fit_kwargs: dict = field(default_factory=dict)


class _Aborted(Exception):
    """Ends a lane's `fit` when the benchmark is abandoned."""


class _Lane:
    """One trainee's `fit`, running in its own thread one epoch per turn.

    The main thread calls `start`, then `take_turn` once per epoch, then
    `finish`; each returns once the lane's thread waits again, so only one
    thread trains at any moment.
    """

    def __init__(self, trainee: Trainee, fit_kwargs: dict):
        self.name = trainee.name
        self.durations: List[float] = []
        self._go = threading.Semaphore(0)
        self._done = threading.Semaphore(0)
        self._abort = False
        self._ended = False
        self._error: Optional[BaseException] = None
        callbacks = [_ClockStart(self), *trainee.callbacks, _ClockStop(self)]
        kwargs = {**fit_kwargs, **trainee.fit_kwargs, "callbacks": callbacks}
        self._thread = threading.Thread(
            target=self._train, args=(trainee.model, kwargs), name=self.name, daemon=True
        )

    def _train(self, model: keras.Model, kwargs: dict):
        try:
            model.fit(**kwargs)
        except _Aborted:
            pass
        except BaseException as error:  # handed to the main thread, which raises it
            self._error = error
        finally:
            self._ended = True
            self._done.release()

    # Main thread.

    def start(self):
        """Runs `fit`'s setup and `on_train_begin` hooks, up to the first epoch."""
        self._thread.start()
        self._wait()

    def take_turn(self):
        """Runs one epoch."""
        self._go.release()
        self._wait()

    def finish(self, abort: bool = False):
        """Lets `fit` return (at once with `abort`) and waits for the thread."""
        if not self._thread.is_alive():
            return
        self._abort = abort
        self._go.release()
        self._thread.join()
        if self._error is not None and not abort:
            raise RuntimeError(f"`fit` of {self.name!r} failed") from self._error

    def _wait(self):
        self._done.acquire()
        if self._error is not None:
            raise RuntimeError(f"`fit` of {self.name!r} failed") from self._error
        if self._ended:
            raise RuntimeError(
                f"{self.name!r} stopped training after {len(self.durations)} epochs; "
                "a timed variant must train for every epoch"
            )

    # Lane thread.

    def hand_back(self):
        """Gives the turn back to the main thread and waits for the next one."""
        self._done.release()
        self._go.acquire()
        if self._abort:
            raise _Aborted()

    def start_clock(self):
        self._started = time.perf_counter()

    def stop_clock(self):
        self.durations.append(time.perf_counter() - self._started)


class _ClockStart(keras.callbacks.Callback):
    """First callback of a timed `fit`: starts the epoch clock."""

    def __init__(self, lane: _Lane):
        super().__init__()
        self._lane = lane

    def on_epoch_begin(self, epoch, logs=None):
        self._lane.start_clock()


class _ClockStop(keras.callbacks.Callback):
    """Last callback of a timed `fit`: stops the epoch clock and ends the turn.

    It has no batch hooks, so Keras still dispatches batch ends asynchronously
    when the variant's own callbacks have none either.
    """

    def __init__(self, lane: _Lane):
        super().__init__()
        self._lane = lane

    def on_train_begin(self, logs=None):
        self._lane.hand_back()

    def on_epoch_end(self, epoch, logs=None):
        self._lane.stop_clock()
        self._lane.hand_back()


def time_interleaved(
    build: Callable[[], List[Trainee]],
    fit_kwargs: dict,
    runs: int,
    epochs: int,
) -> Times:
    """Trains `build()`'s trainees `runs` times, by turns, for 1 warm-up and `epochs` timed epochs.

    `build` is called once per run, after `keras.backend.clear_session()`,
    and must seed each model it builds. `fit_kwargs` (data, batch size)
    are given to every `fit` call, together with the trainee's own.
    """
    times: Times = {}
    for run in range(runs):
        keras.backend.clear_session()
        lanes = [_Lane(trainee, {**fit_kwargs, "epochs": epochs + 1}) for trainee in build()]
        _race(lanes, run, epochs + 1)
        for lane in lanes:
            times.setdefault(lane.name, []).append(lane.durations[1:])
        slowest = max(statistics.median(lane.durations[1:]) for lane in lanes)
        print(
            f"run {run + 1}/{runs}: {len(lanes)} variants x {epochs} timed epochs, "
            f"slowest median {1000 * slowest:.1f} ms/epoch",
            file=sys.stderr,
            flush=True,
        )
    return times


def _race(lanes: List[_Lane], run: int, epochs: int):
    """Starts every lane, then runs epoch by epoch, the order rotated and reversed in turn."""
    finished = False
    try:
        for lane in lanes:
            lane.start()
        for epoch in range(epochs):
            shift = (run + epoch) % len(lanes)
            order = lanes[shift:] + lanes[:shift]
            for lane in reversed(order) if epoch % 2 else order:
                lane.take_turn()
        finished = True
    finally:
        for lane in lanes:
            lane.finish(abort=not finished)


def interleaved_method(runs: int, epochs: int, reference: str) -> str:
    """How `time_interleaved` timed the variants and what the ratios are, for a Method line.

    `reference` names what each variant's ratios are taken against.
    """
    return (
        f"{runs} runs; in each, all variants train in one `fit` call each for 1 warm-up and "
        f"{epochs} timed epochs, taking turns epoch by epoch in an order rotated every epoch "
        "and reversed every other epoch; median over all timed epochs; paired ratio = median "
        f"over (run, epoch) of the variant's epoch time / {reference}'s same epoch, and the "
        "target is judged on it"
    )


def median_ms(times: Times, name: str) -> float:
    """Median milliseconds per epoch over every timed epoch of every run."""
    return 1000 * statistics.median(t for run in times[name] for t in run)


def paired_ratio(times: Times, name: str, reference: str) -> float:
    """Median over (run, epoch) of `name`'s epoch time over `reference`'s same epoch.

    Each pair ran moments apart, so this ratio is far less sensitive to the
    machine's drifts than the ratio of the two medians.
    """
    return statistics.median(
        t / r
        for run, reference_run in zip(times[name], times[reference])
        for t, r in zip(run, reference_run)
    )


def launch_script(source: str, folder: str, args: Sequence[str], **launch_kwargs) -> None:
    """Writes `source` to `folder`/search.py and runs it through `keras_hpt.distribute.launch`.

    Raises:
        RuntimeError: with the end of the launched processes' output, if the search failed.
    """
    import io
    import textwrap

    from keras_hpt.distribute import launch

    script = os.path.join(folder, "search.py")
    with open(script, "w") as f:
        f.write(textwrap.dedent(source))
    out = io.StringIO()
    if launch(script, list(args), out=out, **launch_kwargs) != 0:
        raise RuntimeError(out.getvalue()[-3000:])


def verdict(ratio: float, target: float) -> str:
    """`PASS` when `ratio` is at most `target`, else `FAIL`."""
    return "PASS" if ratio <= target else "FAIL"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence], align: str) -> str:
    """A markdown table; `align` has one of `l`, `r`, `c` per column."""
    rules = {"l": "---", "r": "---:", "c": ":---:"}
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(rules[a] for a in align) + "|",
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    """Platform, CPU count and the versions that decide the timings."""
    return (
        f"{platform.platform()}, {os.cpu_count()} CPUs ({platform.processor() or 'unknown'}), "
        f"Python {platform.python_version()}, TensorFlow {tf.__version__}, "
        f"Keras {keras.__version__} ({keras.backend.backend()} backend)"
    )


def load_average() -> float:
    """The 1-minute load average: other work on the machine is the main source of noise."""
    return os.getloadavg()[0]


def heading(script: str) -> str:
    """The heading of a script's section of RESULTS.md: `## <script>.py`."""
    return f"## {Path(script).name}"


def section(
    script: str,
    summary: str,
    command: str,
    load: Tuple[float, float],
    method: str,
    body: Sequence[str],
) -> str:
    """A script's section of RESULTS.md, ending in a newline.

    `load` is the 1-minute load average before and after the runs; `body`
    holds the tables and paragraphs that follow the list, in order.
    """
    lines = [
        heading(script),
        "",
        summary,
        "",
        f"- Command: `{command}`",
        f"- Date: {datetime.date.today().isoformat()}",
        f"- Machine: {machine()}; load average {load[0]:.2f} before, {load[1]:.2f} after",
        f"- Method: {method}",
        "",
    ]
    for part in body:
        lines += [part, ""]
    return "\n".join(lines)


def replace_section(text: str, new_section: str) -> str:
    """`text` with the section `new_section` heads (its first line) replaced, or appended."""
    title = new_section.split("\n", 1)[0]
    pattern = re.compile(rf"^{re.escape(title)}\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        return pattern.sub(lambda match: new_section + "\n", text, count=1).rstrip("\n") + "\n"
    return text.rstrip("\n") + "\n\n" + new_section


def write_section(path: Path, new_section: str):
    """Puts `new_section` into the results file at `path`, creating the file if needed."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(replace_section(text, new_section))


def publish(new_section: str, output: Optional[Path]):
    """Prints the section, and writes it into `output` unless that is None."""
    print(new_section)
    if output is not None:
        write_section(output, new_section)
        print(f"Updated {output}", file=sys.stderr)


def argument_parser(doc: str, runs: int, epochs: int, quick: Tuple[int, int] = (2, 2)):
    """A parser with `--runs`, `--epochs`, `--quick` and `--output`; resolve with `parse_args`.

    `runs` and `epochs` are the full run's defaults, `quick` the smoke test's.
    """
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--runs", type=int, help=f"repetitions of every variant (default {runs})")
    parser.add_argument("--epochs", type=int, help=f"timed epochs per run (default {epochs})")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke test: {quick[0]} runs of {quick[1]} epochs; "
        "writes RESULTS.md only with --output",
    )
    parser.add_argument(
        "--output", type=Path, help=f"results file to update (default {DEFAULT_OUTPUT})"
    )
    parser.set_defaults(full_sizes=(runs, epochs), quick_sizes=quick)
    return parser


def parse_args(parser: argparse.ArgumentParser, argv: Optional[List[str]]) -> argparse.Namespace:
    """Parses `argv`, filling in sizes and output by `--quick`, and records the command."""
    args = parser.parse_args(argv)
    args.command = shlex.join(["python", sys.argv[0], *(sys.argv[1:] if argv is None else argv)])
    runs, epochs = args.quick_sizes if args.quick else args.full_sizes
    args.runs = runs if args.runs is None else args.runs
    args.epochs = epochs if args.epochs is None else args.epochs
    if args.runs < 1 or args.epochs < 1:
        parser.error(f"--runs and --epochs must be positive. Received: {args.runs}, {args.epochs}")
    if args.output is None and not args.quick:
        args.output = DEFAULT_OUTPUT
    return args
