"""Compressed DICOM (issue 18, item 1): real files from pydicom's test data and the
``pydicom-data`` package, nobody here wrote them, decoded through the app's own loader
(``core.io.load_scan`` / ``core.volume``): JPEG Lossless, JPEG-LS (lossless and
near-lossless), JPEG Extended 12-bit, JPEG 2000, RLE. A file that is absent here is
skipped, never downloaded. A syntax that cannot be decoded says which, and what to install."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import ScanError, TruncatedImageError, UnsupportedCompressionError
from core.io import load_scan
from core.volume import count_slices, load_volume


def real_file(name: str) -> str:
    """A pydicom test file by name (pydicom's own or pydicom-data's), or skip; no download."""
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"pydicom test file {name} is not installed (pip install pydicom-data)")
    return path


# (file, transfer syntax keyword in pydicom.uid, rows, columns, frames, photometric)
REAL_FILES = [
    ("JPEG-LL.dcm", "JPEGLosslessSV1", 1024, 256, 1, "MONOCHROME2"),
    ("JPGLosslessP14SV1_1s_1f_8b.dcm", "JPEGLosslessSV1", 768, 1024, 1, "MONOCHROME2"),
    ("SC_rgb_jpeg_gdcm.dcm", "JPEGLosslessSV1", 100, 100, 1, "RGB"),
    ("MR_small_jpeg_ls_lossless.dcm", "JPEGLSLossless", 64, 64, 1, "MONOCHROME2"),
    ("emri_small_jpeg_ls_lossless.dcm", "JPEGLSLossless", 64, 64, 10, "MONOCHROME2"),
    ("JPEGLSNearLossless_08.dcm", "JPEGLSNearLossless", 45, 10, 1, "MONOCHROME2"),
    ("JPEGLSNearLossless_16.dcm", "JPEGLSNearLossless", 50, 10, 1, "MONOCHROME2"),
    ("JPGExtended.dcm", "JPEGExtended12Bit", 1024, 256, 1, "MONOCHROME2"),
    ("SC_rgb_jpeg_dcmtk.dcm", "JPEGBaseline8Bit", 100, 100, 1, None),
    ("MR_small_jp2klossless.dcm", "JPEG2000Lossless", 64, 64, 1, "MONOCHROME2"),
    ("emri_small_jpeg_2k_lossless.dcm", "JPEG2000Lossless", 64, 64, 10, "MONOCHROME2"),
    ("MR2_J2KR.dcm", "JPEG2000Lossless", 1024, 1024, 1, "MONOCHROME2"),
    ("MR2_J2KI.dcm", "JPEG2000", 1024, 1024, 1, "MONOCHROME2"),
    ("JPEG2000.dcm", "JPEG2000", 1024, 256, 1, "MONOCHROME2"),
    ("US1_J2KR.dcm", "JPEG2000Lossless", 480, 640, 1, "YBR_RCT"),
    ("US1_J2KI.dcm", "JPEG2000", 480, 640, 1, "YBR_ICT"),
    ("MR_small_RLE.dcm", "RLELossless", 64, 64, 1, "MONOCHROME2"),
    ("emri_small_RLE.dcm", "RLELossless", 64, 64, 10, "MONOCHROME2"),
]


@pytest.mark.parametrize("name, syntax, rows, cols, frames, photometric", REAL_FILES, ids=[f[0] for f in REAL_FILES])
def test_real_compressed_file_decodes_through_load_scan(name, syntax, rows, cols, frames, photometric):
    import pydicom.uid

    path = real_file(name)
    scan = load_scan(path)
    assert scan.format == "DICOM"
    assert scan.pixels.shape == (rows, cols) and scan.original_size == (cols, rows)
    assert scan.pixels.dtype == np.float32 and np.isfinite(scan.pixels).all()
    assert scan.pixels.min() >= 0 and scan.pixels.max() <= 255 and scan.pixels.std() > 1  # an image, not a blank
    assert scan.info["transfer_syntax"] == getattr(pydicom.uid, syntax).name
    assert scan.info["frames"] == frames and count_slices(path) == frames
    if photometric:
        assert scan.mode == photometric
    if frames > 1:
        volume = load_volume(path)
        assert volume.pixels.shape == (frames, rows, cols)


# Lossless compression (or a lossy file and its decoded, uncompressed copy): the same pixels.
SAME_PIXELS = [
    ("MR_small_jpeg_ls_lossless.dcm", "MR_small.dcm"),
    ("MR_small_jp2klossless.dcm", "MR_small.dcm"),
    ("MR_small_RLE.dcm", "MR_small.dcm"),
    ("emri_small_jpeg_ls_lossless.dcm", "emri_small.dcm"),
    ("emri_small_jpeg_2k_lossless.dcm", "emri_small.dcm"),
    ("emri_small_RLE.dcm", "emri_small.dcm"),
    ("MR2_J2KR.dcm", "MR2_UNCR.dcm"),
    ("MR2_J2KI.dcm", "MR2_UNCI.dcm"),
    ("JPEG2000.dcm", "JPEG2000_UNC.dcm"),
    ("US1_J2KR.dcm", "US1_UNCR.dcm"),
    ("US1_J2KI.dcm", "US1_UNCI.dcm"),
]


@pytest.mark.parametrize("compressed, uncompressed", SAME_PIXELS, ids=[p[0] for p in SAME_PIXELS])
def test_decoded_pixels_equal_the_uncompressed_file(compressed, uncompressed):
    a, b = load_volume(real_file(compressed)), load_volume(real_file(uncompressed))
    assert a.pixels.shape == b.pixels.shape
    np.testing.assert_array_equal(a.pixels, b.pixels)
    assert a.windows == b.windows


def test_12_bit_jpeg_extended_is_the_lossless_image_within_jpeg_error():
    """JPGExtended.dcm is a lossy 12-bit JPEG of the image JPEG-LL.dcm holds losslessly: the
    decoded values must agree up to JPEG's error (a wrong bit depth or shift would not)."""
    from core.dicom import modality_values

    lossy = modality_values(real_file("JPGExtended.dcm"))[0]
    lossless = modality_values(real_file("JPEG-LL.dcm"))[0]
    assert lossy.shape == lossless.shape == (1024, 256)
    assert lossless.max() > 200  # the image spans a 12-bit-ish range, not 8-bit values
    assert np.abs(lossy - lossless).mean() < 3.0
    assert np.corrcoef(lossy.ravel(), lossless.ravel())[0, 1] > 0.98  # measured 0.987


