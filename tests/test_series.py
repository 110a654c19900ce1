"""DICOM series: grouped by Series Instance UID, ordered along the slice normal (shuffled file
names, Instance Numbers that disagree), checked (sizes split, non-parallel slices stacked and
noted, gaps noted), DICOMDIR; pydicom's real series; the CLI reads a series as one volume;
files are never changed; patient attributes never reach the output."""

from __future__ import annotations

import hashlib
import json
import os
import random

import numpy as np
import pytest

from core.io import load_scan
from core.series import Series, discover, series_in
from core.volume import count_slices, load_volume
from tests.volumes import PATIENT, make_dicom

AXIAL = [1, 0, 0, 0, 1, 0]


def _uid():
    from pydicom.uid import generate_uid

    return generate_uid()


def _slice_pixels(k, size=32):
    """Slice k: a head-like disc whose brightness says k (so order is visible in the pixels)."""
    yy, xx = np.mgrid[:size, :size]
    disc = (((yy - size / 2) / (0.4 * size)) ** 2 + ((xx - size / 2) / (0.35 * size)) ** 2 < 1)
    return (disc * (100 + 10 * k)).astype(np.uint16)


def _series(folder, count, *, orientation=AXIAL, spacing=2.5, uid=None, shuffle=True, instance=None,
            position=True, **extra):
    """``count`` single-frame files of one series in ``folder`` under random names; slice k (k-th along
    the normal) has brightness 100 + 10 k. Returns the paths in true slice order."""
    os.makedirs(folder, exist_ok=True)
    uid = uid or _uid()
    cosines = np.asarray(orientation, float)
    normal = np.cross(cosines[:3], cosines[3:])
    rng = random.Random(count)
    names = [f"IM{rng.randrange(10**8):08d}" for _ in range(count)]
    if not shuffle:
        names = [f"slice{k:03d}.dcm" for k in range(count)]
    paths = []
    for k in range(count):
        attrs = dict(SeriesInstanceUID=uid, SeriesNumber=7, Modality="MR",
                     InstanceNumber=instance(k) if instance else count - k,  # deliberately backwards
                     ImageOrientationPatient=list(orientation), PixelSpacing=[0.9, 0.9], **extra)
        if position:
            attrs["ImagePositionPatient"] = list(np.array([-100.0, -120.0, 30.0]) + k * spacing * normal)
        paths.append(make_dicom(os.path.join(folder, names[k]), _slice_pixels(k), **attrs))
    return paths


def _brightness(volume):
    return [int(round(float(s.max()))) for s in volume.pixels]


def test_shuffled_names_ordered_along_the_normal_of_an_oblique_series(tmp_path):
    oblique = [0.866, 0.5, 0.0, 0.0, 0.0, -1.0]  # a tilted sagittal-ish plane
    truth = _series(tmp_path / "s", 9, orientation=oblique)
    assert sorted(truth) != truth  # the names say nothing about the order
    found = list(discover([tmp_path / "s"]))
    assert len(found) == 1
    series, error, kind = found[0]
    assert isinstance(series, Series) and error is None and kind == "series"
    assert list(series.files) == truth and series.ordered_by == "position"
    assert series.spacing_mm == pytest.approx(2.5, abs=1e-3) and series.notes == ()
    volume = load_volume(series)
    assert len(volume) == 9 and volume.files == tuple(truth)
    # One percentile window over the whole series, so slices stay comparable: brightness grows with k.
    assert len({json.dumps(w, sort_keys=True) for w in volume.windows}) == 1
    assert np.all(np.diff([float(s.max()) for s in volume.pixels]) > 0)
    scan = volume.scan(3)
    assert scan.path == truth[3] and scan.info["file"] == truth[3] and scan.info["slice"] == 3
    assert scan.info["series"]["number"] == 7 and count_slices(series) == 9


def test_series_in_two_folders_and_a_second_series_beside_it(tmp_path):
    uid = _uid()
    first = _series(tmp_path / "a", 3, uid=uid)
    moved = [os.path.join(tmp_path / "b", os.path.basename(p)) for p in first[1:]]
    os.makedirs(tmp_path / "b")
    for old, new in zip(first[1:], moved):
        os.replace(old, new)
    other = _series(tmp_path / "a" / "other", 4)
    found = series_in([tmp_path])
    assert sorted(len(s) for s in found) == [3, 4]
    three = [s for s in found if len(s) == 3][0]
    assert list(three.files) == [first[0], *moved] and three.path == str(tmp_path)
    assert [s for s in found if len(s) == 4][0].files == tuple(other)


def test_instance_number_fallback_without_positions(tmp_path):
    truth = _series(tmp_path / "s", 5, position=False, instance=lambda k: 10 + k)
    (series, _, _), = discover([tmp_path / "s"])
    assert series.ordered_by == "instance number" and list(series.files) == truth
    assert any("not every file gives its slice position" in n for n in series.notes)


