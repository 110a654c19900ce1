"""The labelled colour bar saved beside overlays and drawn in PDF reports (no window needed)."""

from __future__ import annotations

import numpy as np
import pytest


def test_strip_bar_runs_from_heat_one_at_the_top_to_zero_at_the_bottom():
    from gradcam.overlay import STRIP_BACKGROUND, colorbar_strip, colormap_lut

    strip = colorbar_strip(300, "jet", "1 = strongest evidence for Glioma on this scan")
    assert strip.dtype == np.uint8 and strip.shape[0] == 300 and 40 < strip.shape[1] < 160
    lut = colormap_lut("jet")
    column = strip[:, 8].astype(int)  # inside the bar
    top, bottom = np.flatnonzero(np.any(column != STRIP_BACKGROUND, axis=1))[[0, -1]]
    assert np.abs(column[top] - lut[255]).max() <= 1 and np.abs(column[bottom] - lut[0]).max() <= 1
    assert not strip.flags.writeable  # cached: nobody may paint on the shared copy
    # tick labels and the caption are drawn (light pixels right of the bar)
    text = strip[:, 30:].astype(int).sum(axis=-1) > 3 * 150
    assert text.sum() > 200
    assert colorbar_strip(300, "jet", "1 = strongest evidence for Glioma on this scan") is strip
    with pytest.raises(ValueError):
        colorbar_strip(100, "nope")


def test_with_colorbar_keeps_the_overlay_pixels_and_small_images_work():
    from gradcam.overlay import overlay, with_colorbar

    rng = np.random.default_rng(0)
    for shape in ((180, 240), (12, 9)):
        scan = rng.integers(0, 255, shape, np.uint8)
        rgb = overlay(scan, rng.uniform(0, 1, shape).astype(np.float32))
        out = with_colorbar(rgb, "inferno", "1 = strongest evidence for X")
        assert out.shape[0] == shape[0] and out.shape[1] > shape[1]
        np.testing.assert_array_equal(out[:, : shape[1]], rgb)


def test_overlay_blend_by_hand():
    """weight = alpha x heat: 0.5 x 1 over grey 100 with jet's red (128, 0, 0) at heat 1 -> 114, 50, 50."""
    from gradcam.overlay import colormap_lut, overlay

    scan = np.full((2, 2), 100, np.uint8)
    heat = np.array([[1.0, 0.0], [0.5, 0.0]], np.float32)
    out = overlay(scan, heat, alpha=0.5, colormap="jet").astype(int)
    red = colormap_lut("jet")[255].astype(int)
    np.testing.assert_allclose(out[0, 0], 0.5 * 100 + 0.5 * red, atol=1)
    half = colormap_lut("jet")[127].astype(int)
    np.testing.assert_allclose(out[1, 0], 0.75 * 100 + 0.25 * half, atol=1)
    assert np.all(out[:, 1] == 100)


def test_pdf_report_draws_the_colour_bar_with_its_label(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from core.classifier import Prediction
    from core.report import write_pdf_report
    from gradcam.overlay import colormap_lut

    figures = []
    original = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: (figures.append(self), original(self, *a, **k))[1])
    prediction = Prediction("glioma", 0.9, {"glioma": 0.9, "meningioma": 0.05, "notumor": 0.03, "pituitary": 0.02},
                            low_confidence=False, logits=np.zeros(4))
    scan = np.zeros((64, 64), np.uint8)
    label = "1 = strongest evidence for Glioma on this scan"
    write_pdf_report(tmp_path / "a.pdf", scan, np.zeros((64, 64, 3), np.uint8), prediction,
                     colormap="hot", scale_label=label)
    bars = [a for a in figures[-1].axes if a.get_ylabel() == label]
    assert len(bars) == 1
    assert [t.get_text() for t in bars[0].get_yticklabels()] == ["0", "0.25", "0.5", "0.75", "1"]
    from matplotlib.collections import QuadMesh

    cmap = next(c for c in bars[0].collections if isinstance(c, QuadMesh)).cmap  # the bar's colours
    np.testing.assert_allclose(cmap(1.0)[:3], colormap_lut("hot")[255] / 255.0, atol=1e-6)
    write_pdf_report(tmp_path / "b.pdf", scan, np.zeros((64, 64, 3), np.uint8), prediction)  # no map: no bar
    assert not [a for a in figures[-1].axes if a.get_ylabel()]


def test_tiny_images_get_a_bar_without_labels():
    from gradcam.overlay import colormap_lut, overlay, with_colorbar

    for height in (1, 2, 39, 40):
        rgb = overlay(np.zeros((height, 3), np.uint8), np.ones((height, 3), np.float32))
        out = with_colorbar(rgb, "jet", "1 = strongest evidence for X on this scan")
        assert out.shape[0] == height and out.shape[1] > 3
        if height < 40:  # the bar alone, heat 1 at the top
            np.testing.assert_array_equal(out[0, -1], colormap_lut("jet")[255])
