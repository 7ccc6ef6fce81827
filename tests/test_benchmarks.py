"""The benchmark scripts run end to end and write their section of RESULTS.md."""

import re
import subprocess
import sys
from pathlib import Path

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
OTHER_VARIANTS = [
    "constant (float lr)",
    "constant (float lr), A/A control",
    "LearningRateScheduler(CosineDecay), unit=step",
    "LearningRateScheduler(CosineDecay), unit=epoch",
    "keras.optimizers.schedules.CosineDecay (optimizer)",
]


def _section(text: str, heading: str) -> str:
    match = re.search(rf"^{re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"no `{heading}` section in:\n{text}"
    return match.group(1)


@pytest.mark.slow
def test_schedules_benchmark_writes_its_section(tmp_path):
    output = tmp_path / "RESULTS.md"
    output.write_text(
        "# Benchmark results\n\n## other.py\n\nkept as it is\n\n## schedules.py\n\nstale table\n"
    )
    subprocess.run(
        [
            sys.executable,
            "benchmarks/schedules.py",
            "--quick",
            "--runs",
            "1",
            "--epochs",
            "1",
            "--output",
            str(output),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    text = output.read_text()
    assert text.startswith("# Benchmark results\n")
    assert "kept as it is" in _section(text, "## other.py")
    section = _section(text, "## schedules.py")
    assert "stale table" not in section
    assert "benchmarks/schedules.py --quick --runs 1 --epochs 1" in section

    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 5:
            rows[cells[0]] = cells
    assert set(HELD_SCHEDULES + OTHER_VARIANTS) <= set(rows)
    for name in HELD_SCHEDULES + OTHER_VARIANTS:
        _, median_ms, min_ms, ratio, verdict = rows[name]
        assert 0 < float(min_ms) <= float(median_ms)
        assert float(ratio) > 0
        assert verdict in (("PASS", "FAIL") if name in HELD_SCHEDULES else ("-",))
    assert float(rows["constant (float lr)"][3]) == 1.0
