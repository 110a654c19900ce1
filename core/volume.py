"""Scans with many slices (DICOM multi-frame, NIfTI) and picking one slice of them.

``index`` is the one name for "which 2-D image": the DICOM frame number or
the NIfTI axial slice number, counted from 0; ``None`` means the middle one.
An ordinary image (PNG, JPEG, ...) is a volume of one slice.

Every slice of a volume is windowed with the same rule (the file's window,
or one percentile window over the whole volume), so ``load_volume(p)[i]``
and ``load_scan(p, index=i)`` give identical pixels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from core.errors import IndexOutOfRangeError
from core.io import Scan

SNIFF_BYTES = 544  # enough for the DICOM preamble + magic and a NIfTI-2 header


@dataclass(frozen=True)
class Volume:
    pixels: np.ndarray  # (slices, height, width) float32; 0..255 once windowed
    path: str
    format: str  # "DICOM", "NIfTI-1", "NIfTI-2", or the image format ("PNG", ...)
    mode: str  # DICOM photometric interpretation, NIfTI stored dtype, or Pillow mode
    info: dict = field(default_factory=dict)  # file-wide facts (no per-slice keys)
    windows: tuple = ()  # the window applied to each slice (dict) or None (not windowed)

    def __len__(self) -> int:
        return int(self.pixels.shape[0])

    def scan(self, index: int | None = None) -> Scan:
        """Slice ``index`` (``None``: the middle one) as a ``Scan``; its pixels are a copy."""
        index = checked_index(self.path, index, len(self))
        height, width = self.pixels.shape[1:]
        info = dict(self.info)
        if len(self.windows) > index and self.windows[index] is not None:
            info["window"] = self.windows[index]
        if "slices" in info:
            info["slice"] = index
        if "frames" in info:
            info["frame"] = index
        return Scan(
            pixels=self.pixels[index].copy(),  # a view would keep the whole volume alive
            path=self.path,
            format=self.format,
            original_size=(width, height),
            mode=self.mode,
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


def volume_format(path: str) -> str | None:
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


def load_volume(path: str | os.PathLike, window=None) -> Volume:
    """Every slice of a scan. ``window=(center, width)`` overrides the automatic window.

    Raises a ``ScanError`` subclass (one line, naming the file) on failure.
    """
    from core.io import _check_file, load_scan

    path = str(path)
    _check_file(path)
    kind = volume_format(path)
    if kind == "dicom":
        from core.dicom import read_dicom

        pixels, info, windows = read_dicom(path, window)
        info["slices"] = info["frames"]
        return Volume(pixels, path, "DICOM", info["photometric"], info, tuple(windows))
    if kind == "nifti":
        from core.nifti import read_nifti

        pixels, info, fmt, dtype = read_nifti(path, window)
        window_used = info.pop("window")
        return Volume(pixels, path, fmt, dtype, info, (window_used,) * len(pixels))
    scan = load_scan(path, window=window)
    info = {k: v for k, v in scan.info.items() if k != "window"}
    return Volume(scan.pixels[np.newaxis], path, scan.format, scan.mode, info, (scan.info.get("window"),))


def count_slices(path: str | os.PathLike) -> int:
    """How many slices/frames ``path`` holds, from the header only (1 for ordinary images)."""
    from core.io import _check_file

    path = str(path)
    _check_file(path)
    kind = volume_format(path)
    if kind == "dicom":
        from core.dicom import count_frames

        return count_frames(path)
    if kind == "nifti":
        from core.nifti import count_slices as nifti_slices

        return nifti_slices(path)
    return 1
