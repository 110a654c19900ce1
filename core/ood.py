"""Is this a brain MRI at all, and one like the training scans? Cheap checks beside every prediction.

A classifier always answers one of its four classes, even for a holiday photo. Two tiers:

* **Abstain** (not a brain MRI at all: no label is given): a blank image; an image too small
  to be an MRI slice (under ``MIN_SIDE`` pixels a side); noise (adjacent
  pixels uncorrelated); a DICOM file of another modality (CT, ultrasound, radiograph, dose,
  segmentation ...) or one whose Body Part Examined names a part that is not the head
  (abdomen, pelvis, knee, spine ...); a colour picture (MRI is greyscale; the dataset's RGB files are grey);
  penultimate features far from every training class (Mahalanobis distance above the card's
  ``abstain_distance``).
* **Warn** (a brain MRI unlike the training scans: the label stays, with a plain warning):
  the distance above ``unfamiliar_distance`` or the energy score T*logsumexp(logits/T) below
  ``energy_threshold``.

Cards from before the two tiers (only ``mahalanobis_threshold`` / ``energy_threshold``) keep
their single "does not look like a brain MRI" warning and never abstain.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

NOT_MRI_WARNING = "this does not look like a brain MRI: the result is not meaningful"
ABSTAIN_WARNING = "this does not look like a brain MRI slice: no classification"
UNFAMILIAR_WARNING = ("this scan differs from the scans the model learned from (another sequence, scanner, "
                      "plane or preparation?): the result may be wrong, review by a specialist")
BLANK_WARNING = "the image is blank or nearly uniform: the result is not meaningful"
# MR matrices are 64 px a side or more (the smallest real MRI among our test files: 64 x 64); an
# image under 32 px a side holds too little to classify: nibabel's 4 x 5 x 7 test volume was
# called "meningioma" with no warning before this check.
MIN_SIDE = 32
TOO_SMALL_WARNING = "the image is only {height} x {width} pixels, too small to be an MRI slice: no classification"
COLOUR_WARNING = "this is a colour image, not a greyscale MRI: the result is not meaningful"
# DICOM files say what made them; these modalities are MRI or could hold an MRI picture
# (secondary capture, "other"); anything else (CT, US, CR, NM, RTDOSE, SEG, ...) is not an MRI.
MRI_LIKE_MODALITIES = ("MR", "OT", "SC", "")


NO_STRUCTURE_WARNING = "this image has no anatomy-like structure (noise?): no classification"
# Neighbouring head pixels of a model input correlate (r) at 0.24 or more on all 1,173 validation
# scans (median 0.83), and at 0.35 or more under strong augmentation; pure noise gives |r| < 0.05.
STRUCTURE_MIN = 0.15


def neighbour_correlation(model_input: np.ndarray) -> float:
    """Correlation of horizontally adjacent head pixels (both > 0) of one (h, w[, 1]) model input;
    1.0 where too few head pixels to say (the other checks decide then)."""
    x = np.asarray(model_input, np.float32).reshape(model_input.shape[0], model_input.shape[1])
    left, right = x[:, :-1], x[:, 1:]
    both = (left > 0) & (right > 0)
    if both.sum() < 64:
        return 1.0
    a, b = left[both], right[both]
    if a.std() < 1e-6 or b.std() < 1e-6:
        return 1.0
    return float(np.corrcoef(a, b)[0, 1])


# DICOM Body Part Examined (0018,0015) values (PS3.16 Annex L defined terms, as written without
# spaces) that name a part other than the head. Only these abstain: a missing, unknown or
# misspelled value says nothing, and the pixels decide as for any image.
NON_HEAD_BODY_PARTS = frozenset({
    "ABDOMEN", "ABDOMENPELVIS", "ANKLE", "ARM", "BLADDER", "BREAST", "CHEST", "CHESTABDOMEN",
    "CHESTABDPELVIS", "CLAVICLE", "COCCYX", "CSPINE", "ELBOW", "EXTREMITY", "FEMUR", "FINGER", "FOOT",
    "FOREARM", "HAND", "HEART", "HIP", "HUMERUS", "KIDNEY", "KNEE", "LEG", "LIVER", "LSPINE", "LUMBAR",
    "PANCREAS", "PELVIS", "PROSTATE", "RIB", "SACRUM", "SHOULDER", "SPINE", "SSPINE", "TSPINE", "THIGH",
    "THORAX", "TIBIA", "TOE", "UTERUS", "WHOLEBODY", "WRIST",
})


def body_part_warning(body_part: str | None) -> str | None:
    """The abstention for a DICOM file that says it shows a part other than the head, else None."""
    name = "".join(ch for ch in str(body_part or "").upper() if ch.isalpha())
    if name not in NON_HEAD_BODY_PARTS:
        return None
    return f"this DICOM file says it shows the {str(body_part).strip().lower()} (Body Part Examined), " \
           "not the head: no classification"


class ImageChecks(NamedTuple):
    """What is known about a scan before the network runs, for ``verdict_for``."""
    blank: bool
    chroma: float | None = None
    modality: str | None = None  # DICOM Modality
    shape: tuple | None = None  # (height, width) as read
    body_part: str | None = None  # DICOM Body Part Examined


def modality_warning(modality: str) -> str:
    return f"this DICOM file is a {modality} image, not an MRI: no classification"
# Mean chroma (max-min over R, G, B, in 0..255) above which an image is a colour picture.
COLOUR_CHROMA_LIMIT = 12.0


def energy(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, np.float64) / temperature
    top = z.max(axis=-1, keepdims=True)
    return (temperature * (top[..., 0] + np.log(np.exp(z - top).sum(axis=-1)))).astype(np.float32)


# is_blank looks at every k-th row and column so that at most this many per side remain:
# a statistic of the whole image, at a bounded cost (0.91 -> 0.39 ms per test scan, 219 scans).
BLANK_CHECK_SIDE = 256


def is_blank(pixels: np.ndarray) -> bool:
    pixels = np.asarray(pixels)
    step = max(1, -(-max(pixels.shape) // BLANK_CHECK_SIDE))
    pixels = pixels[::step, ::step]
    low, high = np.percentile(pixels, [1, 99])
    scale = max(abs(float(high)), abs(float(low)), 1e-6)
    return (high - low) <= 0.02 * scale or float(np.std(pixels)) < 1e-6


def assess(pixels: np.ndarray, logits_row: np.ndarray, card_data: dict, chroma: float | None = None) -> str | None:
    """A warning for scans the model cannot meaningfully judge, else None."""
    return warning_for(is_blank(pixels), chroma, logits_row, card_data)


class Verdict(NamedTuple):
    abstain: bool  # True: not a brain MRI slice, no class is given
    warning: str | None


def warning_for(blank: bool, chroma: float | None, logits_row, card_data: dict, distance: float | None = None) -> str | None:
    """``assess`` from precomputed image checks (the CLI computes them in its decode threads)."""
    return verdict_for(blank, chroma, logits_row, card_data, distance).warning


def verdict_for(blank: bool, chroma: float | None, logits_row, card_data: dict, distance: float | None = None,
                modality: str | None = None, structure: float | None = None, rarity: str | None = None,
                shape: tuple | None = None, body_part: str | None = None) -> Verdict:
    """Abstain, warn, or neither (see the module docstring). ``modality``: a DICOM file's Modality;
    ``structure``: ``neighbour_correlation`` of the model input; ``rarity``: core.sequence's
    warning that the training data hold few scans of this class in this sequence (the last tier);
    ``shape``: the image's (height, width) as read; ``body_part``: a DICOM file's Body Part Examined."""
    if blank:
        return Verdict(True, BLANK_WARNING)
    if modality is not None and modality.strip().upper() not in MRI_LIKE_MODALITIES:
        return Verdict(True, modality_warning(modality.strip().upper()))
    elsewhere = body_part_warning(body_part)
    if elsewhere:
        return Verdict(True, elsewhere)
    if chroma is not None and chroma > COLOUR_CHROMA_LIMIT:
        return Verdict(True, COLOUR_WARNING)
    if shape is not None and min(shape[:2]) < MIN_SIDE:
        return Verdict(True, TOO_SMALL_WARNING.format(height=shape[0], width=shape[1]))
    if structure is not None and structure < STRUCTURE_MIN:
        return Verdict(True, NO_STRUCTURE_WARNING)
    ood = card_data.get("ood") or {}
    two_tier = "abstain_distance" in ood
    abstain_at = ood.get("abstain_distance")
    if distance is not None and abstain_at is not None and distance > float(abstain_at):
        return Verdict(True, ABSTAIN_WARNING)
    unfamiliar = UNFAMILIAR_WARNING if two_tier else NOT_MRI_WARNING
    limit = ood.get("unfamiliar_distance", ood.get("mahalanobis_threshold"))
    if distance is not None and limit is not None and distance > float(limit):
        return Verdict(False, unfamiliar)
    threshold = ood.get("energy_threshold")
    if threshold is not None:
        logits = np.asarray(logits_row, dtype=np.float64)[np.newaxis]  # a list from Prediction.logits too
        score = float(energy(logits, float(card_data.get("temperature", 1.0)))[0])
        if score < float(threshold):
            return Verdict(False, unfamiliar)
    return Verdict(False, rarity)


class FeatureDensity:
    """Class means and a shared precision matrix of the training features (Lee et al. 2018)."""

    def __init__(self, means: np.ndarray, precision: np.ndarray):
        self.means = means.astype(np.float64)
        self.precision = precision.astype(np.float64)
        self._mean_terms = np.einsum("cd,de,ce->c", self.means, self.precision, self.means)

    @classmethod
    def fit(cls, features: np.ndarray, labels: np.ndarray) -> "FeatureDensity":
        from sklearn.covariance import LedoitWolf  # training-time only

        classes = np.unique(labels)
        means = np.stack([features[labels == c].mean(axis=0) for c in classes])
        centred = features - means[np.searchsorted(classes, labels)]
        return cls(means, LedoitWolf().fit(centred).precision_)

    @classmethod
    def load(cls, path: str) -> "FeatureDensity":
        with np.load(path, allow_pickle=False) as data:
            return cls(data["means"], data["precision"])

    def save(self, path: str) -> None:
        np.savez_compressed(path, means=self.means.astype(np.float32), precision=self.precision.astype(np.float32))

    def distance(self, features: np.ndarray) -> np.ndarray:
        """Smallest Mahalanobis distance over the classes, per row."""
        # (f-m)P(f-m) = fPf - 2 fPm + mPm, as matrix products (an einsum over (n, c, d) was 10x slower)
        f = np.asarray(features, np.float64)
        fp = f @ self.precision
        squared = (fp * f).sum(axis=1)[:, None] - 2.0 * fp @ self.means.T + self._mean_terms[None]
        return np.sqrt(np.maximum(squared.min(axis=1), 0.0))
