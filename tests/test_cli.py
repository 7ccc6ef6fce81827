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


def _write_csv(path, rows=120, seed=0):
    import csv

    import numpy as np

    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["age", "city", "score", "label"])
        for _ in range(rows):
            age, city, score = rng.normal(40, 10), rng.choice(["paris", "oslo", "rome"]), \
                rng.normal()
            label = "yes" if (age - 40) / 10 + score + (city == "oslo") > 0.5 else "no"
            writer.writerow([f"{age:.1f}", city, f"{score:.3f}", label])


def test_tune_command_on_a_csv_file_writes_a_model_that_takes_raw_rows(tmp_path, capsys):
    import json

    import keras
    import numpy as np

    from keras_hpt.pipeline import read_csv

    data = tmp_path / "data.csv"
    _write_csv(data)
    output = tmp_path / "out"
    assert main(["tune", str(data), "--target", "label", "--budget", "8", "--output",
                 str(output), "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    for name in ("model.keras", "result.json", "summary.md", "trials.csv", "history.png"):
        assert (output / name).stat().st_size > 100, name
    facts = json.loads((output / "result.json").read_text())
    assert facts["task"] == "binary" and facts["classes"] == ["no", "yes"]
    assert facts["epochs_trained"] <= 8
    columns = read_csv(str(data))
    columns.pop("label")
    rows = {"age": columns["age"][:4].astype("float32"), "city": columns["city"][:4],
            "score": columns["score"][:4].astype("float32")}
    predicted = keras.models.load_model(output / "model.keras").predict(rows, verbose=0)
    assert predicted.shape == (4, 1) and np.all((predicted >= 0) & (predicted <= 1))


def test_tune_command_names_a_missing_target_column(tmp_path):
    data = tmp_path / "data.csv"
    _write_csv(data, rows=10)
    with pytest.raises(SystemExit, match="'price'.*the columns are"):
        main(["tune", str(data), "--target", "price"])
