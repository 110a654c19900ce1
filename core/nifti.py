"""NIfTI-1 / NIfTI-2 volumes (nibabel), found by content, as axial slices.

The volume (of a 4-D file: the one asked for, else the first) is reoriented to the closest
canonical RAS orientation, so slice ``k`` is the k-th axial plane from the
feet up (0 = most inferior). Each slice is shown in radiological convention:
anterior at the top, the patient's right on the image's left, like the
axial MRI slices the model was trained on.

The header must describe exactly the bytes that follow it: a header whose
dimensions do not match the data size is refused, not guessed around.
"""

from __future__ import annotations

import gzip
import os
import zlib
from contextlib import contextmanager

import numpy as np

from core.errors import CorruptHeaderError, ImageTooLargeError, TruncatedImageError, UnsupportedImageError
from core.window import apply_window, check_window, percentile_window, window_info

HEADER_BYTES = 544  # NIfTI-2 header (540) plus the extension flag
GZIP_MAGIC = b"\x1f\x8b"
NIFTI2_MAGIC = b"n+2\x00\r\n\x1a\n"
MAX_VOXELS = 300_000_000  # of the one volume we keep


def header_bytes(path: str, head: bytes) -> bytes:
    """The first bytes of the (possibly gzipped) file, decompressed; ``b""`` if unreadable."""
    if not head.startswith(GZIP_MAGIC):
        return head
    try:
        with gzip.open(path, "rb") as handle:
            return handle.read(HEADER_BYTES)
    except (OSError, EOFError, zlib.error):
        return b""


def nifti_version(header: bytes) -> int | None:
    """1 or 2 for a NIfTI header (either byte order), else ``None``."""
    size = header[:4]
    if len(header) >= 348 and header[344:348] in (b"n+1\x00", b"ni1\x00") and size in (
        (348).to_bytes(4, "little"), (348).to_bytes(4, "big")
    ):
        return 1
    if len(header) >= 540 and header[4:12] == NIFTI2_MAGIC and size in (
        (540).to_bytes(4, "little"), (540).to_bytes(4, "big")
    ):
        return 2
    return None


def _read_header(path: str):
    """The NIfTI header alone (no voxel data read)."""
    with _opened(path) as handle:
        klass = _image_class(path, handle)
        try:
            return klass.header_class.from_fileobj(handle)
        except Exception:
            raise CorruptHeaderError(path, "NIfTI header is damaged or unreadable") from None


def count_slices(path: str) -> int:
    """Axial slices after reorientation, from the header alone."""
    header = _read_header(path)
    shape = _volume_shape(path, header)
    # Row i of the orientation says which RAS axis stored axis i ends up on (2 = superior).
    axial = np.flatnonzero(_orientation(path, header.get_best_affine())[:, 0] == 2)
    return int(shape[int(axial[0])])


def read_nifti(path: str, window=None, volume_index: int | None = None) -> tuple[np.ndarray, dict, str, str]:
    """-> ((slices, rows, cols) float32 in 0..255, info, format name, stored dtype name).

    ``window`` is ``(center, width)`` in the file's scaled units; ``None`` uses
    the 0.5-99.5 percentile range of the whole volume. ``volume_index``: which
    3-D volume of a 4-D (or higher) file, from 0 (``None``: the first); such
    files say ``info["volume"]`` and ``info["volumes"]``.
    """
    user_window = None if window is None else check_window(window)
    slices, info, fmt, dtype = read_values(path, volume_index)
    center, width = user_window or percentile_window(slices)
    pixels = apply_window(slices, center, width)
    info["window"] = window_info(center, width, "user" if user_window else "percentile")
    return pixels, info, fmt, dtype


def read_values(path: str, volume_index: int | None = None) -> tuple[np.ndarray, dict, str, str]:
    """``read_nifti`` before the window: the (slices, rows, cols) float32 values in the file's
    scaled units, reoriented for display, with the same info (less ``"window"``)."""
    import nibabel as nib

    with _opened(path) as handle:
        klass = _image_class(path, handle)
        try:
            # The header alone first: a lying one is refused before any data is read.
            header = klass.header_class.from_fileobj(handle)
        except Exception:  # HeaderDataError, unknown datatype ...
            raise CorruptHeaderError(path, "NIfTI header is damaged or unreadable") from None
        shape = _volume_shape(path, header)
        _check_data_size(path, header)
        handle.seek(0)
        try:
            image = klass.from_stream(handle)
        except MemoryError:
            raise ImageTooLargeError(path, "not enough memory to read this NIfTI file") from None
        except Exception:
            raise CorruptHeaderError(path, "NIfTI header is damaged or unreadable") from None
        dims = tuple(int(d) for d in header.get_data_shape())
        extra = dims[3:]
        volumes = int(np.prod(extra)) if extra else 1
        chosen = _checked_volume(path, volume_index, volumes)
        picked = (slice(None),) * min(len(dims), 3) + tuple(int(i) for i in np.unravel_index(chosen, extra))
        try:
            data = np.asarray(image.dataobj[picked], dtype=np.float32).reshape(shape)
        except MemoryError:
            raise ImageTooLargeError(path, "not enough memory to read this NIfTI volume") from None
        except Exception:
            raise TruncatedImageError(path, "NIfTI image data is truncated or damaged") from None
    data[~np.isfinite(data)] = 0.0  # NaN marks "no data" in many pipelines
    # What nib.as_closest_canonical does, on the one volume we keep: flip/permute the
    # stored axes onto the closest RAS axes (no resampling).
    ras = nib.orientations.apply_orientation(data, _orientation(path, image.affine))
    # (x: left->right, y: posterior->anterior, z) -> per slice (rows: anterior first,
    # cols: patient's right first): radiological display.
    slices = np.ascontiguousarray(ras[::-1, ::-1, :].transpose(2, 1, 0))
    info = {"slices": int(slices.shape[0]), "orientation": "RAS", "display": "radiological"}
    if extra:
        info["volume"], info["volumes"] = chosen, volumes
    return slices, info, f"NIfTI-{_version(klass)}", str(header.get_data_dtype())


