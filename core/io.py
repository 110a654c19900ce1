"""Open one file, by content not by extension, into greyscale float32 slices.

This is the single-file layer: ordinary images go through Pillow, DICOM
(``DICM`` at byte 128) through ``core.dicom``, NIfTI (its header magic,
gzipped or not) through ``core.nifti``. ``read_file`` returns every 2-D image
one file holds; ``load_scan`` one of them. Volumes made of many files (DICOM
series) are built on top of this in ``core.volume``; this module never imports
it. The source file is only ever opened for reading.
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
    IndexOutOfRangeError,
    UnreadableFileError,
)

# Largest image we accept (width x height). MRI slices are at most a few
# thousand pixels a side; anything above this is a mistake or a decompression bomb.
MAX_PIXELS = 40_000_000

# ITU-R BT.601 luma, the weights Pillow's convert("L") uses, so an RGB copy of a
# greyscale image gives the same values as its "L" original.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float64)

SNIFF_BYTES = 544  # enough for the DICOM preamble + magic and a NIfTI-2 header

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


@dataclass(frozen=True)
class Slices:
    """Every 2-D image of one file (a DICOM's frames, a NIfTI volume's axial slices, or
    an ordinary image as one slice), all windowed with one rule."""

    pixels: np.ndarray  # (slices, height, width) float32; 0..255 once windowed
    path: str
    format: str  # "DICOM", "NIfTI-1", "NIfTI-2", or the image format ("PNG", ...)
    mode: str  # DICOM photometric interpretation, NIfTI stored dtype, or Pillow mode
    info: dict = field(default_factory=dict)  # file-wide facts (no per-slice keys)
    windows: tuple = ()  # the window applied to each slice (dict) or None (not windowed)

    def __len__(self) -> int:
        return int(self.pixels.shape[0])

    def scan(self, index: int | None = None) -> Scan:
        return scan_at(self, index)


def scan_at(stack, index: int | None = None) -> Scan:
    """Slice ``index`` (``None``: the middle one) of a ``Slices`` or ``core.volume.Volume`` as a
    ``Scan``; its pixels are a copy. A stack with ``files`` (a DICOM series) names the slice's file."""
    index = checked_index(stack.path, index, len(stack))
    height, width = stack.pixels.shape[1:]
    info = dict(stack.info)
    if len(stack.windows) > index and stack.windows[index] is not None:
        info["window"] = stack.windows[index]
    if "slices" in info:
        info["slice"] = index
    if "frames" in info:
        info["frame"] = index
    files = getattr(stack, "files", ())
    if files:
        info["file"] = files[index]
    return Scan(
        pixels=stack.pixels[index].copy(),  # a view would keep the whole stack alive
        path=files[index] if files else stack.path,
        format=stack.format,
        original_size=(width, height),
        mode=stack.mode,
        info=info,
    )


def checked_index(path: str, index: int | None, count: int) -> int:
    if index is None:
        return count // 2
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"slice index must be an int or None, got {index!r}")
    if not 0 <= index < count:
        what = "slice" if count == 1 else f"slices (0 to {count - 1})"
        raise IndexOutOfRangeError(path, f"slice {index} is out of range: the scan has {count} {what}")
    return int(index)


def file_format(path: str) -> str | None:
    """``"dicom"``, ``"nifti"``, or ``None`` for anything else, judged by content alone."""
    from core.dicom import is_dicom
    from core.nifti import header_bytes, nifti_version

    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError:
        return None
    if is_dicom(head):
        return "dicom"
    if nifti_version(header_bytes(path, head)):
        return "nifti"
    return None


def load_scan(path: str | os.PathLike, index: int | None = None, window=None, volume_index: int | None = None) -> Scan:
    """Read one scan. Raises a ``ScanError`` subclass with a one-line message on failure.

    ``index``: which slice of a multi-slice scan (DICOM frame, NIfTI axial slice),
    from 0; ``None`` = the middle one. Ordinary images have only slice 0.
    ``window``: ``(center, width)`` in the source's units, or ``None`` for the
    automatic choice (see ``core.dicom``, ``core.nifti``; ordinary images are not
    windowed unless asked). ``volume_index``: which volume of a 4-D NIfTI (``None``:
    the first). Out-of-range ``index`` -> ``IndexOutOfRangeError``.
    """
    path = str(path)
    check_file(path)
    if file_format(path):
        return read_file(path, window, volume_index, checked=True).scan(index)
    checked_index(path, index, 1)
    return _windowed_image(path, window)


def read_file(path: str | os.PathLike, window=None, volume_index: int | None = None, checked: bool = False) -> Slices:
    """Every slice of one file. ``window=(center, width)`` overrides the automatic window;
    ``volume_index`` picks the volume of a 4-D NIfTI (default: the first).

    Raises a ``ScanError`` subclass (one line, naming the file) on failure.
    """
    path = str(path)
    if not checked:
        check_file(path)
    kind = file_format(path)
    if kind == "dicom":
        from core.dicom import read_dicom

        pixels, info, windows = read_dicom(path, window)
        info["slices"] = info["frames"]
        return Slices(pixels, path, "DICOM", info["photometric"], info, tuple(windows))
    if kind == "nifti":
        from core.nifti import read_nifti

        pixels, info, fmt, dtype = read_nifti(path, window, volume_index)
        window_used = info.pop("window")
        return Slices(pixels, path, fmt, dtype, info, (window_used,) * len(pixels))
    scan = _windowed_image(path, window)
    info = {k: v for k, v in scan.info.items() if k != "window"}
    return Slices(scan.pixels[np.newaxis], path, scan.format, scan.mode, info, (scan.info.get("window"),))


def _windowed_image(path: str, window) -> Scan:
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


def check_file(path: str) -> None:
    """Refuse, with a one-line message, anything that is not a readable, non-empty regular file."""
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


_check_file = check_file  # the older private name, still imported by callers


# Keep Pillow's own guard in line with ours: it raises DecompressionBombError above 2x this.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

__all__ = [
    "IMAGE_SUFFIXES", "MAX_PIXELS", "Scan", "Slices", "check_file", "checked_index", "file_format", "find_scans",
    "load_scan", "pil_to_grey", "read_file", "scan_at",
]
