"""The search plots draw the stored numbers and mark pruned and diverged trials."""

import json
import os
import shutil

import numpy as np
import pytest

from keras_hpt import reporting


def _scores(tuner):
    return np.array([np.nan if t.score is None or not np.isfinite(t.score) else t.score
                     for t in (tuner.oracle.trials[i] for i in tuner.oracle.start_order)])


@pytest.mark.parametrize("name", ["random_search", "asha_search"])
def test_history_draws_scores_and_best_so_far(name, request, tmp_path):
    tuner = request.getfixturevalue(name)
    path = tmp_path / "history.png"
    figure = reporting.plot_history(tuner.project_dir, path=str(path))
    ax = figure.axes[0]
    scores = _scores(tuner)
    best_line = ax.lines[0]
    np.testing.assert_allclose(best_line.get_ydata(), np.fmin.accumulate(scores))
    np.testing.assert_allclose(ax.collections[0].get_offsets()[:, 1], scores[np.isfinite(scores)])
    assert len(figure.axes) == 2  # both searches recorded start times: a panel against time
    assert path.stat().st_size > 1000


def test_learning_curves_mark_pruned_and_diverged(asha_search, tmp_path):
    copy = tmp_path / "asha"
    shutil.copytree(asha_search.project_dir, copy)
    state = json.loads((copy / "oracle.json").read_text())
    pruned = next(t for t in state["start_order"] if t not in state["diverged"])
    state["stopped"] = {pruned: "below the median"}
    (copy / "oracle.json").write_text(json.dumps(state))
    figure = reporting.plot_learning_curves(str(copy), path=str(tmp_path / "curves.png"))
    ax = figure.axes[0]
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["completed", "pruned", "diverged"]
    dashed = [line for line in ax.lines if line.get_linestyle() == "--" and len(line.get_xdata())]
    assert len(dashed) == 1
    history = asha_search.oracle.trials[pruned].metrics.get_history("val_loss")
    np.testing.assert_allclose(dashed[0].get_ydata(), [np.mean(o.value) for o in history])
    assert (tmp_path / "curves.png").stat().st_size > 1000


def test_one_slice_per_hyperparameter(asha_search):
    figure = reporting.plot_hyperparameters(asha_search)
    panels = [ax for ax in figure.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    assert [ax.get_xlabel() for ax in panels] == ["units", "lr"]
    finite = np.isfinite(_scores(asha_search))
    assert len(panels[0].collections[0].get_offsets()) == finite.sum()


def test_hparams_event_files_hold_each_trial(asha_search, tmp_path):
    import tensorflow as tf
    from tensorboard.plugins.hparams import plugin_data_pb2

    logdir = reporting.log_hparams(asha_search.project_dir, str(tmp_path / "tb"))
    for trial_id, trial in asha_search.oracle.trials.items():
        run = os.path.join(logdir, f"trial_{trial_id}")
        (event_file,) = os.listdir(run)
        hparams, scalars = {}, {}
        for event in tf.compat.v1.train.summary_iterator(os.path.join(run, event_file)):
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "hparams":
                    data = plugin_data_pb2.HParamsPluginData.FromString(
                        value.metadata.plugin_data.content)
                    for name, item in data.session_start_info.hparams.items():
                        hparams[name] = item.number_value
                elif value.tag == "score":
                    scalars[value.tag] = tf.make_ndarray(value.tensor)
        assert hparams == pytest.approx({k: v for k, v in trial.hyperparameters.values.items()
                                         if not k.startswith("tuner/")})
        if trial.status == "COMPLETED":
            assert float(scalars["score"]) == pytest.approx(trial.score)
        else:
            assert "score" not in scalars
