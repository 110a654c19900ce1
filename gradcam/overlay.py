"""Heatmap over scan -> RGB image. NumPy + OpenCV only (no TF, no Tk)."""

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


def overlay(scan: np.ndarray, heatmap: np.ndarray, alpha: float = 0.4, colormap: str = "jet") -> np.ndarray:
    """Blend a [0, 1] heatmap over a greyscale scan (uint8 HxW, or HxWx3) -> HxWx3 uint8.

    The heatmap must be on the scan's pixel grid. Opacity scales with heat, so
    cold regions show the anatomy unchanged.
    """
    scan = np.asarray(scan)
    if scan.dtype != np.uint8:
        from core.io import to_display_uint8

        scan = to_display_uint8(scan)
    base = scan if scan.ndim == 3 else np.repeat(scan[..., None], 3, axis=2)
    heatmap = np.asarray(heatmap, np.float32)
    if heatmap.shape != base.shape[:2]:
        raise ValueError(f"heatmap {heatmap.shape} does not match scan {base.shape[:2]}")
    alpha = float(np.clip(alpha, 0.0, 1.0))
    weight = (alpha * np.clip(heatmap, 0.0, 1.0))[..., None]
    blended = base.astype(np.float32) * (1 - weight) + colorize(heatmap, colormap).astype(np.float32) * weight
    return np.clip(blended + 0.5, 0, 255).astype(np.uint8)
