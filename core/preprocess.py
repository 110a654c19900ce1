"""The one definition of how a scan becomes a model input. ``training/`` imports it too.

Steps: find the head (crop the black background), pad to a square (never
stretch), resize to the model's input size, then normalise intensities per scan
inside the head. The per-scan normalisation removes source-specific brightness
and contrast (greyscale vs RGB copies, different scanners), so the model has to
look at anatomy instead.

Two methods exist; the model card names the one its model was trained with.
``percentile`` (v1) finds the head with an intensity threshold and maps a
percentile range linearly, so a gamma or contrast curve from another scanner
still reaches the model. ``rank`` (v2) finds the head with a rank threshold and
replaces each pixel by its rank (histogram equalisation): the model input is
the same under any increasing intensity curve (gamma, windowing, contrast, a
partial T1<->T2-like blend), up to resampling.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

PERCENTILE_V1 = "head-crop-square-pad-percentile-v1"
RANK_V2 = "head-crop-square-pad-rank-v2"
# What new models are trained with by default (the bundled model's); loaded models use
# the name in their card (a card without one means v1). v2 is bundled because it keeps
# accuracy within 0.5 validation points of v1 while gamma and partial inversion no longer
# cost anything (benchmarks/bench_selection.py, the rule in benchmarks/RESULTS.md).
PREPROCESSING_NAME = RANK_V2

# v1: pixels darker than this fraction of the (low..high) range count as background.
BACKGROUND_FRACTION = 0.10
# v2: pixels darker than this percentile of the non-minimum pixels count as background
# when finding the head. 25 keeps dim head tissue; the box is then 6 % larger than v1's
# on average (48 test scans), and unchanged under the benchmark's gamma shifts (0 of 96).
RANK_BACKGROUND_PERCENTILE = 25.0
# Components smaller than this fraction of the largest one (text, noise) are ignored.
MIN_COMPONENT_FRACTION = 0.02
# Margin kept around the head, as a fraction of its larger side.
CROP_MARGIN = 0.03
# Percentiles mapped to 0 and 1 inside the head.
LOW_PERCENTILE, HIGH_PERCENTILE = 0.5, 99.5
# Head masks are found on a copy whose longer side is at most this many pixels (speed).
MASK_WORK_SIZE = 256
# The padded square (and a heatmap mapped back) is built at scan resolution only up to
# this side. A longer side - a strip such as 3 x 100,000 px - is shrunk first, so memory
# stays bounded: a 1,000 x 40,000 image would otherwise need a 40,000^2 float square (6.4 GB).
MAX_SQUARE_SIDE = 4096


@dataclass(frozen=True)
class Geometry:
    """Where the model input came from in the scan: enough to map a heatmap back exactly."""

    scan_height: int
    scan_width: int
    crop: tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive) in scan pixels
    side: int  # side of the padded square, in scan pixels
    pad_x: int  # left padding inside the square
    pad_y: int  # top padding inside the square
    input_size: int

    def to_scan_grid(self, input_map: np.ndarray) -> np.ndarray:
        """Map an (h, w) array over the model input back onto the scan's pixel grid.

        Undoes resize, padding and crop; pixels outside the crop get 0.
        """
        if self.side > MAX_SQUARE_SIDE:
            return self._to_scan_grid_strip(input_map)
        square = cv2.resize(
            input_map.astype(np.float32), (self.side, self.side), interpolation=cv2.INTER_LINEAR
        )
        x0, y0, x1, y1 = self.crop
        crop_h, crop_w = y1 - y0, x1 - x0
        inside = square[self.pad_y : self.pad_y + crop_h, self.pad_x : self.pad_x + crop_w]
        out = np.zeros((self.scan_height, self.scan_width), dtype=np.float32)
        out[y0:y1, x0:x1] = inside
        return out

    def _to_scan_grid_strip(self, input_map: np.ndarray) -> np.ndarray:
        """``to_scan_grid`` for a huge square: the same bilinear sampling (pixel centres,
        edges clamped, as ``cv2.resize``), evaluated on the crop only, never on the square."""
        source = input_map.astype(np.float32)
        x0, y0, x1, y1 = self.crop
        rows = _linear_taps(np.arange(y1 - y0) + self.pad_y, self.side, source.shape[0])
        cols = _linear_taps(np.arange(x1 - x0) + self.pad_x, self.side, source.shape[1])
        (r0, r1, rw), (c0, c1, cw) = rows, cols
        by_row = source[r0] * (1 - rw)[:, None] + source[r1] * rw[:, None]
        inside = by_row[:, c0]  # a new array (fancy indexing): safe to scale in place
        inside *= 1 - cw
        inside += by_row[:, c1] * cw
        out = np.zeros((self.scan_height, self.scan_width), dtype=np.float32)
        out[y0:y1, x0:x1] = inside
        return out


def _linear_taps(positions: np.ndarray, size: int, source_size: int):
    """For output pixels ``positions`` of a ``size``-long axis resized from ``source_size``:
    (lower source index, upper source index, weight of the upper one)."""
    centre = (positions + 0.5) * (source_size / size) - 0.5
    centre = np.clip(centre, 0, source_size - 1)
    low = np.floor(centre).astype(np.int64)
    high = np.minimum(low + 1, source_size - 1)
    return low, high, (centre - low).astype(np.float32)


def _intensity_head_mask(small: np.ndarray) -> np.ndarray | None:
    """v1: above a fraction of the intensity range (the cut moves under a gamma curve)."""
    low, high = float(small.min()), float(np.percentile(small, 99.0))
    return None if high <= low else small > low + BACKGROUND_FRACTION * (high - low)


def _rank_head_mask(small: np.ndarray) -> np.ndarray | None:
    """v2: at or above a percentile of the non-minimum pixels (an increasing curve keeps the cut)."""
    above = small[small > small.min()]
    if above.size < 16:
        return None
    # np.percentile(above, q, method="lower") is the element at floor(q/100 * (n-1)) in
    # sorted order; a partial sort finds it 4x faster, the same value.
    at = int(np.floor(RANK_BACKGROUND_PERCENTILE / 100.0 * (above.size - 1)))
    return small >= np.partition(above, at)[at]


def head_bounding_box(pixels: np.ndarray, method: str = PREPROCESSING_NAME) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the head in ``pixels``; the whole image if no clear head is found."""
    height, width = pixels.shape
    step = max(1, int(np.ceil(max(height, width) / MASK_WORK_SIZE)))
    small = np.ascontiguousarray(pixels[::step, ::step], dtype=np.float32)
    head = method_for(method).head_mask(small)
    if head is None:
        return 0, 0, width, height
    mask = head.astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return 0, 0, width, height
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = stats[1:][areas >= MIN_COMPONENT_FRACTION * areas.max()]
    x0 = int(keep[:, cv2.CC_STAT_LEFT].min()) * step
    y0 = int(keep[:, cv2.CC_STAT_TOP].min()) * step
    x1 = int((keep[:, cv2.CC_STAT_LEFT] + keep[:, cv2.CC_STAT_WIDTH]).max()) * step
    y1 = int((keep[:, cv2.CC_STAT_TOP] + keep[:, cv2.CC_STAT_HEIGHT]).max()) * step
    margin = int(round(CROP_MARGIN * max(x1 - x0, y1 - y0)))
    x0, y0 = max(0, x0 - margin), max(0, y0 - margin)
    x1, y1 = min(width, x1 + margin), min(height, y1 + margin)
    if (x1 - x0) < 0.1 * width or (y1 - y0) < 0.1 * height:
        return 0, 0, width, height  # a speck, not a head: keep everything
    return x0, y0, x1, y1


