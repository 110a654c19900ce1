"""Heatmap over scan -> RGB image, and the labelled colour bar saved beside it. NumPy + OpenCV only (no TF, no Tk)."""

from __future__ import annotations

import functools

import cv2
import numpy as np

# The colour maps and the colour bar's ticks live in core (core.report draws the PDF's colour bar too).
from core.colormap import COLORMAPS, TICKS, colorize, colormap_lut, tick_label  # noqa: F401


def overlay(scan: np.ndarray, heatmap: np.ndarray, alpha: float = 0.4, colormap: str = "jet") -> np.ndarray:
    """Blend a [0, 1] heatmap over a greyscale scan (uint8 HxW, or HxWx3) -> HxWx3 uint8.

    The heatmap must be on the scan's pixel grid. Opacity scales with heat, so
    cold regions show the anatomy unchanged. One OpenCV per-pixel blend (about
    2 ms for 512 x 512; NumPy float arithmetic took 9).
    """
    scan = np.asarray(scan)
    if scan.dtype != np.uint8:
        from core.io import to_display_uint8

        scan = to_display_uint8(scan)
    base = scan if scan.ndim == 3 else cv2.cvtColor(np.ascontiguousarray(scan), cv2.COLOR_GRAY2RGB)
    heatmap = np.asarray(heatmap, np.float32)
    if heatmap.shape != base.shape[:2]:
        raise ValueError(f"heatmap {heatmap.shape} does not match scan {base.shape[:2]}")
    heat = np.clip(heatmap, 0.0, 1.0)
    alpha = float(np.clip(alpha, 0.0, 1.0))
    weight = heat * np.float32(alpha)
    colours = colorize(heat, colormap)
    return cv2.blendLinear(np.ascontiguousarray(base), colours, np.float32(1.0) - weight, weight)


# ----- the colour bar: what a colour means -------------------------------------------

STRIP_BACKGROUND = (17, 17, 17)  # the window's canvas colour: the strip reads as part of the view
STRIP_TEXT = (235, 235, 235)


def scale_caption(predicted: str) -> str:
    """The scale every map is shown on, in words: ``predicted`` is the predicted class's name."""
    return f"1 = strongest evidence for {predicted} on this scan"


def _text_image(text: str, scale: float, thickness: int = 1) -> np.ndarray:
    """A (h, w) float32 coverage mask of ``text`` in OpenCV's Hershey font, anti-aliased."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    (width, height), baseline = cv2.getTextSize(text, font, scale, thickness)
    canvas = np.zeros((height + baseline + 2, width + 2), np.uint8)
    cv2.putText(canvas, text, (1, height + 1), font, scale, 255, thickness, cv2.LINE_AA)
    return canvas.astype(np.float32) / 255.0


def _paste(strip: np.ndarray, coverage: np.ndarray, x: int, y: int, colour) -> None:
    """Blend ``colour`` into ``strip`` where ``coverage`` says, top-left corner at (x, y), clipped."""
    h, w = coverage.shape
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, strip.shape[1]), min(y + h, strip.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    cover = coverage[y0 - y:y1 - y, x0 - x:x1 - x, None]
    region = strip[y0:y1, x0:x1].astype(np.float32)
    strip[y0:y1, x0:x1] = (region * (1 - cover) + np.asarray(colour, np.float32) * cover + 0.5).astype(np.uint8)


def _caption_lines(caption: str, scale: float, room: int) -> list[str]:
    """``caption`` split into as few lines as fit ``room`` pixels at ``scale``."""
    words, lines = caption.split(), []
    for word in words:
        if lines and cv2.getTextSize(f"{lines[-1]} {word}", cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] <= room:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


# Below this height a strip has no room for text: the bar alone, over the full height.
MIN_LABELLED_HEIGHT = 40


# Strips up to this height are kept for reuse (a folder of scans shares a few heights).
CACHED_HEIGHT = 4096


@functools.lru_cache(maxsize=32)
def _cached_strip(height: int, colormap: str, caption: str) -> np.ndarray:
    return _strip(height, colormap, caption)


def _strip(height: int, colormap: str, caption: str) -> np.ndarray:
    lut = colormap_lut(colormap)
    if height < MIN_LABELLED_HEIGHT:  # a tiny image (down to one pixel): the colours, no labels
        width = max(2, height // 4)
        levels = np.linspace(255, 0, max(height, 1)).round().astype(np.uint8)
        strip = np.ascontiguousarray(np.repeat(lut[levels][:, None, :], width, axis=1))
        strip.setflags(write=False)
        return strip
    scale = float(np.clip(height / 640.0, 0.28, 0.6))
    # Sizes follow the height up to a point: a 100000-pixel-tall strip image gets a bar as wide
    # as a 700-pixel one's, not 3500 pixels wide (1 GB of strip).
    margin = int(np.clip(round(height * 0.04), 4, 28))
    digit = _text_image("0.75", scale)
    bar_width = int(np.clip(round(height * 0.035), 6, 24))
    caption_lines = _caption_lines(caption, scale, height - 2 * margin) if caption else []
    line_height = digit.shape[0]
    width = 6 + bar_width + 4 + digit.shape[1] + 4 + line_height * len(caption_lines) + 4
    strip = np.empty((height, width, 3), np.uint8)
    strip[:] = STRIP_BACKGROUND
    top, bottom = margin, height - margin  # heat 1 at the top, 0 at the bottom
    span = max(bottom - top, 1)
    levels = np.linspace(255, 0, span).round().astype(np.uint8)
    x0 = 6
    strip[top:bottom, x0:x0 + bar_width] = lut[levels][:, None, :]
    for tick in TICKS:
        y = int(round(bottom - 1 - tick * (span - 1)))
        strip[y, x0 + bar_width:x0 + bar_width + 3] = STRIP_TEXT
        label = _text_image(tick_label(tick), scale)
        _paste(strip, label, x0 + bar_width + 4, y - label.shape[0] // 2, STRIP_TEXT)
    x = x0 + bar_width + 4 + digit.shape[1] + 4
    for line in caption_lines:  # reads bottom to top, as a colour bar's label does
        text = np.rot90(_text_image(line, scale))
        _paste(strip, text, x, top + (span - text.shape[0]) // 2, STRIP_TEXT)
        x += line_height
    strip.setflags(write=False)
    return strip


def colorbar_strip(height: int, colormap: str = "jet", caption: str = "") -> np.ndarray:
    """(height, w, 3) uint8: a vertical colour bar (1 at the top), ticks 0-1 and ``caption``."""
    if colormap not in COLORMAPS:
        raise ValueError(f"unknown colormap {colormap!r}; choose one of {', '.join(COLORMAPS)}")
    height = int(height)
    return _cached_strip(height, colormap, caption) if height <= CACHED_HEIGHT else _strip(height, colormap, caption)


def with_colorbar(rgb: np.ndarray, colormap: str = "jet", caption: str = "") -> np.ndarray:
    """An overlay with its colour bar on the right: the overlay's pixels are unchanged
    (the left ``width`` columns), the strip says what each colour means."""
    rgb = np.asarray(rgb)
    return np.concatenate([rgb, colorbar_strip(rgb.shape[0], colormap, caption)], axis=1)
