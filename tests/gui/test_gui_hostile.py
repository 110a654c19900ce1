"""The real window against hostile files (issue 8): after a good scan, each bad file shows an
error and leaves the previous scan, its heatmap and the status bar as they were; odd but
valid files (a 3 x 100,000 strip, one pixel, NaN floats, a name that is not UTF-8) open.

One Tk root for the module, as in test_gui_window.py.
"""

from __future__ import annotations

import os

import pytest

from tests.gui.helpers import pump_until
from tests.hostile import build_corpus

pytestmark = pytest.mark.usefixtures("display")

BAD = (
    "zero_byte", "truncated_jpeg", "html_as_png", "bomb_png_30000", "bomb_1bit_9000", "dicom_corrupt_header",
    "dicom_no_pixel_data", "nifti_lying_dims", "fifo", "directory_named_scan_jpg", "symlink_self",
)
ODD_BUT_VALID = ("strip_3x100000", "one_pixel", "tiff_float_nan_inf", "undecodable_name")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return {case.name: case for case in build_corpus(tmp_path_factory.mktemp("gui_hostile") / "corpus")}



def open_and_wait(app, path, what):
    app.open_scan(path)
    pump_until(app.root, lambda: not app.busy, 60, what)


def test_hostile_files_show_an_error_and_keep_the_previous_scan(app, corpus, scan_paths, capsys):
    open_and_wait(app, scan_paths[0], "the good scan")
    pump_until(app.root, lambda: app.analysis is not None and not app.busy, 60, "its analysis")
    loaded, analysis, overlay = app.loaded, app.analysis, app.heatmap_canvas.image
    status = (app.status.file_var.get(), app.status.size_var.get())
    for name in BAD:
        case = corpus[name]
        open_and_wait(app, case.path, name)
        text = app.message.text_var.get()
        assert app.message.kind == "error", (name, text)
        assert text.startswith("Cannot open scan:") and os.path.basename(case.path) in text, (name, text)
        assert "\n" not in text, (name, text)
        assert app.loaded is loaded and app.analysis is analysis, name
        assert app.scan_canvas.image is loaded.display and app.heatmap_canvas.image is overlay, name
        assert (app.status.file_var.get(), app.status.size_var.get()) == status, name
    # Every failure was a routine ScanError: the worker prints a traceback only for the unexpected.
    assert "Traceback" not in capsys.readouterr().err


def test_odd_but_valid_files_open(app, corpus, capsys):
    for name in ODD_BUT_VALID:
        case = corpus[name]
        open_and_wait(app, case.path, name)
        pump_until(app.root, lambda: not app.busy, 60, f"the analysis of {name}")
        assert app.message.kind != "error", (name, app.message.text_var.get())
        assert app.loaded.scan.path == case.path, name
        assert app.analysis is not None, name
        scan = app.loaded.scan
        assert app.scan_canvas.image.shape == (scan.height, scan.width), name
        assert app.overlay_image.shape == (scan.height, scan.width, 3), name
        app.root.update()  # the fitted, displayed copy must survive a repaint
    assert "Traceback" not in capsys.readouterr().err
