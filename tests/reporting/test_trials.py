"""The trials table reads keras-tuner's and keras_hpt's searches, live or from their folders."""

import csv
import json
import os
import sys

import numpy as np
import pytest

from keras_hpt import reporting


def _stored_trials(project_dir):
    """The trial files as keras-tuner wrote them: the independent truth."""
    trials = {}
    for name in os.listdir(project_dir):
        if name.startswith("trial_"):
            with open(os.path.join(project_dir, name, "trial.json")) as file:
                trials[name[len("trial_"):]] = json.load(file)
    return trials


def _rows(source):
    rows = reporting.trials_table(source)
    return rows.to_dict("records") if hasattr(rows, "to_dict") else rows


@pytest.mark.parametrize("name", ["random_search", "hyperband_search", "asha_search"])
def test_directory_table_matches_the_trial_files(name, request):
    tuner = request.getfixturevalue(name)
    stored = _stored_trials(tuner.project_dir)
    rows = _rows(tuner.project_dir)
    assert sorted(r["trial_id"] for r in rows) == sorted(stored)
    for row in rows:
        truth = stored[row["trial_id"]]
        assert row["status"] == truth["status"]
        score = truth["score"]
        if score is None or not np.isfinite(score):
            assert row["score"] is None or np.isnan(row["score"])
        else:
            assert row["score"] == pytest.approx(score)
            assert row["best_step"] == truth["best_step"]
        for key, value in truth["hyperparameters"]["values"].items():
            assert row[key] == value
        steps = truth["metrics"]["metrics"]["val_loss"]["observations"]
        assert row["steps_reported"] == len(steps)


def test_the_parent_folder_of_a_single_search_is_enough(random_search):
    parent = os.path.dirname(random_search.project_dir)
    assert reporting.trial_rows(parent) == reporting.trial_rows(random_search.project_dir)


def test_keras_tuner_records_start_times_but_not_epochs(random_search):
    rows = reporting.trial_rows(random_search)
    assert all(r["started"] for r in rows)
    assert all(r["epochs_trained"] is None and r["duration"] is None for r in rows)


def test_our_search_spread_epochs_durations_and_stop_reasons(asha_search):
    stored = _stored_trials(asha_search.project_dir)
    rows = reporting.trial_rows(asha_search.project_dir)
    for row in rows:
        truth = stored[row["trial_id"]]
        observations = truth["metrics"]["metrics"]["val_loss"]["observations"]
        assert row["epochs_trained"] == len(observations)
        assert row["duration"] == pytest.approx(asha_search.progress.durations[row["trial_id"]])
        if truth["status"] == "FAILED":
            assert row["stop_reason"].startswith("Diverged: val_loss=")
            continue
        values = next(o["value"] for o in observations if o["step"] == truth["best_step"])
        if len(values) == 2:
            assert row["score_std"] == pytest.approx(np.std(values))
            assert row["score"] == pytest.approx(np.mean(values))
    assert any(r["status"] == "FAILED" for r in rows)
    assert any(r.get("tuner/trial_id") for r in rows)  # promotions name their parent


def test_tuner_oracle_and_folder_give_the_same_table(asha_search):
    from_tuner = reporting.trial_rows(asha_search)
    assert reporting.trial_rows(asha_search.oracle) == from_tuner
    assert reporting.trial_rows(asha_search.project_dir) == from_tuner


def test_without_pandas_a_list_and_files(asha_search, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    rows = reporting.trials_table(asha_search)
    assert isinstance(rows, list) and isinstance(rows[0], dict)
    csv_path = reporting.write_trials(asha_search, str(tmp_path / "out" / "trials.csv"))
    json_path = reporting.write_trials(asha_search, str(tmp_path / "trials.json"))
    with open(csv_path) as file:
        read = list(csv.DictReader(file))
    with open(json_path) as file:
        loaded = json.load(file)
    assert [r["trial_id"] for r in read] == [r["trial_id"] for r in rows]
    assert [r["trial_id"] for r in loaded] == [r["trial_id"] for r in rows]
    for written, row in zip(loaded, rows):
        assert written["score"] == row["score"]
        assert written["units"] == row["units"]
    with pytest.raises(ValueError, match="must end with .csv or .json"):
        reporting.write_trials(asha_search, str(tmp_path / "trials.txt"))


def test_text_table_best_first_and_top(asha_search):
    text = reporting.format_table(asha_search, top=3)
    lines = text.splitlines()
    scores = [float(line.split()[2]) for line in lines[1:4]]
    finite = sorted(r["score"] for r in reporting.trial_rows(asha_search) if r["score"])
    assert scores == pytest.approx(finite[:3], rel=1e-3)
    assert "score (val_loss, min)" in lines[0]
    assert lines[-1].endswith("more trials not shown)")


def test_bad_paths_name_the_path_and_what_was_expected(tmp_path, random_search):
    missing = str(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="nowhere.*does not exist.*oracle.json"):
        reporting.trials_table(missing)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="No keras-tuner search found in .*empty.*oracle.json"):
        reporting.trials_table(str(tmp_path / "empty"))
    with pytest.raises(TypeError, match="`source` must be"):
        reporting.trials_table(42)


def test_a_folder_of_several_searches_asks_for_one(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "oracle.json").write_text("{}")
    with pytest.raises(ValueError, match="several searches \\(a, b\\)"):
        reporting.trials_table(str(tmp_path))


def test_an_empty_search_is_an_empty_table(tmp_path):
    import keras_tuner

    tuner = keras_tuner.RandomSearch(lambda hp: None, "val_loss", max_trials=1,
                                     directory=str(tmp_path), project_name="empty")
    tuner.oracle.save()
    assert len(reporting.trials_table(tuner.project_dir)) == 0
    assert reporting.format_table(tuner.project_dir) == "The search has no trials yet."