def test_a_dicom_without_series_uid_stays_a_single_scan(tmp_path):
    lone = make_dicom(tmp_path / "lone.dcm", _slice_pixels(0))
    one = _series(tmp_path / "one", 1)  # a series of one file: a single scan as before
    found = list(discover([tmp_path]))
    assert [(p, k) for p, _, k in found] == [(lone, "dicom"), (one[0], "dicom")]


def test_mixed_image_sizes_are_split_with_a_message(tmp_path):
    uid = _uid()
    small = _series(tmp_path / "s", 3, uid=uid)
    big = make_dicom(tmp_path / "s" / "big.dcm", np.ones((48, 48), np.uint16), SeriesInstanceUID=uid,
                     InstanceNumber=9, ImagePositionPatient=[0, 0, 50], ImageOrientationPatient=AXIAL)
    big2 = make_dicom(tmp_path / "s" / "big2.dcm", np.ones((48, 48), np.uint16), SeriesInstanceUID=uid,
                      InstanceNumber=10, ImagePositionPatient=[0, 0, 52.5], ImageOrientationPatient=AXIAL)
    found = series_in([tmp_path])
    assert sorted(len(s) for s in found) == [2, 3]
    for series in found:
        assert series.parts == 2 and series.split_by == ("image size",)
        assert "split into 2 parts" in series.notes[0]
    assert {tuple(s.files) for s in found} == {tuple(small), (big, big2)}


def test_non_parallel_slices_are_a_stack_in_instance_order_with_a_note(tmp_path):
    uid = _uid()
    planes = [[0, 1, 0, 0, 0, -1], [1, 0, 0, 0, 0, -1], AXIAL]  # sagittal, coronal, axial localizer
    paths = [make_dicom(tmp_path / f"loc{k}", _slice_pixels(k), SeriesInstanceUID=uid, InstanceNumber=3 - k,
                        ImagePositionPatient=[0, 0, 0], ImageOrientationPatient=plane)
             for k, plane in enumerate(planes)]
    (series, _, _), = discover([tmp_path])
    assert series.ordered_by == "instance number" and list(series.files) == paths[::-1]
    assert "not parallel (3 orientations)" in series.notes[0]
    assert "not a regular 3-D volume" in series.notes[0]


def test_a_gap_and_a_shared_position_are_noted(tmp_path):
    uid = _uid()
    for k, z in enumerate([0, 2.5, 5.0, 12.5, 12.5]):
        make_dicom(tmp_path / f"f{k}", _slice_pixels(k), SeriesInstanceUID=uid, InstanceNumber=k + 1,
                   ImagePositionPatient=[0, 0, z], ImageOrientationPatient=AXIAL)
    (series, _, _), = discover([tmp_path])
    assert series.ordered_by == "position" and series.spacing_mm == pytest.approx(2.5)
    assert any("uneven slice spacing (2.5 to 7.5 mm)" in n for n in series.notes)
    assert any("1 slice shares a position" in n for n in series.notes)


def test_a_damaged_file_fails_the_series_naming_the_file(tmp_path):
    paths = _series(tmp_path / "s", 4)
    with open(paths[2], "r+b") as handle:  # cut short inside the pixel data
        handle.truncate(os.path.getsize(paths[2]) - 500)
    (series, _, _), = discover([tmp_path / "s"])
    from core.errors import ScanError

    with pytest.raises(ScanError) as info:
        load_volume(series)
    assert os.path.basename(paths[2]) in str(info.value) and "slice 2 of the series" in str(info.value)


# --- pydicom's real series (dicomdirtests: written by scanners, not by us) -----------------------


def _testdata(name):
    data = pytest.importorskip("pydicom.data")
    try:
        path = data.get_testdata_file(name, download=False)
    except Exception:
        path = None
    if not path:
        pytest.skip(f"pydicom test file {name} not available")
    return path


def test_pydicom_ct_series_is_ordered_by_position_not_by_instance_number():
    folder = os.path.dirname(_testdata("dicomdirtests/98892001/CT5N/2062"))
    (series, error, kind), = [f for f in discover([folder])]
    assert kind == "series" and error is None
    # Instance Numbers 6..10 go down the patient; sorted along the normal (+z, feet to head): 10 .. 6.
    assert [os.path.basename(f) for f in series.files] == ["3353", "3023", "2693", "2392", "2062"]
    assert series.ordered_by == "position" and series.spacing_mm == pytest.approx(2.5)
    volume = load_volume(series)
    assert volume.pixels.shape == (5, 16, 16) and volume.windows[0]["source"] == "file"
    for i, path in enumerate(series.files):  # each slice as its file alone gives
        np.testing.assert_array_equal(volume.pixels[i], load_scan(path).pixels)


