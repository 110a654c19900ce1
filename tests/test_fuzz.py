"""Fuzzing ``core.io.load_scan`` (issue 8): real PNG/JPEG/TIFF/DICOM/NIfTI files, generated
here, with bytes flipped, overwritten, inserted, deleted or cut off by Hypothesis.

The only allowed outcomes: a ``Scan`` with finite, non-empty 2-D float32 pixels, or a
``ScanError`` with a one-line message. The CI budget is small (60 examples in all);
``scripts/fuzz_long.py`` runs the same property for thousands of cases.
"""

from __future__ import annotations

import io
import os
import tempfile
from functools import lru_cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import ScanError
from core.io import Scan, load_scan
from tests.hostile import time_limit

CASE_SECONDS = 30  # a generous guard per case: a hang is a failure, not a slow test


@lru_cache(maxsize=1)
def seeds() -> dict[str, bytes]:
    """Small valid files of every kind ``load_scan`` reads, as bytes."""
    from PIL import Image

    from tests.hostile import head_pixels
    from tests.volumes import make_dicom, make_nifti

    grey = head_pixels(48, 40)
    images = {
        "png_grey": (Image.fromarray(grey), "PNG", {}),
        "png_rgb_palette": (Image.fromarray(grey).convert("P"), "PNG", {"transparency": 0}),
        "jpeg_rgb": (Image.fromarray(grey).convert("RGB"), "JPEG", {"quality": 90}),
        "jpeg_progressive": (Image.fromarray(grey), "JPEG", {"progressive": True}),
        "tiff_16bit": (Image.fromarray(grey.astype(np.uint16) * 257), "TIFF", {}),
        "tiff_float": (Image.fromarray(grey.astype(np.float32) / 3.0, "F"), "TIFF", {}),
        "gif": (Image.fromarray(grey).convert("P"), "GIF", {}),
        "bmp": (Image.fromarray(grey), "BMP", {}),
    }
    out = {}
    for name, (image, fmt, options) in images.items():
        buffer = io.BytesIO()
        image.save(buffer, fmt, **options)
        out[name] = buffer.getvalue()
    with tempfile.TemporaryDirectory() as folder:
        stored = grey.astype(np.uint16) * 16
        out["dicom"] = _read(make_dicom(os.path.join(folder, "a.dcm"), stored, bits_stored=12,
                                        WindowCenter=800, WindowWidth=1200, RescaleSlope=1.5, RescaleIntercept=-20))
        out["dicom_multiframe"] = _read(make_dicom(os.path.join(folder, "m.dcm"), np.stack([stored, stored[::-1]])))
        out["dicom_monochrome1_signed"] = _read(make_dicom(os.path.join(folder, "s.dcm"), stored.astype(np.int16) - 300,
                                                           "MONOCHROME1"))
        out["nifti"] = _read(make_nifti(os.path.join(folder, "v.nii"), np.stack([grey] * 3, axis=2).astype(np.int16)))
    return out


def _read(path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


IMAGE_SEEDS = ("png_grey", "png_rgb_palette", "jpeg_rgb", "jpeg_progressive", "tiff_16bit", "tiff_float", "gif", "bmp")
VOLUME_SEEDS = ("dicom", "dicom_multiframe", "dicom_monochrome1_signed", "nifti")

# One edit: (kind, position as a fraction of the length, payload)
_edit = st.one_of(
    st.tuples(st.just("flip"), st.floats(0, 1), st.integers(1, 255)),
    st.tuples(st.just("set"), st.floats(0, 1), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("delete"), st.floats(0, 1), st.integers(1, 64)),
    st.tuples(st.just("truncate"), st.floats(0, 1), st.none()),
    # extreme values where headers keep sizes and counts: 0, -1, 0x7fff..., 0xffff...
    st.tuples(st.just("set"), st.floats(0, 1), st.sampled_from(
        [b"\x00\x00", b"\xff\xff", b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x00", b"\xff\x7f"])),
)


def mutate(data: bytes, edits) -> bytes:
    out = bytearray(data)
    for kind, where, payload in edits:
        at = min(int(where * len(out)), max(len(out) - 1, 0))
        if kind == "flip" and out:
            out[at] ^= payload
        elif kind == "set":
            out[at : at + len(payload)] = payload
        elif kind == "insert":
            out[at:at] = payload
        elif kind == "delete":
            del out[at : at + payload]
        elif kind == "truncate":
            del out[at:]
    return bytes(out)


def cases(names):
    """(seed name, mutated bytes): the edits are drawn, then applied to the seed."""
    return st.tuples(st.sampled_from(names), st.lists(_edit, min_size=1, max_size=4)).map(
        lambda pair: (pair[0], mutate(seeds()[pair[0]], pair[1]))
    )


def outcome_of(path: str) -> str:
    """"scan" or "error" for an allowed outcome; raises AssertionError (or the unexpected
    exception itself) for anything else."""
    try:
        with time_limit(CASE_SECONDS, "load_scan"):
            scan = load_scan(path)
    except ScanError as err:
        text = str(err)
        assert "\n" not in text and err.problem.strip(), f"not a one-line message: {text!r}"
        return "error"
    assert isinstance(scan, Scan)
    pixels = scan.pixels
    assert isinstance(pixels, np.ndarray) and pixels.ndim == 2, f"pixels {type(pixels)} {np.shape(pixels)}"
    assert pixels.dtype == np.float32, pixels.dtype
    assert min(pixels.shape) >= 1, pixels.shape
    assert np.isfinite(pixels).all(), "pixels are not all finite"
    return "scan"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return str(tmp_path_factory.mktemp("fuzz") / "case.bin")


FUZZ_SETTINGS = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                           HealthCheck.too_slow])


@settings(max_examples=40, **FUZZ_SETTINGS)
@given(case=cases(IMAGE_SEEDS))
def test_mutated_images_load_or_fail_cleanly(scratch, case):
    _outcome_of_bytes(scratch, case[1])


@settings(max_examples=20, **FUZZ_SETTINGS)
@given(case=cases(VOLUME_SEEDS))
def test_mutated_dicom_and_nifti_load_or_fail_cleanly(scratch, case):
    _outcome_of_bytes(scratch, case[1])


def _outcome_of_bytes(scratch, data: bytes):
    """Write one mutated file over the scratch path and load it (outcome_of asserts how it ends)."""
    with open(scratch, "wb") as handle:
        handle.write(data)
    outcome_of(scratch)


def test_every_seed_loads_unmutated(tmp_path):
    for name, data in seeds().items():
        path = tmp_path / f"{name}.bin"
        path.write_bytes(data)
        assert outcome_of(str(path)) == "scan", name
