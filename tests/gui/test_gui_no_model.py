"""Without a usable model the window still opens scans for viewing; a model can be loaded later."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from gui.recent import RecentFiles
from tests.gui.helpers import FakeDialogs, pump_until

pytestmark = pytest.mark.usefixtures("display")


@pytest.fixture(scope="module")
def app(display, tmp_path_factory):
    import tkinter as tk

    from gui.app import App

    folder = tmp_path_factory.mktemp("no_model")
    root = tk.Tk()
    recent = RecentFiles(str(folder / "recent.json"))
    window = App(root, model_path=str(folder / "missing.keras"), dialogs=FakeDialogs(), recent=recent)
    pump_until(root, lambda: not window.busy, 60, "the model load to fail")
    yield window
    window.close()


def test_missing_model_is_explained_in_the_window(app):
    assert app.model is None
    text = app.message.text_var.get()
    assert app.message.kind == "error"
    assert text.startswith("Model not loaded:") and "not found" in text and "viewing only" in text
    assert app.results.class_var.get() == "No model: preview only"
    assert app.status.model_var.get() == "No model (preview only)"
    assert app.controls.target_box.instate(["disabled"])
    assert app.controls.opacity_scale.instate(["disabled"])
    info = app.models.show_model_info()
    assert "not found" in info.content()
    info.destroy()


def test_scans_still_open_for_preview(app, scan_paths):
    app.open_scan(scan_paths[0])
    pump_until(app.root, lambda: not app.busy, 30, "the preview")
    assert app.loaded.scan.path == scan_paths[0]
    assert app.scan_canvas.image is app.loaded.display and app.scan_canvas.shown is not None
    assert app.heatmap_canvas.image is None and app.analysis is None
    assert "Preview only" in app.message.text_var.get()
    app.reports.save_overlay()  # nothing to save: says so instead of opening a dialog
    assert app.message.kind == "error" and "Nothing to save" in app.message.text_var.get()
    assert app.dialogs.asked == []


def test_opening_a_model_later_analyses_the_scan_on_screen(app, gui_model_path):
    app.dialogs.answers.append(gui_model_path)
    app.models.open_model_dialog()
    pump_until(app.root, lambda: app.analysis is not None and not app.busy, 90, "model and analysis")
    assert app.model.card.name == "tiny-gui"
    assert app.model_error is None
    assert app.controls.target_box.instate(["!disabled"])
    assert app.heatmap_canvas.image is not None
    assert app.results.class_var.get() == app.model.card.display_name(app.analysis.prediction.label)


def test_a_tampered_model_is_refused_and_the_current_one_kept(app, gui_model_path, tmp_path):
    bad = tmp_path / "tampered.keras"
    shutil.copy(gui_model_path, bad)
    card = json.loads(open(os.path.splitext(gui_model_path)[0] + ".json").read())
    card["sha256"] = "0" * 64
    (tmp_path / "tampered.json").write_text(json.dumps(card))
    current = app.model
    app.models.load_model(str(bad))
    pump_until(app.root, lambda: not app.busy, 60, "the refusal")
    assert app.model is current
    text = app.message.text_var.get()
    assert app.message.kind == "error" and "does not match its card" in text and "Still using tiny-gui" in text