def test_pydicom_mr_study_folder_gives_stacks_and_single_scans():
    root = os.path.dirname(os.path.dirname(_testdata("dicomdirtests/98892003/MR700/4467")))
    found = list(discover([root]))
    stacks = [s for s, _, k in found if k == "series"]
    singles = [s for s, _, k in found if k != "series"]
    assert sorted(len(s) for s in stacks) == [3, 3, 7] and len(singles) == 4  # MR1: three one-file series
    radial = [s for s in stacks if len(s) == 7][0]
    assert [os.path.basename(f) for f in radial.files] == ["4558", "4528", "4588", "4467", "4618", "4678", "4648"]
    assert "not parallel (7 orientations)" in radial.notes[0]
    assert len(load_volume(radial)) == 7


def test_dicomdir_lists_the_files_it_references():
    dicomdir = _testdata("dicomdirtests/DICOMDIR")
    found = list(discover([dicomdir]))
    assert all(error is None for _, error, _ in found)
    stacks = {len(s) for s, _, k in found if k == "series"}
    assert stacks == {2, 3, 4, 5, 7}
    walked = list(discover([os.path.dirname(dicomdir)]))  # the folder itself: the DICOMDIR is skipped
    assert all(not str(s).endswith("DICOMDIR") for s, _, k in walked if k != "series")
    assert sorted(len(s) for s, _, k in walked if k == "series") == sorted(len(s) for s, _, k in found if k == "series")


# --- the command line -------------------------------------------------------------------------------


def _run(capsys, argv):
    from cli import run_cli

    code = run_cli(argv)
    out = capsys.readouterr()
    return code, [json.loads(line) for line in out.out.splitlines()], out.err


def _fingerprints(paths):
    return {p: (hashlib.sha256(open(p, "rb").read()).hexdigest(), os.stat(p).st_mtime_ns) for p in paths}


def test_predict_reads_a_series_as_one_volume_and_changes_no_file(capsys, tmp_path, tiny_model_path):
    truth = _series(tmp_path / "series", 6)
    lone = make_dicom(tmp_path / "lone.dcm", _slice_pixels(2))
    before = _fingerprints(truth + [lone])
    code, records, _ = _run(capsys, ["predict", str(tmp_path), "--model", tiny_model_path])
    assert code == 0 and len(records) == 2
    study = [r for r in records if r["path"] == str(tmp_path / "series")][0]
    assert study["slices"] == 6 and "slice" not in study
    assert study["series"]["number"] == 7 and study["series"]["files"] == 6
    assert all(0 <= i < 6 for i in study["evidence_slices"])
    assert study["evidence_files"] == [os.path.basename(truth[i]) for i in study["evidence_slices"]]
    single = [r for r in records if r["path"] == lone][0]
    assert single["slices"] == 1 and "evidence_slices" not in single  # a lone file: a scan as before

    code, records, _ = _run(capsys, ["predict", str(tmp_path / "series"), "--all-slices", "--model", tiny_model_path])
    assert [(r["slice"], r["file"]) for r in records] == list(enumerate(truth))
    reference = [load_volume(discover([tmp_path / "series"]).__next__()[0]).scan(i) for i in range(6)]
    from core.classifier import Classifier

    expected = Classifier.load(tiny_model_path).predict_pixels([s.pixels for s in reference])
    for record, prediction in zip(records, expected):
        assert record["probabilities"] == pytest.approx(prediction.probabilities, abs=1e-5)

    code, records, _ = _run(capsys, ["predict", str(tmp_path / "series"), "--slice", "4", "--model", tiny_model_path])
    assert len(records) == 1 and records[0]["slice"] == 4 and records[0]["file"] == truth[4]
    text = json.dumps(records)
    assert not any(value in text for value in PATIENT.values())
    assert _fingerprints(truth + [lone]) == before


def test_the_single_file_layer_never_imports_the_volume_layer(tmp_path):
    """core.io (one file) is what core.volume (files and series) builds on, not the other way round."""
    import subprocess
    import sys

    from tests.volumes import make_nifti

    dicom = make_dicom(tmp_path / "one.dcm", np.stack([_slice_pixels(k) for k in range(3)]))
    nifti = make_nifti(tmp_path / "one.nii.gz", np.ones((8, 8, 4), np.float32))
    code = (
        "import sys\nimport core.io as io\n"
        f"assert io.load_scan({dicom!r}, index=1).info['frame'] == 1\n"
        f"assert io.read_file({nifti!r}).pixels.shape[0] == 4\n"
        "assert 'core.volume' not in sys.modules and 'core.series' not in sys.modules, sorted(sys.modules)\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    source = open(os.path.join(root, "core", "io.py"), encoding="utf-8").read()
    import re

    assert not re.search(r"^\s*(from core(\.volume|\.series| import (volume|series))|import core\.(volume|series))",
                         source, re.M)
    from core.dicom import HEADER_KEYWORDS

    assert not any("Patient" in k and k not in ("ImagePositionPatient", "ImageOrientationPatient")
                   for k in HEADER_KEYWORDS)  # series are grouped from technical attributes only
