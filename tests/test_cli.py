"""The `keras-hpt` command."""

import subprocess
import sys

import pytest

from keras_hpt import __version__
from keras_hpt.cli import main


def test_schedule_table_in_epochs_with_plot(tmp_path, capsys):
    plot = tmp_path / "out" / "lr.png"
    code = main(["schedule", "StepDecay", "initial_learning_rate=0.1", "step_size=2",
                 "factor=0.5", "--steps-per-epoch", "10", "--steps", "51", "--rows", "6",
                 "--plot", str(plot)])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("StepDecay(initial_learning_rate=0.1, step_size=20")
    table = [line.split() for line in lines[2:8]]
    assert table == [["0", "0.1"], ["10", "0.1"], ["20", "0.05"], ["30", "0.05"], ["40", "0.025"],
                     ["50", "0.025"]]
    assert plot.stat().st_size > 1000


def test_schedule_with_warmup(capsys):
    main(["schedule", "CosineDecay", "initial_learning_rate=0.1", "decay_steps=100",
          "--warmup", "10", "--rows", "5", "--steps", "121"])
    table = [line.split() for line in capsys.readouterr().out.splitlines()[2:7]]
    assert table == [["0", "0"], ["30", "0.0904508"], ["60", "0.05"], ["90", "0.00954915"],
                     ["120", "0"]]


def test_default_steps_are_the_schedules_length(capsys):
    main(["schedule", "CosineDecay", "initial_learning_rate=0.1", "decay_steps=100",
          "--warmup", "10", "--rows", "2"])
    assert capsys.readouterr().out.splitlines()[-1].split()[0] == "109"


@pytest.mark.parametrize("argv, message", [
    (["schedule", "Nope"], "unknown schedule 'Nope'"),
    (["schedule", "StepDecay", "initial_learning_rate=-1", "step_size=3"],
     "`initial_learning_rate` must be a positive number"),
    (["schedule", "StepDecay", "initial_learning_rate"], "expected NAME=VALUE"),
    (["schedule", "StepDecay", "initial_learning_rate=0.1", "step_size=3"], "give --steps"),
])
def test_bad_input_exits_with_a_message(argv, message):
    with pytest.raises(SystemExit, match=message):
        main(argv)


def test_console_entry_points():
    out = subprocess.run([sys.executable, "-m", "keras_hpt", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == __version__