def preprocess(
    pixels: np.ndarray, input_size: int, method: str = PREPROCESSING_NAME
) -> tuple[np.ndarray, Geometry]:
    """(h, w) greyscale -> ((input_size, input_size, 1) float32 in [0, 1], Geometry).

    ``method`` is a preprocessing name from a model card (``PERCENTILE_V1`` or ``RANK_V2``).
    """
    pixels = np.asarray(pixels, dtype=np.float32)
    if pixels.ndim != 2 or min(pixels.shape) < 1:
        raise ValueError(f"expected a non-empty 2-D greyscale array, got shape {pixels.shape}")
    height, width = pixels.shape
    x0, y0, x1, y1 = head_bounding_box(pixels, method)
    crop = pixels[y0:y1, x0:x1]
    crop_h, crop_w = crop.shape
    side = max(crop_h, crop_w)
    pad_y, pad_x = (side - crop_h) // 2, (side - crop_w) // 2
    background = float(crop.min())
    if side > MAX_SQUARE_SIDE:  # an extreme strip: shrink it before padding (memory)
        crop, pad_x_work, pad_y_work, work_side = _shrunk(crop, side, pad_x, pad_y)
    else:
        pad_x_work, pad_y_work, work_side = pad_x, pad_y, side
    square = np.full((work_side, work_side), background, dtype=np.float32)
    square[pad_y_work : pad_y_work + crop.shape[0], pad_x_work : pad_x_work + crop.shape[1]] = crop
    interpolation = cv2.INTER_AREA if work_side > input_size else cv2.INTER_LINEAR
    resized = cv2.resize(square, (input_size, input_size), interpolation=interpolation)
    normalised = method_for(method).normalise(resized)
    geometry = Geometry(height, width, (x0, y0, x1, y1), side, pad_x, pad_y, input_size)
    return normalised[..., np.newaxis], geometry


