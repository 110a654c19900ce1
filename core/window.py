"""Window/level: map intensities onto 0..255 grey levels, the way DICOM viewers do.

A window is (center, width) in the source's own units (after the DICOM
modality LUT / NIfTI scaling). It is applied "linear exact" (DICOM PS3.3
C.11.2.1.3.2): ``center - width/2`` -> 0, ``center + width/2`` -> 255,
clipped outside. Windows stored in a DICOM file are applied by pydicom
with the file's own VOI LUT function instead (see ``core.dicom``).
"""

from __future__ import annotations

import numpy as np

# Same range ``core.io.to_display_uint8`` stretches for ordinary images.
LOW_PERCENTILE, HIGH_PERCENTILE = 0.5, 99.5
# Percentiles are estimated on at most about this many values (speed on big volumes).
PERCENTILE_SAMPLE = 4_000_000


def window_info(center, width, source: str) -> dict:
    """What goes into ``Scan.info["window"]``: plain floats so it serialises to JSON."""
    as_float = (lambda v: None if v is None else round(float(v), 6))
    return {"center": as_float(center), "width": as_float(width), "source": source}


def check_window(window) -> tuple[float, float]:
    """``(center, width)`` as floats; ``ValueError`` with a readable message otherwise."""
    try:
        center, width = (float(v) for v in window)
    except (TypeError, ValueError):
        raise ValueError(f"window must be (center, width), got {window!r}") from None
    if not (np.isfinite(center) and np.isfinite(width)) or width <= 0:
        raise ValueError(f"window width must be a positive number, got {width}")
    return center, width


def apply_window(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """Any array -> float32 in [0, 255] (same shape), linear between the window's ends."""
    low = center - width / 2.0
    scaled = (np.asarray(values, dtype=np.float32) - np.float32(low)) * np.float32(255.0 / width)
    return np.clip(scaled, 0.0, 255.0, out=scaled)


def percentile_window(values: np.ndarray) -> tuple[float, float]:
    """The (center, width) spanning the 0.5-99.5 percentile range of ``values``.

    Computed over the whole volume, so every slice of it is shown with one window.
    """
    flat = np.asarray(values).ravel()
    step = max(1, flat.size // PERCENTILE_SAMPLE)
    sample = flat[::step].astype(np.float64)
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return 0.5, 1.0
    low, high = np.percentile(sample, [LOW_PERCENTILE, HIGH_PERCENTILE])
    if high <= low:  # nearly flat: fall back to min..max, then to a width of 1
        low, high = float(sample.min()), float(sample.max())
        if high <= low:
            high = low + 1.0
    return (low + high) / 2.0, high - low
