"""`keras-hpt demo --quick` runs the whole workflow and writes every promised file."""

import csv
import json
import sys

import pytest

from keras_hpt.cli import main

PROMISED = ("model.keras", "result.json", "summary.md", "trials.csv", "trials.json",
            "history.png", "learning_curves.png", "hyperparameters.png")


def test_quick_demo_writes_every_file_and_reports(tmp_path, capsys):
    import keras
    import numpy as np

    from keras_hpt.demo import load_digits_splits

    output = tmp_path / "demo"
    assert main(["demo", "--quick", "--output", str(output), "--seed", "1"]) == 0
    out = capsys.readouterr().out
    for name in PROMISED:
        assert (output / name).stat().st_size > 100, name
    summary = json.loads((output / "result.json").read_text())
    assert summary["epochs_trained"] <= summary["budget_epochs"] == 10
    assert not any(key.startswith("tuner/") for key in summary["best_hyperparameters"])
    with open(output / "trials.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == summary["trials"]
    assert f"trial {summary['trials']} | val_loss" in out  # the progress display
    # The saved model gives the test accuracy the demo printed, computed here anew.
    _, _, (x_test, y_test) = load_digits_splits(1)
    model = keras.models.load_model(output / "model.keras")
    accuracy = float(np.mean(np.argmax(model.predict(x_test, verbose=0), axis=1) == y_test))
    assert accuracy == summary["test_accuracy"] > 0.5
    assert f"| test accuracy | {accuracy:.4f} |" in out
    # The search folder it leaves behind is a search `keras-hpt report` reads.
    assert main(["report", str(output / "search"), "--top", "3"]) == 0
    assert f"{summary['trials']} trials in" in capsys.readouterr().out


def test_quiet_demo_prints_nothing(tmp_path, capsys):
    main(["demo", "--quick", "--quiet", "--budget", "3", "--output", str(tmp_path)])
    assert capsys.readouterr().out == ""
    assert (tmp_path / "result.json").exists()


def test_without_scikit_learn_the_demo_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(SystemExit, match=r'pip install "keras-hpt\[examples\]"'):
        main(["demo", "--quick", "--output", str(tmp_path)])


@pytest.mark.parametrize("argv, message", [
    (["demo", "--budget", "0"], "--budget must be at least 1"),
    (["report", "x", "--top", "-1"], "--top must be 0"),
])
def test_bad_options(argv, message):
    with pytest.raises(SystemExit, match=message):
        main(argv)