def _shrunk(crop: np.ndarray, side: int, pad_x: int, pad_y: int):
    """``crop`` scaled so that ``side`` becomes ``MAX_SQUARE_SIDE``: (crop, pad_x, pad_y, side)."""
    scale = MAX_SQUARE_SIDE / side
    height = min(MAX_SQUARE_SIDE, max(1, round(crop.shape[0] * scale)))
    width = min(MAX_SQUARE_SIDE, max(1, round(crop.shape[1] * scale)))
    small = cv2.resize(np.ascontiguousarray(crop), (width, height), interpolation=cv2.INTER_AREA)
    small = small.reshape(height, width)
    pad_x = min(round(pad_x * scale), MAX_SQUARE_SIDE - width)
    pad_y = min(round(pad_y * scale), MAX_SQUARE_SIDE - height)
    return small, pad_x, pad_y, MAX_SQUARE_SIDE


def normalise_intensity(image: np.ndarray) -> np.ndarray:
    """Map the head's 0.5-99.5 percentile range to [0, 1]; background ends near 0."""
    low, high = float(image.min()), float(image.max())
    if high <= low:
        return np.zeros_like(image, dtype=np.float32)
    head = image[image > low + BACKGROUND_FRACTION * (high - low)]
    if head.size < 16:
        head = image.ravel()
    p_low, p_high = np.percentile(head, [LOW_PERCENTILE, HIGH_PERCENTILE])
    if p_high <= p_low:
        p_low, p_high = low, high
    scaled = (image - p_low) / (p_high - p_low)
    return np.clip(scaled, 0.0, 1.0).astype(np.float32)


def rank_intensity(image: np.ndarray) -> np.ndarray:
    """Head pixels (v2's rank mask) -> their rank among the head's pixels, in (0, 1];
    everything else (background noise, padding) -> 0. Depends only on the order of
    intensities; zeroing the background keeps each source's noise and JPEG blocks,
    which equalisation would otherwise amplify, away from the model."""
    head = _rank_head_mask(image)
    if head is None:
        return np.zeros_like(image, dtype=np.float32)
    values = image[head]
    order = np.argsort(values)
    ordered = values[order]
    # Rank = how many head pixels are <= this one. Searching with sorted queries is
    # 2.4x faster than with the pixels in image order (cache-friendly), same values.
    ranks = np.empty(values.size, np.float64)
    ranks[order] = np.searchsorted(ordered, ordered, side="right")
    out = np.zeros(image.shape, np.float32)
    out[head] = ranks / values.size
    return out


@dataclass(frozen=True)
class Method:
    head_mask: Callable[[np.ndarray], np.ndarray | None]
    normalise: Callable[[np.ndarray], np.ndarray]
    description: str  # written into model cards


METHODS = {
    PERCENTILE_V1: Method(
        _intensity_head_mask, normalise_intensity,
        "greyscale (BT.601 luma); crop black background around the head; pad to a square; resize; "
        "scale the head's 0.5-99.5 percentile intensity range to [0, 1]",
    ),
    RANK_V2: Method(
        _rank_head_mask, rank_intensity,
        "greyscale (BT.601 luma); crop the background around the head (rank threshold); pad to a "
        "square; resize; replace each pixel by its rank (histogram equalisation; background 0, brightest 1), "
        "so any increasing intensity curve gives the same input",
    ),
}


def method_for(name: str) -> Method:
    """The preprocessing steps a model card's name stands for (ValueError if unknown)."""
    try:
        return METHODS[name]
    except KeyError:
        known = ", ".join(METHODS)
        raise ValueError(f"unknown preprocessing {name!r} (this version knows {known})") from None


def preprocess_batch(
    pixel_arrays, input_size: int, method: str = PREPROCESSING_NAME
) -> tuple[np.ndarray, list[Geometry]]:
    tensors, geometries = [], []
    for pixels in pixel_arrays:
        tensor, geometry = preprocess(pixels, input_size, method)
        tensors.append(tensor)
        geometries.append(geometry)
    if not tensors:
        return np.zeros((0, input_size, input_size, 1), np.float32), []
    return np.stack(tensors), geometries
