"""A chief and workers on loopback: a search completes, survives a killed worker, fails loudly."""

import io
import json
import os
import signal
import textwrap
import threading
import time

import pytest

from keras_hpt.distribute import launch
from tests.scripts import TINY_SEARCH_PRELUDE

SEARCH = TINY_SEARCH_PRELUDE + """
folder = sys.argv[1]
me = os.environ["KERASTUNER_TUNER_ID"]

class Mark(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        with open(os.path.join(folder, "started.txt"), "a") as f:
            f.write(f"{me} {os.getpid()}\\n")
    def on_epoch_end(self, epoch, logs=None):
        time.sleep(float(sys.argv[2]))

tuner = keras_hpt.tuners.BayesianOptimization(
    build, "val_loss", max_trials=6, seed=1, trial_timeout=6,
    directory=os.path.join(folder, "search"), project_name="p")
tuner.search(x, y, epochs=3, validation_split=0.25, callbacks=[Mark()], verbose=0)
if keras_hpt.distribute.is_chief():
    trials = tuner.oracle.trials.values()
    with open(os.path.join(folder, "result.json"), "w") as f:
        json.dump({t.trial_id: [t.status, t.score] for t in trials}, f)
"""


def _script(tmp_path):
    path = tmp_path / "search.py"
    path.write_text(textwrap.dedent(SEARCH))
    return str(path)


def _result(tmp_path):
    return json.loads((tmp_path / "result.json").read_text())


def _started(tmp_path):
    marks = tmp_path / "started.txt"
    if not marks.exists():
        return []
    return [line.split() for line in marks.read_text().splitlines() if line.strip()]


@pytest.fixture(autouse=True)
def _importable(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.getcwd())


def test_chief_and_two_workers_finish_a_search(tmp_path):
    out = io.StringIO()
    status = launch(_script(tmp_path), [str(tmp_path), "0"], workers=2, out=out)
    assert status == 0, out.getvalue()[-3000:]
    result = _result(tmp_path)
    assert len(result) == 6 and all(s == "COMPLETED" for s, _ in result.values())
    assert {who for who, _ in _started(tmp_path)} == {"tuner0", "tuner1"}


def test_a_killed_worker_is_replaced_and_nothing_is_lost(tmp_path):
    out = io.StringIO()
    outcome = {}
    runner = threading.Thread(target=lambda: outcome.setdefault(
        "status", launch(_script(tmp_path), [str(tmp_path), "1.0"], workers=2, out=out)))
    runner.start()
    deadline = time.monotonic() + 120
    victim = None
    while victim is None and time.monotonic() < deadline:
        victim = next((int(pid) for who, pid in _started(tmp_path) if who == "tuner0"), None)
        time.sleep(0.1)
    assert victim is not None, out.getvalue()[-3000:]
    os.kill(victim, signal.SIGKILL)
    runner.join(timeout=300)
    assert outcome.get("status") == 0, out.getvalue()[-3000:]
    result = _result(tmp_path)
    assert len(result) == 6 and all(s == "COMPLETED" for s, _ in result.values())
    assert "tuner0" in out.getvalue() and "no report from tuner0" in out.getvalue()


BUDGET = TINY_SEARCH_PRELUDE + """
tuner = keras_hpt.tuners.ASHA(build, "val_loss", max_epochs=9, seed=1, epoch_budget=8,
                              directory=os.path.join(sys.argv[1], "search"), project_name="p")
tuner.search(x, y, validation_split=0.25, verbose=0)
if keras_hpt.distribute.is_chief():
    with open(os.path.join(sys.argv[1], "result.json"), "w") as f:
        json.dump({"epochs": tuner.oracle.epochs_trained(),
                   "stopped": [tuner.oracle.stop_reason(t) for t in tuner.oracle.trials]}, f)
"""


def test_the_epoch_budget_is_the_whole_searchs(tmp_path):
    script = tmp_path / "budget.py"
    script.write_text(textwrap.dedent(BUDGET))
    out = io.StringIO()
    assert launch(str(script), [str(tmp_path)], workers=2, out=out) == 0, out.getvalue()[-3000:]
    result = _result(tmp_path)
    # Both workers together, not 8 epochs each; one may finish the epoch it was
    # training when the other spent the budget.
    assert 8 <= result["epochs"] <= 9
    assert "search budget spent" in result["stopped"]


def test_recycled_workers_finish_the_search_in_fresh_processes(tmp_path):
    out = io.StringIO()
    status = launch(_script(tmp_path), [str(tmp_path), "0"], workers=1, out=out,
                    recycle_after=2)
    assert status == 0, out.getvalue()[-3000:]
    result = _result(tmp_path)
    assert len(result) == 6 and all(s == "COMPLETED" for s, _ in result.values())
    # Six trials, two per process: three processes trained, under one worker name (a
    # fourth started after the sixth trial, to hear that the search was over).
    started = _started(tmp_path)
    assert {who for who, _ in started} == {"tuner0"}
    assert len({pid for _, pid in started}) == 3
    assert out.getvalue().count("tuner0 ended to free its memory") == 3


def test_a_failing_search_fails_the_launch(tmp_path):
    script = tmp_path / "broken.py"
    script.write_text("raise SystemExit('this search cannot start')\n")
    out = io.StringIO()
    assert launch(str(script), workers=2, out=out, grace_seconds=5) != 0
    assert "[chief] this search cannot start" in out.getvalue()


def test_bad_arguments(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="`workers` must be a positive integer"):
        launch(_script(tmp_path), workers=0)
    with pytest.raises(ValueError, match="`script` must be a Python file"):
        launch(str(tmp_path / "missing.py"))
    with pytest.raises(ValueError, match="`recycle_after` must be a positive integer"):
        launch(_script(tmp_path), recycle_after=0)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    with pytest.raises(ValueError, match="asks for 4 GPUs for 2 workers, but 1 are visible"):
        launch(_script(tmp_path), workers=2, devices_per_worker=2)


def test_keras_hpt_launch_command(tmp_path):
    import subprocess
    import sys

    completed = subprocess.run(
        [sys.executable, "-m", "keras_hpt", "launch", "--workers", "1", _script(tmp_path),
         str(tmp_path), "0"],
        capture_output=True, text=True, timeout=300, env=dict(os.environ, PYTHONPATH=os.getcwd()),
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert len(_result(tmp_path)) == 6
    bad = subprocess.run([sys.executable, "-m", "keras_hpt", "launch", "--workers", "0",
                          _script(tmp_path)], capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "`workers` must be a positive integer" in bad.stderr
