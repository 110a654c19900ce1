"""Maps of one method at several target layers, fused into one (NumPy only).

As pytorch-grad-cam aggregates several target layers: every layer's map (already over the
same grid, ReLU'd) is scaled to a peak of 1, the scaled maps are averaged, and the mean is
scaled to a peak of 1 again. A coarse deep layer says roughly where; a finer, shallower one
sharpens the peak inside that region. A layer whose map is all zero (no positive evidence)
adds nothing but still counts in the mean.
"""

from __future__ import annotations

import numpy as np


def unit_peak(heat: np.ndarray) -> np.ndarray:
    """ReLU, then the map over its own maximum (all zero stays all zero)."""
    heat = np.maximum(np.asarray(heat, np.float32), 0.0)
    peak = float(heat.max()) if heat.size else 0.0
    return heat / np.float32(peak) if peak > 1e-12 else np.zeros_like(heat)


def fuse(maps) -> np.ndarray:
    """Same-shape maps -> their fused map in [0, 1] (peak 1 unless every map is empty)."""
    maps = [unit_peak(m) for m in maps]
    if not maps:
        raise ValueError("nothing to fuse")
    return unit_peak(np.mean(maps, axis=0))
