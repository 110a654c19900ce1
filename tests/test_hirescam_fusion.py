"""gradcam.methods.HiResCAM and gradcam.fusion: the maths by hand, and on a tiny real Keras model."""

from __future__ import annotations

import numpy as np
import pytest

from gradcam.base import Pass
from gradcam.fusion import fuse, unit_peak
from gradcam.methods import METHODS, GradCAM, HiResCAM


def _pass(activations, gradients):
    return Pass(np.asarray(activations, np.float64), np.asarray(gradients, np.float64),
                logits=np.zeros((1, 2)), targets=np.zeros(1, int))


def test_hirescam_is_gradient_times_activation_summed_over_channels():
    # one scan, a 1x2 grid, two channels
    a = [[[[1.0, 2.0], [3.0, 0.0]]]]  # (1, 1, 2, 2): pixel 0 has A = (1, 2), pixel 1 has A = (3, 0)
    g = [[[[0.5, -1.0], [2.0, 4.0]]]]
    m = HiResCAM.__new__(HiResCAM).weighted_sum(_pass(a, g))
    # pixel 0: 1*0.5 + 2*(-1) = -1.5; pixel 1: 3*2 + 0*4 = 6
    assert m.shape == (1, 1, 2) and m[0, 0].tolist() == pytest.approx([-1.5, 6.0])
    # Grad-CAM averages the gradient over space first: w = (1.25, 1.5)
    gc = GradCAM.__new__(GradCAM).weighted_sum(_pass(a, g))
    assert gc[0, 0].tolist() == pytest.approx([1 * 1.25 + 2 * 1.5, 3 * 1.25])
    # with a gradient constant over space (a GAP -> Dense head at the last layer) the two are one
    flat = [[[[0.5, -1.0], [0.5, -1.0]]]]
    assert np.allclose(HiResCAM.__new__(HiResCAM).weighted_sum(_pass(a, flat)),
                       GradCAM.__new__(GradCAM).weighted_sum(_pass(a, flat)))
    assert HiResCAM.class_specific and METHODS["hirescam"] is HiResCAM


def test_hirescam_on_a_tiny_model():
    """At the last spatial layer (GAP -> Dense after it) HiResCAM equals Grad-CAM; at an earlier layer it
    differs, and its grid map sums to the first-order share of the logit (sum of g * A)."""
    import keras
    from keras import layers

    from gradcam.base import ActivationsAndGradients

    keras.utils.set_random_seed(1)
    x = inputs = keras.Input((16, 16, 1))
    x = layers.Conv2D(6, 3, padding="same", activation="relu", name="early")(x)
    x = layers.Conv2D(5, 3, strides=2, padding="same", activation="relu", name="late")(x)
    x = layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, layers.Dense(3, name="logits")(x))
    batch = np.random.default_rng(0).random((2, 16, 16, 1)).astype(np.float32)
    late = ActivationsAndGradients(model, "late")
    p = late.run(batch, [1, 2])
    hires, grad = HiResCAM(model, passes=late), GradCAM(model, passes=late)
    assert np.allclose(hires.weighted_sum(p), grad.weighted_sum(p), atol=1e-5)
    # by hand at the last layer: the logit is sum_k w_k mean(A_k) + b, so sum over the grid of the map
    # (g = w / Z) is the logit minus its bias
    w, b = model.get_layer("logits").get_weights()
    total = hires.weighted_sum(p).sum(axis=(1, 2))
    assert total == pytest.approx(p.logits[[0, 1], [1, 2]] - b[[1, 2]], rel=1e-4)
    early = ActivationsAndGradients(model, "early")
    q = early.run(batch, [1, 2])
    assert not np.allclose(HiResCAM(model, passes=early).weighted_sum(q), GradCAM(model, passes=early).weighted_sum(q))
    assert np.allclose(HiResCAM(model, passes=early).weighted_sum(q), (q.gradients * q.activations).sum(-1))


def test_fusion_by_hand():
    a = np.array([[0.0, 2.0], [1.0, -3.0]])  # unit peak: [[0, 1], [0.5, 0]]
    b = np.array([[4.0, 0.0], [0.0, 0.0]])  # unit peak: [[1, 0], [0, 0]]
    assert unit_peak(a).tolist() == [[0.0, 1.0], [0.5, 0.0]]
    # mean [[0.5, 0.5], [0.25, 0]] over its peak 0.5
    assert np.allclose(fuse([a, b]), [[1.0, 1.0], [0.5, 0.0]])
    # an empty layer adds nothing but counts in the mean (the result is rescaled anyway)
    assert np.allclose(fuse([a, np.zeros((2, 2))]), unit_peak(a))
    assert not fuse([np.zeros((2, 2)), -np.ones((2, 2))]).any()
    with pytest.raises(ValueError):
        fuse([])
