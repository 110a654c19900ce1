"""Does a map depend on the class explained? Honest scale, head mask, smooth upsampling.

The tiny model below is worked out by hand: behind a global-average-pool ->
Dense head the gradient is constant over space, and Grad-CAM++ keeps only the
channels with a positive weight, so two classes that agree on what speaks *for*
them get the same Grad-CAM++ map even where the evidence differs.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import save_with_card

# Three channels on a 2x2 grid: broad "anatomy" (mean 1), a spot top-left (mean 1),
# and a channel on the diagonal (mean 1). Z = 4 pixels.
A0 = np.ones((2, 2))
A1 = np.array([[4.0, 0.0], [0.0, 0.0]])
A2 = np.array([[2.0, 0.0], [0.0, 2.0]])
# Dense weights per class (rows: channels). Classes 0 and 1 agree on the positive
# weights and differ only in how much channel 2 counts against them; class 2 weights
# the positive channels in another ratio.
W = np.array([[0.5, 0.5, 3.0], [1.0, 1.0, 0.2], [-0.5, -4.0, -4.0]])


def _gap_model(scale=1.0):
    """Input (2,2,3) -> identity 1x1 conv 'feat' -> GAP -> Dense(3) 'logits' -> softmax."""
    import keras

    inputs = keras.Input((2, 2, 3))
    feat = keras.layers.Conv2D(3, 1, use_bias=False, name="feat")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D(name="gap")(feat)
    logits = keras.layers.Dense(3, name="logits")(pooled)
    model = keras.Model(inputs, keras.layers.Activation("softmax")(logits))
    model.get_layer("feat").set_weights([np.eye(3).reshape(1, 1, 3, 3)])
    model.get_layer("logits").set_weights([W * scale, np.zeros(3)])
    return model, np.stack([A0, A1, A2], axis=-1)[None].astype(np.float32)


def _maps(method_class, scale=1.0):
    model, batch = _gap_model(scale)
    method = method_class(model, target_layer="feat")
    return [method(batch, targets=[c])[0] for c in range(3)]


def test_gap_head_gives_gradients_constant_over_space():
    """The cause: dS_c/dA^k_ab = w_kc / Z at every pixel."""
    from gradcam.base import ActivationsAndGradients

    model, batch = _gap_model()
    for c in range(3):
        g = ActivationsAndGradients(model, "feat").run(batch, [c]).gradients[0]
        np.testing.assert_allclose(g, np.broadcast_to(W[:, c] / 4.0, g.shape), atol=1e-7)


def test_gradcam_plus_plus_alphas_and_weights_by_hand():
    """alpha = 1 / (2 + m_k w_kc); weight = relu(w_kc) / (2 + m_k w_kc)."""
    from gradcam.base import ActivationsAndGradients
    from gradcam.methods import GradCAMPlusPlus

    model, batch = _gap_model()
    p = ActivationsAndGradients(model, "feat").run(batch, [0])
    alpha = GradCAMPlusPlus.alphas(p.activations, p.gradients)[0]
    # class 0, w = (0.5, 1, -0.5), every m_k = 1: 1/2.5, 1/3, 1/1.5
    np.testing.assert_allclose(alpha[0, 0], [0.4, 1 / 3, 2 / 3], rtol=1e-5)
    weights = GradCAMPlusPlus.channel_weights(p.activations, p.gradients)[0]
    np.testing.assert_allclose(weights, [0.2, 1 / 3, 0.0], rtol=1e-5, atol=1e-8)


def test_gradcam_plus_plus_drops_the_evidence_against_a_class():
    """Classes 0 and 1 differ only in channel 2, which counts against both. Grad-CAM sees it
    (class 1's top-left is outweighed: its map moves off the spot); Grad-CAM++ does not."""
    from gradcam.methods import GradCAM, GradCAMPlusPlus

    cam = _maps(GradCAM)
    # 4 x Grad-CAM: class 0: 0.5 A0 + A1 - 0.5 A2 = [[3.5, .5], [.5, -.5]]
    #               class 1: 0.5 A0 + A1 - 4 A2   = [[-3.5, .5], [.5, -7.5]]
    np.testing.assert_allclose(cam[0], [[1, 1 / 7], [1 / 7, 0]], atol=1e-6)
    np.testing.assert_allclose(cam[1], [[0, 1], [1, 0]], atol=1e-6)
    plus = _maps(GradCAMPlusPlus)
    # both: 0.2 A0 + A1 / 3 = [[23/15, .2], [.2, .2]]
    expected = np.array([[1, 3 / 23], [3 / 23, 3 / 23]])
    np.testing.assert_allclose(plus[0], expected, atol=1e-6)
    np.testing.assert_allclose(plus[1], expected, atol=1e-6)  # lights the spot that speaks against class 1


def test_gradcam_plus_plus_weights_tend_to_one_over_the_activation_mean_for_large_logits():
    """m_k w_kc >> 2: weight -> 1 / m_k = Z / sum(A) for every positive channel, whatever the class.
    At the scale of the weights above, class 2's ratio of weights gives it its own map; at 1000x
    it has the same map as classes 0 and 1."""
    from gradcam.methods import GradCAMPlusPlus

    small = _maps(GradCAMPlusPlus, 1.0)
    # class 2, w = (3, 0.2): weights 3/5 and 0.2/2.2; map 0.6 A0 + A1/11 -> off-spot 33/53
    np.testing.assert_allclose(small[2], [[1, 33 / 53], [33 / 53, 33 / 53]], atol=1e-5)
    large = _maps(GradCAMPlusPlus, 1000.0)
    limit = np.array([[1, 0.2], [0.2, 0.2]])  # A0 / 1 + A1 / 1 = [[5, 1], [1, 1]]
    for c in range(3):
        np.testing.assert_allclose(large[c], limit, atol=5e-3)


def test_exact_grad_cam_plus_plus_from_exp_score_gives_the_same_alphas():
    """Chattopadhay et al.'s alphas from Y = exp(S) and its 2nd and 3rd derivatives (automatic
    differentiation, one pixel at a time): exp(S) cancels, the closed form is exact, no fix there."""
    import tensorflow as tf

    from gradcam.base import ActivationsAndGradients
    from gradcam.methods import GradCAMPlusPlus

    model, batch = _gap_model()
    gap, dense = model.get_layer("gap"), model.get_layer("logits")
    a = tf.constant(batch)
    for c in range(3):
        d2 = np.zeros(batch.shape, np.float64)
        d3 = np.zeros(batch.shape, np.float64)
        for index in np.ndindex(batch.shape):
            direction = np.zeros(batch.shape, np.float32)
            direction[index] = 1.0
            t = tf.constant(0.0)
            with tf.GradientTape() as tape3:
                tape3.watch(t)
                with tf.GradientTape() as tape2:
                    tape2.watch(t)
                    with tf.GradientTape() as tape1:
                        tape1.watch(t)
                        y = tf.exp(dense(gap(a + t * direction))[0, c])
                    first = tape1.gradient(y, t)
                second = tape2.gradient(first, t)
            d2[index], d3[index] = float(second), float(tape3.gradient(second, t))
        activation_sum = batch.sum(axis=(1, 2), keepdims=True)
        exact = d2 / (2 * d2 + activation_sum * d3)
        p = ActivationsAndGradients(model, "feat").run(batch, [c])
        positive = p.gradients > 0  # where the weight uses alpha at all
        closed = GradCAMPlusPlus.alphas(p.activations, p.gradients)
        np.testing.assert_allclose(exact[positive], closed[positive], rtol=1e-4)


def test_method_flags():
    from gradcam.methods import GradCAM, GradCAMPlusPlus, LayerCAM

    assert GradCAM.class_specific
    assert not GradCAMPlusPlus.class_specific and not LayerCAM.class_specific
    assert "Grad-CAM++" in GradCAMPlusPlus.not_class_specific_reason
    assert "Grad-CAM" in GradCAMPlusPlus.not_class_specific_reason.split("Use ")[1]


# ----- the engine: refusal, honest scale, head mask, smoothness -------------------------


def _detector(input_size, class_weights, bias=-0.7, kernel=1.0):
    """One channel relu(kernel * x + bias) -> GAP -> Dense(4) with weights ``class_weights``."""
    import keras

    inputs = keras.Input((input_size, input_size, 1))
    feat = keras.layers.Conv2D(1, 1, activation="relu", name="feat")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D()(feat)
    logits = keras.layers.Dense(4, name="logits")(pooled)
    model = keras.Model(inputs, keras.layers.Activation("softmax")(logits))
    model.get_layer("feat").set_weights([np.full((1, 1, 1, 1), kernel), np.array([bias])])
    model.get_layer("logits").set_weights([np.array([class_weights], np.float64), np.zeros(4)])
    return model


def _head_scan():
    """A wide scan with a black border: an elliptical head (a bright scalp around tissue whose
    intensity rises left to right, as real tissue varies) and a bright lesion in it."""
    yy, xx = np.mgrid[:300, :420]
    radius = ((yy - 160) / 100.0) ** 2 + ((xx - 230) / 130.0) ** 2
    head = radius < 1
    scan = np.where(head, 60.0 + 50.0 * (xx - 100) / 260.0, 0.0).astype(np.float32)
    scan[head & (radius > 0.88)] = 170.0
    lesion = ((yy - 120) ** 2 + (xx - 290) ** 2) < 12**2
    scan[lesion] = 250.0
    return scan, head, lesion


def test_engine_refuses_non_class_specific_methods_for_another_class(tiny_model_path, head_image):
    from core.classifier import Classifier
    from gradcam.engine import CAMEngine

    engine = CAMEngine(Classifier.load(tiny_model_path), methods=("gradcam", "gradcam++", "layercam"))
    pixels = head_image.astype(np.float32)
    own = engine.explain(pixels)
    assert own.not_class_specific == {}
    other = next(c for c in engine.classifier.classes if c != own.prediction.label)
    result = engine.explain(pixels, other)
    assert set(result.not_class_specific) == {"gradcam++", "layercam"}
    assert "Grad-CAM" in result.not_class_specific["gradcam++"]
    assert set(result.heatmaps) == {"gradcam", "gradcam++", "layercam"}  # the old API still has every map
    same = engine.explain(pixels, own.prediction.label)  # naming the predicted class is not "another"
    assert same.not_class_specific == {}


def test_window_analysis_carries_the_refusal(tiny_model_path, head_image):
    """gui.jobs.analyse hands the reason to the window, which shows it instead of the map."""
    from gui.jobs import analyse, load_model

    model = load_model(tiny_model_path)
    own = analyse(model, head_image, None)
    assert own.not_class_specific == {}
    other = next(c for c in model.classifier.classes if c != own.prediction.label)
    refused = analyse(model, head_image, other).not_class_specific
    assert set(refused) == {"gradcam++", "layercam"} and "Grad-CAM" in refused["gradcam++"]


def test_relative_scale_by_hand(tmp_path):
    """Class 0 weighs the lesion channel 5, class 1 weighs it 1: on the scale of the predicted
    class's evidence class 1 peaks at 1/5 (Grad-CAM), and at relu-weight ratio x exp(S1 - S0)
    for Grad-CAM++ (the paper's exp(score) factor); class 2 (weight -5) has no evidence."""
    from core.classifier import Classifier
    from gradcam.engine import CAMEngine

    scan, _, _ = _head_scan()
    path = save_with_card(_detector(64, [5.0, 1.0, -5.0, -5.0]), tmp_path, "lesion", input_size=64)
    classifier = Classifier.load(path)
    engine = CAMEngine(classifier, methods=("gradcam", "gradcam++"))
    own = engine.explain(scan)
    assert own.prediction.label == "glioma"
    assert own.relative_peak == {"gradcam": pytest.approx(1.0), "gradcam++": pytest.approx(1.0)}
    second = engine.explain(scan, "meningioma")
    assert second.relative_peak["gradcam"] == pytest.approx(0.2, rel=1e-4)
    batch, _ = classifier.preprocess([scan])
    m = float(engine.passes.run(batch).activations.mean())  # mean of the one channel; S_c = w_c m
    expected = (1 / (2 + m)) / (5 / (2 + 5 * m)) * np.exp(1 * m - 5 * m)
    assert second.relative_peak["gradcam++"] == pytest.approx(expected, rel=1e-4)
    assert second.relative_peak["gradcam++"] < second.relative_peak["gradcam"]
    for name in ("gradcam", "gradcam++"):
        # stretched, the weak class looks as hot as the predicted one; on the honest scale it does not
        assert second.heatmaps[name].max() == pytest.approx(own.heatmaps[name].max(), rel=1e-3)
        relative = second.relative_heatmaps[name]
        assert relative.max() == pytest.approx(second.relative_peak[name] * second.heatmaps[name].max(), rel=1e-4)
        raw = second.raw_heatmaps[name]
        assert raw.max() == pytest.approx(second.raw_peak[name] * second.heatmaps[name].max(), rel=1e-4)
        np.testing.assert_allclose(own.relative_heatmaps[name], own.heatmaps[name], atol=1e-6)
    none = engine.explain(scan, "notumor")
    assert none.all_zero["gradcam"] and none.relative_peak["gradcam"] == 0.0
    assert np.all(none.relative_heatmaps["gradcam"] == 0)


def test_gradcam_raw_evidence_is_in_logit_units(tmp_path):
    """Grad-CAM behind GAP: the unstretched map over the target layer's grid sums to the logit."""
    from core.classifier import Classifier
    from gradcam.engine import CAMEngine

    scan, _, _ = _head_scan()
    path = save_with_card(_detector(64, [5.0, 1.0, -5.0, -5.0]), tmp_path, "lesion", input_size=64)
    classifier = Classifier.load(path)
    engine = CAMEngine(classifier, methods=("gradcam",))
    batch, _ = classifier.preprocess([scan])
    p = engine.passes.run(batch)
    raw = engine.methods["gradcam"].weighted_sum(p)[0]
    assert raw.sum() == pytest.approx(float(p.logits[0, 0]), rel=1e-4)


def test_heat_stays_inside_the_head(tmp_path):
    """A channel that is 1 everywhere (background included) gives a uniform map: after the mask it
    is 1 inside the head and 0 on the background, including the corners of the head's crop box."""
    from core.classifier import Classifier
    from gradcam.engine import CAMEngine

    scan, head, _ = _head_scan()
    path = save_with_card(_detector(64, [1.0, -1.0, -1.0, -1.0], bias=1.0, kernel=0.0), tmp_path, "flat",
                          input_size=64)
    result = CAMEngine(Classifier.load(path), methods=("gradcam",)).explain(scan, "glioma")
    heat = result.heatmaps["gradcam"]
    import cv2

    ring = cv2.dilate(head.astype(np.uint8), np.ones((25, 25), np.uint8)).astype(bool)  # head + 12 px
    assert heat[~ring].max() == 0.0  # nothing on the background (the edge: ~2 model-input pixels)
    core = cv2.erode(head.astype(np.uint8), np.ones((31, 31), np.uint8)).astype(bool)
    assert heat[core].min() > 0.95  # the head itself is not dimmed
    x0, y0, x1, y1 = result.geometry.crop
    assert heat[y0 + 2, x0 + 2] == 0.0 and heat[y1 - 3, x1 - 3] == 0.0  # crop-box corners: background


def test_head_mask_fills_dark_holes_and_ignores_specks():
    from gradcam.maps import head_mask

    image = np.zeros((64, 64), np.float32)
    yy, xx = np.mgrid[:64, :64]
    image[((yy - 32) / 24.0) ** 2 + ((xx - 32) / 20.0) ** 2 < 1] = 0.8
    image[26:38, 26:38] = 0.0  # a dark core inside the head
    image[2, 60] = 1.0  # a speck of noise in the background
    mask = head_mask(image[..., None])
    assert mask[32, 32] > 0.99  # the dark core is inside the head
    assert mask[2, 60] == 0.0 and mask[0, 0] == 0.0
    assert np.all(head_mask(np.zeros((64, 64), np.float32)) == 1.0)  # nothing to tell: no mask


def test_upsampling_is_smooth_and_round():
    """One hot cell on an 8x8 grid: no plateau (nearest), round level sets (at half maximum the
    diagonal and axial radii agree within 5 %; bilinear 0.91, bicubic alone 1.08, nearest 0.74),
    and no creases (bilinear's slope jumps at every cell centre)."""
    import cv2

    from gradcam.maps import upsample

    grid = np.zeros((8, 8), np.float32)
    grid[4, 4] = 1.0
    up = upsample(grid, 128)
    peak = up.max()
    assert (up >= peak * 0.999).sum() < 16
    cy, cx = np.unravel_index(np.argmax(up), up.shape)

    def radius(dy, dx):
        step = 0
        while up[cy + int(round(step * dy)), cx + int(round(step * dx))] > peak / 2:
            step += 1
        return step * np.hypot(dy, dx)

    axial = np.mean([radius(0, 1), radius(1, 0), radius(0, -1), radius(-1, 0)])
    diagonal = np.mean([radius(d1, d2) for d1 in (-0.7071, 0.7071) for d2 in (-0.7071, 0.7071)])
    assert 0.95 < diagonal / axial < 1.05
    bilinear = cv2.resize(grid, (128, 128), interpolation=cv2.INTER_LINEAR)
    crease = np.abs(np.diff(up / peak, 2, axis=0)).max()
    assert crease < 0.5 * np.abs(np.diff(bilinear / bilinear.max(), 2, axis=0)).max()
