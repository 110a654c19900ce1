"""Deletion check: does blanking the hottest pixels hurt the prediction more than random ones?"""

from __future__ import annotations

import numpy as np


def blank_top(batch_item: np.ndarray, heatmap: np.ndarray, fraction: float) -> np.ndarray:
    """Set the ``fraction`` hottest input pixels to 0 (background)."""
    flat = heatmap.ravel()
    k = max(1, int(round(fraction * flat.size)))
    hottest = np.argpartition(-flat, k - 1)[:k]
    out = batch_item.copy().reshape(-1, batch_item.shape[-1])
    out[hottest] = 0.0
    return out.reshape(batch_item.shape)


def random_heatmap(size: int, grid: int, rng: np.random.Generator) -> np.ndarray:
    """A random 'heatmap' made like a real one: values on the CAM grid, upsampled.

    Blanking its top pixels removes random *regions* of the same area and the same
    blobby shape as a CAM's, not scattered pixels (salt noise, which no scan has,
    would hurt any prediction and make every map look good).
    """
    import cv2

    return cv2.resize(rng.random((grid, grid)).astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)


def deletion_drops(classifier, batch_item, input_heatmaps: dict, target: int, fraction=0.2, rng=None, grid=8):
    """Drop in the target class's probability after blanking, per method and for random regions."""
    rng = rng or np.random.default_rng(0)
    variants = {name: blank_top(batch_item, hm, fraction) for name, hm in input_heatmaps.items()}
    variants["random"] = blank_top(batch_item, random_heatmap(batch_item.shape[0], grid, rng), fraction)
    names = list(variants)
    batch = np.stack([batch_item, *(variants[n] for n in names)])
    probs = classifier.probabilities(classifier.logits(batch))[:, target]
    return {name: float(probs[0] - probs[i + 1]) for i, name in enumerate(names)}
