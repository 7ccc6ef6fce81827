"""The README's commands and CI's script agree."""

import pathlib
import re

ROOT = pathlib.Path(__file__).parents[1]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    command = re.search(r'^TEST_COMMAND="(.+)"$', ci, re.M).group(1)
    assert command in readme
    assert '.[cpu,test]' in ci
