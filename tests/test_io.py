"""core.io: every supported format and mode, by content, and a specific error for each bad input."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from core.errors import (
    EmptyFileError,
    ImageTooLargeError,
    NotAnImageError,
    ScanError,
    TruncatedImageError,
    UnreadableFileError,
)
from core.io import LUMA_WEIGHTS, find_scans, load_scan

GREY = (np.arange(40 * 30, dtype=np.uint32).reshape(30, 40) % 251).astype(np.uint8)


def _save(image, path, **kwargs):
    image.save(path, **kwargs)
    return str(path)


@pytest.mark.parametrize(
    "fmt,ext", [("PNG", "png"), ("BMP", "bmp"), ("TIFF", "tif"), ("WEBP", "webp"), ("GIF", "gif")]
)
def test_lossless_formats_roundtrip_greyscale(tmp_path, fmt, ext):
    kwargs = {"lossless": True} if fmt == "WEBP" else {}
    path = _save(Image.fromarray(GREY), tmp_path / f"scan.{ext}", format=fmt, **kwargs)
    scan = load_scan(path)
    assert scan.format == fmt
    assert scan.pixels.dtype == np.float32 and scan.pixels.shape == (30, 40)
    assert scan.original_size == (40, 30)
    np.testing.assert_allclose(scan.pixels, GREY, atol=1 if fmt == "WEBP" else 0)


def test_jpeg_greyscale_and_rgb_copies_agree(tmp_path):
    grey = _save(Image.fromarray(GREY), tmp_path / "g.jpg", quality=95)
    rgb = _save(Image.fromarray(GREY).convert("RGB"), tmp_path / "c.jpg", quality=95)
    a, b = load_scan(grey), load_scan(rgb)
    assert a.mode == "L" and b.mode == "RGB"
    assert np.abs(a.pixels - b.pixels).mean() < 2.0


def test_png_saved_with_jpg_extension_is_read_by_content(tmp_path):
    path = _save(Image.fromarray(GREY), tmp_path / "really_png.jpg", format="PNG")
    scan = load_scan(path)
    assert scan.format == "PNG"
    np.testing.assert_array_equal(scan.pixels, GREY)


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I", "F"])
def test_every_mode_gives_2d_float32(tmp_path, mode):
    base = Image.fromarray(GREY)
    if mode == "I;16":
        image = Image.fromarray((GREY.astype(np.uint16) * 257))
        assert image.mode in ("I;16", "I")
    elif mode in ("I", "F"):
        image = Image.fromarray(GREY.astype(np.int32 if mode == "I" else np.float32), mode=None)
    else:
        image = base.convert(mode)
    fmt, ext = ("JPEG", "jpg") if mode == "CMYK" else (("TIFF", "tif") if mode in ("I", "F", "I;16") else ("PNG", "png"))
    path = _save(image, tmp_path / f"m.{ext}", format=fmt)
    scan = load_scan(path)
    assert scan.pixels.ndim == 2 and scan.pixels.dtype == np.float32
    assert scan.pixels.shape == (30, 40)
    assert np.isfinite(scan.pixels).all()
    if mode in ("L", "RGB", "P", "LA", "RGBA"):
        np.testing.assert_allclose(scan.pixels, GREY, atol=1.0)


def test_16_bit_png_keeps_full_range(tmp_path):
    data = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 16).astype(np.uint16)
    path = _save(Image.fromarray(data), tmp_path / "deep.png")
    scan = load_scan(path)
    assert scan.pixels.max() == pytest.approx(data.max())


def test_cmyk_jpeg(tmp_path):
    path = _save(Image.fromarray(GREY).convert("CMYK"), tmp_path / "cmyk.jpg", quality=95)
    scan = load_scan(path)
    assert scan.mode == "CMYK"
    assert np.corrcoef(scan.pixels.ravel(), GREY.ravel())[0, 1] > 0.95


def test_rgba_transparency_becomes_black(tmp_path):
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[:5, :, 3] = 255  # top half opaque, bottom half transparent
    scan = load_scan(_save(Image.fromarray(rgba, "RGBA"), tmp_path / "a.png"))
    assert scan.pixels[:5].mean() == pytest.approx(200, abs=1)
    assert scan.pixels[5:].max() == 0


def test_exif_orientation_is_applied(tmp_path):
    tall = np.zeros((60, 20), np.uint8)
    tall[:10] = 255  # bright band at the top
    image = Image.fromarray(tall)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = _save(image, tmp_path / "rot.jpg", exif=exif, quality=95)
    scan = load_scan(path)
    assert scan.pixels.shape == (20, 60)  # displayed upright: width and height swap
    assert scan.pixels[:, -10:].mean() > 200  # the top band is now on the right


def test_gif_first_frame(tmp_path):
    frames = [Image.fromarray(np.full((8, 8), v, np.uint8)) for v in (10, 200)]
    path = str(tmp_path / "anim.gif")
    frames[0].save(path, save_all=True, append_images=frames[1:])
    assert load_scan(path).pixels.mean() == pytest.approx(10, abs=1)


def test_rgb_uses_bt601_luma(tmp_path):
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[..., 0] = 100
    rgb[..., 1] = 50
    rgb[..., 2] = 200
    scan = load_scan(_save(Image.fromarray(rgb), tmp_path / "c.png"))
    assert scan.pixels[0, 0] == pytest.approx(float(np.array([100, 50, 200]) @ LUMA_WEIGHTS), abs=1e-3)


# --- bad inputs: a specific exception type and a one-line message naming the file ---------


def _assert_one_line(err, path):
    text = str(err)
    assert "\n" not in text and os.path.basename(str(path)) in text


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(EmptyFileError) as err:
        load_scan(path)
    _assert_one_line(err.value, path)


def test_truncated_jpeg(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200), dtype=np.uint8)).save(buffer, "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(TruncatedImageError) as err:
        load_scan(path)
    _assert_one_line(err.value, path)


def test_truncated_png(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200), dtype=np.uint8)).save(buffer, "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buffer.getvalue()[:300])
    with pytest.raises(TruncatedImageError):
        load_scan(path)


@pytest.mark.parametrize("content", [b"hello, I am text", b"<html><body>no</body></html>", bytes(range(256)) * 4])
def test_non_image_with_image_extension(tmp_path, content):
    path = tmp_path / "fake.png"
    path.write_bytes(content)
    with pytest.raises(NotAnImageError) as err:
        load_scan(path)
    _assert_one_line(err.value, path)


def test_decompression_bomb_is_refused(tmp_path):
    path = _save(Image.new("1", (9000, 9000)), tmp_path / "bomb.png")  # 81 MP, a few KB on disk
    assert os.path.getsize(path) < 200_000
    with pytest.raises(ImageTooLargeError) as err:
        load_scan(path)
    _assert_one_line(err.value, path)


def test_directory_missing_and_unreadable(tmp_path):
    folder = tmp_path / "scan.jpg"
    folder.mkdir()
    with pytest.raises(UnreadableFileError):
        load_scan(folder)
    with pytest.raises(UnreadableFileError):
        load_scan(tmp_path / "nope.png")
    assert issubclass(UnreadableFileError, ScanError)


def test_source_file_is_never_modified(tmp_path):
    path = _save(Image.fromarray(GREY), tmp_path / "keep.png")
    before = (open(path, "rb").read(), os.stat(path).st_mtime_ns)
    load_scan(path)
    assert (open(path, "rb").read(), os.stat(path).st_mtime_ns) == before


def test_find_scans_walks_folders_sorted_and_survives_symlink_loops(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "a").mkdir()
    for name in ("b/2.png", "a/1.png", "a/0.png"):
        (tmp_path / name).write_bytes(b"x")
    os.symlink(tmp_path, tmp_path / "a" / "loop")
    found = [os.path.relpath(p, tmp_path) for p, _ in find_scans([tmp_path])]
    assert found == ["a/0.png", "a/1.png", "b/2.png"]
    assert list(find_scans([tmp_path / "missing.png"]))[0][1] == "file does not exist"


def test_fifo_is_refused_without_opening_it(tmp_path):
    """Regression: a FIFO was reported as "file is empty"; opening one would block forever."""
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(UnreadableFileError) as err:
        load_scan(fifo)  # returns at once: nothing is opened
    assert "not a regular file" in str(err.value)


def test_symlink_loops_and_broken_links_say_so(tmp_path):
    os.symlink("self.png", tmp_path / "self.png")
    os.symlink("gone.png", tmp_path / "dangling.png")
    with pytest.raises(UnreadableFileError) as err:
        load_scan(tmp_path / "self.png")
    assert "symbolic link loop" in str(err.value)
    with pytest.raises(UnreadableFileError) as err:
        load_scan(tmp_path / "dangling.png")
    assert "does not exist (broken symbolic link)" in str(err.value)


def test_float_image_nan_and_inf_become_background(tmp_path):
    """Regression: NaN/inf in a float TIFF reached the classifier (NaN probabilities)."""
    values = np.full((20, 30), 7.5, np.float32)
    values[0, 0], values[1, 1], values[2, 2] = np.nan, np.inf, -np.inf
    scan = load_scan(_save(Image.fromarray(values, "F"), tmp_path / "f.tif"))
    assert np.isfinite(scan.pixels).all()
    assert scan.pixels[0, 0] == scan.pixels[1, 1] == scan.pixels[2, 2] == 0 and scan.pixels[3, 3] == 7.5


def test_grey_rgb_fast_path_gives_what_the_general_rules_give(tmp_path):
    """An RGB file with R = G = B skips the luma product and the chroma statistic;
    the pixels and the chroma must be exactly those of the general rules."""
    from core.io import colour_chroma, pil_to_grey

    rgb = Image.fromarray(GREY).convert("RGB")
    scan = load_scan(_save(rgb, tmp_path / "grey_rgb.png"))
    assert scan.mode == "RGB"
    np.testing.assert_array_equal(scan.pixels, pil_to_grey(rgb))
    assert scan.pixels.dtype == np.float32
    assert scan.info["chroma"] == colour_chroma(rgb) == 0.0


def test_rgb_with_one_differing_pixel_takes_the_general_rules(tmp_path):
    from core.io import colour_chroma, pil_to_grey

    planes = np.stack([GREY, GREY, GREY], axis=-1)
    planes[5, 7, 2] = 255 - planes[5, 7, 2]
    image = Image.fromarray(planes)
    scan = load_scan(_save(image, tmp_path / "almost_grey.png"))
    np.testing.assert_array_equal(scan.pixels, pil_to_grey(image))
    assert scan.pixels[5, 7] != GREY[5, 7]
    assert scan.info["chroma"] == colour_chroma(image) > 0.0
