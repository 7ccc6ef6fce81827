"""keras_hpt's oracles against keras-tuner's built-ins and Optuna, in three parts.

1. `oracles`: no training; the objective is a test function (Branin,
   Hartmann-6, and Hartmann-3 plus a nominal categorical and an integer).
   Regret (best value found minus the optimum) after 50 and 100 evaluations,
   median over seeds, and the wall time of each suggestion (`create_trial`
   for keras-tuner-style oracles, `ask` plus the `suggest_*` calls for
   Optuna). Targets: the model-based oracle's regret <= keras-tuner
   BayesianOptimization's on every problem, average rank <= Optuna TPE's,
   suggestion median <= 50 ms and p95 <= 250 ms, no duplicate suggestion.
2. `training`: MLPHyperModel on sklearn's digits (epochs are the fidelity, at
   most 27); the epochs each search trains until its best validation accuracy
   comes within 0.5 points of what keras-tuner Hyperband(27, 3) reaches with
   its whole 375-epoch budget. Targets: ASHA needs <= 0.5x Hyperband's epochs
   and <= 0.33x RandomSearch's, and at 375 epochs its best accuracy is no
   worse than Optuna TPE + HyperbandPruner's.
3. `workers`: 4 workers on a simulated clock (synthetic learning curves,
   log-normal epoch times): the share of worker time spent training.
   Target: >= 95 % for our asynchronous oracles.

Run from the repository root:

    python benchmarks/search.py                   # all parts, updates benchmarks/RESULTS.md
    python benchmarks/search.py --part oracles --raw benchmarks/.raw   # resumable raw results
    python benchmarks/search.py --quick           # smoke test: prints the tables only
"""

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _problems  # noqa: E402
import _results  # noqa: E402
import _search_methods as methods  # noqa: E402
import _simulation  # noqa: E402

PARTS = ("oracles", "training", "workers")


# Part 1: oracles on test functions --------------------------------------------------------


def run_oracle_method(method: str, problem, seed: int, evaluations: int) -> dict:
    """One search of `evaluations` suggestions; the values found and each suggestion's time."""
    found, latencies, keys = [], [], []
    if method == methods.OPTUNA_TPE:
        for values, latency, tell in methods.optuna_native(problem.space(), seed, evaluations):
            value = problem.value(values)
            tell(value)
            found.append(value)
            latencies.append(latency)
            keys.append(json.dumps(values, sort_keys=True))
        return {"values": found, "latencies": latencies, "duplicates": len(keys) - len(set(keys))}
    oracle = methods.ORACLES[method](problem.space(), seed, evaluations)
    with tempfile.TemporaryDirectory() as folder:
        oracle._set_project_dir(folder, "p")
        oracle.verbose = 0
        for _ in range(evaluations):
            start = time.perf_counter()
            trial = oracle.create_trial("tuner0")
            latencies.append(time.perf_counter() - start)
            if trial.status != "RUNNING":
                break
            values = dict(trial.hyperparameters.values)
            value = problem.value(values)
            oracle.update_trial(trial.trial_id, {"score": value})
            trial.status = "COMPLETED"
            oracle.end_trial(trial)
            found.append(value)
            keys.append(json.dumps(values, sort_keys=True))
    return {"values": found, "latencies": latencies, "duplicates": len(keys) - len(set(keys))}


def oracle_results(args) -> dict:
    results = {}
    for name, problem in _problems.PROBLEMS.items():
        if name not in args.problems:
            continue
        for method in args.methods:
            seeds = range(args.seeds_bo if method == methods.KT_BO else args.seeds)
            for seed in seeds:
                raw = methods.raw_path(args.raw, name, method, seed)
                if raw is not None and raw.exists():
                    run = json.loads(raw.read_text())
                else:
                    start = time.perf_counter()
                    run = run_oracle_method(method, problem, seed, args.evaluations)
                    print(f"{name:10} {method:38} seed {seed:2}: best {min(run['values']):.4f} "
                          f"({time.perf_counter() - start:.1f} s)", file=sys.stderr, flush=True)
                    if raw is not None:
                        raw.parent.mkdir(parents=True, exist_ok=True)
                        raw.write_text(json.dumps(run))
                results.setdefault((name, method), []).append(run)
    return results


def regret(run: dict, problem, evaluations: int) -> float:
    return max(0.0, min(run["values"][:evaluations]) - problem.optimum)


def oracle_part(args):
    results = oracle_results(args)
    checkpoints = [n for n in (50, 100) if n <= args.evaluations] or [args.evaluations]
    rows, medians = [], {}
    for (name, method), runs in results.items():
        problem = _problems.PROBLEMS[name]
        regrets = [statistics.median(regret(r, problem, n) for r in runs) for n in checkpoints]
        medians[(name, method)] = regrets[-1]
        pooled = np.array([t for r in runs for t in r["latencies"]]) * 1000
        rows.append([name, method, len(runs), *[f"{v:.4f}" for v in regrets],
                     f"{np.median(pooled):.1f}", f"{np.percentile(pooled, 95):.1f}",
                     f"{pooled.max():.0f}", sum(r["duplicates"] for r in runs)])
    header = ["problem", "method", "seeds", *[f"median regret @{n}" for n in checkpoints],
              "suggest ms median", "p95", "max", "duplicates"]
    body = [_results.markdown_table(header, rows, "llr" + "r" * (len(checkpoints) + 4)),
            methods.oracle_verdicts(results, medians, checkpoints)]
    method = (f"{args.evaluations} evaluations per search, {args.seeds} seeds "
              f"({args.seeds_bo} for keras-tuner BayesianOptimization, which takes seconds per "
              "suggestion); regret = best value found - known optimum; latency pooled over all "
              "suggestions of all seeds")
    return "Oracles alone on test functions.", method, body


