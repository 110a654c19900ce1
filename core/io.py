"""Open a scan from disk, by content not by extension, into a greyscale float32 array.

Ordinary images go through Pillow; DICOM (``DICM`` at byte 128) and NIfTI
(its header magic, gzipped or not) go through ``core.volume``. The source
file is only ever opened for reading.
"""

from __future__ import annotations

import errno
import os
import stat
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import (
    EmptyFileError,
    ImageTooLargeError,
    NotAnImageError,
    ScanError,
    TruncatedImageError,
    UnreadableFileError,
)

# Largest image we accept (width x height). MRI slices are at most a few
# thousand pixels a side; anything above this is a mistake or a decompression bomb.
MAX_PIXELS = 40_000_000

# ITU-R BT.601 luma, the weights Pillow's convert("L") uses, so an RGB copy of a
# greyscale image gives the same values as its "L" original.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float64)

# File-name suffixes offered in the open dialog. Loading itself ignores them.
IMAGE_SUFFIXES = (
    ".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".dcm", ".nii", ".nii.gz",
)


@dataclass(frozen=True)
class Scan:
    """A 2-D greyscale scan plus where it came from."""

    # (height, width) float32: the source's own intensity units, or 0..255 when a
    # window was applied (then ``info["window"]`` says which: DICOM, NIfTI, a caller's)
    pixels: np.ndarray
    path: str
    format: str  # "JPEG", "PNG", ...
    original_size: tuple[int, int]  # (width, height) as stored in the file
    mode: str  # Pillow mode of the source, e.g. "L", "RGB", "I;16"
    info: dict = field(default_factory=dict)

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def display_uint8(self) -> np.ndarray:
        """An 8-bit view for the screen.

        Windowed pixels are shown as they are (the classifier sees the same image);
        others get their 0.5-99.5 percentile range stretched to 0-255.
        """
        if "window" in self.info:
            return np.clip(np.rint(self.pixels), 0, 255).astype(np.uint8)
        return to_display_uint8(self.pixels)


