"""Drive the real window under a display: open scans, switch methods, move sliders, save, fail well.

One Tk root for the whole module (IDLE's pattern, one root per class/module);
the tests share it and run in file order, the last one closes it.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from PIL import Image

from tests.gui.helpers import pump, pump_until

pytestmark = pytest.mark.usefixtures("display")


@pytest.fixture(scope="module")
def reference(gui_model_path):
    """The same model, loaded here, to say what the window ought to show."""
    from core.classifier import Classifier

    return Classifier.load(gui_model_path)



def open_and_wait(app, path, what="the analysis"):
    app.open_scan(path)
    pump_until(app.root, lambda: not app.busy, 60, what)


def expected_for(reference, path):
    from core.io import load_scan

    return reference.predict_pixels([load_scan(path).pixels])[0]


def key(app, sequence):
    """Send a key press to the main window the way the keyboard would."""
    app.root.focus_force()
    app.scan_canvas.event_generate(sequence)
    pump(app.root, 0.05)


def test_window_starts_with_menus_disclaimer_and_clam_theme(app):
    from tkinter import ttk

    root = app.root
    from gui import theme

    assert ttk.Style(root).theme_use() == "clam"  # restyled: the dark viewer theme of gui/theme.py
    assert ttk.Style(root).lookup("TFrame", "background") == theme.BG
    assert root.minsize() == (app.theme.px(960), app.theme.px(620))  # 960 x 620 at 100 %, scaled
    menus = [app.menus.bar.entrycget(i, "label") for i in range(app.menus.bar.index("end") + 1)]
    assert menus == ["File", "View", "Model", "Help"]
    labels = []

    def walk(widget):
        for child in widget.winfo_children():
            if child.winfo_class() == "TLabel":
                labels.append(str(child.cget("text")))
            walk(child)

    walk(root)
    assert "Research and education only — not a diagnosis." in labels
    assert app.status.model_var.get() == "Model: tiny-gui (untrained)"


def test_open_scan_shows_what_the_classifier_predicts(app, reference, scan_paths):
    path = scan_paths[0]
    app.dialogs.answers.append(path)
    key(app, "<Control-o>")  # Ctrl+O asks the (fake) dialog, then opens its answer
    assert app.dialogs.asked[-1][0] == "open_scan"
    pump_until(app.root, lambda: app.analysis is not None and not app.busy, 60, "the first analysis")

    expected = expected_for(reference, path)
    card = app.model.card
    assert app.results.class_var.get() == card.display_name(expected.label)
    assert app.analysis.prediction.label == expected.label
    assert f"{expected.confidence:.1%}" in app.results.confidence_var.get()
    bars = app.results.bar_values()
    for name, probability in expected.probabilities.items():
        assert bars[name] == pytest.approx(probability * 100, abs=0.01)
    # A random tiny model is unsure about everything: the warning must say so.
    assert expected.low_confidence
    assert app.results.warning_var.get().startswith("Low confidence: review by a specialist")
    assert "Untrained placeholder model" in app.results.notice_var.get()
    assert app.results.warning_label.winfo_ismapped() and app.results.notice_label.winfo_ismapped()

    scan = app.loaded.scan
    assert scan.path == path
    assert app.scan_canvas.image.shape == (scan.height, scan.width)
    assert app.overlay_image.shape == (scan.height, scan.width, 3)
    assert app.heatmap_canvas.image is app.overlay_image
    assert app.status.file_var.get() == os.path.basename(path)
    assert f"{scan.width}×{scan.height} px" in app.status.size_var.get()
    assert "analysis" in app.status.timing_var.get()
    assert app.message.kind == "info"
    assert app.recent.paths[0] == os.path.abspath(path)
    assert not app.status.progress.winfo_ismapped()  # busy indicator gone once idle


def test_g_toggles_method_by_repainting_only(app):
    assert app.vars.method.get() == "layercam"  # the default overlay: the best-localising method
    assert app.heatmap_title.get().startswith("LayerCAM")
    key(app, "<Key-g>")
    assert app.vars.method.get() == "gradcam"
    before = app.heatmap_canvas.image.copy()
    shown_before = np.asarray(app.heatmap_canvas.shown).copy()
    key(app, "<Key-g>")
    assert app.vars.method.get() == "gradcam++"
    assert not app.busy  # no new job: every CAM map came from one explain call
    assert not np.array_equal(app.heatmap_canvas.image, before)
    assert not np.array_equal(np.asarray(app.heatmap_canvas.shown), shown_before)
    assert app.heatmap_title.get().startswith("Grad-CAM++")
    key(app, "<Key-g>")
    assert app.vars.method.get() == "layercam" and not app.busy
    key(app, "<Key-g>")
    assert app.vars.method.get() == "gradcam"
    np.testing.assert_array_equal(app.heatmap_canvas.image, before)


def test_opacity_keys_and_slider_change_the_overlay(app):
    start = app.heatmap_canvas.image.copy()
    key(app, "<Key-plus>")
    assert app.vars.opacity.get() == pytest.approx(0.5)
    more = app.heatmap_canvas.image.copy()
    assert not np.array_equal(more, start)
    key(app, "<Key-minus>")
    key(app, "<Key-minus>")
    assert app.vars.opacity.get() == pytest.approx(0.3)
    for _ in range(12):
        app.analyses.adjust_opacity(+1)
    assert app.vars.opacity.get() == 1.0  # clamped
    app.controls.opacity_scale.set(0.0)  # as if dragged: the slider shares the variable
    pump(app.root, 0.05)
    np.testing.assert_array_equal(app.heatmap_canvas.image[..., 0], app.loaded.display)
    app.vars.opacity.set(0.4)
    pump(app.root, 0.05)
    np.testing.assert_array_equal(app.heatmap_canvas.image, start)


def test_colormap_choice_changes_the_overlay(app):
    before = app.heatmap_canvas.image.copy()
    assert "viridis" in app.controls.colormap_box.cget("values")
    app.vars.colormap.set("viridis")
    pump(app.root, 0.05)
    assert not np.array_equal(app.heatmap_canvas.image, before)
    app.vars.colormap.set("jet")
    pump(app.root, 0.05)


def test_choosing_another_class_reexplains_in_the_worker(app):
    predicted = app.analysis.prediction.label
    other = next(c for c in app.model.classifier.classes if c != predicted)
    before = {m: h.copy() for m, h in app.analysis.heatmaps.items()}
    box = app.controls.target_box
    assert str(box.cget("values")[0]) == "Predicted class"
    box.set(app.model.card.display_name(other))
    box.event_generate("<<ComboboxSelected>>")
    assert app.busy  # the explanation runs on the worker, not here
    pump_until(app.root, lambda: not app.busy, 60, "the re-explanation")
    assert app.analysis.target_class == other
    assert app.analysis.prediction.label == predicted  # the prediction itself does not change
    assert app.heatmap_title.get().endswith(app.model.card.display_name(other))
    assert any(not np.allclose(before[m], app.analysis.heatmaps[m]) for m in before)
    box.set("Predicted class")
    box.event_generate("<<ComboboxSelected>>")
    pump_until(app.root, lambda: not app.busy, 60, "back to the predicted class")
    assert app.analysis.target_class == predicted


def test_corrupt_file_shows_error_and_keeps_previous_scan(app, tmp_path):
    loaded, analysis, image = app.loaded, app.analysis, app.heatmap_canvas.image
    bad = tmp_path / "x.jpg"
    bad.write_bytes(b"not an image")
    open_and_wait(app, bad, "the error")
    assert app.message.kind == "error"
    text = app.message.text_var.get()
    assert "x.jpg" in text and "not an image" in text
    assert app.loaded is loaded and app.analysis is analysis
    assert app.heatmap_canvas.image is image and app.scan_canvas.image is loaded.display
    assert app.status.file_var.get() == loaded.scan.name
    open_and_wait(app, tmp_path / "missing.png", "the second error")
    assert "does not exist" in app.message.text_var.get()
    assert app.loaded is loaded


def test_only_the_newest_scan_is_painted(app, reference, scan_paths):
    first, second = scan_paths
    app.open_scan(first)
    app.open_scan(second)  # before the first is even read: its results are stale
    pump_until(app.root, lambda: not app.busy, 60, "both scans")
    assert app.loaded.scan.path == second
    assert app.analysis.prediction.label == expected_for(reference, second).label
    assert app.status.file_var.get() == os.path.basename(second)


def test_after_callbacks_keep_running_during_inference(app, scan_paths, record_property):
    """Not a timing assertion: log the longest pause of the Tk loop while the worker computes."""
    root = app.root
    ticks = []
    done = {"seen": False}
    open_first = app.loaded.scan.path != scan_paths[0]
    path = scan_paths[0] if open_first else scan_paths[1]

    def tick():
        ticks.append(time.perf_counter())
        if done["seen"] and not app.busy:
            root.quit()
        else:
            root.after(10, tick)

    def watch():
        done["seen"] = app.analysis is not None and app.loaded.scan.path == path
        if not done["seen"]:
            root.after(10, watch)

    app.open_scan(path)
    root.after(10, tick)
    root.after(10, watch)
    guard = root.after(60_000, root.quit)
    root.mainloop()  # the real event loop, as in the application
    root.after_cancel(guard)
    assert done["seen"], "the analysis did not arrive within 60 s"
    gaps = np.diff(ticks) * 1000
    record_property("after_max_gap_ms", round(float(gaps.max()), 1))
    print(f"\nafter(10 ms) ticks during read+inference+CAM: {len(ticks)}, max gap {gaps.max():.1f} ms, "
          f"median {np.median(gaps):.1f} ms")


def test_save_overlay_writes_the_full_resolution_image(app, tmp_path):
    target = tmp_path / "overlay.png"
    app.dialogs.answers.append(str(target))
    key(app, "<Control-s>")
    kind, asked = app.dialogs.asked[-1]
    assert kind == "save_image" and asked["initialfile"].endswith(".png")
    pump_until(app.root, lambda: target.exists() and not app.busy, 30, "the saved file")
    saved = np.asarray(Image.open(target))
    height, width = app.overlay_image.shape[:2]
    np.testing.assert_array_equal(saved[:, :width], app.overlay_image)  # the overlay, pixel for pixel,
    assert saved.shape[0] == height and saved.shape[1] > width  # and its labelled colour bar on the right
    assert "Saved" in app.message.text_var.get()

    app.dialogs.answers.append(str(tmp_path / "no" / "such" / "folder.png"))
    app.reports.save_overlay()
    pump_until(app.root, lambda: not app.busy, 30, "the failed save")
    assert app.message.kind == "error" and "Could not save" in app.message.text_var.get()

    app.dialogs.answers.append(None)  # the user cancels: nothing happens
    app.reports.save_overlay()
    assert not app.busy


def test_side_by_side_switch_and_resize_refit(app):
    root = app.root
    pump(root, 0.1)
    wide_before = app.heatmap_canvas.winfo_width()
    assert app.scan_pane.winfo_ismapped()
    app.vars.side_by_side.set(False)
    pump(root, 0.2)
    assert not app.scan_pane.winfo_ismapped()
    assert app.heatmap_canvas.winfo_width() > wide_before * 1.5
    app.vars.side_by_side.set(True)
    pump(root, 0.2)
    assert app.scan_pane.winfo_ismapped()

    image_h, image_w = app.overlay_image.shape[:2]
    before = app.heatmap_canvas.shown.size
    root.geometry("1000x640")
    pump(root, 0.3)
    after = app.heatmap_canvas.shown.size
    assert after != before
    assert after[0] <= app.heatmap_canvas.winfo_width() and after[1] <= app.heatmap_canvas.winfo_height()
    assert abs(after[0] / after[1] - image_w / image_h) < 0.02  # aspect ratio kept


def test_help_and_model_information_windows(app):
    key(app, "<F1>")
    shortcuts = app.windows["shortcuts"]
    assert "Ctrl+O" in shortcuts.content() and "F1" in shortcuts.content()
    assert app.windows.shortcuts() is shortcuts  # asking again raises the same window
    assert "not a diagnosis" in app.windows.disclaimer().content()
    assert "0.1.0" in app.windows.about().content()
    info = app.models.show_model_info()
    assert info.tree.exists("metrics") and info.tree.exists("sha256")
    assert info.tree.item("trained", "values")[0] == "false"
    for window in list(app.windows.values()):
        window.destroy()
    pump(app.root, 0.05)


def test_recent_menu_reopens_a_scan(app, scan_paths):
    menu = app.menus.recent
    app.menus.rebuild_recent()
    labels = [menu.entrycget(i, "label") for i in range(menu.index("end") + 1) if menu.type(i) == "command"]
    assert os.path.basename(scan_paths[0]) in labels[0] or os.path.basename(scan_paths[1]) in labels[0]
    assert labels[-1] == "Clear list"
    other = app.recent.paths[1]
    menu.invoke(1)
    pump_until(app.root, lambda: not app.busy, 60, "the recent scan")
    assert app.loaded.scan.path == other

    gone = os.path.join(os.path.dirname(other), "deleted-since.jpg")
    app.recent.paths.insert(0, gone)
    app.menus.rebuild_recent()
    menu.invoke(0)
    pump_until(app.root, lambda: not app.busy, 30, "the missing recent scan")
    assert "does not exist" in app.message.text_var.get()
    assert gone not in app.recent.paths and app.loaded.scan.path == other


def test_dropped_files_open_the_first(app, scan_paths):
    pytest.importorskip("tkinterdnd2")
    assert app.drop_enabled
    target = scan_paths[1] if app.loaded.scan.path == scan_paths[0] else scan_paths[0]
    app.scans.on_dropped_paths([target, "/elsewhere/other.jpg"])
    pump_until(app.root, lambda: not app.busy, 60, "the dropped scan")
    assert app.loaded.scan.path == target



def test_colour_photo_shows_not_an_mri_warning(app, tmp_path):
    from core.ood import COLOUR_WARNING

    photo = np.random.default_rng(1).integers(0, 255, (90, 120, 3), dtype=np.uint8)
    path = tmp_path / "holiday.png"
    Image.fromarray(photo).save(path)
    open_and_wait(app, str(path))
    shown = app.results.warning_var.get()
    assert shown.lower().startswith(COLOUR_WARNING[:30].lower())
    from gui.results import NOT_MRI_HEADLINE

    # not a brain MRI: the window abstains, no class in the headline
    assert app.results.class_var.get() == NOT_MRI_HEADLINE
    assert NOT_MRI_HEADLINE in app.message.text_var.get()


def test_abdominal_mr_file_abstains_in_the_window(app):
    """pydicom's abdominal MR (Body Part Examined ABDOMEN): no class in the headline, the reason shown."""
    from pydicom.data import get_testdata_file

    from gui.results import NOT_MRI_HEADLINE

    path = get_testdata_file("MR-SIEMENS-DICOM-WithOverlays.dcm", download=False)
    if path is None:
        pytest.skip("pydicom-data is not installed")
    open_and_wait(app, path)
    assert app.results.class_var.get() == NOT_MRI_HEADLINE
    assert "abdomen (body part examined)" in app.results.warning_var.get().lower()


def test_quit_closes_cleanly(app):
    root = app.root
    app.menus.file.invoke(app.menus.file.index("Quit"))
    assert app._closed
    import tkinter as tk

    with pytest.raises(tk.TclError):  # the window is gone
        root.winfo_exists()
    for worker in (app.jobs.model, app.jobs.io):
        assert worker.join(10)
