"""Which MRI sequence a scan looks like, and whether the training data hold its class in that sequence.

The model card's ``sequence_probe`` names a small file of logistic-regression weights fitted
(``python -m training.sequence``) on the model's own penultimate features of the labelled
training scans (T1, T1 post-contrast, FLAIR; inverted copies stand in for T2, which no source
here has). The card also counts the training scans per class and sequence, estimating the
sequence of scans whose source does not label it (the Kaggle set). Where a scan looks like a
sequence in which the training data hold few scans of the predicted class, the app says so.
"""

from __future__ import annotations

import numpy as np

DISPLAY = {"t1": "a T1-weighted scan", "t1c": "a T1 post-contrast scan", "flair": "a FLAIR scan",
           "t2-like": "a T2-weighted scan"}
# Below this many training scans of a class in a sequence, the app warns.
FEW_EXAMPLES = 150
# The probe must be at least this sure of the sequence before the app says anything.
MIN_PROBABILITY = 0.6


class SequenceProbe:
    def __init__(self, coef, intercept, mean, scale, names):
        self.coef = np.asarray(coef, np.float64)
        self.intercept = np.asarray(intercept, np.float64)
        self.mean = np.asarray(mean, np.float64)
        self.scale = np.asarray(scale, np.float64)
        self.names = [str(n) for n in names]

    @classmethod
    def load(cls, path: str) -> "SequenceProbe":
        with np.load(path, allow_pickle=False) as data:
            return cls(data["coef"], data["intercept"], data["mean"], data["scale"], data["names"])

    def save(self, path: str) -> None:
        np.savez_compressed(path, coef=self.coef.astype(np.float32), intercept=self.intercept.astype(np.float32),
                            mean=self.mean.astype(np.float32), scale=self.scale.astype(np.float32),
                            names=np.array(self.names))

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        z = ((np.asarray(features, np.float64) - self.mean) / self.scale) @ self.coef.T + self.intercept
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)


def rarity_warning(card_data: dict, label: str, sequence: str | None, probability: float) -> str | None:
    """A plain warning where the scan looks like ``sequence`` and the training data hold few
    ``label`` scans of it (counts in the card); else None."""
    info = card_data.get("sequence_probe") or {}
    counts = (info.get("training_counts") or {}).get(label)
    if not sequence or counts is None or probability < MIN_PROBABILITY:
        return None
    n = int(counts.get(sequence, 0))
    if n >= FEW_EXAMPLES:
        return None
    name = card_data.get("display_names", {}).get(label, label).lower()
    return (f"this scan looks like {DISPLAY.get(sequence, sequence)}, and the model learned from few "
            f"'{name}' scans of that kind ({n}): the result may be unreliable")
