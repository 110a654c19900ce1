"""Grad-CAM / Grad-CAM++ against values worked out by hand, and on real model shapes."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT, save_with_card

A0 = np.array([[1.0, 2.0], [3.0, 4.0]])
A1 = np.array([[0.0, 1.0], [1.0, 0.0]])
G0 = np.array([[1.0, 0.5], [0.25, -1.0]])  # gradient of logit 0 w.r.t. channel 0
G1 = np.array([[2.0, -0.5], [0.5, 1.0]])


def _known_model(logit_scale=1.0):
    """Input (2,2,2) -> identity 1x1 conv 'feat' -> Flatten -> Dense(2) -> softmax.

    logit_0 = sum(W0 * A), so dlogit_0/dA = W0 exactly: gradients vary over space.
    """
    import keras

    inputs = keras.Input((2, 2, 2))
    feat = keras.layers.Conv2D(2, 1, use_bias=False, name="feat")(inputs)
    flat = keras.layers.Flatten()(feat)
    logits = keras.layers.Dense(2, name="logits")(flat)
    outputs = keras.layers.Activation("softmax")(logits)
    model = keras.Model(inputs, outputs)
    model.get_layer("feat").set_weights([np.eye(2).reshape(1, 1, 2, 2)])
    w0 = np.stack([G0, G1], axis=-1).reshape(-1)  # Flatten order (i, j, k)
    kernel = np.stack([w0, -w0], axis=1) * logit_scale
    model.get_layer("logits").set_weights([kernel, np.zeros(2)])
    batch = np.stack([A0, A1], axis=-1)[None].astype(np.float32)
    return model, batch


def test_gradcam_matches_hand_computation():
    from gradcam.methods import GradCAM

    model, batch = _known_model()
    cam = GradCAM(model, target_layer="feat")(batch, targets=[0])[0]
    # weights = mean gradient: ch0 0.1875, ch1 0.75; cam = 0.1875*A0 + 0.75*A1, max 1.3125
    expected = np.array([[0.1875, 1.125], [1.3125, 0.75]]) / 1.3125
    np.testing.assert_allclose(cam, expected, rtol=1e-5)


def test_gradcam_plus_plus_matches_hand_computation():
    from gradcam.methods import GradCAMPlusPlus

    model, batch = _known_model()
    cam = GradCAMPlusPlus(model, target_layer="feat")(batch, targets=[0])[0]
    # alpha = 1 / (2 + S*g) with S = sum(A): S0 = 10, S1 = 2.
    # w0 = 1/12*1 + 1/7*0.5 + 1/4.5*0.25 = 0.2103175; w1 = 1/6*2 + 1/3*0.5 + 1/4*1 = 0.75
    w0 = 1 / 12 + 0.5 / 7 + 0.25 / 4.5
    raw = w0 * A0 + 0.75 * A1
    np.testing.assert_allclose(cam, raw / raw.max(), rtol=1e-5)
    np.testing.assert_allclose(cam, [[0.152299, 0.847701], [1.0, 0.609195]], atol=1e-5)


def test_gradcam_plus_plus_alpha_is_not_the_published_mistake():
    from gradcam.methods import GradCAMPlusPlus

    a = np.stack([A0, A1], axis=-1)[None]
    g = np.stack([G0, G1], axis=-1)[None]
    alpha = GradCAMPlusPlus.alphas(a, g)
    np.testing.assert_allclose(alpha[0, 0, 0, 0], 1 / 12)  # 1 / (2 + 10 * 1)
    mistaken = g**2 / (2 * g**2 + (a * g**3).sum(axis=(1, 2), keepdims=True))
    assert not np.allclose(alpha, mistaken)


def test_zero_gradient_denominator_is_guarded():
    from gradcam.methods import GradCAMPlusPlus

    a = np.ones((1, 2, 2, 1))
    g = np.zeros((1, 2, 2, 1))
    assert np.all(GradCAMPlusPlus.alphas(a, g) == 0)
    assert np.all(np.isfinite(GradCAMPlusPlus.channel_weights(a, g)))


def test_no_positive_evidence_gives_all_zero_map_flagged():
    from gradcam.base import relu_normalise

    maps, zero = relu_normalise(np.array([-np.ones((3, 3)), np.eye(3) * 1e-3]))
    assert zero.tolist() == [True, False]
    assert np.all(maps[0] == 0)
    assert maps[1].max() == pytest.approx(1.0)


def test_saturated_softmax_still_gives_maps_because_logits_are_used():
    from gradcam.methods import GradCAM, GradCAMPlusPlus

    model, batch = _known_model(logit_scale=1000.0)
    probs = model.predict(batch, verbose=0)
    assert probs.max() == pytest.approx(1.0)  # saturated: softmax gradients vanish
    for method in (GradCAM, GradCAMPlusPlus):
        assert method(model, target_layer="feat")(batch, targets=[0])[0].max() == pytest.approx(1.0)


def test_target_layer_found_automatically(tiny_model_path):
    from core.classifier import Classifier
    from gradcam.engine import CAMEngine

    engine = CAMEngine(Classifier.load(tiny_model_path))
    assert engine.layer_name == "last_conv"


def test_nested_xception_transfer_model():
    from gradcam.methods import GradCAM, GradCAMPlusPlus
    from training.model import transfer_model

    model = transfer_model("xception", 71, 1, 4, weights=None)
    rng = np.random.default_rng(0)
    batch = rng.random((2, 71, 71, 1)).astype(np.float32)
    nonzero = 0
    for target in range(4):
        for method in (GradCAM, GradCAMPlusPlus):
            maps = method(model)(batch, targets=[target, target])
            assert maps.shape == (2, 3, 3)
            assert np.all(np.isfinite(maps)) and maps.min() >= 0 and maps.max() <= 1
            nonzero += int((maps.reshape(2, -1).max(axis=1) > 0).sum())
    assert nonzero > 0


def _lesion_detector(input_size):
    """Class 0's logit = mean(relu(x - 0.7)): it responds only to very bright pixels."""
    import keras

    inputs = keras.Input((input_size, input_size, 1))
    feat = keras.layers.Conv2D(1, 1, activation="relu", name="feat")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D()(feat)
    logits = keras.layers.Dense(4, name="logits")(pooled)
    model = keras.Model(inputs, keras.layers.Activation("softmax")(logits))
    model.get_layer("feat").set_weights([np.ones((1, 1, 1, 1)), np.array([-0.7])])
    model.get_layer("logits").set_weights([np.array([[5.0, -5.0, -5.0, -5.0]]), np.zeros(4)])
    return model