def test_shipped_decoders_are_installed():
    """requirements.txt's decoders are present, so the tests above decode rather than skip."""
    from pydicom.pixels import get_decoder
    from pydicom.uid import UID

    from core.dicom import _SHIPPED_DECODERS

    for uid, (plugins, _packages) in _SHIPPED_DECODERS.items():
        available = get_decoder(UID(uid)).available_plugins
        assert set(plugins) <= set(available), f"{UID(uid).name}: {plugins} not all in {available}"


# --- what a file that cannot be decoded says ---------------------------------------------


def _only_plugins(monkeypatch, uid, keep):
    from pydicom.pixels import get_decoder

    decoder = get_decoder(uid)
    monkeypatch.setattr(decoder, "_available", {k: v for k, v in decoder._available.items() if k in keep})


def test_12_bit_jpeg_extended_with_only_pillow_says_what_to_install(monkeypatch):
    """Regression: JPGExtended.dcm was reported as "truncated or damaged" when only Pillow
    (8-bit JPEG only) was there; it is intact and needs pylibjpeg-libjpeg."""
    from pydicom.uid import JPEGExtended12Bit

    path = real_file("JPGExtended.dcm")
    _only_plugins(monkeypatch, JPEGExtended12Bit, {"pillow"})
    with pytest.raises(UnsupportedCompressionError) as err:
        load_scan(path)
    message = str(err.value)
    assert "\n" not in message and "JPGExtended.dcm" in message and "damaged" not in message
    assert JPEGExtended12Bit.name in message and str(JPEGExtended12Bit) in message
    assert "pillow" in message and "pylibjpeg-libjpeg" in message


@pytest.mark.parametrize("name, syntax, package", [
    ("JPEG-LL.dcm", "JPEGLosslessSV1", "pylibjpeg-libjpeg"),
    ("MR_small_jpeg_ls_lossless.dcm", "JPEGLSLossless", "pyjpegls"),
    ("MR_small_jp2klossless.dcm", "JPEG2000Lossless", "pylibjpeg-openjpeg"),
])
def test_real_file_without_any_decoder_names_syntax_and_package(monkeypatch, name, syntax, package):
    import pydicom.uid

    path, uid = real_file(name), getattr(pydicom.uid, syntax)
    _only_plugins(monkeypatch, uid, set())
    with pytest.raises(UnsupportedCompressionError) as err:
        load_scan(path)
    message = str(err.value)
    assert "\n" not in message and name in message
    assert uid.name in message and str(uid) in message and "no decoder installed" in message
    assert package in message and "install the Python packages" in message
    monkeypatch.setattr("sys.frozen", True, raising=False)  # the standalone app cannot pip install
    with pytest.raises(UnsupportedCompressionError) as err:
        load_scan(path)
    assert "this build of the app lacks" in str(err.value) and package in str(err.value)


