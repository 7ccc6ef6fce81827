"""Every script in examples/ runs with --quick, so the examples cannot rot."""

import pathlib
import subprocess
import sys

import pytest

EXAMPLES = sorted((pathlib.Path(__file__).parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_quick(script, tmp_path):
    result = subprocess.run(
        [sys.executable, str(script), "--quick", "--output", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "|" in result.stdout  # each example ends with a results table
    assert any(tmp_path.iterdir())  # and writes its outputs where asked
