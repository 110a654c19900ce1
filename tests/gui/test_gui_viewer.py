"""The viewer in the real window: equal panels, elided names, a layout that does not jump, zoom/pan
in step, the pixel under the pointer, invert, right-drag window/level, remembered settings, save
folders, the model card, and the folder table's counts and questions.

One Tk root for the module (as in test_gui_window.py); tests run in file order.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT
from tests.gui.helpers import pump, pump_until
from tests.volumes import make_dicom

pytestmark = pytest.mark.usefixtures("display")

LONG_NAME = "Te-me_0010_a_very_long_file_name_from_a_clinic_export_lossless_compressed_series_07.png"


def idle(app, what="the analysis", timeout=60):
    pump_until(app.root, lambda: not app.busy, timeout, what)


def key(app, sequence):
    widget = app.root.focus_get() or app.scan_canvas
    widget.event_generate(sequence)
    pump(app.root, 0.05)


@pytest.fixture(scope="module")
def long_scan(scan_paths, tmp_path_factory):
    target = tmp_path_factory.mktemp("long") / LONG_NAME
    shutil.copy(scan_paths[0], target)
    return str(target)


def test_panels_are_equal_and_a_long_name_is_elided_not_widening_anything(app, scan_paths, long_scan):
    app.open_scan(scan_paths[0])
    idle(app)
    pump(app.root, 0.2)
    widths = (app.scan_canvas.winfo_width(), app.heatmap_canvas.winfo_width())
    heights = (app.scan_canvas.winfo_height(), app.heatmap_canvas.winfo_height())
    assert abs(widths[0] - widths[1]) <= 1 and heights[0] == heights[1]  # equal halves (to the rounding pixel)
    assert app.scan_canvas.shown.size == app.heatmap_canvas.shown.size  # and both images exactly the same size
    assert app.scan_canvas.fit_scale() == app.heatmap_canvas.fit_scale()
    app.open_scan(long_scan)
    idle(app)
    pump(app.root, 0.2)
    assert (app.scan_canvas.winfo_width(), app.heatmap_canvas.winfo_width()) == widths
    assert (app.scan_canvas.winfo_height(), app.heatmap_canvas.winfo_height()) == heights
    title = app.scan_pane.title_label
    assert title.full_text == f"Scan — {LONG_NAME}"
    assert title.elided and "…" in title.shown and title.shown.endswith("07.png")  # cut in the middle
    assert title.tooltip.text() == f"Scan — {LONG_NAME}"  # the full name on hover
    status = app.status.labels["file_var"]
    assert status.elided and status.tooltip.text() == LONG_NAME
    from tkinter import font as tkfont

    assert tkfont.nametofont("TkHeadingFont").measure(title.shown) <= title.winfo_width()


def test_the_dark_theme_is_applied_everywhere(app):
    from tkinter import ttk

    from gui import theme

    style = ttk.Style(app.root)
    assert style.lookup("TLabel", "foreground") == theme.TEXT and style.lookup("TFrame", "background") == theme.BG
    assert "NSC.Checkbutton.indicator" in str(style.layout("TCheckbutton"))  # a check mark, not clam's X
    assert str(app.menus.bar.cget("background")) == theme.PANEL
    assert app.root.tk.eval("set ::tk::dialog::file::showHiddenVar") == "0"  # Tk's dialog hides .git, .venv


def test_a_long_message_does_not_move_the_images(app):
    pump(app.root, 0.2)
    bar_height, canvas_height = app.message.winfo_height(), app.scan_canvas.winfo_height()
    app.show_message("Short.")
    pump(app.root, 0.2)
    assert app.message.winfo_height() == bar_height
    long = "A long message that wraps. " * 30
    app.show_error(long)
    pump(app.root, 0.2)
    assert app.message.winfo_height() == bar_height and app.scan_canvas.winfo_height() == canvas_height
    assert app.message.elided and app.message.shown.endswith("…")
    assert app.message.tooltip.text() == long
    app.show_message("Two lines at most: " + "word " * 12)
    pump(app.root, 0.2)
    assert app.message.winfo_height() == bar_height


def test_wheel_zooms_around_the_pointer_and_the_overlay_follows(app):
    canvas = app.scan_canvas
    assert app.view_state.is_fit
    x, y = canvas.winfo_width() // 3, canvas.winfo_height() // 2
    before = canvas.to_image(x, y)
    for _ in range(3):
        canvas.event_generate("<Button-4>", x=x, y=y)  # the X11 wheel, one notch up
    pump(app.root, 0.1)
    assert app.view_state.zoom == pytest.approx(1.25 ** 3)
    after = canvas.to_image(x, y)
    assert after == pytest.approx(before, abs=0.5)  # the point under the pointer stays put
    # scan and overlay in step: the same zoom, and offsets within half a screen pixel (a pane one
    # pixel narrower centres half a pixel apart); the visible part may differ by that edge column
    scale_a, *offset_a = canvas._transform()
    scale_b, *offset_b = app.heatmap_canvas._transform()
    assert scale_a == pytest.approx(scale_b)
    assert all(abs(a - b) <= 0.5 for a, b in zip(offset_a, offset_b)), (offset_a, offset_b)
    box, other = canvas.visible_box(), app.heatmap_canvas.visible_box()
    assert all(abs(a - b) <= 1 for a, b in zip(box, other)), (box, other, canvas.size(), app.heatmap_canvas.size())
    scale = canvas.fit_scale() * app.view_state.zoom  # only the visible pixels (and the two cut at its edges)
    assert canvas.shown.size[0] <= canvas.winfo_width() + 2 * scale + 1
    canvas.event_generate("<Button-5>", x=x, y=y)
    pump(app.root, 0.1)
    assert app.view_state.zoom == pytest.approx(1.25 ** 2)


def test_drag_pans_both_images(app):
    canvas = app.scan_canvas
    center = app.view_state.center
    canvas.event_generate("<ButtonPress-1>", x=200, y=200)
    canvas.event_generate("<B1-Motion>", x=160, y=180)
    canvas.event_generate("<ButtonRelease-1>", x=160, y=180)
    pump(app.root, 0.1)
    scale = canvas.fit_scale() * app.view_state.zoom
    assert app.view_state.center == pytest.approx((center[0] + 40 / scale, center[1] + 20 / scale), abs=1e-6)
    assert canvas.visible_box() == app.heatmap_canvas.visible_box()
    assert app.root.focus_get() is canvas  # a click on the image takes the focus (keys work again)


def test_the_pixel_under_the_pointer_and_its_value_are_in_the_status_bar(app):
    canvas = app.scan_canvas
    x, y = canvas.winfo_width() // 2, canvas.winfo_height() // 2
    canvas.event_generate("<Motion>", x=x, y=y)
    pump(app.root, 0.05)
    col, row = canvas.pixel_at(x, y)
    value = float(app.loaded.scan.pixels[row, col])
    assert app.status.cursor_var.get() == f"x {col}, y {row} · value {value:.4g}"
    canvas.event_generate("<Leave>")
    pump(app.root, 0.05)
    assert app.status.cursor_var.get() == ""


def test_equal_and_space_fit_the_image_again(app):
    app.scan_canvas.focus_force()
    key(app, "<equal>")
    assert app.view_state.is_fit
    app.view_state.zoom_at(app.scan_canvas, 50, 50, 2.0)
    pump(app.root, 0.05)
    assert not app.view_state.is_fit
    key(app, "<space>")
    assert app.view_state.is_fit
    assert app.scan_canvas.shown.size == app.heatmap_canvas.shown.size


def test_i_inverts_the_display_only(app):
    pixels = app.loaded.scan.pixels.copy()
    key(app, "<i>")
    assert app.inverted and not app.busy  # no new analysis: the classifier input is untouched
    np.testing.assert_array_equal(app.scan_canvas.image, 255 - app.loaded.display)
    np.testing.assert_array_equal(app.loaded.scan.pixels, pixels)
    key(app, "<I>")
    assert not app.inverted and app.scan_canvas.image is app.loaded.display


def test_slice_and_window_menu_items_are_off_for_a_jpeg_like_scan(app):
    view = app.menus.view
    for index in app.menus.slice_indices + app.menus.window_indices:
        assert view.entrycget(index, "state") == "disabled", view.entrycget(index, "label")
    app.scan_canvas.event_generate("<ButtonPress-3>", x=100, y=100)
    app.scan_canvas.event_generate("<ButtonRelease-3>", x=100, y=100)
    pump(app.root, 0.05)
    assert app.message.kind == "warning" and "DICOM and NIfTI" in app.message.text_var.get()


def test_view_choices_are_remembered_in_the_settings_file(app):
    from gui.settings import Settings

    app.vars.method.set("gradcam++")
    app.vars.colormap.set("viridis")
    app.vars.opacity.set(0.7)
    app.vars.side_by_side.set(False)
    pump(app.root, 0.6)
    saved = Settings(app.settings.path)
    assert (saved["method"], saved["colormap"], saved["opacity"], saved["side_by_side"]) == (
        "gradcam++", "viridis", 0.7, False)
    assert os.path.dirname(app.settings.path) != os.path.dirname(app.loaded.scan.path)
    assert saved.folder("last_open_dir") == os.path.dirname(app.loaded.scan.path)
    app.vars.method.set("gradcam")
    app.vars.colormap.set("jet")
    app.vars.opacity.set(0.4)
    app.vars.side_by_side.set(True)
    pump(app.root, 0.6)


def test_save_dialogs_start_in_the_last_save_folder_never_the_dataset(app, tmp_path):
    scan_dir = os.path.dirname(app.loaded.scan.path)
    app.reports.save_overlay()  # answered None: cancelled
    first = app.dialogs.asked[-1][1]["initialdir"]
    assert first != scan_dir
    target = tmp_path / "exports" / "overlay.png"
    target.parent.mkdir()
    app.dialogs.answers.append(str(target))
    app.reports.save_overlay()
    idle(app, "the save")
    app.reports.export_report()  # answered None
    assert app.dialogs.asked[-1][0] == "save_report" and app.dialogs.asked[-1][1]["initialdir"] == str(
        target.parent)
    from gui.settings import Settings

    assert Settings(app.settings.path).folder("last_save_dir") == str(target.parent)


def test_right_drag_sets_window_level_on_a_dicom(app, tmp_path):
    yy, xx = np.mgrid[:64, :64]
    pixels = (200 + 1500 * np.exp(-(((xx - 30) / 12.0) ** 2 + ((yy - 34) / 12.0) ** 2))).astype(np.uint16)
    path = make_dicom(tmp_path / "mr.dcm", pixels, WindowCenter=900, WindowWidth=1400)
    app.open_scan(path)
    idle(app, "the DICOM")
    view = app.menus.view
    for index in app.menus.window_indices:
        assert view.entrycget(index, "state") == "normal"
    app.menus.rebuild_presets()  # what opening View > Window preset does
    presets = app.menus.presets
    assert [presets.entrycget(i, "label") for i in range(presets.index("end") + 1)] == list(app.window_panel.presets)
    assert presets.entrycget(0, "accelerator") == "1"
    canvas, before = app.scan_canvas, app.scan_canvas.image.copy()
    read = app.loaded.scan.pixels.copy()
    canvas.event_generate("<ButtonPress-3>", x=100, y=100)
    canvas.event_generate("<B3-Motion>", x=40, y=160)  # narrower (more contrast), higher level
    pump(app.root, 0.05)
    assert not np.array_equal(canvas.image, before)  # the screen previews the new window at once
    np.testing.assert_array_equal(app.loaded.scan.pixels, read)  # nothing re-read while dragging
    assert "window center" in app.status.cursor_var.get()
    canvas.event_generate("<ButtonRelease-3>", x=40, y=160)
    idle(app, "the new window")
    center, width = float(app.window_panel.center.get()), float(app.window_panel.width.get())
    assert width < 1400 and center > 900
    shown = getattr(app.loaded, "shown", None) or app.loaded.scan  # the display's slice
    window = shown.info["window"]
    assert (window["center"], window["width"]) == pytest.approx((center, width), rel=1e-5)
    key(app, "<Key-1>")  # preset 1: the file's own window again
    idle(app, "preset 1")
    shown = getattr(app.loaded, "shown", None) or app.loaded.scan
    assert app.window_panel.preset.get() == "File" and shown.info["window"]["center"] == 900


def test_model_card_reads_like_a_card_with_the_raw_json_one_click_away(app):
    info = app.models.show_model_info()
    text = info.card_text()
    for heading in ("Headline metrics", "Trained on", "Known weaknesses", "Checksum"):
        assert heading in text
    assert app.model.classifier.checksum in text and "UNTRAINED" in text
    tabs = [info.notebook.tab(t, "text") for t in info.notebook.tabs()]
    assert tabs == ["Card", "Raw JSON"]
    info.notebook.select(1)
    pump(app.root, 0.05)
    assert info.tree.winfo_ismapped() and info.tree.exists("sha256")
    info.destroy()


def test_model_card_with_generalisation_results(app):
    from core.modelcard import ModelCard
    from gui.dialogs import ModelInfoWindow
    from tests.gui.test_viewer_units import FULL_CARD

    data = dict(FULL_CARD, name="demo", input_size=128, channels=1, sha256="ab" * 32)
    window = ModelInfoWindow(app.root, ModelCard(data, "/models/demo.json"), "ab" * 32, "/models/demo.keras")
    text = window.card_text()
    assert "Per source (generalisation benchmark)" in text
    assert "tcga-lgg\t1,848\t26.1 %" in text and "Test split (full)\t1,311\t98.78 %" in text
    assert "tcga-lgg: 26.1 % accuracy on 1,848 scans" in text
    window.destroy()


def _folder(root, count):
    root.mkdir()
    rng = np.random.default_rng(3)
    for i in range(count):
        Image.fromarray(rng.integers(0, 255, (48, 48), dtype=np.uint8)).save(root / f"scan_{i:03d}.png")
    (root / "broken.jpg").write_bytes(b"not an image at all")
    return root


def test_folder_table_counts_once_summarises_and_asks_before_losing_results(app, tmp_path):
    folder = _folder(tmp_path / "clinic", 3)
    app.batch.classify_folder(str(folder))
    pump_until(app.root, lambda: app.folder_run.done and not app.busy, 60, "the folder")
    window = app.windows["batch"]
    counts = window.counts()
    assert counts["done"] == 4 and counts["failed"] == 1
    assert window.count_var.get() == "Done: 4 / 4, 1 failed"
    summary = window.summary_var.get()
    assert summary.endswith("1 failed") and "flagged" in summary
    assert app.message.text_var.get() == window.status_text()  # the same numbers in both places
    assert "Done: 4 / 4, 1 failed" in app.message.text_var.get()

    app.dialogs.yes_no.append(False)  # "Close without exporting?" -> No
    window.tree.focus_force()
    pump(app.root, 0.05)
    window.tree.event_generate("<Escape>")
    pump(app.root, 0.05)
    assert window.winfo_exists()
    kind, asked = app.dialogs.asked[-1]
    assert kind == "yes_no" and "not been exported" in asked["message"] and asked["parent"] is window

    out = tmp_path / "exports" / "clinic.csv"
    out.parent.mkdir()
    app.dialogs.answers.append(str(out))
    window.export_button.invoke()
    kind, asked = app.dialogs.asked[-1]
    assert kind == "save_csv" and asked["parent"] is window  # the dialog opens in front of the table
    pump_until(app.root, lambda: out.exists() and not app.busy, 30, "the CSV")
    assert window.exported == str(out)
    asked_before = len(app.dialogs.asked)
    window.tree.focus_force()
    pump(app.root, 0.05)
    window.tree.event_generate("<Escape>")  # exported: closes without a question
    pump(app.root, 0.05)
    assert len(app.dialogs.asked) == asked_before
    assert not window.winfo_exists()


def test_cancelled_folder_counts_agree_after_the_last_batch_lands(app, tmp_path):
    folder = _folder(tmp_path / "many", 120)
    app.batch.classify_folder(str(folder))
    run = app.folder_run
    pump_until(app.root, lambda: len(run.window.records) > 0, 60, "the first batch")
    run.window.cancel_button.invoke()
    idle(app, "the batch in flight")
    pump(app.root, 0.2)
    assert run.window.count_var.get().startswith(f"Cancelled: {len(run.window.records)} / 121")
    assert app.message.text_var.get() == run.window.status_text()
    app.dialogs.yes_no.append(True)
    assert run.window.request_close()


def test_long_cells_in_the_folder_table_have_a_tooltip(app, tmp_path):
    from gui.batch import BatchWindow

    window = BatchWindow(app.root, str(tmp_path), app.model.card.display_name, lambda: None, lambda: None,
                         lambda p: None, classes=app.model.classifier.classes)
    window.set_total(1)
    long = "this does not look like a brain MRI: the result is not meaningful " * 3
    window.add([{"path": str(tmp_path / "a.png"), "label": None, "confidence": None, "warning": long}])
    window.finish(cancelled=False)
    pump(app.root, 0.2)
    bbox = window.tree.bbox(window.tree.get_children()[0], "#5")
    assert window.cell_text(bbox[0] + 5, bbox[1] + 5) == long
    bbox = window.tree.bbox(window.tree.get_children()[0], "#2")
    assert window.cell_text(bbox[0] + 5, bbox[1] + 5) == ""  # "not a brain MRI" fits: no tooltip
    assert "not a brain MRI 1" in window.summary_var.get()
    window.destroy()


LAUNCH = textwrap.dedent(
    """
    import json, sys, time, tkinter as tk
    from gui.app import App
    from gui.recent import RecentFiles
    from gui.settings import Settings
    root = tk.Tk()
    app = App(root, model_path=sys.argv[1], recent=RecentFiles(sys.argv[2] + "/r.json"),
              settings=Settings(sys.argv[2] + "/s.json"))
    app.open_scan("no/such/scan.jpg")  # what run() does with a scan named on the command line
    end = time.monotonic() + 120
    while time.monotonic() < end and (app.model is None or app.busy):
        root.update(); time.sleep(0.01)
    print(json.dumps({"kind": app.message.kind, "message": app.message.text_var.get(),
                      "placeholder": app.scan_canvas._placeholder, "model": app.model is not None}))
    app.close()
    """
)


def test_a_missing_scan_at_launch_is_said_in_the_window(gui_model_path, tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", LAUNCH, gui_model_path, str(tmp_path)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["model"]
    assert report["kind"] == "error" and "scan.jpg" in report["message"] and "does not exist" in report["message"]
    assert "Cannot open scan" in report["placeholder"]  # said where the scan would be, too
