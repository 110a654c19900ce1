"""The window's honest scale: a labelled colour bar beside the heatmap, maps relative to the
predicted class's strongest evidence, Integrated Gradients computed on demand.

One real window for the module (the ``app`` fixture of tests/gui/conftest.py), driven with
events under Xvfb. ``NEUROSCAN_SCREENSHOT=FILE`` also saves a screenshot of the window with
the colour bar (to look at).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from tests.gui.helpers import pump, pump_until

pytestmark = pytest.mark.usefixtures("display")


def _open(app, path):
    app.open_scan(path)
    pump_until(app.root, lambda: app.analysis is not None and not app.busy, 60, "the analysis")
    pump(app.root, 0.1)


def _grab(app, out):
    from PIL import ImageGrab

    root = app.root
    root.update()
    width, height = root.winfo_rootx() + root.winfo_width(), root.winfo_rooty() + root.winfo_height()
    ImageGrab.grab(bbox=(0, 0, width, height), xdisplay=os.environ.get("DISPLAY")).save(out)


def test_colour_bar_beside_the_heatmap_says_what_one_means(app, scan_paths):
    _open(app, scan_paths[0])
    bar = app.colorbar
    predicted = app.model.card.display_name(app.analysis.prediction.label)
    assert bar.showing and bar.winfo_ismapped()
    assert bar.caption == f"1 = strongest evidence for {predicted} on this scan"
    assert bar.find_withtag("bar") and len(bar.find_withtag("tick")) == 5
    assert [bar.itemcget(t, "text") for t in bar.find_withtag("tick")] == ["0", "0.25", "0.5", "0.75", "1"]
    assert bar.itemcget(bar.find_withtag("caption")[0], "text") == bar.caption
    assert bar.peak == pytest.approx(1.0)  # the predicted class reaches the top of its own scale
    # the bar sits right of the heatmap, as tall as the image area
    assert bar.winfo_rootx() >= app.heatmap_canvas.winfo_rootx() + app.heatmap_canvas.winfo_width()
    assert bar.winfo_height() > 0.8 * app.heatmap_canvas.winfo_height()
    app.vars.colormap.set("viridis")
    pump(app.root, 0.05)
    assert bar.colormap == "viridis"
    app.vars.colormap.set("jet")
    pump(app.root, 0.05)


def test_another_class_is_shown_on_the_predicted_class_scale(app):
    analysis = app.analysis
    other = next(c for c in app.model.classifier.classes if c != analysis.prediction.label)
    box = app.controls.target_box
    box.set(app.model.card.display_name(other))
    box.event_generate("<<ComboboxSelected>>")
    pump_until(app.root, lambda: not app.busy and app.analysis.target_class == other, 60, "the re-explanation")
    analysis = app.analysis
    app.vars.method.set("gradcam")
    pump(app.root, 0.05)
    peak = analysis.relative_peak["gradcam"]
    assert analysis.heatmaps["gradcam"].max() <= min(1.0, peak) + 1e-6  # weak evidence looks weak
    if peak < 0.995:
        assert f"this map's peak: {peak:.2f}" in app.colorbar.caption
    app.vars.method.set("gradcam++")  # refused for another class: no map, no colour bar
    pump(app.root, 0.05)
    assert app.overlay_image is None and not app.colorbar.showing
    app.vars.method.set("gradcam")
    box.set("Predicted class")
    box.event_generate("<<ComboboxSelected>>")
    pump_until(app.root, lambda: not app.busy and app.analysis.target_class == analysis.prediction.label, 60,
               "back to the predicted class")


def test_integrated_gradients_is_computed_on_demand_and_the_toggle_stays_instant(app, tmp_path):
    assert "ig" not in app.analysis.heatmaps  # not computed with every scan
    labels = [str(b.cget("text")) for b in app.controls.method_buttons]
    assert labels == ["LayerCAM", "Grad-CAM", "Grad-CAM++", "Integrated Gradients"]
    app.controls.method_buttons[3].invoke()
    assert app.vars.method.get() == "ig" and app.busy  # on the model worker, not here
    pump_until(app.root, lambda: not app.busy, 60, "Integrated Gradients")
    pump(app.root, 0.05)
    assert "ig" in app.analysis.heatmaps and app.overlay_image is not None
    assert app.heatmap_title.get().startswith("Integrated Gradients")
    assert app.colorbar.showing and app.colorbar.peak == pytest.approx(1.0)
    ig_image = app.overlay_image.copy()
    for cam in ("layercam", "gradcam", "gradcam++"):  # the CAM maps stay a repaint
        app.vars.method.set(cam)
        assert not app.busy, cam
    app.vars.method.set("ig")  # kept: no second job
    assert not app.busy
    np.testing.assert_array_equal(app.overlay_image, ig_image)
    shot = os.environ.get("NEUROSCAN_SCREENSHOT")
    if shot:
        app.vars.method.set("gradcam")
        pump(app.root, 0.2)
        _grab(app, shot)
    target = tmp_path / "ig.png"
    app.vars.method.set("ig")
    pump(app.root, 0.05)
    app.dialogs.answers.append(str(target))
    app.reports.save_overlay()
    pump_until(app.root, lambda: target.exists() and not app.busy, 30, "the saved overlay")
    saved = np.asarray(Image.open(target))
    np.testing.assert_array_equal(saved[:, : app.overlay_image.shape[1]], app.overlay_image)
    app.vars.method.set("gradcam")
    pump(app.root, 0.05)


def test_report_has_the_colour_bar(app, tmp_path, monkeypatch):
    """File > Export report: the PDF's figure has a colour bar labelled with the scale."""
    from matplotlib.figure import Figure

    figures = []
    original = Figure.savefig

    def keep(self, *args, **kwargs):
        figures.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    target = tmp_path / "r.pdf"
    app.dialogs.answers.append(str(target))
    app.reports.export_report()
    pump_until(app.root, lambda: target.exists() and not app.busy, 60, "the report")
    labels = [axes.get_ylabel() for axes in figures[-1].axes]
    assert app.analyses.scale_caption() in labels
