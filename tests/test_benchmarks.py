"""The benchmark scripts run end to end and write their section of RESULTS.md."""

import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

ROOT = Path(__file__).resolve().parents[1]

# keras_hpt schedules held by the optimizer: the rows with a PASS/FAIL verdict.
HELD_SCHEDULES = [
    "StepDecay (optimizer)",
    "ExponentialDecay (optimizer)",
    "TimeBasedDecay (optimizer)",
    "CosineDecay (optimizer)",
    "CosineWarmRestarts (optimizer)",
    "OneCycle (optimizer)",
    "Warmup(CosineDecay) (optimizer)",
]
OTHER_SCHEDULE_VARIANTS = [
    "constant (float lr)",
    "constant (float lr), A/A control",
    "LearningRateScheduler(CosineDecay), unit=step",
    "LearningRateScheduler(CosineDecay), unit=epoch",
    "keras.optimizers.schedules.CosineDecay (optimizer)",
]

# callbacks.py: each timed variant and the variant its ratios are taken against.
KERAS_VALIDATION = "fit(validation_data)"
KERAS_EARLY_STOPPING = "keras.callbacks.EarlyStopping, fit(validation_data)"
TARGETED_CALLBACKS = {
    "keras_hpt EarlyStopping, fit(validation_data)": KERAS_EARLY_STOPPING,
    "ValidationMonitor, every_n_steps=steps_per_epoch": KERAS_VALIDATION,
}
OTHER_CALLBACK_VARIANTS = {
    KERAS_EARLY_STOPPING: "-",
    KERAS_VALIDATION: "-",
    "fit(validation_data), A/A control": KERAS_VALIDATION,
    "ValidationMonitor, every_n_steps=steps_per_epoch // 4": KERAS_VALIDATION,
    "ValidationMonitor, every_n_steps=steps_per_epoch, tf.data validation": KERAS_VALIDATION,
    "fit() without validation": KERAS_VALIDATION,
    "fit() + a no-op on_train_batch_end callback": "fit() without validation",
}
NAN_CALLBACKS = [
    ("keras_hpt ValidationMonitor(every_n_steps=steps_per_epoch)", "1"),
    ("keras_hpt ValidationMonitor(every_n_steps=steps_per_epoch)", "4"),
    ("keras.callbacks.TerminateOnNaN()", "1"),
    ("keras.callbacks.TerminateOnNaN()", "4"),
    ('keras_hpt EarlyStopping(monitor="loss")', "1"),
    ('keras.callbacks.EarlyStopping(monitor="loss", patience=3)', "1"),
]


def _section(text: str, heading: str) -> str:
    match = re.search(rf"^{re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"no `{heading}` section in:\n{text}"
    return match.group(1)


def _tables(section: str) -> Dict[str, List[List[str]]]:
    """Each markdown table of `section`, keyed by its first header cell: its body rows' cells."""
    tables = {}
    for block in re.findall(r"(?:^\|.*\n?)+", section, re.M):
        lines = [line for line in block.splitlines() if not re.fullmatch(r"\|[-:|]+\|", line)]
        rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines]
        tables[rows[0][0]] = rows[1:]
    return tables


