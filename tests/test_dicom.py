"""DICOM: modality LUT -> window (file, VOI LUT, percentile, caller's) -> MONOCHROME1 inversion,
checked against values worked out by hand; multi-frame; bad files; patient data never leaks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import (
    CorruptHeaderError,
    ImageTooLargeError,
    IndexOutOfRangeError,
    NoPixelDataError,
    ScanError,
    TruncatedImageError,
    UnsupportedCompressionError,
)
from core.io import load_scan
from core.volume import count_slices, load_volume
from tests.volumes import PATIENT, make_dicom, rename

RAMP = np.arange(100 * 100, dtype=np.uint16).reshape(100, 100)  # 0 .. 9999


def linear(x, center, width):
    """DICOM PS3.3 C.11.2.1.2.1 'LINEAR' window onto 0..255, written out by hand."""
    c, w = center - 0.5, width - 1.0
    x = np.asarray(x, np.float64)
    out = ((x - c) / w + 0.5) * 255.0
    out[x <= c - w / 2] = 0.0
    out[x > c + w / 2] = 255.0
    return out


def test_unsigned_12_bit_with_rescale_and_file_window(tmp_path):
    stored = np.array([[0, 250, 500], [550, 700, 2047]], np.uint16)
    path = make_dicom(tmp_path / "a.dcm", stored, bits_stored=12, RescaleSlope=2, RescaleIntercept=-100,
                      WindowCenter=900, WindowWidth=1000)
    scan = load_scan(path)
    modality = stored * 2.0 - 100  # -100, 400, 900, 1000, 1300, 3994
    expected = linear(modality, 900, 1000)
    np.testing.assert_allclose(expected, [[0, 0, 127.6276], [153.1532, 229.7297, 255]], atol=1e-3)
    np.testing.assert_allclose(scan.pixels, expected, atol=1e-3)
    assert scan.pixels.dtype == np.float32
    assert scan.format == "DICOM" and scan.mode == "MONOCHROME2" and scan.original_size == (3, 2)
    assert scan.info["window"] == {"center": 900.0, "width": 1000.0, "source": "file"}
    assert scan.info["frames"] == 1 and scan.info["frame"] == 0


def test_signed_16_bit_monochrome1_is_windowed_then_inverted(tmp_path):
    stored = np.array([[-1000, -200], [0, 600]], np.int16)
    path = make_dicom(tmp_path / "m1.dcm", stored, "MONOCHROME1", RescaleSlope=0.5, RescaleIntercept=10,
                      WindowCenter=0, WindowWidth=800)
    scan = load_scan(path)
    modality = stored * 0.5 + 10  # -490, -90, 10, 310
    np.testing.assert_allclose(scan.pixels, 255.0 - linear(modality, 0, 800), atol=1e-3)
    assert scan.pixels[0, 0] == 255  # below the window: black before inversion, white after


def test_no_window_in_file_uses_the_percentile_window(tmp_path):
    scan = load_scan(make_dicom(tmp_path / "p.dcm", RAMP))
    # Percentile p of 0..N-1 (linear interpolation) is p/100 * (N-1).
    low, high = 0.005 * 9999, 0.995 * 9999
    expected = np.clip((RAMP - low) / (high - low) * 255.0, 0, 255)
    np.testing.assert_allclose(scan.pixels, expected, atol=1e-2)
    window = scan.info["window"]
    assert window["source"] == "percentile"
    assert window["center"] == pytest.approx((low + high) / 2) and window["width"] == pytest.approx(high - low)


def test_signed_without_window_monochrome1(tmp_path):
    stored = (RAMP.astype(np.int32) - 5000).astype(np.int16)
    scan = load_scan(make_dicom(tmp_path / "s.dcm", stored, "MONOCHROME1"))
    low, high = 0.005 * 9999 - 5000, 0.995 * 9999 - 5000
    expected = 255.0 - np.clip((stored - low) / (high - low) * 255.0, 0, 255)
    np.testing.assert_allclose(scan.pixels, expected, atol=1e-2)


def test_voi_lut_sequence_is_preferred(tmp_path):
    from pydicom.dataset import Dataset

    lut = Dataset()
    lut.LUTDescriptor = [4, 0, 16]
    lut.add_new("LUTData", "US", [0, 1000, 30000, 65535])  # its VR is ambiguous (US or OW)
    stored = np.array([[0, 1], [2, 3]], np.uint16)
    path = make_dicom(tmp_path / "lut.dcm", stored, VOILUTSequence=[lut], WindowCenter=1, WindowWidth=2)
    scan = load_scan(path)
    np.testing.assert_allclose(scan.pixels, np.array([[0, 1000], [30000, 65535]]) / 65535 * 255, atol=1e-3)
    assert scan.info["window"]["source"] == "voi_lut"


def test_callers_window_overrides_the_file(tmp_path):
    path = make_dicom(tmp_path / "w.dcm", RAMP, WindowCenter=100, WindowWidth=50)
    scan = load_scan(path, window=(1000, 2000))
    np.testing.assert_allclose(scan.pixels, np.clip(RAMP / 2000 * 255, 0, 255), atol=1e-3)
    assert scan.info["window"] == {"center": 1000.0, "width": 2000.0, "source": "user"}
    with pytest.raises(ValueError):
        load_scan(path, window=(1000, 0))


def test_display_is_the_windowed_image_the_classifier_gets(tmp_path):
    scan = load_scan(make_dicom(tmp_path / "d.dcm", RAMP, WindowCenter=5000, WindowWidth=4000))
    np.testing.assert_array_equal(scan.display_uint8(), np.rint(scan.pixels).astype(np.uint8))


def test_multi_frame_middle_frame_by_default_and_any_frame_on_request(tmp_path):
    frames = np.stack([RAMP // 10 + 1000 * k for k in range(3)]).astype(np.uint16)
    path = make_dicom(tmp_path / "mf.dcm", frames, WindowCenter=2000, WindowWidth=1000)
    assert count_slices(path) == 3
    scan = load_scan(path)
    assert scan.info["frames"] == 3 and scan.info["frame"] == 1 and scan.info["slice"] == 1
    np.testing.assert_allclose(scan.pixels, linear(frames[1], 2000, 1000), atol=1e-3)
    np.testing.assert_allclose(load_scan(path, index=2).pixels, linear(frames[2], 2000, 1000), atol=1e-3)
    with pytest.raises(IndexOutOfRangeError) as err:
        load_scan(path, index=3)
    assert "out of range" in str(err.value) and "\n" not in str(err.value)
    volume = load_volume(path)
    assert volume.pixels.shape == (3, 100, 100)
    for i in range(3):
        np.testing.assert_array_equal(volume.pixels[i], load_scan(path, index=i).pixels)


def test_multi_frame_percentile_window_spans_all_frames(tmp_path):
    frames = np.stack([np.full((10, 10), 100 * k, np.uint16) for k in range(5)])  # 0, 100, ..., 400
    path = make_dicom(tmp_path / "pf.dcm", frames)
    first, last = load_scan(path, index=0), load_scan(path, index=4)
    assert first.info["window"] == last.info["window"]  # one window for the whole file
    assert first.pixels.max() == 0 and last.pixels.min() == 255


def test_enhanced_per_frame_rescale_and_window(tmp_path):
    from pydicom.dataset import Dataset

    groups = []
    for slope, center in ((1.0, 50.0), (2.0, 100.0)):
        transform, voi, item = Dataset(), Dataset(), Dataset()
        transform.RescaleSlope, transform.RescaleIntercept, transform.RescaleType = slope, 0, "US"
        voi.WindowCenter, voi.WindowWidth = center, 101
        item.PixelValueTransformationSequence = [transform]
        item.FrameVOILUTSequence = [voi]
        groups.append(item)
    stored = np.stack([np.arange(100, dtype=np.uint16).reshape(10, 10)] * 2)
    path = make_dicom(tmp_path / "enh.dcm", stored, PerFrameFunctionalGroupsSequence=groups)
    np.testing.assert_allclose(load_scan(path, index=0).pixels, linear(stored[0], 50, 101), atol=1e-3)
    second = load_scan(path, index=1)
    np.testing.assert_allclose(second.pixels, linear(stored[1] * 2.0, 100, 101), atol=1e-3)
    assert second.info["window"]["center"] == 100.0


def test_rgb_secondary_capture_becomes_luma(tmp_path):
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[:, 4:] = (100, 50, 200)
    scan = load_scan(make_dicom(tmp_path / "rgb.dcm", rgb, "RGB"))
    assert scan.pixels.shape == (8, 8) and scan.pixels[0, 0] == 0 and scan.pixels[0, 7] == 255


def test_extension_less_and_misnamed_files_are_read_by_content(tmp_path):
    path = rename(make_dicom(tmp_path / "x.dcm", RAMP), "IM000001")
    assert load_scan(path).format == "DICOM"
    path = rename(make_dicom(tmp_path / "y.dcm", RAMP), "looks_like.png")
    assert load_scan(path).format == "DICOM"


def test_missing_pixel_data(tmp_path):
    from pydicom.uid import BasicTextSRStorage

    path = make_dicom(tmp_path / "sr.dcm", None, sop_class=BasicTextSRStorage)
    with pytest.raises(NoPixelDataError) as err:
        load_scan(path)
    assert "no pixel data" in str(err.value) and "sr.dcm" in str(err.value) and "Basic Text SR" in str(err.value)
    # An MR image object cut off before its pixel data says so.
    raw = open(make_dicom(tmp_path / "mr.dcm", RAMP), "rb").read()
    (tmp_path / "cut.dcm").write_bytes(raw[:400])
    with pytest.raises(NoPixelDataError) as err:
        load_scan(tmp_path / "cut.dcm")
    assert "cut short" in str(err.value)


@pytest.mark.parametrize("name", ["JPEGLosslessSV1", "JPEGLossless", "JPEGLSLossless"])
def test_compressed_syntax_without_decoder_names_the_syntax(tmp_path, monkeypatch, name):
    import pydicom
    import pydicom.uid
    from pydicom.encaps import encapsulate
    from pydicom.pixels import get_decoder

    uid = getattr(pydicom.uid, name)
    monkeypatch.setattr(get_decoder(uid), "_available", {})  # as if no decoder plugin were installed
    path = make_dicom(tmp_path / "jpeg.dcm", RAMP)
    ds = pydicom.dcmread(path)
    ds.PixelData = encapsulate([b"\xff\xd8 compressed bytes \xff\xd9"])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.file_meta.TransferSyntaxUID = uid
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises(UnsupportedCompressionError) as err:
        load_scan(path)
    message = str(err.value)
    assert "\n" not in message and "jpeg.dcm" in message
    assert str(uid) in message and uid.name in message and "no decoder installed" in message
    assert "install the Python packages pylibjpeg and pylibjpeg-libjpeg" in message


@pytest.mark.parametrize("damage", ["garbage_after_magic", "overwritten_header", "cut_in_file_meta"])
def test_corrupted_header(tmp_path, damage):
    path = make_dicom(tmp_path / "ok.dcm", RAMP)
    raw = open(path, "rb").read()
    broken = {
        "garbage_after_magic": raw[:132] + bytes(np.random.default_rng(0).integers(0, 256, 400, dtype=np.uint8)),
        "overwritten_header": raw[:140] + b"\xff" * 160 + raw[300:],
        "cut_in_file_meta": raw[:150],
    }[damage]
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(broken)
    with pytest.raises(CorruptHeaderError) as err:
        load_scan(bad)
    assert "\n" not in str(err.value) and "bad.dcm" in str(err.value)


def test_truncated_pixel_data(tmp_path):
    raw = open(make_dicom(tmp_path / "ok.dcm", RAMP), "rb").read()
    bad = tmp_path / "cut.dcm"
    bad.write_bytes(raw[: len(raw) - 3000])
    with pytest.raises(TruncatedImageError):
        load_scan(bad)


def test_every_error_is_a_scan_error():
    for kind in (CorruptHeaderError, NoPixelDataError, UnsupportedCompressionError, IndexOutOfRangeError):
        assert issubclass(kind, ScanError)


# --- privacy: patient attributes never reach Scan.info or the command line's output ---------


def _assert_no_patient_data(text):
    for value in PATIENT.values():
        assert value not in text
        assert value.split("^")[0] not in text


def test_patient_data_is_not_in_scan_info(tmp_path):
    frames = np.stack([RAMP, RAMP]).astype(np.uint16)
    scan = load_scan(make_dicom(tmp_path / "p.dcm", frames, WindowCenter=100, WindowWidth=50))
    _assert_no_patient_data(json.dumps(scan.info) + repr(scan.info) + repr(load_volume(scan.path).info))


def test_cli_json_has_window_and_no_patient_data(capsys, tmp_path, tiny_model_path):
    from cli import run_cli

    path = make_dicom(tmp_path / "cli.dcm", RAMP, WindowCenter=5000, WindowWidth=4000)
    plain = make_dicom(tmp_path / "plain.dcm", RAMP)
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(open(path, "rb").read()[:400])
    code = run_cli(["predict", path, plain, str(broken), "--model", tiny_model_path])
    out = capsys.readouterr()
    assert code == 1
    records = [json.loads(line) for line in out.out.splitlines()]
    assert records[0]["window"] == {"center": 5000.0, "width": 4000.0, "source": "file"}
    assert records[1]["window"]["source"] == "percentile"
    assert records[0]["slice"] == 0 and records[0]["slices"] == 1
    assert "damaged" in records[2]["error"]
    code = run_cli(["explain", path, "--out-dir", str(tmp_path / "out"), "--model", tiny_model_path, "--report"])
    explained = capsys.readouterr()
    assert code == 0 and json.loads(explained.out)["window"]["source"] == "file"
    _assert_no_patient_data(out.out + out.err + explained.out + explained.err)


@pytest.mark.parametrize("claimed", [2, 5])
def test_number_of_frames_not_matching_the_data(tmp_path, claimed):
    import pydicom

    path = make_dicom(tmp_path / "mf.dcm", np.zeros((3, 10, 10), np.uint16))
    ds = pydicom.dcmread(path)
    ds.NumberOfFrames = claimed
    ds.save_as(path)
    with pytest.raises((CorruptHeaderError, TruncatedImageError)) as err:
        load_scan(path)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("uid, error", [(b"1.2.840.10008.1.2.1\x83", CorruptHeaderError),
                                        (b"1.2.840.10008.1.2.9\x00", UnsupportedCompressionError)])
def test_transfer_syntax_uid_that_is_not_a_transfer_syntax(tmp_path, uid, error):
    """Regression (found by scripts/fuzz_long.py): pydicom's ``is_compressed`` raised
    ValueError("UID is not a transfer syntax.") out of load_scan for a damaged UID."""
    raw = open(make_dicom(tmp_path / "ok.dcm", RAMP), "rb").read()
    # Explicit VR Little Endian, padded to 20 bytes
    _assert_refused_with_bytes_replaced(tmp_path / "bad_syntax.dcm", raw, b"1.2.840.10008.1.2.1\x00", uid, error)


def _assert_refused_with_bytes_replaced(bad, raw, old, new, error):
    """``raw`` with its one ``old`` replaced by ``new``, saved as ``bad``: refused with ``error``
    in one line that names the file."""
    assert raw.count(old) == 1
    bad.write_bytes(raw.replace(old, new))
    with pytest.raises(error) as err:
        load_scan(bad)
    assert "\n" not in str(err.value) and bad.name in str(err.value)


def test_nan_rescale_gives_finite_pixels(tmp_path):
    """Regression: a NaN Rescale Slope made every pixel NaN (and the CLI print NaN probabilities)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns that 'NaN' is not a valid DS value
        path = make_dicom(tmp_path / "nan.dcm", RAMP, RescaleSlope="NaN", RescaleIntercept="0")
    scan = load_scan(path)
    assert np.isfinite(scan.pixels).all() and not scan.pixels.any()


