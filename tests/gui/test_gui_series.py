"""DICOM series and studies in the real window: File ▸ Open folder… (a chooser where there are
several), dropping a folder, the slice slider over a series, "Classify all slices" with the study
verdict (the same record `predict` prints) and its evidence slices, the report, 4-D NIfTI volumes.

One Tk root for the module (as in test_gui_window.py); tests run in file order.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from tests.gui.helpers import pump_until
from tests.test_series import _series
from tests.volumes import make_nifti

pytestmark = pytest.mark.usefixtures("display")


def idle(app, what, timeout=60):
    pump_until(app.root, lambda: not app.busy, timeout, what)


@pytest.fixture(scope="module")
def study_folder(tmp_path_factory):
    """Two series (6 and 3 slices, file names shuffled) and a NIfTI volume in one folder."""
    root = tmp_path_factory.mktemp("study")
    six = _series(root / "t1", 6)
    three = _series(root / "t2", 3, spacing=5.0)
    yy, xx = np.mgrid[:40, :40]
    head = ((((xx - 20) / 15.0) ** 2 + ((yy - 20) / 13.0) ** 2) < 1).astype(np.float32) * 300
    make_nifti(root / "extra.nii.gz", np.repeat(head[:, :, None], 4, axis=2))
    return root, six, three


def test_open_folder_offers_a_chooser_and_opens_the_series_as_one_volume(app, study_folder):
    root, six, _ = study_folder
    app.dialogs.answers.append(str(root))
    app.menus.file.invoke(app.menus.file.index("Open folder…"))
    assert app.dialogs.asked[-1][0] == "open_folder"
    pump_until(app.root, lambda: "series" in app.windows and app.windows["series"].winfo_exists(), 30, "the chooser")
    chooser = app.windows["series"]
    descriptions = chooser.descriptions()
    assert len(descriptions) == 3
    assert any("t1 · series 7" in d and "6 slices" in d for d in descriptions)
    assert any(d.startswith("extra.nii.gz — NIfTI · 4 slices") for d in descriptions)
    chooser.select([i for i, d in enumerate(descriptions) if "6 slices" in d][0])
    chooser.open_button.invoke()
    idle(app, "the series and its analysis")
    loaded = app.loaded
    assert loaded.slices == 6 and loaded.volume.files == tuple(six)
    assert app.slice_bar.winfo_ismapped() and "t1 · series 7" in app.scan_title.get()
    # Slices in position order: the test series' brightness rises slice by slice.
    assert np.all(np.diff([float(s.max()) for s in loaded.volume.pixels]) > 0)
    assert loaded.scan.path == six[loaded.index]
    app.scans.set_slice(0)
    idle(app, "slice 0")
    assert app.loaded.scan.path == six[0]


def test_classify_all_slices_shows_the_study_verdict_and_jumps_to_its_evidence(app, study_folder, capsys):
    root, six, _ = study_folder
    app.volumes.classify_all_slices()
    idle(app, "every slice")
    volume, study = app.volumes.study
    assert volume is app.loaded.volume and study["slices"] == 6
    # The very record `predict` prints for this series.
    from cli import predict_with

    capsys.readouterr()
    predict_with(app.model.classifier, [str(root / "t1")], quiet=True)
    printed = json.loads(capsys.readouterr().out)
    assert printed["label"] == study["label"] and printed["evidence_slices"] == study["evidence_slices"]
    assert printed["probabilities"] == pytest.approx(study["probabilities"], abs=1e-5)

    plot = app.windows["slices"]
    assert plot.verdict_var.get().startswith("Study: ") and plot.evidence == sorted(study["evidence_slices"])
    assert app.slice_bar.study_frame.winfo_ismapped()
    assert app.slice_bar.study_text.get() == plot.verdict_var.get()
    evidence = sorted(study["evidence_slices"])
    if evidence:
        app.scans.set_slice(0 if evidence[0] != 0 else 5)
        idle(app, "a slice")
        start = app.loaded.index
        plot.jump(+1)
        idle(app, "the next evidence slice")
        later = [i for i in evidence if i > start]
        assert app.loaded.index == (later[0] if later else evidence[0])
        app.slice_bar.previous_evidence.invoke()
        idle(app, "the previous evidence slice")
        assert app.loaded.index in evidence


def test_report_has_the_slice_and_the_study(app, tmp_path):
    target = tmp_path / "series.report.pdf"
    app.dialogs.answers.append(str(target))
    app.reports.export_report()
    pump_until(app.root, lambda: target.exists() and not app.busy, 30, "the report")
    data = target.read_bytes()
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b(?!s)", data)) == 1
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(target), "-"], capture_output=True, text=True, check=True).stdout
        assert "Predicted:" in text and "Study verdict (all 6 slices)" in text
        assert "Evidence slices (from 0)" in text and "Model input window" in text
        assert "Series: t1 · series 7 (6 files)" in text


def test_dropping_a_folder_with_one_series_opens_it(app, study_folder):
    _, _, three = study_folder
    app.scans.on_dropped_paths([os.path.dirname(three[0])])
    idle(app, "the dropped series")
    assert app.loaded.slices == 3 and app.loaded.volume.files == tuple(three)
    assert app.volumes.study is None or app.volumes.study[0] is not app.loaded.volume  # another volume: no study yet
    assert not app.slice_bar.study_frame.winfo_ismapped()


def test_a_4d_nifti_says_which_volume_and_lets_you_choose(app):
    from nibabel.testing import data_path

    from core.io import load_scan

    path = os.path.join(data_path, "example4d.nii.gz")
    if not os.path.exists(path):
        pytest.skip("nibabel's example4d.nii.gz not installed")
    app.open_scan(path)
    idle(app, "the 4-D NIfTI")
    assert app.loaded.volume_index == 0 and app.loaded.volumes == 2
    assert app.slice_bar.volume_frame.winfo_ismapped() and app.slice_bar.volume_text.get() == "of 2 (0–1)"
    assert "volume 0 (0–1)" in app.scan_title.get()
    index = app.loaded.index
    app.slice_bar.volume_var.set("1")
    app.slice_bar._volume_chosen()  # what the spinbox's arrow does
    idle(app, "volume 1")
    assert app.loaded.volume_index == 1 and app.loaded.index == index
    assert "volume 1 (0–1)" in app.scan_title.get()
    np.testing.assert_array_equal(app.loaded.scan.pixels, load_scan(path, index=index, volume_index=1).pixels)
    assert app.loaded.scan.info["volume"] == 1 and app.loaded.scan.info["volumes"] == 2
    assert "Brain 40/80" not in app.window_panel.preset_box["values"]  # NIfTI: no CT windows either


def test_a_dicomdir_lists_its_series(app):
    data = pytest.importorskip("pydicom.data")
    try:
        dicomdir = data.get_testdata_file("dicomdirtests/DICOMDIR", download=False)
    except Exception:
        dicomdir = None
    if not dicomdir:
        pytest.skip("pydicom's dicomdirtests not available")
    app.scans.on_dropped_paths([dicomdir])
    pump_until(app.root, lambda: not app.busy and "series" in app.windows and app.windows["series"].winfo_exists(),
               60, "the DICOMDIR's chooser")
    chooser = app.windows["series"]
    descriptions = chooser.descriptions()
    assert any("CT5N · series 5" in d and "5 slices" in d for d in descriptions)
    chooser.select([i for i, d in enumerate(descriptions) if "CT5N" in d][0])
    chooser.open_selected()
    idle(app, "the CT series")
    assert app.loaded.slices == 5 and [os.path.basename(f) for f in app.loaded.volume.files] == [
        "3353", "3023", "2693", "2392", "2062"]
    assert "Brain 40/80" in app.window_panel.preset_box["values"]  # a CT: its windows are offered
