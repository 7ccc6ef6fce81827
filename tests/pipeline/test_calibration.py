"""Temperature scaling: the closed form, the fit, and the layer inside a saved model."""

import json

import keras
import numpy as np
import pytest

from keras_hpt.pipeline import calibration, ensemble


def test_scale_is_softmax_of_log_probabilities_over_the_temperature():
    p = np.array([[0.7, 0.2, 0.1]])
    expected = p ** 0.5 / np.sum(p ** 0.5)
    np.testing.assert_allclose(calibration.scale(p, 2.0), expected, rtol=1e-6)
    # Binary: sigmoid(logit(0.9) / 2) = 3 / (3 + 1) since odds 9 -> 3.
    np.testing.assert_allclose(calibration.scale(np.array([[0.9]]), 2.0), [[0.75]], rtol=1e-6)


def test_fit_recovers_the_temperature_that_generated_the_labels():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(4000, 3))
    model_p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    # The true probabilities are twice as soft as the model's.
    true_p = calibration.scale(model_p, 2.0)
    labels = np.array([rng.choice(3, p=row) for row in true_p])
    fitted = calibration.fit_temperature(model_p, labels, ensemble.log_loss)
    assert fitted == pytest.approx(2.0, rel=0.1)
    # Calibrated probabilities keep the ranking.
    assert np.all(np.argmax(calibration.scale(model_p, fitted), 1) == np.argmax(model_p, 1))


def test_fit_never_sharpens():
    # Labels as confident as the model's probabilities squared: sharpening (T = 0.5) would
    # fit them, and is not allowed.
    rng = np.random.default_rng(3)
    p = rng.uniform(0.2, 0.8, size=(3000, 1))
    labels = (rng.uniform(size=3000) < calibration.scale(p, 0.5)[:, 0]).astype(float)
    assert calibration.fit_temperature(p, labels, ensemble.log_loss) == 1.0


def test_fit_keeps_one_when_the_model_is_calibrated():
    rng = np.random.default_rng(1)
    p = rng.uniform(0.05, 0.95, size=(3000, 1))
    labels = (rng.uniform(size=3000) < p[:, 0]).astype(float)
    fitted = calibration.fit_temperature(p, labels, ensemble.log_loss)
    assert fitted == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize("width", [1, 3])
def test_layer_matches_the_closed_form_and_round_trips(width, tmp_path):
    rng = np.random.default_rng(2)
    p = rng.dirichlet(np.ones(3), 5) if width == 3 else rng.uniform(0.1, 0.9, (5, 1))
    layer = calibration.TemperatureScaling(1.7)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(p.astype("float32"))),
                               calibration.scale(p, 1.7), rtol=1e-4)
    serialized = json.loads(json.dumps(keras.saving.serialize_keras_object(layer)))
    assert serialized["registered_name"] == "keras_hpt>TemperatureScaling"
    assert keras.saving.deserialize_keras_object(serialized).temperature == 1.7
    inputs = keras.Input((width,))
    model = keras.Model(inputs, calibration.TemperatureScaling(1.7)(inputs))
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(p, verbose=0), calibration.scale(p, 1.7),
                               rtol=1e-4)


def test_temperature_must_be_positive():
    with pytest.raises(ValueError, match="`temperature` must be a positive number"):
        calibration.TemperatureScaling(0.0)
