"""NIfTI: found by content, reoriented to RAS, axial slices shown radiologically (anterior at
the top, the patient's right on the image's left); 4-D; lying headers; the CLI's slice options."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os

import numpy as np
import pytest
from PIL import Image

from core.errors import (
    CorruptHeaderError,
    IndexOutOfRangeError,
    TruncatedImageError,
    UnsupportedImageError,
)
from core.io import load_scan
from core.volume import count_slices, load_volume
from tests.volumes import make_nifti, rename

LPS = np.diag([-1.0, -1.0, 1.0, 1.0])  # DICOM's patient axes: +i = left, +j = posterior, +k = superior


def brightest(pixels):
    return tuple(int(v) for v in np.unravel_index(np.argmax(pixels), pixels.shape))


def test_ras_volume_display_convention(tmp_path):
    data = np.zeros((10, 12, 8), np.int16)  # x: left -> right, y: posterior -> anterior, z: up
    data[1, 8, 3] = 500  # far left (x=1), anterior (y=8), slice 3
    scan = load_scan(make_nifti(tmp_path / "ras.nii", data), index=3)
    assert scan.pixels.shape == (12, 10)  # rows = y, cols = x
    # Radiological: column 0 is the patient's right (x = 9), row 0 is anterior (y = 11).
    assert brightest(scan.pixels) == (12 - 1 - 8, 10 - 1 - 1)
    assert scan.info["slice"] == 3 and scan.info["slices"] == 8 and scan.info["orientation"] == "RAS"


def test_lps_volume_comes_out_ras(tmp_path):
    data = np.zeros((10, 12, 8), np.int16)
    data[2, 3, 5] = 1000  # i=2 -> 2 mm to the left of x=0; j=3 -> 3 mm posterior
    path = make_nifti(tmp_path / "lps.nii.gz", data, LPS)
    volume = load_volume(path)
    assert volume.pixels.shape == (8, 12, 10)
    # RAS index (9-2, 11-3, 5) = (7, 8, 5); shown at row 11-8 = 3, column 9-7 = 2.
    assert brightest(volume.pixels) == (5, 3, 2)


def test_sagittally_stored_volume_lands_on_the_expected_axial_slice(tmp_path):
    # Stored axes: i -> superior, j -> anterior, k -> right (a sagittal acquisition).
    affine = np.array([[0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]], float)
    data = np.zeros((8, 10, 12), np.float32)
    data[6, 2, 9] = 1.0  # z = 6, y = 2, x = 9
    path = make_nifti(tmp_path / "sag.nii", data, affine)
    assert count_slices(path) == 8
    scan = load_scan(path, index=6)
    assert scan.pixels.shape == (10, 12)
    assert brightest(scan.pixels) == (10 - 1 - 2, 12 - 1 - 9)
    assert load_scan(path, index=5).pixels.max() == 0


def test_middle_slice_by_default_and_out_of_range(tmp_path):
    path = make_nifti(tmp_path / "v.nii", np.random.default_rng(0).random((6, 6, 7)).astype(np.float32))
    assert load_scan(path).info["slice"] == 3
    with pytest.raises(IndexOutOfRangeError) as err:
        load_scan(path, index=7)
    assert "slice 7 is out of range" in str(err.value) and "0 to 6" in str(err.value)


def test_volume_and_single_slices_agree_and_share_one_window(tmp_path):
    data = np.arange(5 * 6 * 4, dtype=np.float32).reshape(5, 6, 4)
    path = make_nifti(tmp_path / "v.nii.gz", data)
    volume = load_volume(path)
    windows = {json.dumps(load_scan(path, index=i).info["window"]) for i in range(4)}
    assert len(windows) == 1 and json.loads(windows.pop())["source"] == "percentile"
    for i in range(4):
        np.testing.assert_array_equal(volume.pixels[i], load_scan(path, index=i).pixels)
    assert 0 <= volume.pixels.min() and volume.pixels.max() <= 255


def test_callers_window(tmp_path):
    data = np.tile(np.arange(10, dtype=np.float32), (10, 1))[:, :, None]  # one slice, 0..9 along y
    scan = load_scan(make_nifti(tmp_path / "w.nii", data), window=(4.0, 4.0))
    values = scan.pixels[::-1, 0]  # row order reversed: anterior (high y) on top
    np.testing.assert_allclose(values, np.clip((np.arange(10) - 2.0) / 4.0 * 255, 0, 255), atol=1e-4)
    assert scan.info["window"] == {"center": 4.0, "width": 4.0, "source": "user"}


def test_4d_uses_the_first_volume(tmp_path):
    data = np.zeros((6, 6, 8, 3), np.int16)
    data[3, 3, 2, 0] = 900  # volume 0: bright on slice 2
    data[3, 3, 6, 1] = 900  # volume 1: bright on slice 6
    scan = load_scan(make_nifti(tmp_path / "fmri.nii.gz", data), index=2)
    assert scan.pixels.max() == 255 and scan.info["volumes"] == 3
    assert load_scan(tmp_path / "fmri.nii.gz", index=6).pixels.max() == 0


def test_extension_less_gzip_and_nifti2_by_content(tmp_path):
    data = np.random.default_rng(1).random((5, 5, 3)).astype(np.float32)
    gz = rename(make_nifti(tmp_path / "a.nii.gz", data), "no_extension")
    assert load_scan(gz).format == "NIfTI-1"
    two = rename(make_nifti(tmp_path / "b.nii", data, version=2), "b.jpg")
    assert load_scan(two).format == "NIfTI-2"


def test_nan_voxels_become_background(tmp_path):
    data = np.ones((4, 4, 3), np.float32)
    data[0, 0, 1] = np.nan
    assert np.isfinite(load_scan(make_nifti(tmp_path / "n.nii", data)).pixels).all()


def _with_dim3(raw: bytes, value: int) -> bytes:
    # NIfTI-1 little endian: dim[0..7] are int16 from byte 40, so dim[3] is at 46.
    return raw[:46] + int(value).to_bytes(2, "little", signed=True) + raw[48:]


@pytest.mark.parametrize("claimed", [9, 4])
@pytest.mark.parametrize("gzipped", [False, True])
def test_lying_header_is_refused(tmp_path, claimed, gzipped):
    raw = open(make_nifti(tmp_path / "ok.nii", np.zeros((4, 4, 6), np.int16)), "rb").read()
    lying = _with_dim3(raw, claimed)
    path = tmp_path / ("lie.nii.gz" if gzipped else "lie.nii")
    path.write_bytes(gzip.compress(lying) if gzipped else lying)
    with pytest.raises(CorruptHeaderError) as err:
        load_scan(path)
    message = str(err.value)
    assert "\n" not in message and f"4x4x{claimed}" in message and "lie.nii" in message


def test_truncated_gzip(tmp_path):
    data = np.random.default_rng(2).random((20, 20, 20)).astype(np.float32)
    raw = open(make_nifti(tmp_path / "ok.nii.gz", data), "rb").read()
    (tmp_path / "cut.nii.gz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(TruncatedImageError):
        load_scan(tmp_path / "cut.nii.gz")


def test_header_only_pair_is_explained(tmp_path):
    import nibabel as nib

    nib.save(nib.Nifti1Pair(np.zeros((3, 3, 3), np.int16), np.eye(4)), str(tmp_path / "pair.hdr"))
    with pytest.raises(UnsupportedImageError) as err:
        load_scan(tmp_path / "pair.hdr")
    assert ".hdr/.img" in str(err.value)


# --- command line -----------------------------------------------------------------------------


@pytest.fixture()
def head_volume(tmp_path, head_image):
    # (x, y) = (columns, rows from the bottom) of the image, so the slices show it upright
    # (mirrored left-right: radiological display).
    data = np.stack([head_image.T[:, ::-1].astype(np.int16) * (k + 1) for k in range(5)], axis=-1)
    return make_nifti(tmp_path / "head.nii.gz", data)


def _run(capsys, argv):
    from cli import run_cli

    code = run_cli(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_predict_slice_and_frame_alias(capsys, head_volume, tiny_model_path):
    code, out, _ = _run(capsys, ["predict", head_volume, "--slice", "1", "--model", tiny_model_path])
    record = json.loads(out)
    assert code == 0 and record["slice"] == 1 and record["slices"] == 5
    assert record["window"]["source"] == "percentile"
    code, out, _ = _run(capsys, ["predict", head_volume, "--frame", "4", "--model", tiny_model_path])
    assert code == 0 and json.loads(out)["slice"] == 4
    code, out, _ = _run(capsys, ["predict", head_volume, "--model", tiny_model_path])
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 1  # one study line for the volume, not one slice
    study = records[0]
    assert "slice" not in study and study["slices"] == 5
    assert study["label"] in study["probabilities"] and study["evidence_slices"]
    assert all(0 <= i < 5 for i in study["evidence_slices"])
    assert study["window"]["source"] == "percentile"


def test_predict_slice_out_of_range_is_a_scan_failure(capsys, head_volume, tiny_model_path):
    code, out, _ = _run(capsys, ["predict", head_volume, "--slice", "5", "--model", tiny_model_path])
    record = json.loads(out)
    assert code == 1 and set(record) == {"path", "error"} and "out of range" in record["error"]


def test_predict_all_slices_one_line_per_slice(capsys, tmp_path, head_volume, head_image, tiny_model_path):
    png = str(tmp_path / "flat.png")
    Image.fromarray(head_image).save(png)
    code, out, _ = _run(capsys, ["predict", head_volume, png, "--all-slices", "--batch-size", "3",
                                 "--model", tiny_model_path])
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [(os.path.basename(r["path"]), r["slice"]) for r in records] == [
        *(("head.nii.gz", i) for i in range(5)), ("flat.png", 0)
    ]
    # Same slice alone or within --all-slices: same answer.
    _, single, _ = _run(capsys, ["predict", head_volume, "--slice", "3", "--model", tiny_model_path])
    np.testing.assert_allclose(list(json.loads(single)["probabilities"].values()),
                               list(records[3]["probabilities"].values()), atol=1e-5)
    code, out, _ = _run(capsys, ["predict", head_volume, "--all-slices", "--format", "csv", "--model", tiny_model_path])
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["slice"] for r in rows] == ["0", "1", "2", "3", "4"]


def test_slice_and_all_slices_together_is_a_usage_error(capsys, head_volume):
    from cli import run_cli

    with pytest.raises(SystemExit) as exit_info:
        run_cli(["predict", head_volume, "--slice", "1", "--all-slices"])
    assert exit_info.value.code == 2


def test_explain_a_slice_names_its_files(capsys, tmp_path, head_volume, tiny_model_path):
    out_dir = tmp_path / "out"
    code, out, _ = _run(capsys, ["explain", head_volume, "--slice", "1", "--out-dir", str(out_dir),
                                 "--method", "gradcam", "--model", tiny_model_path])
    record = json.loads(out)
    assert code == 0 and record["slice"] == 1
    heat = np.load(out_dir / "head.slice001.gradcam.npy")
    assert heat.shape == (180, 240)  # rows = y (180), columns = x (240)


def test_matches_nibabel_closest_canonical_on_an_oblique_volume(tmp_path):
    import nibabel as nib

    rotation = np.array([[0, 0.95, 0.3, 0], [-0.3, 0, 0.95, 0], [0.95, 0.3, 0, 0], [0, 0, 0, 1]])
    data = np.random.default_rng(3).integers(0, 100, (7, 8, 9)).astype(np.float32)
    path = make_nifti(tmp_path / "oblique.nii", data, rotation @ np.diag([1.0, 2.0, 1.5, 1.0]))
    canonical = np.asarray(nib.as_closest_canonical(nib.load(path)).dataobj, np.float32)
    expected = canonical[::-1, ::-1, :].transpose(2, 1, 0) * (255.0 / 100.0)
    volume = load_volume(path, window=(50.0, 100.0))
    np.testing.assert_allclose(volume.pixels, expected, atol=1e-3)
    assert count_slices(path) == canonical.shape[2]


def test_degenerate_affine_is_refused(tmp_path):
    raw = bytearray(open(make_nifti(tmp_path / "ok.nii", np.ones((4, 5, 6), np.float32)), "rb").read())
    raw[252:256] = (0).to_bytes(2, "little") + (1).to_bytes(2, "little")  # qform_code 0, sform_code 1
    raw[280:328] = bytes(48)  # srow_x, srow_y, srow_z all zero
    (tmp_path / "flat.nii").write_bytes(bytes(raw))
    with pytest.raises(CorruptHeaderError, match="orientation"):
        load_scan(tmp_path / "flat.nii")
