"""The `keras-hpt` command."""

import argparse
import ast
import os
import sys
from typing import List, Optional

import keras_hpt


def _parse_value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _parse_arguments(pairs: List[str]) -> dict:
    arguments = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"keras-hpt: expected NAME=VALUE, got {pair!r}")
        arguments[name] = _parse_value(value)
    return arguments


def _schedule_from_arguments(args):
    names = keras_hpt.schedules.__all__
    if args.name not in names or not args.name[0].isupper():
        classes = ", ".join(n for n in names if n[0].isupper() and n != "Warmup")
        raise SystemExit(f"keras-hpt: unknown schedule {args.name!r}. Choose one of: {classes}")
    cls = getattr(keras_hpt.schedules, args.name)
    kwargs = _parse_arguments(args.arguments)
    try:
        if args.steps_per_epoch:
            schedule = cls.from_epochs(args.steps_per_epoch, **kwargs)
        else:
            schedule = cls(**kwargs)
        if args.warmup:
            schedule = keras_hpt.schedules.Warmup(schedule, args.warmup)
    except (TypeError, ValueError) as error:
        raise SystemExit(f"keras-hpt: {error}")
    return schedule


def _schedule_command(args) -> int:
    schedule = _schedule_from_arguments(args)
    steps = args.steps or keras_hpt.schedules.schedule_length(schedule)
    if not steps:
        raise SystemExit("keras-hpt: this schedule never ends; give --steps")
    shown = sorted({int(round(i * (steps - 1) / (args.rows - 1))) for i in range(args.rows)})
    rates = keras_hpt.schedules.evaluate_schedule(schedule, shown)
    print(repr(schedule))
    print(f"{'step':>10}  {'learning rate':>14}")
    for step, rate in zip(shown, rates):
        print(f"{step:>10}  {rate:>14.6g}")
    if args.plot:
        figure = keras_hpt.plot_schedule(schedule, steps, steps_per_epoch=args.steps_per_epoch)
        folder = os.path.dirname(args.plot)
        if folder:
            os.makedirs(folder, exist_ok=True)
        figure.savefig(args.plot, dpi=120)
        print(f"plot written to {args.plot}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `keras-hpt` command."""
    parser = argparse.ArgumentParser(
        prog="keras-hpt", description="Hyperparameter toolkit for Keras 3 and keras-tuner."
    )
    parser.add_argument("--version", action="version", version=keras_hpt.__version__)
    commands = parser.add_subparsers(dest="command", required=True)

    schedule = commands.add_parser(
        "schedule",
        help="print (and plot) a learning-rate schedule",
        description="Print a learning-rate schedule at evenly spaced steps, optionally plot it. "
        "Example: keras-hpt schedule OneCycle max_learning_rate=0.1 total_steps=1000",
    )
    schedule.add_argument("name", help="schedule class, e.g. CosineWarmRestarts")
    schedule.add_argument("arguments", nargs="*", metavar="NAME=VALUE",
                          help="constructor arguments, e.g. initial_learning_rate=0.1")
    schedule.add_argument("--steps", type=int, help="steps to show (default: the schedule's own)")
    schedule.add_argument("--steps-per-epoch", type=int,
                          help="read the periods as epochs and convert them with this")
    schedule.add_argument("--warmup", type=int, help="add a linear warm-up of this many steps")
    schedule.add_argument("--rows", type=int, default=11, help="table rows (default 11)")
    schedule.add_argument("--plot", metavar="FILE", help="write a plot to FILE (.png, .svg, .pdf)")
    schedule.set_defaults(run=_schedule_command)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the `keras-hpt` command.

    Args:
        argv: Command-line arguments without the program name. Defaults to
            `sys.argv[1:]`.

    Returns:
        The exit status.
    """
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if getattr(args, "rows", 2) < 2:
        raise SystemExit("keras-hpt: --rows must be at least 2")
    return args.run(args)
