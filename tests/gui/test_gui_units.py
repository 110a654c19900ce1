"""GUI logic that needs no display: image fitting, the recent list, the worker, the texts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

from gui.canvas import fit_size
from gui.recent import RecentFiles, default_recent_path
from gui.texts import DISCLAIMER, SHORTCUTS
from gui.worker import Worker
from tests.conftest import ROOT


@pytest.mark.parametrize(
    "image, box, expected",
    [
        ((512, 512), (300, 200), (200, 200)),  # square into wide: height limits
        ((440, 278), (400, 400), (400, 253)),  # wide into square: width limits, ratio kept
        ((100, 50), (1000, 1000), (1000, 500)),  # enlarges to fill
        ((3000, 10), (50, 50), (50, 1)),  # never below one pixel
        ((0, 10), (50, 50), (1, 1)),
    ],
)
def test_fit_size_keeps_aspect_ratio(image, box, expected):
    assert fit_size(*image, *box) == expected


def test_recent_files_keeps_newest_first_unique_and_bounded(tmp_path):
    store = tmp_path / "cfg" / "recent.json"
    recent = RecentFiles(str(store), limit=3)
    for name in ("a.jpg", "b.jpg", "c.jpg", "a.jpg", "d.jpg"):
        recent.add(str(tmp_path / name))
    expected = [str(tmp_path / n) for n in ("d.jpg", "a.jpg", "c.jpg")]
    assert recent.paths == expected
    # Persisted as a bare JSON list of paths, nothing else, and read back by a new instance.
    assert json.loads(store.read_text()) == expected
    assert RecentFiles(str(store), limit=3).paths == expected
    recent.clear()
    assert RecentFiles(str(store)).paths == []


def test_recent_files_survive_corrupt_or_foreign_json(tmp_path):
    store = tmp_path / "recent.json"
    store.write_text("{not json")
    assert RecentFiles(str(store)).paths == []
    store.write_text(json.dumps({"paths": ["/x"]}))
    assert RecentFiles(str(store)).paths == []
    store.write_text(json.dumps(["/a.jpg", 3, None, "", "/b.jpg"]))
    assert RecentFiles(str(store)).paths == ["/a.jpg", "/b.jpg"]


def test_recent_files_unwritable_location_is_ignored(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    recent = RecentFiles(str(blocker / "sub" / "recent.json"))  # parent is a file: cannot create
    assert recent.add(str(tmp_path / "a.jpg")) == [str(tmp_path / "a.jpg")]


def test_default_recent_path_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_recent_path().startswith(str(tmp_path))
    assert default_recent_path().endswith(os.path.join("recent.json"))


def test_worker_runs_jobs_in_order_and_reports_errors():
    worker = Worker(expected_errors=(ZeroDivisionError,))  # expected: no traceback on stderr
    try:
        first = worker.submit("a", lambda x: x * 2, 21)
        second = worker.submit("b", lambda: 1 / 0)
        results = {r.job_id: r for r in (worker.results.get(timeout=5) for _ in range(2))}
        assert results[first].ok and results[first].value == 42
        assert isinstance(results[second].error, ZeroDivisionError)
        assert worker.is_current(results[first]) and worker.is_current(results[second])
    finally:
        worker.stop()
        assert worker.join(5)


def test_worker_skips_superseded_jobs_and_flags_stale_results():
    worker = Worker()
    gate = threading.Event()
    try:
        blocker = worker.submit("scan", gate.wait, 5)  # holds the thread while more jobs queue up
        queued = worker.submit("scan", lambda: "old")
        newest = worker.submit("scan", lambda: "new")
        gate.set()
        results = {r.job_id: r for r in (worker.results.get(timeout=5) for _ in range(3))}
        assert not worker.is_current(results[blocker])  # finished, but the user moved on
        assert results[queued].skipped and not results[queued].ok  # never ran
        assert results[newest].value == "new" and worker.is_current(results[newest])
    finally:
        worker.stop()
        worker.join(5)


def test_open_dialog_offers_every_supported_suffix_and_all_files():
    from core.io import IMAGE_SUFFIXES
    from gui.dialogs import SCAN_FILETYPES

    (label, patterns), everything = SCAN_FILETYPES
    for suffix in IMAGE_SUFFIXES:
        assert f"*{suffix}" in patterns.split() and f"*{suffix.upper()}" in patterns.split()
    assert everything == ("All files", "*")


def test_disclaimer_and_shortcuts_texts():
    assert DISCLAIMER.startswith("Research and education only — not a diagnosis.")
    keys = [k for k, _ in SHORTCUTS]
    assert {"Ctrl+O", "Ctrl+S", "G / Shift+G", "+ / -", "F1"} <= set(keys)


def test_importing_gui_does_not_import_tensorflow():
    code = (
        "import sys, time; t = time.perf_counter(); import gui.app, gui.jobs, gui.__main__; "
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')); "
        "print(heavy); print(f'{time.perf_counter() - t:.2f}')"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    heavy, seconds = out.stdout.split("\n")[:2]
    assert heavy == "[]"
    print(f"import gui.app: {float(seconds):.2f} s")


def test_window_icon_file_is_bundled_next_to_the_code():
    from core.paths import resource_path

    from PIL import Image

    icon = resource_path("gui", "assets", "icon.png")
    with Image.open(icon) as image:
        assert image.size[0] >= 32 and image.size[0] == image.size[1]


def test_loading_a_model_traces_the_graphs_so_the_first_scan_is_not_slow(tiny_model_path, head_image):
    """load_model warms up in the loading worker: the user's first scan must not trace again."""
    from gui.jobs import analyse, load_model

    model = load_model(tiny_model_path)
    runtime = model.classifier.runtime  # a tiny .keras model: the Keras runtime, whose tf.functions trace
    functions = (runtime._cams[model.engine.layer_name], runtime._forward)
    traced = [f.experimental_get_tracing_count() for f in functions]
    assert traced[0] == 1  # the Grad-CAM pass, which every analysis runs
    analysis = analyse(model, head_image, None)
    assert analysis.heatmaps and analysis.prediction.label in model.classifier.classes
    assert [f.experimental_get_tracing_count() for f in functions] == traced
