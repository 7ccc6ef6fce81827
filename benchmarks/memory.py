"""Memory of a long search: resident set size after each trial, ours against keras-tuner's.

One process per tuner runs `--trials` small MLP trials on digits (one epoch
each) and records its resident set size (RSS, from /proc) after every
trial; a third process builds, fits and clears the same models in a plain
loop, without a tuner, to show what TensorFlow itself keeps. A fourth run
is the same search through `keras_hpt.distribute.launch` with one worker
restarted every 10 trials (`recycle_after=10`), the RSS read in whichever
worker process ran the trial. Growth = the highest RSS after the tenth
trial minus RSS after the tenth (the first trials load TensorFlow's kernels
and caches). Target: growth <= 100 MB over 100 trials.

Run from the repository root:

    python benchmarks/memory.py            # full run, updates benchmarks/RESULTS.md
    python benchmarks/memory.py --quick    # smoke test: prints the table only
"""

import json
import os
import subprocess
import sys
import tempfile
import textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _results  # noqa: E402

SEARCH = """
import json, os, sys, tempfile
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras, keras_tuner
from sklearn.datasets import load_digits
import keras_hpt

kind, trials = sys.argv[1], int(sys.argv[2])
folder = sys.argv[3] if len(sys.argv) > 3 else tempfile.mkdtemp()
page = os.sysconf("SC_PAGE_SIZE")

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page / 2**20

x, y = load_digits(return_X_y=True)
x = (x / 16.0).astype("float32")[:512]
y = y[:512]
hypermodel = keras_hpt.hypermodels.MLPHyperModel((64,), 10, batch_size=64)
oracle = keras_tuner.oracles.RandomSearchOracle(hypermodel.objective, max_trials=trials, seed=1)
sizes = []

class Meter(keras.callbacks.Callback):
    def on_train_end(self, logs=None):
        sizes.append(rss_mb())
        with open(os.path.join(folder, "sizes.txt"), "a") as f:
            f.write(f"{sizes[-1]}\\n")

if kind == "plain":
    # No tuner: the same models built, fitted and cleared in a loop.
    for i in range(trials):
        keras.backend.clear_session()
        hp = keras_tuner.HyperParameters()
        model = hypermodel.build(hp)
        hypermodel.fit(hp, model, x, y, epochs=1, validation_split=0.25, callbacks=[Meter()],
                       verbose=0)
        del model
else:
    cls = keras_tuner.Tuner if kind == "theirs" else keras_hpt.tuners.Tuner
    tuner = cls(oracle, hypermodel, directory=folder, project_name="p")
    tuner.search(x, y, epochs=1, validation_split=0.25, callbacks=[Meter()], verbose=0)
print("SIZES " + json.dumps(sizes))
"""

TUNERS = {
    "keras_hpt.tuners.Tuner": "ours",
    "keras_tuner.Tuner": "theirs",
    "no tuner: build, fit, clear_session in a loop": "plain",
    "keras_hpt.tuners.Tuner, worker restarted every 10 trials (launch, recycle_after=10)":
        "recycled",
}


def measure_recycled(trials: int) -> list:
    with tempfile.TemporaryDirectory() as folder:
        _results.launch_script(SEARCH, folder, ["recycled", str(trials), folder], workers=1,
                               recycle_after=10)
        with open(os.path.join(folder, "sizes.txt")) as f:
            return [float(line) for line in f if line.strip()]


def measure(kind: str, trials: int) -> list:
    if kind == "recycled":
        return measure_recycled(trials)
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(SEARCH), kind, str(trials)],
                          capture_output=True, text=True, env=env, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("SIZES ")][-1]
    return json.loads(line[len("SIZES "):])


def main(argv=None):
    parser = _results.argument_parser(__doc__, runs=1, epochs=1, quick=(1, 1))
    parser.add_argument("--trials", type=int, help="trials per search (default 100, quick 12)")
    args = _results.parse_args(parser, argv)
    trials = args.trials or (12 if args.quick else 100)
    load_before = _results.load_average()
    rows, verdicts = [], []
    for name, kind in TUNERS.items():
        sizes = measure(kind, trials)
        base = sizes[min(9, len(sizes) - 1)]
        growth = max(sizes[min(9, len(sizes) - 1):]) - base
        rows.append([name, len(sizes), f"{sizes[0]:.0f}", f"{base:.0f}", f"{sizes[-1]:.0f}",
                     f"{max(sizes):.0f}", f"{growth:.0f}",
                     f"{1024 * growth / max(1, len(sizes) - 10):.0f}"])
        if kind in ("ours", "recycled"):
            how = ("in one process" if kind == "ours"
                   else "with its worker restarted every 10 trials")
            verdicts.append(f"{_results.verdict(growth, 100)}: keras_hpt's Tuner {how} grew "
                            f"{growth:.0f} MB from trial 10 to trial {len(sizes)} (target 100).")
        print(f"{name}: {growth:.0f} MB", file=sys.stderr, flush=True)
    load = (load_before, _results.load_average())
    table = _results.markdown_table(
        ["tuner", "trials", "RSS after trial 1 (MB)", "after trial 10", "after the last",
         "highest", "growth (MB)", "KB per trial"], rows, "lrrrrrrr")
    method = (f"{trials} trials of one epoch each (MLPHyperModel on 512 digits, keras-tuner's "
              "RandomSearchOracle, seed 1), one process per tuner; RSS read from /proc after "
              "every trial")
    _results.publish(_results.section(
        "memory.py", "Resident memory over a long search.", args.command, load, method,
        [table, *verdicts]), args.output)


if __name__ == "__main__":
    main()