def test_syntax_pydicom_cannot_decode_says_convert(tmp_path):
    """JPEG 2000 Part 2 (multi-component): no pydicom plugin exists, so nothing to install."""
    import pydicom
    from pydicom.uid import JPEG2000MCLossless

    ds = pydicom.dcmread(real_file("MR_small_jp2klossless.dcm"))
    ds.file_meta.TransferSyntaxUID = JPEG2000MCLossless
    path = tmp_path / "part2.dcm"
    ds.save_as(path)
    with pytest.raises(UnsupportedCompressionError) as err:
        load_scan(path)
    message = str(err.value)
    assert JPEG2000MCLossless.name in message and str(JPEG2000MCLossless) in message
    assert "pydicom has no decoder" in message and "uncompressed" in message


def test_real_file_no_decoder_can_read_is_damaged_and_names_the_syntax():
    """pydicom's JPEG-lossy.dcm has a misplaced marker segment: libjpeg refuses it and Pillow
    does not read 12-bit JPEG; with every shipped decoder present that is damage."""
    from pydicom.uid import JPEGExtended12Bit

    with pytest.raises(TruncatedImageError) as err:
        load_scan(real_file("JPEG-lossy.dcm"))
    message = str(err.value)
    assert "\n" not in message and "damaged" in message
    assert JPEGExtended12Bit.name in message and str(JPEGExtended12Bit) in message and "pylibjpeg" in message


def _rewrite_frame(tmp_path, name, change):
    """``name`` with its single compressed frame replaced by ``change(frame)``, saved in tmp_path."""
    import pydicom
    from pydicom.encaps import encapsulate, generate_frames

    ds = pydicom.dcmread(real_file(name))
    frame = bytearray(next(generate_frames(ds.PixelData, number_of_frames=1)))
    ds.PixelData = encapsulate([bytes(change(frame))])
    path = tmp_path / name
    ds.save_as(path)
    return path


def _jpeg_sof_height(frame, height):
    at = 2
    while frame[at + 1] not in (0xC0, 0xC1, 0xC3, 0xF7):
        at += 2 + int.from_bytes(frame[at + 2 : at + 4], "big")
    frame[at + 5 : at + 7] = height.to_bytes(2, "big")
    return frame


def _j2k_siz_height(frame, height):
    at = frame.find(b"\xff\x4f\xff\x51")
    frame[at + 12 : at + 16] = height.to_bytes(4, "big")  # Ysiz (offset YOsiz is 0 here)
    return frame


@pytest.mark.parametrize("name, change", [
    ("JPEG-LL.dcm", lambda f: _jpeg_sof_height(f, 4096)),
    ("MR_small_jpeg_ls_lossless.dcm", lambda f: _jpeg_sof_height(f, 4096)),
    ("MR_small_jp2klossless.dcm", lambda f: _j2k_siz_height(f, 4096)),
])
def test_codestream_claiming_a_larger_image_is_refused_before_decoding(tmp_path, name, change):
    """Found by fuzzing: a flipped byte in a JPEG 2000 size field made openjpeg allocate 22 GB
    (and libjpeg 8 GB for a JPEG one). The frame's own size is checked against the header first."""
    path = _rewrite_frame(tmp_path, name, change)
    with pytest.raises(TruncatedImageError) as err:
        load_scan(path)
    assert "claims" in str(err.value) and "the header" in str(err.value) and "\n" not in str(err.value)


DAMAGEABLE = ["JPEG-LL.dcm", "JPGExtended.dcm", "MR_small_jpeg_ls_lossless.dcm", "JPEGLSNearLossless_16.dcm",
              "MR_small_jp2klossless.dcm", "JPEG2000.dcm", "MR_small_RLE.dcm"]


@pytest.mark.parametrize("name", DAMAGEABLE)
def test_damaged_compressed_frames_decode_or_fail_with_a_scan_error(tmp_path, name):
    """Cut short, bytes flipped, a run overwritten: never an exception other than ScanError
    (the Rust RLE decoder of pylibjpeg-rle panicked on such data; it is not shipped)."""
    rng = np.random.default_rng(18)

    def cut(f):
        return f[: len(f) // 2]

    def flip(f):
        for at in rng.integers(0, len(f), 12):
            f[at] ^= 0x5A
        return f

    def overwrite(f):
        at = len(f) // 3
        f[at : at + 64] = bytes(rng.integers(0, 256, 64, dtype=np.uint8))
        return f

    for change in (cut, flip, overwrite):
        path = _rewrite_frame(tmp_path, name, change)
        try:
            scan = load_scan(path)
        except ScanError as err:
            assert "\n" not in str(err)
        else:
            assert np.isfinite(scan.pixels).all()
