"""Volumes: every slice of a multi-slice file (DICOM multi-frame, NIfTI) or of a DICOM series.

``index`` is the one name for "which 2-D image": the DICOM frame number, the
NIfTI axial slice number or the position of a file in its series, counted
from 0; ``None`` means the middle one. An ordinary image (PNG, JPEG, ...) is a
volume of one slice.

This module builds on the single-file layer (``core.io``, ``core.dicom``,
``core.nifti``) and on series discovery (``core.series``); none of those
imports it. Every slice of a volume is windowed with the same rule (the
file's window, or one percentile window over the whole volume or series), so
``load_volume(p)[i]`` and ``load_scan(p, index=i)`` give identical pixels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from core.errors import ImageTooLargeError, NotAnImageError, ScanError
from core.io import SNIFF_BYTES, Scan, check_file, checked_index, file_format, read_file, scan_at
from core.series import Series

__all__ = ["SNIFF_BYTES", "Series", "Volume", "checked_index", "count_slices", "load_volume", "volume_format"]

volume_format = file_format  # "dicom", "nifti" or None, by content


@dataclass(frozen=True)
class Volume:
    pixels: np.ndarray  # (slices, height, width) float32; 0..255 once windowed
    path: str  # the file, or a series' folder
    format: str  # "DICOM", "NIfTI-1", "NIfTI-2", or the image format ("PNG", ...)
    mode: str  # DICOM photometric interpretation, NIfTI stored dtype, or Pillow mode
    info: dict = field(default_factory=dict)  # volume-wide facts (no per-slice keys)
    windows: tuple = ()  # the window applied to each slice (dict) or None (not windowed)
    files: tuple = ()  # a series: the file of each slice; () for a single file

    def __len__(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def name(self) -> str:
        return self.info.get("name") or os.path.basename(self.path)

    def scan(self, index: int | None = None) -> Scan:
        """Slice ``index`` (``None``: the middle one) as a ``Scan``; its pixels are a copy.
        A series slice's ``Scan.path`` is its own file; ``info["file"]`` says the same."""
        return scan_at(self, index)


def load_volume(source, window=None, volume_index: int | None = None) -> Volume:
    """Every slice of a file (a path) or of a ``core.series.Series``.

    ``window=(center, width)`` overrides the automatic window; ``volume_index`` picks
    the volume of a 4-D NIfTI (default: the first). Raises a ``ScanError`` subclass
    (one line, naming the file) on failure.
    """
    if isinstance(source, Series):
        return _load_series(source, window)
    slices = read_file(source, window, volume_index)
    return Volume(slices.pixels, slices.path, slices.format, slices.mode, slices.info, slices.windows)


def count_slices(source) -> int:
    """How many slices/frames ``source`` holds, from headers only (1 for ordinary images)."""
    if isinstance(source, Series):
        return len(source)
    path = str(source)
    check_file(path)
    kind = file_format(path)
    if kind == "dicom":
        from core.dicom import count_frames

        return count_frames(path)
    if kind == "nifti":
        from core.nifti import count_slices as nifti_slices

        return nifti_slices(path)
    return 1


def _load_series(series: Series, window=None) -> Volume:
    """Decode every file of the series into one stack; one percentile window over the slices
    that carry no window of their own. A file that fails fails the series, naming the file."""
    from core.dicom import MAX_VOXELS, decode_dicom, finish_frames

    count = len(series.files)
    if count * series.rows * series.cols > MAX_VOXELS:
        raise ImageTooLargeError(
            series.path, f"DICOM series is {count} x {series.cols}x{series.rows}, above the {MAX_VOXELS:,}-pixel limit"
        )
    pixels = np.empty((count, series.rows, series.cols), dtype=np.float32)
    windows, photometrics, syntaxes, modalities, body_parts = [], [], [], [], []
    for index, path in enumerate(series.files):
        try:
            check_file(path)
            if file_format(path) != "dicom":
                raise NotAnImageError(path, "is no longer a DICOM file")
            _, file_windows, info = decode_dicom(path, window, out=pixels[index:index + 1])
        except ScanError as err:
            raise type(err)(series.path, f"{os.path.basename(path)} (slice {index} of the series): {err.problem}") from None
        windows.extend(file_windows)
        photometrics.append(info["photometric"])
        syntaxes.append(info["transfer_syntax"])
        modalities.append(info["modality"])
        body_parts.append(info["body_part"])
    finish_frames(pixels, windows, photometrics)
    info = {
        "slices": count,
        "photometric": photometrics[0] if len(set(photometrics)) == 1 else "mixed",
        "modality": series.modality or modalities[0],
        "body_part": next((part for part in body_parts if part), None),
        "transfer_syntax": syntaxes[0] if len(set(syntaxes)) == 1 else "mixed",
        "series": series.describe(),
        "name": series.name,
    }
    if series.notes:
        info["notes"] = list(series.notes)
    return Volume(pixels, series.path, "DICOM", info["photometric"], info, tuple(windows), tuple(series.files))
