"""Input scans are never modified (issue 8): bytes, size, mode and st_mtime_ns of PNG, JPEG,
DICOM, NIfTI and NIfTI.gz inputs are the same after load_scan/load_volume/count_slices,
``predict`` and ``explain --report`` - also when the outputs go into the inputs' own folder,
and even with --force when an output name would land on an input."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest
from PIL import Image

from cli import run_cli
from core.io import load_scan
from core.volume import count_slices, load_volume
from tests.volumes import make_dicom, make_nifti


@pytest.fixture()
def inputs(tmp_path, head_image):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(head_image).save(folder / "a.png")
    Image.fromarray(head_image).convert("RGB").save(folder / "b.jpg", quality=90)
    make_dicom(folder / "c.dcm", head_image.astype(np.uint16) * 8, WindowCenter=500, WindowWidth=900)
    volume = np.stack([head_image] * 4, axis=2).astype(np.int16)
    make_nifti(folder / "d.nii", volume)
    make_nifti(folder / "e.nii.gz", volume)
    paths = sorted(str(p) for p in folder.iterdir())
    for path in paths:  # an old mtime, so that any rewrite, even within the same second, shows
        os.utime(path, ns=(1_500_000_000_123_456_789, 1_500_000_000_123_456_789))
        os.chmod(path, 0o644)
    return folder, paths


def snapshot(paths):
    state = {}
    for path in paths:
        info = os.stat(path)
        with open(path, "rb") as handle:
            state[path] = (handle.read(), info.st_size, info.st_mtime_ns, stat.S_IMODE(info.st_mode), info.st_ino)
    return state


def assert_untouched(before, what):
    after = snapshot(list(before))
    changed = [os.path.basename(p) for p in before if before[p] != after[p]]
    assert not changed, f"{what} modified {changed}"


def test_loading_does_not_modify_inputs(inputs):
    folder, paths = inputs
    before = snapshot(paths)
    listing = sorted(os.listdir(folder))
    for path in paths:
        load_scan(path)
        load_scan(path, index=0)
        load_volume(path)
        count_slices(path)
    assert_untouched(before, "loading")
    assert sorted(os.listdir(folder)) == listing  # no side files (caches, locks) either


def test_predict_and_explain_with_report_do_not_modify_inputs(inputs, tmp_path, tiny_model_path, capsys):
    folder, paths = inputs
    before = snapshot(paths)
    assert run_cli(["predict", str(folder), "--model", tiny_model_path]) == 0
    assert run_cli(["predict", *paths, "--model", tiny_model_path, "--all-slices", "--format", "csv"]) == 0
    assert_untouched(before, "predict")
    out = tmp_path / "out"
    assert run_cli(["explain", *paths, "--model", tiny_model_path, "--out-dir", str(out), "--report"]) == 0
    assert_untouched(before, "explain --report")
    # Outputs in the inputs' own folder, twice (the second time overwriting with --force).
    for extra in ([], ["--force"]):
        assert run_cli(["explain", *paths, "--model", tiny_model_path, "--out-dir", str(folder), "--report",
                        *extra]) == 0
        assert_untouched(before, f"explain into the input folder {extra}")
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert all("error" not in r for r in records)


def test_explain_never_writes_over_an_input_even_with_force(tmp_path, head_image, tiny_model_path, capsys):
    """``a.jpg`` explained into its own folder writes ``a.gradcam.png``; if that name is
    itself an input on the same command line it must not be overwritten (regression)."""
    folder = tmp_path / "scans"
    folder.mkdir()
    Image.fromarray(head_image).save(folder / "a.jpg")
    Image.fromarray(head_image[::-1].copy()).save(folder / "a.gradcam.png")
    paths = [str(folder / "a.jpg"), str(folder / "a.gradcam.png")]
    before = snapshot(paths)
    code = run_cli(["explain", *paths, "--model", tiny_model_path, "--out-dir", str(folder), "--method", "gradcam",
                    "--force"])
    assert code == 1
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert "is one of the input scans" in records[0]["error"]
    assert "error" not in records[1]
    assert_untouched(before, "explain --force")