def to_display_uint8(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    low, high = np.percentile(pixels, [0.5, 99.5])
    if high <= low:
        high = low + 1.0
    scaled = (pixels.astype(np.float32) - low) * (255.0 / (high - low))
    return np.clip(scaled, 0, 255).astype(np.uint8)


def load_scan(path: str | os.PathLike, index: int | None = None, window=None) -> Scan:
    """Read one scan. Raises a ``ScanError`` subclass with a one-line message on failure.

    ``index``: which slice of a multi-slice scan (DICOM frame, NIfTI axial slice),
    from 0; ``None`` = the middle one. Ordinary images have only slice 0.
    ``window``: ``(center, width)`` in the source's units, or ``None`` for the
    automatic choice (see ``core.dicom``, ``core.nifti``; ordinary images are not
    windowed unless asked). Out-of-range ``index`` -> ``IndexOutOfRangeError``.
    """
    path = str(path)
    _check_file(path)
    from core import volume  # imports this module, so not at the top

    if volume.volume_format(path):
        return volume.load_volume(path, window).scan(index)
    volume.checked_index(path, index, 1)
    scan = _load_image(path)
    if window is None:
        return scan
    from core.window import apply_window, check_window, window_info

    center, width = check_window(window)
    info = {**scan.info, "window": window_info(center, width, "user")}
    return replace(scan, pixels=apply_window(scan.pixels, center, width), info=info)


def _load_image(path: str) -> Scan:
    """An ordinary image file through Pillow."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; make it an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                return _scan_from_pil(path, image)
    except ScanError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLargeError(path, f"image is larger than the {MAX_PIXELS:,}-pixel limit") from None
    except UnidentifiedImageError:
        raise NotAnImageError(path, "not an image file this application can read") from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        if "truncated" in message.lower() or isinstance(err, EOFError):
            raise TruncatedImageError(path, "image file is truncated or damaged") from None
        raise TruncatedImageError(path, f"image data is damaged ({message})") from None
    except MemoryError:
        raise ImageTooLargeError(path, "not enough memory to decode this image") from None


def _check_file(path: str) -> None:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        problem = "file does not exist (broken symbolic link)" if os.path.islink(path) else "file does not exist"
        raise UnreadableFileError(path, problem) from None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise UnreadableFileError(path, "symbolic link loop: the link never reaches a file") from None
        if err.errno == errno.EACCES:
            raise UnreadableFileError(path, "permission denied") from None
        raise UnreadableFileError(path, f"cannot read file ({err.strerror or type(err).__name__})") from None
    except ValueError:  # e.g. an embedded NUL byte
        raise UnreadableFileError(path, "not a valid file name") from None
    if stat.S_ISDIR(info.st_mode):
        raise UnreadableFileError(path, "is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        # A FIFO would block the first read forever; devices and sockets are not scans either.
        raise UnreadableFileError(path, "not a regular file (a pipe, device or socket)")
    if not os.access(path, os.R_OK):
        raise UnreadableFileError(path, "permission denied")
    if info.st_size == 0:
        raise EmptyFileError(path, "file is empty (0 bytes)")


def _scan_from_pil(path: str, image: Image.Image) -> Scan:
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageTooLargeError(
            path, f"image is {width}x{height} pixels, above the {MAX_PIXELS:,}-pixel limit"
        )
    if width < 1 or height < 1:
        raise NotAnImageError(path, "image has no pixels")
    source_format = image.format or "unknown"
    source_mode = image.mode
    image.load()  # decode now so truncation errors surface here
    upright = ImageOps.exif_transpose(image)
    # Most RGB files in the wild are grey copies (R = G = B). For those the general rules
    # below give exactly the plane itself and a chroma of 0, at a fifth of the cost.
    grey = _equal_rgb_plane(upright)
    if grey is not None:
        pixels, chroma = grey.astype(np.float32), 0.0
    else:
        pixels, chroma = pil_to_grey(upright), colour_chroma(upright)
    return Scan(
        pixels=pixels,
        path=path,
        format=source_format,
        original_size=(width, height),
        mode=source_mode,
        info={"chroma": chroma},
    )


def _equal_rgb_plane(image: Image.Image) -> np.ndarray | None:
    """The R plane of an RGB image whose three planes are identical, else None."""
    if image.mode != "RGB":
        return None
    rgb = np.asarray(image)
    red = rgb[..., 0]
    if np.array_equal(red, rgb[..., 1]) and np.array_equal(red, rgb[..., 2]):
        return red
    return None


def pil_to_grey(image: Image.Image) -> np.ndarray:
    """Any Pillow mode -> (h, w) float32 greyscale, the same rule for every source."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        pixels = np.asarray(image, dtype=np.float32).copy()
        if mode == "F":  # NaN/inf in a float image: no data, shown as background (as for NIfTI)
            pixels[~np.isfinite(pixels)] = 0.0
        return pixels
    if mode == "1":
        return np.asarray(image.convert("L"), dtype=np.float32)
    if mode == "L":
        return np.asarray(image, dtype=np.float32)
    if mode == "LA":
        return np.asarray(image.getchannel("L"), dtype=np.float32)
    if mode in ("RGBA", "PA", "P", "La"):
        # Transparent pixels become background (black), as in a scan's empty field of view.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        image = Image.alpha_composite(background, rgba).convert("RGB")
    elif mode != "RGB":
        image = image.convert("RGB")  # CMYK, YCbCr, LAB, HSV, ...
    # float64 sum so that equal R, G, B give back exactly that grey level
    rgb = np.asarray(image, dtype=np.float64)
    return (rgb @ LUMA_WEIGHTS).astype(np.float32)


def colour_chroma(image: Image.Image) -> float:
    """Mean max-min over R, G, B (0..255): ~0 for grey copies of MRI, large for photos."""
    if image.mode not in ("RGB", "RGBA", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV"):
        return 0.0
    small = image.convert("RGB")
    small.thumbnail((256, 256))  # a statistic: a thumbnail is enough and bounds the cost
    rgb = np.asarray(small)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    # Element-wise over three planes: 3x faster than max/min along a length-3 axis, same values.
    spread = np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)  # uint8, never negative
    return float(spread.mean())


def find_scans(paths, suffixes=None):
    """Expand files and folders (recursively, sorted) into file paths.

    Folders are walked without following symlinked folders, so a symlink loop
    cannot hang the walk. Yields ``(path, None)`` or ``(path, error_message)``.
    """
    for given in paths:
        given = str(given)
        if os.path.isdir(given):
            for root, dirs, files in os.walk(given, followlinks=False):
                dirs.sort()
                for name in sorted(files):
                    if name.startswith("."):
                        continue
                    full = os.path.join(root, name)
                    if suffixes and not name.lower().endswith(suffixes):
                        continue
                    yield full, None
        elif os.path.exists(given) or os.path.islink(given):
            yield given, None
        else:
            yield given, "file does not exist"


# Keep Pillow's own guard in line with ours: it raises DecompressionBombError above 2x this.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

__all__ = ["IMAGE_SUFFIXES", "MAX_PIXELS", "Scan", "find_scans", "load_scan", "pil_to_grey"]