def _checked_volume(path: str, index: int | None, count: int) -> int:
    from core.errors import IndexOutOfRangeError

    if index is None:
        return 0
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"volume index must be an int or None, got {index!r}")
    if not 0 <= index < count:
        raise IndexOutOfRangeError(path, f"volume {index} is out of range: the file has {count} volume"
                                   + ("" if count == 1 else f"s (0 to {count - 1})"))
    return int(index)


def count_volumes(path: str) -> int:
    """How many 3-D volumes a NIfTI file holds (1 for 3-D files), from the header alone."""
    header = _read_header(path)
    dims = tuple(int(d) for d in header.get_data_shape())
    return int(np.prod(dims[3:])) if len(dims) > 3 else 1


def _orientation(path: str, affine) -> np.ndarray:
    """nibabel's (axis, flip) per stored axis towards RAS; refuses a degenerate affine."""
    import nibabel as nib

    affine = np.asarray(affine, dtype=np.float64)
    if not np.isfinite(affine).all() or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise CorruptHeaderError(path, "NIfTI header has an unusable orientation (singular affine)")
    return nib.orientations.io_orientation(affine)


@contextmanager
def _opened(path: str):
    """The file opened for reading only, gunzipped on the fly when it is gzip."""
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == GZIP_MAGIC
    with (gzip.open(path, "rb") if gzipped else open(path, "rb")) as handle:
        yield handle


def _image_class(path: str, handle):
    import nibabel as nib

    start = handle.tell()
    try:
        version = nifti_version(handle.read(HEADER_BYTES))
    except (OSError, EOFError, zlib.error):
        version = None
    handle.seek(start)
    if version is None:
        raise CorruptHeaderError(path, "not a readable NIfTI header")
    header = handle.read(348)
    handle.seek(start)
    if version == 1 and header[344:348] == b"ni1\x00":
        raise UnsupportedImageError(path, "NIfTI header-only file (.hdr/.img pair): open a single-file .nii instead")
    return nib.Nifti1Image if version == 1 else nib.Nifti2Image


def _version(klass) -> int:
    import nibabel as nib

    return 2 if issubclass(klass, nib.Nifti2Image) else 1


def _volume_shape(path: str, header) -> tuple[int, int, int]:
    dims = tuple(int(d) for d in header.get_data_shape())
    if not dims or min(dims) < 1:
        raise CorruptHeaderError(path, f"NIfTI header gives empty dimensions {dims}")
    shape = (dims + (1, 1))[:3]
    if int(np.prod(shape)) > MAX_VOXELS:
        raise ImageTooLargeError(path, f"NIfTI volume {shape} is above the {MAX_VOXELS:,}-voxel limit")
    return shape


def _check_data_size(path: str, header) -> None:
    """The bytes after the header must be exactly what its dimensions and datatype say."""
    dims = header.get_data_shape()
    expected = int(np.prod(dims)) * header.get_data_dtype().itemsize
    actual = _payload_size(path) - int(header.get_data_offset())
    if actual != expected:
        raise CorruptHeaderError(
            path,
            f"NIfTI header says {'x'.join(map(str, dims))} {header.get_data_dtype()} "
            f"({expected:,} bytes) but the file holds {max(actual, 0):,} bytes of image data",
        )


def _payload_size(path: str) -> int:
    """Size of the file's content, uncompressed (the gzip stream is read through, not kept)."""
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == GZIP_MAGIC
    if not gzipped:
        return os.path.getsize(path)
    total = 0
    try:
        with gzip.open(path, "rb") as handle:
            while block := handle.read(1 << 22):
                total += len(block)
    except (OSError, EOFError, zlib.error):
        raise TruncatedImageError(path, "NIfTI .gz file is truncated or damaged") from None
    return total