def test_heatmap_maps_back_onto_a_non_square_bordered_scan(tmp_path):
    from core.classifier import Classifier
    from gradcam.engine import CAMEngine

    scan = np.zeros((300, 420), np.float32)  # wide, with a thick black border
    yy, xx = np.mgrid[:300, :420]
    scan[((yy - 160) / 100.0) ** 2 + ((xx - 230) / 130.0) ** 2 < 1] = 90.0
    lesion = ((yy - 120) ** 2 + (xx - 290) ** 2) < 12**2
    scan[lesion] = 250.0
    path = save_with_card(_lesion_detector(64), tmp_path, "lesion", input_size=64)
    result = CAMEngine(Classifier.load(path)).explain(scan, target_class="glioma")
    for name, heatmap in result.heatmaps.items():
        assert heatmap.shape == scan.shape
        y, x = np.unravel_index(np.argmax(heatmap), heatmap.shape)
        assert lesion[y, x], f"{name}: hottest pixel {(y, x)} is outside the lesion"


def test_gradcam_package_never_imports_tk():
    code = (
        "import sys; sys.path.insert(0, %r);"
        "import gradcam, gradcam.engine, gradcam.methods, gradcam.overlay, gradcam.faithfulness;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('tkinter', '_tkinter')];"
        "assert not bad, bad" % ROOT
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_overlay_blends_by_heat_and_validates_shape():
    from gradcam.overlay import overlay

    scan = np.full((4, 6), 100, np.uint8)
    heat = np.zeros((4, 6), np.float32)
    heat[0, 0] = 1.0
    out = overlay(scan, heat, alpha=0.5, colormap="jet")
    assert out.shape == (4, 6, 3) and out.dtype == np.uint8
    assert np.all(out[1:, 1:] == 100)  # cold pixels show the scan unchanged
    assert not np.all(out[0, 0] == 100)
    with pytest.raises(ValueError):
        overlay(scan, np.zeros((3, 3)), 0.5)


def test_deletion_blanks_the_hottest_pixels_and_random_regions_of_equal_area():
    from gradcam.faithfulness import blank_top, random_heatmap

    item = np.ones((16, 16, 1), np.float32)
    heat = np.zeros((16, 16), np.float32)
    heat[:4, :8] = 1.0  # 32 hottest pixels = 12.5 %
    blanked = blank_top(item, heat, 0.125)
    assert blanked[:4, :8].sum() == 0 and blanked[4:].min() == 1
    random_map = random_heatmap(16, 4, np.random.default_rng(0))
    assert random_map.shape == (16, 16)
    assert (blank_top(item, random_map, 0.125) == 0).sum() == 32


def test_engine_on_tiny_model_gives_every_cam_map_from_one_pass(tiny_model_path, head_image):
    from core.classifier import Classifier
    from gradcam.engine import CAMEngine

    classifier = Classifier.load(tiny_model_path)
    engine = CAMEngine(classifier)
    result = engine.explain(head_image.astype(np.float32), target_class="pituitary")
    assert result.target_class == "pituitary"
    assert set(result.heatmaps) == {"gradcam", "gradcam++", "layercam"}  # no card layers: all at the last layer
    assert {engine.layer_of(m) for m in result.heatmaps} == {engine.layer_name}
    for heatmap in result.heatmaps.values():
        assert heatmap.shape == head_image.shape and heatmap.dtype == np.float32
        assert 0 <= heatmap.min() and heatmap.max() <= 1
    expected = classifier.predict_pixels([head_image])[0]
    assert result.prediction.label == expected.label
    assert result.prediction.confidence == pytest.approx(expected.confidence, abs=1e-5)


def test_explanation_reuses_its_pass_for_the_out_of_distribution_distance(head_image):
    """The bundled model (with its feature statistics): the explanation's distance comes from
    the Grad-CAM pass's features and equals the classifier's own two-output forward pass."""
    from core.classifier import Classifier
    from core.paths import default_model_path
    from gradcam.engine import CAMEngine

    if not os.path.exists(default_model_path()):
        pytest.skip("no bundled model in models/")
    classifier = Classifier.load()
    assert classifier.feature_density is not None
    engine = CAMEngine(classifier)
    pixels = head_image.astype(np.float32)
    batch, _ = classifier.preprocess([pixels])
    p = engine.passes.run(batch)
    logits, features = classifier.logits_and_features(batch)
    np.testing.assert_allclose(p.features, features, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(p.logits, logits, rtol=1e-4, atol=1e-5)
    result = engine.explain(pixels)
    assert result.prediction.ood_distance == pytest.approx(classifier.ood_distances(batch)[1][0], rel=1e-4)


def test_nested_backbone_pass_has_no_features():
    from gradcam.base import ActivationsAndGradients
    from training.model import transfer_model

    model = transfer_model("xception", 71, 1, 4, weights=None)
    p = ActivationsAndGradients(model).run(np.zeros((1, 71, 71, 1), np.float32))
    assert p.features is None and p.logits.shape == (1, 4)
