"""`keras-hpt report DIR`: the table printed, the files written, clear messages otherwise."""

import csv
import os
import subprocess
import sys

import pytest

from keras_hpt.cli import main

FILES = {"trials.csv", "trials.json", "history.png", "learning_curves.png",
         "hyperparameters.png"}


def test_report_of_a_keras_tuner_search_without_a_display(random_search):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MPLBACKEND")}
    directory = random_search.project_dir
    result = subprocess.run([sys.executable, "-m", "keras_hpt", "report", directory],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("3 trials in") and "objective val_loss (min)" in lines[0]
    assert lines[1].split()[:3] == ["trial_id", "status", "score"]
    best = random_search.oracle.get_best_trials(1)[0]
    assert lines[2].split()[:2] == [best.trial_id, "COMPLETED"]
    output = os.path.join(directory, "report")
    assert FILES <= set(os.listdir(output))
    assert all(os.path.getsize(os.path.join(output, f)) > 100 for f in FILES)


def test_report_of_our_search_top_and_tensorboard(asha_search, tmp_path, capsys):
    output = tmp_path / "out"
    assert main(["report", asha_search.project_dir, "--top", "2", "--output", str(output),
                 "--tensorboard"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].endswith("more trials not shown)")
    assert len(lines) == 6  # summary, header, 2 trials, "more", files written
    assert FILES | {"tensorboard"} <= set(os.listdir(output))
    with open(output / "trials.csv") as file:
        assert len(list(csv.DictReader(file))) == len(asha_search.oracle.trials)


def test_bad_path_exits_with_a_message(tmp_path):
    with pytest.raises(SystemExit, match="keras-hpt: No search directory at .*nowhere"):
        main(["report", str(tmp_path / "nowhere")])
    with pytest.raises(SystemExit, match="No keras-tuner search found in"):
        main(["report", str(tmp_path)])


def test_empty_search_says_so(tmp_path, capsys):
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "oracle.json").write_text("{}")
    assert main(["report", str(tmp_path / "project")]) == 0
    assert "has no trials yet: nothing to report" in capsys.readouterr().out
    assert not (tmp_path / "project" / "report").exists()
