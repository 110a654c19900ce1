"""Integrated Gradients against values worked out by hand on tiny models.

- A model linear in its input, S_c(x) = sum_i w_ci x_i: the gradient is w_c everywhere on
  the path, so IG = (x - x') * w_c exactly, for any baseline and any number of steps.
- A cubic model, S(x) = sum_i w_i x_i^3 from a zero baseline: the exact integral gives
  IG_i = w_i x_i^3, and the midpoint rule over m steps gives w_i x_i^3 (1 - 1 / (4 m^2))
  (mean of 3 a_k^2 at a_k = (k + 1/2) / m is 1 - 1 / (4 m^2)): the quadrature is checked too.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import save_with_card

SIZE = 6


def _linear_model(weights):
    """(SIZE, SIZE, 1) -> Flatten -> Dense(4, linear weights ``weights`` (pixels x 4)) -> softmax."""
    import keras

    inputs = keras.Input((SIZE, SIZE, 1))
    flat = keras.layers.Flatten()(inputs)
    logits = keras.layers.Dense(weights.shape[1], name="logits")(flat)
    model = keras.Model(inputs, keras.layers.Activation("softmax")(logits))
    model.get_layer("logits").set_weights([weights.astype(np.float32), np.zeros(weights.shape[1], np.float32)])
    return model


def _cubic_model(w):
    """S_0(x) = sum_i w_i x_i^3, S_1 = -S_0 (x * x * x with Multiply layers, no custom code)."""
    import keras

    inputs = keras.Input((SIZE, SIZE, 1))
    cube = keras.layers.Multiply()([inputs, inputs, inputs])
    flat = keras.layers.Flatten()(cube)
    logits = keras.layers.Dense(2, name="logits")(flat)
    model = keras.Model(inputs, keras.layers.Activation("softmax")(logits))
    kernel = np.stack([w.ravel(), -w.ravel()], axis=1).astype(np.float32)
    model.get_layer("logits").set_weights([kernel, np.zeros(2, np.float32)])
    return model


def _weights(seed=0):
    return np.random.default_rng(seed).normal(0, 1, (SIZE * SIZE, 4))


def _image(seed=1):
    return np.random.default_rng(seed).uniform(0, 1, (1, SIZE, SIZE, 1)).astype(np.float32)


def test_linear_model_ig_is_input_times_weight_for_every_class():
    from gradcam.integrated_gradients import IntegratedGradients

    w = _weights()
    x = _image()
    ig = IntegratedGradients(_linear_model(w))
    assert ig.steps >= 32
    for c in range(4):
        p = ig.run(x, [c])
        np.testing.assert_allclose(ig.attributions(p)[0, ..., 0], x[0, ..., 0] * w[:, c].reshape(SIZE, SIZE),
                                   rtol=1e-5, atol=1e-6)
        # completeness: the map sums to S(x) - S(0) = S(x) (no bias)
        assert ig.weighted_sum(p)[0].sum() == pytest.approx(float(x.ravel() @ w[:, c]), rel=1e-4, abs=1e-5)


def test_linear_model_with_the_blurred_baseline():
    import cv2

    from gradcam.integrated_gradients import BLUR_SIGMA_FRACTION, IntegratedGradients

    w = _weights(2)
    x = _image(3)
    ig = IntegratedGradients(_linear_model(w), baseline="blur")
    blurred = cv2.GaussianBlur(x[0, ..., 0], (0, 0), BLUR_SIGMA_FRACTION * SIZE, borderType=cv2.BORDER_REFLECT)
    p = ig.run(x, [1])
    np.testing.assert_allclose(p.baselines[0, ..., 0], blurred, rtol=1e-6)
    expected = (x[0, ..., 0] - blurred) * w[:, 1].reshape(SIZE, SIZE)
    np.testing.assert_allclose(ig.attributions(p)[0, ..., 0], expected, rtol=1e-4, atol=1e-6)


def test_cubic_model_gives_the_midpoint_rule_by_hand():
    from gradcam.integrated_gradients import IntegratedGradients, PathGradients

    w = np.random.default_rng(4).normal(0, 1, (SIZE, SIZE))
    x = _image(5)
    model = _cubic_model(w)
    exact = w * x[0, ..., 0] ** 3
    for steps in (4, 32):
        ig = IntegratedGradients(model, passes=PathGradients(model, steps))
        got = ig.attributions(ig.run(x, [0]))[0, ..., 0]
        np.testing.assert_allclose(got, exact * (1 - 1 / (4 * steps**2)), rtol=1e-4, atol=1e-7)
        other = ig.attributions(ig.run(x, [1]))[0, ..., 0]  # the other class: the same evidence, negated
        np.testing.assert_allclose(other, -got, rtol=1e-5, atol=1e-7)


def test_negative_target_means_the_predicted_class_and_batches_mix():
    from gradcam.integrated_gradients import IntegratedGradients

    w = _weights(6)
    x = np.concatenate([_image(7), _image(8)])
    model = _linear_model(w)
    ig = IntegratedGradients(model)
    p = ig.run(x)
    predicted = np.argmax(x.reshape(2, -1) @ w, axis=1)
    np.testing.assert_array_equal(p.targets, predicted)
    np.testing.assert_allclose(p.logits, x.reshape(2, -1) @ w, rtol=1e-4, atol=1e-5)
    mixed = ig.run(x, [2, -1])
    assert mixed.targets.tolist() == [2, int(predicted[1])]
    np.testing.assert_allclose(ig.attributions(mixed)[0, ..., 0], x[0, ..., 0] * w[:, 2].reshape(SIZE, SIZE),
                               rtol=1e-5, atol=1e-6)
    maps = ig(x, [2, 2])
    assert maps.shape == (2, SIZE, SIZE) and maps.max() == pytest.approx(1.0)


def _head_scan():
    yy, xx = np.mgrid[:120, :160]
    head = ((yy - 60) / 50.0) ** 2 + ((xx - 80) / 65.0) ** 2 < 1
    scan = np.where(head, 120.0, 0.0).astype(np.float32)
    scan[(yy - 45) ** 2 + (xx - 100) ** 2 < 8**2] = 240.0
    return scan, head


def test_engine_ig_relative_scale_by_hand(tmp_path):
    """Class weights proportional, w_c = k_c w: smoothing, ReLU and the head mask are positively
    homogeneous, so the map of class c on the predicted class's scale peaks at k_c / k_predicted;
    a negative k has no evidence at all. The map is on the scan's grid, zero off the head."""
    from core.classifier import Classifier
    from gradcam.engine import CAMEngine

    size = 32
    base = np.abs(np.random.default_rng(9).normal(0, 1, size * size)) + 0.1
    ks = np.array([2.0, 0.5, -1.0, 1.0])
    import keras

    inputs = keras.Input((size, size, 1))
    feat = keras.layers.Conv2D(1, 1, name="feat")(inputs)  # a spatial layer for the CAMs' target search
    logits = keras.layers.Dense(4, name="logits")(keras.layers.Flatten()(feat))
    model = keras.Model(inputs, keras.layers.Activation("softmax")(logits))
    model.get_layer("feat").set_weights([np.ones((1, 1, 1, 1), np.float32), np.zeros(1, np.float32)])
    model.get_layer("logits").set_weights([np.outer(base, ks).astype(np.float32), np.zeros(4, np.float32)])
    classifier = Classifier.load(save_with_card(model, tmp_path, "linear", input_size=size))
    engine = CAMEngine(classifier)
    scan, head = _head_scan()
    own = engine.explain(scan, methods=("ig",))
    assert set(own.heatmaps) == {"ig"} and own.prediction.label == "glioma"
    assert own.relative_peak["ig"] == pytest.approx(1.0) and own.not_class_specific == {}
    assert own.heatmaps["ig"].shape == scan.shape and own.heatmaps["ig"].dtype == np.float32
    weak = engine.explain(scan, "meningioma", methods=("gradcam", "ig"))
    assert weak.relative_peak["ig"] == pytest.approx(0.25, rel=1e-4)
    assert weak.relative_heatmaps["ig"].max() == pytest.approx(0.25 * weak.heatmaps["ig"].max(), rel=1e-4)
    np.testing.assert_allclose(weak.heatmaps["ig"], own.heatmaps["ig"], atol=1e-5)  # same shape of evidence
    assert weak.raw_peak["ig"] == pytest.approx(0.25 * own.raw_peak["ig"], rel=1e-4)
    assert "ig" in weak.timings_ms
    none = engine.explain(scan, "notumor", methods=("ig",))
    assert none.all_zero["ig"] and none.relative_peak["ig"] == 0.0
    import cv2

    outside = ~cv2.dilate(head.astype(np.uint8), np.ones((21, 21), np.uint8)).astype(bool)  # 2 input px off
    assert own.heatmaps["ig"][outside].max() == 0.0  # no attribution on the black background