# Part 2: real training on digits ----------------------------------------------------------


def training_part(args):
    data = methods.digits_split()
    runs, seeds = {}, []
    for seed in range(args.first_seed, args.runs):
        paths = [methods.raw_path(args.raw, "training", name, seed) for name in methods.TRAINING]
        if args.cached_only and not all(path is not None and path.exists() for path in paths):
            continue
        seeds.append(seed)
        for name in methods.TRAINING:
            raw = methods.raw_path(args.raw, "training", name, seed)
            if raw is not None and raw.exists():
                runs.setdefault(name, []).append(json.loads(raw.read_text()))
                continue
            start = time.perf_counter()
            options = {}
            if name == methods.KT_RANDOM_TRAINING:
                # Random search is stopped at Hyperband's target: it is the slowest to get there.
                options["target"] = max(runs[methods.KT_HYPERBAND][-1]) - 0.005
            curve = methods.TRAINING[name](data, seed, quick=args.quick, **options)
            if raw is not None:
                raw.parent.mkdir(parents=True, exist_ok=True)
                raw.write_text(json.dumps(curve))
            print(f"seed {seed} {name:44} {len(curve)} epochs, best "
                  f"{max(curve):.4f} ({time.perf_counter() - start:.0f} s)",
                  file=sys.stderr, flush=True)
            runs.setdefault(name, []).append(curve)
    body = methods.training_tables(runs, seeds, quick=args.quick)
    method = (f"seeds {', '.join(map(str, seeds))}; digits scaled to [0, 1], stratified "
              "80/20 split; "
              "RandomSearch stops when it reaches the target (at most 810 epochs); "
              "MLPHyperModel's default space (1-3 layers, widths, dropout, activation, batch "
              "norm, optimizer, log learning rate, batch size); epochs counted across all "
              "trials as they are trained; target per seed = keras-tuner Hyperband's final best "
              "minus 0.005")
    return "Searches that train MLPs on digits.", method, body


# Part 3: workers on a simulated clock -----------------------------------------------------


def workers_part(args):
    rows = []
    for name, make in methods.SIMULATED.items():
        steady, overall = [], []
        for seed in range(args.seeds):
            with tempfile.TemporaryDirectory() as folder:
                result = _simulation.simulate(make(seed), folder, workers=4,
                                              epoch_budget=375 * (1 if args.quick else 3))
            steady.append(result["steady_share"])
            overall.append(result["busy"] / (4 * result["makespan"]))
        verdict = "-" if name.startswith("keras-tuner") else _results.verdict(
            -statistics.median(steady), -0.95)
        rows.append([name, f"{100 * statistics.median(steady):.1f} %",
                     f"{100 * min(steady):.1f} %", f"{100 * statistics.median(overall):.1f} %",
                     verdict])
    body = [_results.markdown_table(
        ["oracle", "median busy share", "worst seed", "with the final drain", "target"],
        rows, "lrrrl")]
    method = (f"4 workers, {args.seeds} seeds, 1125 epochs per search (keras-tuner Hyperband: "
              "3 iterations of max_epochs=27, factor=3); epoch time log-normal (sigma 0.5) by "
              "configuration; busy share = training time / (4 x time until the first worker is "
              "turned away because the budget is spent or the oracle is done); 'with the final "
              "drain' counts until the last trial ends, when workers idle for lack of budget "
              "whatever the oracle; target: median busy share >= 95 %")
    return "Worker utilisation with 4 workers.", method, body


def main(argv=None):
    parser = _results.argument_parser(__doc__, runs=5, epochs=27, quick=(1, 1))
    parser.add_argument("--part", choices=(*PARTS, "all"), default="all")
    parser.add_argument("--evaluations", type=int, help="suggestions per oracle search (100)")
    parser.add_argument("--seeds", type=int, help="seeds per oracle search (10)")
    parser.add_argument("--seeds-bo", type=int, help="seeds for keras-tuner BO (10)")
    parser.add_argument("--methods", nargs="+", help="oracle methods to run (default all)")
    parser.add_argument("--problems", nargs="+", choices=list(_problems.PROBLEMS),
                        default=list(_problems.PROBLEMS), help="oracle test functions to run")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="training: start at this seed (to split seeds over processes "
                        "sharing --raw)")
    parser.add_argument("--cached-only", action="store_true",
                        help="training: report only the seeds whose every search is in --raw")
    parser.add_argument("--raw", type=Path, help="folder keeping each oracle search's raw result")
    args = _results.parse_args(parser, argv)
    args.evaluations = args.evaluations or (6 if args.quick else 100)
    args.seeds = args.seeds or (1 if args.quick else 10)
    args.seeds_bo = args.seeds_bo or (1 if args.quick else 10)
    args.methods = args.methods or list(methods.ALL_ORACLE_METHODS)
    parts = PARTS if args.part == "all" else (args.part,)
    run_part = {"oracles": oracle_part, "training": training_part, "workers": workers_part}
    for part in parts:
        load_before = _results.load_average()
        summary, method, body = run_part[part](args)
        load = (load_before, _results.load_average())
        _results.publish(_results.section(f"search.py ({part})", summary, args.command, load,
                                          method, body), args.output)


if __name__ == "__main__":
    main()