@pytest.mark.parametrize("value", [b"abcd", b"\xff\xff\xff\xff"])
def test_rescale_slope_that_is_not_a_number(tmp_path, value):
    """Regression (found by scripts/fuzz_long.py): pydicom keeps an unparsable DS as text and
    apply_modality_lut then raised numpy's UFuncTypeError out of load_scan."""
    raw = open(make_dicom(tmp_path / "ok.dcm", RAMP, RescaleSlope="1.5", RescaleIntercept="-20"), "rb").read()
    _assert_refused_with_bytes_replaced(tmp_path / "bad_slope.dcm", raw, b"1.5 ", value, CorruptHeaderError)


def test_modality_values_are_the_rescaled_frames_before_any_window(tmp_path):
    """What the GUI's "Auto (percentile)" window is computed on, even when the file has its own window."""
    from core.dicom import modality_values
    from core.window import percentile_window

    stored = np.arange(2 * 4 * 5, dtype=np.uint16).reshape(2, 4, 5) * 50
    path = make_dicom(tmp_path / "mf.dcm", stored, RescaleSlope=2, RescaleIntercept=-100, NumberOfFrames=2,
                      WindowCenter=300, WindowWidth=200)
    values = modality_values(path)
    np.testing.assert_allclose(values, stored * 2.0 - 100)
    from core.window import apply_window

    center, width = percentile_window(values)
    np.testing.assert_allclose(load_scan(path, index=1, window=(center, width)).pixels,
                               apply_window(values[1], center, width), atol=1e-4)
    assert load_scan(path, index=1).info["window"]["source"] == "file"


def test_modality_values_checks_the_header_as_loading_does(tmp_path, monkeypatch):
    """The GUI's auto window reads the file again: the same limits and refusals apply."""
    import core.dicom as dicom

    path = make_dicom(tmp_path / "mf.dcm", np.zeros((2, 4, 5), np.uint16), NumberOfFrames=2)
    monkeypatch.setattr(dicom, "MAX_VOXELS", 39)  # 2 x 4 x 5 = 40 voxels
    for read in (lambda: dicom.read_dicom(path), lambda: dicom.modality_values(path)):
        with pytest.raises(ImageTooLargeError, match="above the 39-pixel limit"):
            read()