def _run_quick(script: str, tmp_path: Path, headings=None, timeout=120) -> str:
    """Runs `script` in quick mode, 1 run of 1 epoch, on a RESULTS.md with a stale section.

    Checks that the stale section is replaced and the other sections are kept,
    and returns the new section.
    """
    headings = headings or [f"## {script}"]
    output = tmp_path / "RESULTS.md"
    stale = "".join(f"{heading}\n\nstale table\n\n" for heading in headings)
    output.write_text(f"# Benchmark results\n\n## other.py\n\nkept as it is\n\n{stale}")
    command = [f"benchmarks/{script}", "--quick", "--runs", "1", "--epochs", "1"]
    subprocess.run(
        [sys.executable, *command, "--output", str(output)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    text = output.read_text()
    assert text.startswith("# Benchmark results\n")
    assert "kept as it is" in _section(text, "## other.py")
    sections = [_section(text, heading) for heading in headings]
    for section in sections:
        assert "stale table" not in section
        assert " ".join(command) in section
    return sections[0] if len(sections) == 1 else sections


@pytest.mark.slow
def test_schedules_benchmark_writes_its_section(tmp_path):
    section = _run_quick("schedules.py", tmp_path)
    rows = {cells[0]: cells for cells in _tables(section)["variant"]}
    assert set(rows) == set(HELD_SCHEDULES + OTHER_SCHEDULE_VARIANTS)
    for name, cells in rows.items():
        _, median_ms, ratio, paired, verdict = cells
        assert float(median_ms) > 0 and float(ratio) > 0 and float(paired) > 0
        assert verdict in (("PASS", "FAIL") if name in HELD_SCHEDULES else ("-",))
    assert float(rows["constant (float lr)"][2]) == float(rows["constant (float lr)"][3]) == 1.0


@pytest.mark.slow
def test_callbacks_benchmark_writes_its_section(tmp_path):
    section = _run_quick("callbacks.py", tmp_path)
    tables = _tables(section)

    rows = {cells[0]: cells for cells in tables["variant"]}
    assert rows.keys() == TARGETED_CALLBACKS.keys() | OTHER_CALLBACK_VARIANTS.keys()
    for name, cells in rows.items():
        _, against, median_ms, ratio, paired, verdict = cells
        assert against == {**TARGETED_CALLBACKS, **OTHER_CALLBACK_VARIANTS}[name]
        assert float(median_ms) > 0 and float(ratio) > 0 and float(paired) > 0
        assert verdict in (("PASS", "FAIL") if name in TARGETED_CALLBACKS else ("-",))
        if against == "-":
            assert float(ratio) == float(paired) == 1.0

    latencies = {(cells[0], cells[1]): cells[2:] for cells in tables["callback"]}
    assert list(latencies) == NAN_CALLBACKS
    for first_nan, stopped, latency in latencies.values():
        # Every one of these callbacks stops a run that has turned NaN, and not before.
        assert int(stopped) - int(first_nan) == int(latency) >= 0


LR_FINDER_RULES = [
    "ours (confirmed)",
    "ours valley",
    "ours steepest",
    "ours minimum/10",
    "fastai valley (EMA)",
    "Lightning steepest (EMA)",
]


@pytest.mark.slow
def test_lr_finder_benchmark_writes_its_section(tmp_path):
    section = _run_quick("lr_finder.py", tmp_path)
    assert re.search(r"^(PASS|FAIL): ours \(confirmed\)", section, re.M)
    tables = _tables(section)
    rows = {cells[0]: cells for cells in tables["rule"]}
    assert list(rows) == LR_FINDER_RULES
    for cells in rows.values():
        error, within, missing, diverged = cells[1], cells[3], cells[6], cells[7]
        assert error == "-" or float(error) >= 0
        assert within.endswith(" %") and 0 <= float(within[:-2]) <= 100
        assert int(missing) >= 0 and int(diverged) >= 0
    assert {cells[0] for cells in tables["candidate"]} == {"steepest", "valley", "min/10", "min/3"}
    assert len(tables["task"]) == 2


@pytest.mark.slow
def test_hypermodels_benchmark_writes_its_section(tmp_path):
    section = _run_quick("hypermodels.py", tmp_path)
    rows = {cells[0]: cells for cells in _tables(section)["search space"]}
    assert set(rows) == {"keras_hpt MLPHyperModel (default space)",
                         "hand-written space (keras-tuner guide)"}
    for _, median, low, high, seconds in rows.values():
        assert 0 < float(low) <= float(median) <= float(high) <= 1 and float(seconds) > 0
    assert re.search(r"^(PASS|FAIL): the default space", section, re.M)


SEARCH_PARTS = ["## search.py (oracles)", "## search.py (training)", "## search.py (workers)"]


@pytest.mark.slow
def test_search_benchmark_writes_its_sections(tmp_path):
    oracles, training, workers = _run_quick("search.py", tmp_path, SEARCH_PARTS, timeout=400)
    rows = _tables(oracles)["problem"]
    assert {cells[0] for cells in rows} == {"branin", "hartmann6", "mixed"}
    methods = {cells[1] for cells in rows}
    assert {"keras-tuner RandomSearch", "keras-tuner BayesianOptimization",
            "Optuna TPESampler"} <= methods
    for cells in rows:
        assert float(cells[3]) >= 0 and float(cells[4]) > 0 and int(cells[-1]) >= 0
    searches = {cells[0] for cells in _tables(training)["search"]}
    assert len(searches) == 5 and sum("ASHA" in s for s in searches) == 2
    assert any("GP sampler" in s for s in searches)
    assert re.search(r"^(PASS|FAIL): ASHA reaches the target", training, re.M)
    for cells in _tables(workers)["oracle"]:
        steady, worst, overall = (float(c.rstrip(" %")) for c in cells[1:4])
        assert 0 < worst <= steady <= 100 and 0 < overall <= 100
        assert cells[4] in ("PASS", "FAIL", "-")


@pytest.mark.slow
def test_distributed_benchmark_writes_its_section(tmp_path):
    section = _run_quick("distributed.py", tmp_path, timeout=300)
    rows = {cells[0]: cells for cells in _tables(section)["workers"]}
    assert set(rows) == {"1", "2"}
    assert float(rows["1"][3]) == 1.0 and float(rows["2"][1]) > 0
    assert re.search(r"^(PASS|FAIL): scaling efficiency with 2 workers", section, re.M)
    assert "Chief cost: an `update_trial` over gRPC takes a median" in section


@pytest.mark.slow
def test_memory_benchmark_writes_its_section(tmp_path):
    section = _run_quick("memory.py", tmp_path, timeout=300)
    rows = {cells[0]: cells for cells in _tables(section)["tuner"]}
    assert set(rows) == {"keras_hpt.tuners.Tuner", "keras_tuner.Tuner",
                         "no tuner: build, fit, clear_session in a loop",
                         "keras_hpt.tuners.Tuner, worker restarted every 10 trials (launch, "
                         "recycle_after=10)"}
    for cells in rows.values():
        first, tenth, last, highest = (float(c) for c in cells[2:6])
        assert 0 < first and 0 < tenth and 0 < last and int(cells[1]) == 12
        assert highest >= max(first, tenth, last)
    assert re.search(r"^(PASS|FAIL): keras_hpt's Tuner in one process grew", section, re.M)
    assert re.search(r"^(PASS|FAIL): keras_hpt's Tuner with its worker restarted", section,
                     re.M)
