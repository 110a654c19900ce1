"""A corpus of hostile and odd input files, generated on the fly (no committed binaries).

``build_corpus(folder)`` writes every case into ``folder`` and returns a list of
``Case``: where it is, whether it must fail (``"error"``), must load (``"ok"``)
or may do either (``"any"``), and whether a folder walk lists it (a directory
named ``scan.jpg`` or a symlinked folder is not a file to classify).
Shared by ``tests/test_hostile.py`` and the GUI hostile-file test.
"""

from __future__ import annotations

import gzip
import io
import os
import signal
import struct
import zlib
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from PIL import Image

from tests.volumes import make_dicom, make_nifti


@dataclass(frozen=True)
class Case:
    name: str  # a short label for messages and parametrisation
    path: str
    expect: str  # "error", "ok" or "any"
    listed: bool = True  # does find_scans() on the corpus folder yield this path?
    note: str = ""


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def crafted_png(width: int, height: int, bit_depth: int = 8, colour_type: int = 0, rows: int = 4) -> bytes:
    """A PNG whose IHDR claims ``width x height`` but whose IDAT holds only ``rows`` rows of zeros."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    row = b"\x00" + bytes(width * channels * bit_depth // 8) if rows else b""
    idat = zlib.compress(row * rows, 9)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def head_pixels(height: int = 96, width: int = 96, seed: int = 0) -> np.ndarray:
    """A small head-like greyscale picture (uint8)."""
    yy, xx = np.mgrid[:height, :width]
    img = ((((yy - height / 2) / (0.4 * height)) ** 2 + ((xx - width / 2) / (0.35 * width)) ** 2) < 1) * 110.0
    img += np.random.default_rng(seed).normal(0, 5, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _write(folder: str, name: str | bytes, data: bytes) -> str:
    if isinstance(name, bytes):
        path = os.path.join(os.fsencode(folder), name)
        with open(path, "wb") as handle:
            handle.write(data)
        return os.fsdecode(path)
    path = os.path.join(folder, name)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def build_corpus(folder) -> list[Case]:
    folder = str(folder)
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(1234)
    cases: list[Case] = []

    def add(name, file_name, data, expect, note=""):
        cases.append(Case(name, _write(folder, file_name, data), expect, note=note))

    grey = Image.fromarray(head_pixels())
    noisy = Image.fromarray(rng.integers(0, 256, (160, 160), dtype=np.uint8))
    jpeg, png = encoded(noisy, "JPEG"), encoded(noisy, "PNG")

    add("zero_byte", "empty.jpg", b"", "error")
    add("truncated_jpeg", "truncated.jpg", jpeg[: len(jpeg) // 2], "error")
    add("truncated_png", "truncated.png", png[: len(png) // 3], "error")
    add("jpeg_header_only", "header_only.jpg", jpeg[:200], "error")
    for ext in ("jpg", "png", "tif", "bmp", "gif", "dcm", "nii"):
        add(f"random_{ext}", f"random.{ext}", rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(), "error")
    add("text_as_png", "notes.png", b"Patient notes: nothing to see here.\n" * 20, "error")
    add("html_as_png", "page.png", b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>", "error")
    add("png_signature_only", "signature.png", b"\x89PNG\r\n\x1a\n", "error")
    # Decompression bombs: refused from the header, before any pixel is decoded.
    add("bomb_png_30000", "bomb_30000.png", crafted_png(30000, 30000), "error", "IHDR claims 900 MP")
    add("bomb_png_rgba_16bit", "bomb_rgba16.png", crafted_png(20000, 20000, 16, 6), "error", "400 MP, 16-bit RGBA")
    add("bomb_png_max_width", "bomb_wide.png", crafted_png(2**31 - 1, 1, rows=0), "error", "width 2^31-1")
    add("bomb_1bit_9000", "bomb_1bit.png", encoded(Image.new("1", (9000, 9000)), "PNG"), "error", "81 MP, a few KB")
    add("bomb_1bit_7000", "bomb_warn.png", encoded(Image.new("1", (7000, 7000)), "PNG"), "error",
        "49 MP: in Pillow's warning zone")
    add("bomb_gif", "bomb.gif", _gif_bomb(), "error", "GIF screen 65535x65535")
    # Odd but valid images.
    add("one_pixel", "one_pixel.png", encoded(Image.new("L", (1, 1), 200), "PNG"), "ok")
    add("strip_3x100000", "strip_tall.png", encoded(Image.new("L", (3, 100_000), 90), "PNG"), "ok")
    add("strip_100000x3", "strip_wide.png", encoded(Image.fromarray(
        rng.integers(0, 256, (3, 100_000), dtype=np.uint8)), "PNG"), "ok")
    add("strip_600x40000", "strip_long.png", encoded(Image.new("L", (600, 40_000), 0), "PNG"), "ok",
        "24 MP: padded to a square at full size this would need 6.4 GB")
    add("tiff_int32_extremes", "int32.tif", encoded(Image.fromarray(
        np.array([[-(2**31), 2**31 - 1], [0, 5]], np.int32).repeat(20, 0).repeat(20, 1), "I"), "TIFF"), "ok")
    add("tiff_16bit", "sixteen.tif", encoded(Image.fromarray(
        (head_pixels().astype(np.uint16) * 257)), "TIFF"), "ok")
    floats = head_pixels().astype(np.float32) / 7.0
    add("tiff_float", "float.tif", encoded(Image.fromarray(floats, "F"), "TIFF"), "ok")
    odd = floats.copy()
    odd[:10] = np.nan
    odd[10:20] = np.inf
    odd[20:30] = -np.inf
    odd[30, :5] = 3e38
    add("tiff_float_nan_inf", "float_nan_inf.tif", encoded(Image.fromarray(odd, "F"), "TIFF"), "ok")
    add("tiff_float_all_nan", "float_all_nan.tif", encoded(Image.fromarray(np.full((40, 40), np.nan, np.float32), "F"),
                                                           "TIFF"), "ok")
    add("cmyk_jpeg", "cmyk.jpg", encoded(grey.convert("CMYK"), "JPEG"), "ok")
    frames = [Image.fromarray(head_pixels(seed=s)).convert("P") for s in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    add("animated_gif", "animated.gif", buffer.getvalue(), "ok")
    palette = grey.convert("P")
    add("palette_png_transparency", "palette_transparent.png", encoded(palette, "PNG", transparency=0), "ok")
    add("la_png", "grey_alpha.png", encoded(grey.convert("LA"), "PNG"), "ok")
    add("bmp", "plain.bmp", encoded(grey, "BMP"), "ok")
    add("exif_rotated_jpeg", "rotated.jpg", _exif_rotated(grey), "ok")
    add("all_black", "black.png", encoded(Image.new("L", (64, 64), 0), "PNG"), "ok")
    add("png_as_jpg", "really_a_png.jpg", encoded(grey, "PNG"), "ok")
    # DICOM.
    good_dicom = open(make_dicom(os.path.join(folder, "good.dcm"), head_pixels().astype(np.uint16)), "rb").read()
    cases.append(Case("dicom_ok", os.path.join(folder, "good.dcm"), "ok"))
    add("dicom_corrupt_header", "corrupt_header.dcm", good_dicom[:140] + b"\xff" * 160 + good_dicom[300:], "error")
    garbage = rng.integers(0, 256, 500, dtype=np.uint8).tobytes()
    add("dicom_garbage_after_magic", "garbage.dcm", good_dicom[:132] + garbage, "error")
    add("dicom_cut_in_pixels", "cut.dcm", good_dicom[: len(good_dicom) - 2000], "error")
    add("dicom_magic_only", "magic_only.dcm", bytes(128) + b"DICM", "error")
    make_dicom(os.path.join(folder, "no_pixels.dcm"), None)
    cases.append(Case("dicom_no_pixel_data", os.path.join(folder, "no_pixels.dcm"), "error"))
    make_dicom(os.path.join(folder, "huge_rows.dcm"), head_pixels().astype(np.uint16))
    _patch_dicom(os.path.join(folder, "huge_rows.dcm"), Rows=65535, Columns=65535, NumberOfFrames="9999")
    cases.append(Case("dicom_lying_size", os.path.join(folder, "huge_rows.dcm"), "error"))
    make_dicom(os.path.join(folder, "nan_slope.dcm"), head_pixels().astype(np.uint16))
    _patch_dicom(os.path.join(folder, "nan_slope.dcm"), RescaleSlope="NaN", RescaleIntercept="inf")
    cases.append(Case("dicom_nan_rescale", os.path.join(folder, "nan_slope.dcm"), "any"))
    # NIfTI with headers that lie about their data.
    nifti = open(make_nifti(os.path.join(folder, "good.nii"), head_pixels()[:, :, None].repeat(5, 2).astype(np.int16)),
                 "rb").read()
    cases.append(Case("nifti_ok", os.path.join(folder, "good.nii"), "ok"))
    add("nifti_lying_dims", "lying.nii", _nifti_dims(nifti, 3, 512, 512, 512), "error", "claims 512^3")
    add("nifti_lying_dims_gz", "lying.nii.gz", gzip.compress(_nifti_dims(nifti, 3, 30000, 30000, 30000)), "error")
    add("nifti_negative_dims", "negative.nii", _nifti_dims(nifti, 3, -5, 96, 5), "error")
    add("nifti_zero_ndim", "zero_ndim.nii", _nifti_dims(nifti, 0, 96, 96, 5), "any")
    add("nifti_bad_datatype", "bad_datatype.nii", nifti[:70] + struct.pack("<h", 12345) + nifti[72:], "error")
    add("nifti_nan_affine", "nan_affine.nii", _nifti_nan_affine(nifti), "any")
    add("nifti_gz_truncated", "cut.nii.gz", gzip.compress(nifti)[:300], "error")
    # The file system.
    os.mkdir(os.path.join(folder, "scan.jpg"))
    cases.append(Case("directory_named_scan_jpg", os.path.join(folder, "scan.jpg"), "error", listed=False))
    locked = _write(folder, "locked.png", encoded(grey, "PNG"))
    os.chmod(locked, 0)
    cases.append(Case("unreadable_chmod_000", locked, "any", note="root ignores mode 000"))
    fifo = os.path.join(folder, "pipe.png")
    os.mkfifo(fifo)
    cases.append(Case("fifo", fifo, "error", note="opening it would block forever"))
    add("non_ascii_and_spaces", "Ünïcödé scan — тест 脑 (1).png", encoded(grey, "PNG"), "ok")
    add("undecodable_name", b"bad-\xff\xfe-name.png", encoded(grey, "PNG"), "ok")
    loops = os.path.join(folder, "loops")
    os.mkdir(loops)
    os.symlink(loops, os.path.join(loops, "parent_loop"))  # a folder containing itself
    os.symlink("self.png", os.path.join(loops, "self.png"))
    os.symlink("ping.png", os.path.join(loops, "pong.png"))
    os.symlink("pong.png", os.path.join(loops, "ping.png"))
    os.symlink("missing.png", os.path.join(loops, "dangling.png"))
    for name in ("self.png", "ping.png", "pong.png", "dangling.png"):
        cases.append(Case(f"symlink_{name[:-4]}", os.path.join(loops, name), "error"))
    cases.append(Case("symlinked_folder_loop", os.path.join(loops, "parent_loop"), "error", listed=False))
    return cases


def _gif_bomb() -> bytes:
    """A GIF whose logical screen and only frame claim 65535x65535 but hold one LZW code."""
    header = b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0) + b"\x02\x02\x44\x01\x00"
    return header + frame + b"\x3b"


def _exif_rotated(image: Image.Image) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    return encoded(image.convert("RGB"), "JPEG", exif=exif.tobytes())


def _patch_dicom(path: str, **attributes) -> None:
    import warnings

    import pydicom

    ds = pydicom.dcmread(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns that 'NaN' is not a valid DS: that is the point
        for keyword, value in attributes.items():
            setattr(ds, keyword, value)
        ds.save_as(path, enforce_file_format=True)


def _nifti_dims(raw: bytes, ndim: int, *dims: int) -> bytes:
    """NIfTI-1: dim[0..3] live at byte 40 as little-endian int16; the data stays as it is."""
    values = [ndim, *dims]
    packed = b"".join(struct.pack("<h", max(-32768, min(32767, v))) for v in values)
    return raw[:40] + packed + raw[40 + len(packed):]


def _nifti_nan_affine(raw: bytes) -> bytes:
    """sform code 1 with NaN in srow_x (bytes 280..296) and qform code 0."""
    out = bytearray(raw)
    out[252:254] = struct.pack("<h", 0)  # qform_code
    out[254:256] = struct.pack("<h", 1)  # sform_code
    out[280:296] = struct.pack("<4f", float("nan"), 0, 0, 0)
    return bytes(out)


@contextmanager
def time_limit(seconds: int, what: str):
    """Raise TimeoutError if the block runs longer than ``seconds`` (SIGALRM, main thread only)."""

    def expired(signum, frame):
        raise TimeoutError(f"{what} took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
