"""Heat level -> colour: the colour maps of the overlays and colour bars, and the colour bar's ticks.
NumPy + OpenCV only; shared by ``gradcam.overlay`` (the overlays, the PNG colour bar) and
``core.report`` (the PDF's colour bar)."""

from __future__ import annotations

import cv2
import numpy as np

COLORMAPS = {
    "jet": cv2.COLORMAP_JET,
    "turbo": cv2.COLORMAP_TURBO,
    "inferno": cv2.COLORMAP_INFERNO,
    "viridis": cv2.COLORMAP_VIRIDIS,
    "hot": cv2.COLORMAP_HOT,
}


def colorize(heatmap: np.ndarray, colormap: str = "jet") -> np.ndarray:
    if colormap not in COLORMAPS:
        raise ValueError(f"unknown colormap {colormap!r}; choose one of {', '.join(COLORMAPS)}")
    levels = np.clip(np.asarray(heatmap, np.float32) * 255.0, 0, 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(levels, COLORMAPS[colormap]), cv2.COLOR_BGR2RGB)


TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)


def tick_label(value: float) -> str:
    return "0" if value == 0 else "1" if value == 1 else f"{value:g}"


def colormap_lut(colormap: str = "jet") -> np.ndarray:
    """(256, 3) uint8 RGB: the colour of each heat level, as ``colorize`` paints it."""
    return colorize(np.arange(256, dtype=np.float32)[None] / 255.0, colormap)[0]
