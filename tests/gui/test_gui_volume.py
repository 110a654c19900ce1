"""Slices, window/level, the PDF report, folder classification and the per-slice plot, in the real window.

One Tk root for the module (as in test_gui_window.py); tests run in file order.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from tests.gui.helpers import pump, pump_until
from tests.volumes import make_dicom, make_nifti

pytestmark = pytest.mark.usefixtures("display")

SLICES, BLOB_SLICE = 8, 5


@pytest.fixture(scope="module")
def reference(gui_model_path):
    from core.classifier import Classifier

    return Classifier.load(gui_model_path)



@pytest.fixture(scope="module")
def nifti_path(tmp_path_factory):
    """A head-like volume (x, y, z) = (64, 64, 8), identity affine: slice k is z = k; a bright blob on one."""
    yy, xx = np.mgrid[:64, :64]
    head = ((((xx - 32) / 26.0) ** 2 + ((yy - 32) / 22.0) ** 2) < 1).astype(np.float32) * 300
    data = np.repeat(head[:, :, np.newaxis], SLICES, axis=2)
    data[:, :, BLOB_SLICE] += 900 * np.exp(-(((xx - 20) / 5.0) ** 2 + ((yy - 40) / 5.0) ** 2))
    return make_nifti(tmp_path_factory.mktemp("nifti") / "head.nii.gz", data)


def idle(app, what, timeout=60):
    pump_until(app.root, lambda: not app.busy, timeout, what)


def key(app, sequence):
    app.root.focus_force()
    app.scan_canvas.event_generate(sequence)
    pump(app.root, 0.05)


def test_nifti_slices_move_with_the_arrow_keys_and_each_is_classified(app, reference, nifti_path):
    from core.io import load_scan

    app.open_scan(nifti_path)
    idle(app, "the NIfTI and its analysis")
    assert app.slice_bar.winfo_ismapped() and app.window_panel.winfo_ismapped()
    assert app.loaded.slices == SLICES and app.loaded.index == SLICES // 2
    assert app.slice_bar.text.get() == f"slice {SLICES // 2} (0–{SLICES - 1})"  # counted from 0, as --slice

    before = app.scan_canvas.image.copy()
    key(app, "<Right>")  # slice 4 -> 5, the one with the blob
    assert app.loaded.index == BLOB_SLICE
    assert app.slice_bar.text.get() == f"slice {BLOB_SLICE} (0–{SLICES - 1})"
    assert app.scan_title.get().endswith(f"slice {BLOB_SLICE} (0–{SLICES - 1})")
    assert app.scan_canvas.image.max() > before.max() or not np.array_equal(app.scan_canvas.image, before)
    idle(app, "the analysis of the new slice")
    shown = load_scan(nifti_path, index=BLOB_SLICE)
    np.testing.assert_array_equal(app.loaded.scan.pixels, shown.pixels)
    np.testing.assert_array_equal(app.scan_canvas.image, shown.display_uint8())
    expected = reference.predict_pixels([shown.pixels])[0]
    assert app.analysis.prediction.probabilities == pytest.approx(expected.probabilities, abs=1e-5)

    key(app, "<Left>")
    key(app, "<Left>")  # quickly twice: the first slice's analysis is stale and dropped
    idle(app, "the analysis after two steps back")
    assert app.loaded.index == BLOB_SLICE - 2
    expected = reference.predict_pixels([load_scan(nifti_path, index=BLOB_SLICE - 2).pixels])[0]
    assert app.analysis.prediction.probabilities == pytest.approx(expected.probabilities, abs=1e-5)
    app.slice_bar.scale.set(0)  # as if dragged to the start
    idle(app, "the analysis of slice 0")
    assert app.loaded.index == 0 and app.analysis is not None


def test_classify_all_slices_plots_one_result_per_slice(app, nifti_path):
    app.volumes.classify_all_slices()
    idle(app, "every slice")
    assert len(app.volumes.slice_predictions) == SLICES
    plot = app.windows["slices"]
    assert len(plot.axes.lines) == len(app.model.classifier.classes) + 1  # one per class + the marker
    plot._on_pick(BLOB_SLICE)  # what a click on the plot at that slice does
    idle(app, "the picked slice")
    assert app.loaded.index == BLOB_SLICE
    assert list(plot.marker.get_xdata()) == [BLOB_SLICE, BLOB_SLICE]  # the plot counts from 0 too
    assert "from 0" in plot.axes.get_xlabel()
    plot.destroy()


def test_window_level_is_display_only_unless_asked(app, reference, tmp_path):
    from core.io import load_scan
    from gui.jobs import auto_window

    yy, xx = np.mgrid[:64, :64]
    pixels = (200 + 1500 * np.exp(-(((xx - 30) / 12.0) ** 2 + ((yy - 34) / 12.0) ** 2))).astype(np.uint16)
    path = make_dicom(tmp_path / "mr.dcm", pixels, WindowCenter=900, WindowWidth=1400)
    app.open_scan(path)
    idle(app, "the DICOM")
    assert app.loaded.slices == 1 and not app.slice_bar.winfo_ismapped()
    assert app.window_panel.winfo_ismapped()
    assert (app.window_panel.center.get(), app.window_panel.width.get()) == ("900", "1400")
    assert "Brain 40/80" not in app.window_panel.preset_box["values"]  # no CT windows for an MR
    said = "the file's window (center 900, width 1400)"
    assert app.window_panel.source.get() == f"Display only: the classifier sees {said}."
    assert app.results.model_window_var.get() == f"Model input: {said}"
    default = load_scan(path)  # the file's own window: what the classifier sees
    expected = reference.predict_pixels([default.pixels])[0]
    assert app.analysis.prediction.probabilities == pytest.approx(expected.probabilities, abs=1e-5)
    before, analysis = app.scan_canvas.image.copy(), app.analysis

    app.window_panel.center.set("400")
    app.window_panel.width.set("500")
    app.window_panel.center_entry.focus_force()
    pump(app.root, 0.05)
    app.window_panel.center_entry.event_generate("<Return>")  # typing in the field: no slice/opacity keys
    idle(app, "the re-windowed display")
    windowed = load_scan(path, window=(400, 500))
    np.testing.assert_array_equal(app.scan_canvas.image, windowed.display_uint8())  # the screen changed
    np.testing.assert_array_equal(app.loaded.scan.pixels, default.pixels)  # the classifier's input did not
    assert app.analysis is analysis  # nor its result: no new analysis at all
    assert app.loaded.shown.info["window"]["source"] == "user"
    assert app.window_panel.source.get() == f"Display only: the classifier sees {said}."
    assert "display only" in app.message.text_var.get()

    app.window_panel.classify_shown_button.invoke()  # the old behaviour, asked for explicitly
    idle(app, "the displayed window classified")
    assert app.window_panel.classify_shown.get()
    np.testing.assert_array_equal(app.loaded.scan.pixels, windowed.pixels)
    shown = reference.predict_pixels([windowed.pixels])[0]
    assert app.analysis.prediction.probabilities == pytest.approx(shown.probabilities, abs=1e-5)
    assert app.window_panel.source.get().startswith("The classifier sees this window: the window chosen here")
    assert app.results.model_window_var.get().endswith("(the displayed window, as asked)")
    app.window_panel.classify_shown_button.invoke()  # off again: the default window, display kept
    idle(app, "the default window classified again")
    np.testing.assert_array_equal(app.loaded.scan.pixels, default.pixels)
    np.testing.assert_array_equal(app.scan_canvas.image, windowed.display_uint8())
    assert app.analysis.prediction.probabilities == pytest.approx(expected.probabilities, abs=1e-5)

    app.window_panel.preset.set("Auto (percentile)")
    app.window_panel.preset_box.event_generate("<<ComboboxSelected>>")
    idle(app, "the percentile window")
    center, width = auto_window(path)  # 0.5-99.5 percentiles of the data, not the file's 900/1400
    assert app.loaded.shown.info["window"]["center"] == pytest.approx(center, abs=1e-3)
    np.testing.assert_array_equal(app.scan_canvas.image, load_scan(path, window=(center, width)).display_uint8())
    np.testing.assert_array_equal(app.loaded.scan.pixels, default.pixels)

    key(app, "<Key-r>")  # reset: the file's own window again
    idle(app, "the reset window")
    np.testing.assert_array_equal(app.scan_canvas.image, before)
    assert app.loaded.shown.info["window"]["source"] == "file"
    assert app.analysis.prediction.probabilities == pytest.approx(expected.probabilities, abs=1e-5)


def test_export_report_writes_a_one_page_pdf(app, tmp_path):
    target = tmp_path / "report.pdf"
    app.dialogs.answers.append(str(target))
    app.menus.file.invoke(app.menus.file.index("Export report…"))
    kind, asked = app.dialogs.asked[-1]
    assert kind == "save_report" and asked["initialfile"] == "mr.report.pdf"
    pump_until(app.root, lambda: target.exists() and not app.busy, 30, "the report")
    data = target.read_bytes()
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b(?!s)", data)) == 1
    assert "Saved report" in app.message.text_var.get()
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(target), "-"], capture_output=True, text=True, check=True).stdout
        label = app.model.card.display_name(app.analysis.prediction.label)
        assert f"Predicted: {label}" in text
        assert app.model.classifier.checksum in text.replace("\n", "")
        assert "not a diagnosis" in text


def test_ct_scans_get_ct_presets(app, tmp_path):
    path = make_dicom(tmp_path / "ct.dcm", np.full((32, 32), 1024, np.uint16), Modality="CT",
                      RescaleSlope=1, RescaleIntercept=-1024)
    app.open_scan(path)
    idle(app, "the CT")
    assert "Brain 40/80" in app.window_panel.preset_box["values"]
    app.window_panel.preset.set("Brain 40/80")
    app.window_panel.preset_box.event_generate("<<ComboboxSelected>>")
    idle(app, "the brain window")
    assert (app.loaded.shown.info["window"]["center"], app.loaded.shown.info["window"]["width"]) == (40.0, 80.0)
    assert app.loaded.scan.info["window"]["source"] == "percentile"  # the classifier's stays the default


def _folder(root, count, bad=True):
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        sub = root / ("sub" if i % 2 else "")
        sub.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (48, 48), dtype=np.uint8)).save(sub / f"scan_{i:03d}.png")
    if bad:
        (root / "broken.jpg").write_bytes(b"not an image at all")
    return root


def test_classify_folder_fills_the_table_and_exports_csv(app, tmp_path):
    folder = _folder(tmp_path / "scans", 3)
    app.dialogs.answers.append(str(folder))
    app.menus.file.invoke(app.menus.file.index("Classify folder…"))
    pump_until(app.root, lambda: app.folder_run.done and not app.busy, 60, "the folder")
    window = app.windows["batch"]
    rows = window.rows()
    assert len(rows) == 4 and window.count_var.get() == "Done: 4 / 4, 1 failed"
    broken = [r for r in rows if r[0] == "broken.jpg"][0]
    assert broken[4].startswith("error: ") and "not an image" in broken[4]
    assert {r[0] for r in rows} == {"broken.jpg", "scan_000.png", os.path.join("sub", "scan_001.png"), "scan_002.png"}
    window.sort_by("confidence")
    confidences = [r[2] for r in window.rows() if r[2]]
    assert confidences == sorted(confidences, key=lambda c: float(c.rstrip("%")))

    out = tmp_path / "table.csv"
    app.dialogs.answers.append(str(out))
    window.export_button.invoke()
    assert app.dialogs.asked[-1][0] == "save_csv"
    pump_until(app.root, lambda: out.exists() and not app.busy, 30, "the CSV")
    with open(out, newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    classes = list(app.model.classifier.classes)
    header = ["path", "label", "confidence", *classes, "warning", "error", "slice", "slices", "evidence_slices"]
    assert table[0] == header
    assert len(table) == 5
    broken = [r for r in table[1:] if r[0].endswith("broken.jpg")][0]
    assert broken[header.index("error")].startswith("not an image")
    window.destroy()


def test_cancel_stops_a_big_folder_early_and_the_window_stays_responsive(app, tmp_path):
    folder = _folder(tmp_path / "many", 160, bad=False)
    app.batch.classify_folder(str(folder))
    run = app.folder_run
    pump_until(app.root, lambda: len(run.window.records) > 0, 60, "the first batch")
    run.window.cancel_button.invoke()
    assert run.done and run.cancel.is_set()
    ticks = []
    app.root.after(10, lambda: ticks.append(1))
    idle(app, "the batch in flight")
    pump(app.root, 0.2)
    assert ticks, "the Tk loop must keep running"
    stopped_at = len(run.window.records)
    assert 0 < stopped_at < 160
    assert run.window.count_var.get().startswith(f"Cancelled: {stopped_at} / 160")
    pump(app.root, 0.3)
    assert len(run.window.records) == stopped_at  # nothing more arrives after Cancel
    run.window.destroy()