def test_ig_is_not_built_until_asked(tiny_model_path, head_image):
    from core.classifier import Classifier
    from gradcam.engine import CAMEngine

    engine = CAMEngine(Classifier.load(tiny_model_path))
    engine.explain(head_image.astype(np.float32))
    assert engine._ig is None
    result = engine.explain(head_image.astype(np.float32), methods=("gradcam", "gradcam++", "ig"))
    assert set(result.heatmaps) == {"gradcam", "gradcam++", "ig"} and engine._ig is not None
    with pytest.raises(ValueError):
        engine.explain(head_image.astype(np.float32), methods=("nope",))


def test_reference_class_shares_the_path():
    """with_reference: the predicted class's attributions from the same forward pass equal a
    separate run for that class."""
    from gradcam.integrated_gradients import IntegratedGradients

    w = _weights(10)
    x = _image(11)
    ig = IntegratedGradients(_linear_model(w))
    predicted = int(np.argmax(x.reshape(1, -1) @ w))
    other = (predicted + 1) % 4
    both = ig.run(x, [other], with_reference=True)
    assert both.targets.tolist() == [other, predicted] and len(both.inputs) == 2
    for item, c in enumerate((other, predicted)):
        np.testing.assert_allclose(ig.attributions(both)[item, ..., 0], x[0, ..., 0] * w[:, c].reshape(SIZE, SIZE),
                                   rtol=1e-5, atol=1e-6)
