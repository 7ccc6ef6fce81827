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


def _report_command(args) -> int:
    from keras_hpt import reporting
    from keras_hpt.reporting._search import load_search

    try:
        record = load_search(args.directory, args.objective)
    except ValueError as error:
        raise SystemExit(f"keras-hpt: {error}")
    if not record.trials:
        print(f"The search in {record.project_dir} has no trials yet: nothing to report.")
        return 0
    print(f"{len(record.trials)} trials in {record.project_dir}, objective {record.objective} "
          f"({record.direction}); best first:")
    print(reporting.format_table(record, top=args.top))
    output = args.output or os.path.join(args.directory, "report")
    os.makedirs(output, exist_ok=True)
    written = ["trials.csv", "trials.json"]
    for name in written:
        reporting.write_trials(record, os.path.join(output, name))
    plots = (("history.png", reporting.plot_history),
             ("learning_curves.png", reporting.plot_learning_curves),
             ("hyperparameters.png", reporting.plot_hyperparameters))
    try:
        for name, plot in plots:
            plot(record, path=os.path.join(output, name))
            written.append(name)
    except ImportError as error:
        print(f"(no plots: {error})")
    if args.tensorboard:
        reporting.log_hparams(record, os.path.join(output, "tensorboard"))
        written.append("tensorboard/")
    print(f"written to {output}: {', '.join(written)}")
    return 0


def _demo_command(args) -> int:
    from keras_hpt import demo

    return demo.main_from_arguments(args)


def _tune_command(args) -> int:
    from keras_hpt.pipeline import files, read_csv, tune

    try:
        columns = read_csv(args.csv)
        if args.target not in columns:
            raise ValueError(f"`--target` must be a column of {args.csv}. Received: "
                             f"--target={args.target!r}; the columns are {list(columns)}")
        result = tune(columns, args.target, task=args.task, epoch_budget=args.budget,
                      time_budget=args.time_budget, seed=args.seed,
                      validation_split=args.validation_split,
                      directory=os.path.join(args.output, "search"),
                      verbose=0 if args.quiet else 1)
    except (OSError, TypeError, ValueError) as error:
        raise SystemExit(f"keras-hpt: {error}")
    written = files.write_outputs(result, args.output)
    if not args.quiet:
        print(f"written to {args.output}: {', '.join(written)}; the search itself in "
              f"{os.path.join(args.output, 'search')}")
    return 0


def _launch_command(args) -> int:
    from keras_hpt.distribute import launch

    try:
        return launch(args.script, args.arguments, workers=args.workers,
                      devices_per_worker=args.devices_per_worker, address=args.address,
                      port=args.port, recycle_after=args.recycle_after)
    except (TypeError, ValueError) as error:
        raise SystemExit(f"keras-hpt: {error}")


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

    report = commands.add_parser(
        "report",
        help="print the trials of a search and plot it",
        description="Print the trials of a keras-tuner search (finished or running), best "
        "first, and write trials.csv, trials.json and plots of its history, learning curves "
        "and hyperparameters. Example: keras-hpt report my_dir/my_project",
    )
    report.add_argument("directory", metavar="DIR",
                        help="the search folder (<directory>/<project_name>), or <directory> "
                        "holding a single project")
    report.add_argument("--output", metavar="OUT", help="folder for the files (default DIR/report)")
    report.add_argument("--top", type=int, default=20,
                        help="trials to print, best first (default 20; 0 for all)")
    report.add_argument("--objective", help="the objective's metric (default: the metric "
                        "that matches the trials' scores)")
    report.add_argument("--tensorboard", action="store_true",
                        help="also write TensorBoard HParams logs to OUT/tensorboard")
    report.set_defaults(run=_report_command)

    demo = commands.add_parser(
        "demo",
        help="keras_hpt.tune on the bundled digits data",
        description="keras_hpt.tune (learning-rate range test, a search from a strong default, "
        "ensemble selection) on the digits data that ships with scikit-learn, the model it "
        "returns scored on a held-out test split; the model, trials, plots and a summary "
        "written to --output.",
    )
    demo.add_argument("--budget", type=int,
                      help="epochs to train in all (default 200, about a minute on 2 CPU cores)")
    demo.add_argument("--output", default="keras_hpt_demo", help="folder for the results "
                      "(default keras_hpt_demo)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--quick", action="store_true", help="a tiny budget, for smoke tests")
    demo.add_argument("--quiet", action="store_true", help="no progress display")
    demo.set_defaults(run=_demo_command)

    tune = commands.add_parser(
        "tune",
        help="tune a network for a CSV file's target column",
        description="keras_hpt.tune on a CSV file with a header row: numeric and string "
        "columns, preprocessed by Keras' FeatureSpace inside the saved model (which takes raw "
        "rows as a dict of columns). Writes model.keras, result.json, summary.md, the trials "
        "and plots to --output. Example: keras-hpt tune data.csv --target price",
    )
    tune.add_argument("csv", help="the CSV file")
    tune.add_argument("--target", required=True, help="the column to predict")
    tune.add_argument("--task", default="auto",
                      choices=("auto", "classification", "binary", "regression"),
                      help="default: inferred from the target column")
    tune.add_argument("--budget", type=int, default=200,
                      help="epochs to train in all (default 200)")
    tune.add_argument("--time-budget", type=float, help="seconds after which the search stops")
    tune.add_argument("--validation-split", type=float,
                      help="share of rows held out for validation (default 0.2)")
    tune.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    tune.add_argument("--output", default="keras_hpt_tune",
                      help="folder for the results (default keras_hpt_tune)")
    tune.add_argument("--quiet", action="store_true", help="print nothing")
    tune.set_defaults(run=_tune_command)

    launch = commands.add_parser(
        "launch",
        help="run a search script as a keras-tuner chief and N workers on this machine",
        description="Start the chief and the workers of one search (the same script in each, "
        "told apart by keras-tuner's environment variables), give each worker its own GPUs, "
        "and stream their output. Exits with the chief's status. Example: "
        "keras-hpt launch --workers 4 --devices-per-worker 1 search.py",
    )
    launch.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    launch.add_argument("--devices-per-worker", type=int,
                        help="GPUs given to each worker through CUDA_VISIBLE_DEVICES")
    launch.add_argument("--address", default="127.0.0.1",
                        help="where the chief listens (default loopback: keras-tuner's gRPC "
                        "channel is not authenticated)")
    launch.add_argument("--port", type=int, help="the chief's port (default: a free one)")
    launch.add_argument("--recycle-after", type=int, metavar="TRIALS",
                        help="restart each worker process after this many trials, so the "
                        "memory TensorFlow keeps from every model goes back to the system")
    launch.add_argument("script", help="the search script")
    launch.add_argument("arguments", nargs=argparse.REMAINDER, help="the script's arguments")
    launch.set_defaults(run=_launch_command)
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
    if getattr(args, "top", 0) < 0:
        raise SystemExit("keras-hpt: --top must be 0 (all) or more")
    if getattr(args, "budget", None) is not None and args.budget < 1:
        raise SystemExit("keras-hpt: --budget must be at least 1 epoch")
    return args.run(args)
