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


def blank_random(batch_item: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    flat = batch_item.reshape(-1, batch_item.shape[-1]).copy()
    k = max(1, int(round(fraction * len(flat))))
    flat[rng.choice(len(flat), k, replace=False)] = 0.0
    return flat.reshape(batch_item.shape)


def deletion_drops(classifier, batch_item, input_heatmaps: dict, target: int, fraction=0.2, rng=None):
    """Drop in the target class's probability after blanking, per method and for random pixels."""
    rng = rng or np.random.default_rng(0)
    variants = {name: blank_top(batch_item, hm, fraction) for name, hm in input_heatmaps.items()}
    variants["random"] = blank_random(batch_item, fraction, rng)
    names = list(variants)
    batch = np.stack([batch_item, *(variants[n] for n in names)])
    probs = classifier.probabilities(classifier.logits(batch))[:, target]
    return {name: float(probs[0] - probs[i + 1]) for i, name in enumerate(names)}
