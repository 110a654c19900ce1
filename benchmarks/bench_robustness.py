"""Accuracy of the bundled model under synthetic scanner/sequence shifts, at three strengths.

    .venv/bin/python benchmarks/bench_robustness.py [--per-class 100] [--update-card]

Shifts are applied to the raw scan (before the app's preprocessing), as a scan
from another scanner would arrive. Target: no shift at moderate strength costs
more than 3 points of accuracy.
"""

from __future__ import annotations

import argparse
import io
import sys

import cv2
import numpy as np
from common import append_results, markdown_table, test_files
from PIL import Image

STRENGTHS = ("mild", "moderate", "strong")


def _unit(p):
    lo, hi = float(p.min()), float(p.max())
    return (p - lo) / (hi - lo + 1e-6) * 255.0


def gamma(p, s, rng):
    g = {"mild": 0.8, "moderate": 0.6, "strong": 0.4}[s]
    g = g if rng.random() < 0.5 else 1 / g
    return 255.0 * (_unit(p) / 255.0) ** g


def contrast(p, s, rng):
    f = {"mild": 0.8, "moderate": 0.6, "strong": 0.4}[s]
    return (p - p.mean()) * f + p.mean()


def bias_field(p, s, rng):
    amp = {"mild": 0.15, "moderate": 0.3, "strong": 0.5}[s]
    coarse = rng.uniform(-amp, amp, (3, 3)).astype(np.float32)
    field = cv2.resize(coarse, (p.shape[1], p.shape[0]), interpolation=cv2.INTER_CUBIC)
    return p * (1.0 + field)


def blur(p, s, rng):
    sigma = {"mild": 1.0, "moderate": 2.0, "strong": 3.5}[s] * max(p.shape) / 512
    return cv2.GaussianBlur(p, (0, 0), sigma)


def noise(p, s, rng):
    std = {"mild": 0.02, "moderate": 0.05, "strong": 0.1}[s] * float(np.percentile(p, 99))
    return p + rng.normal(0, std, p.shape).astype(np.float32)


def jpeg(p, s, rng):
    q = {"mild": 60, "moderate": 30, "strong": 10}[s]
    buffer = io.BytesIO()
    Image.fromarray(np.clip(_unit(p), 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=q)
    return np.asarray(Image.open(buffer), np.float32)


def resample(p, s, rng):
    f = {"mild": 0.6, "moderate": 0.4, "strong": 0.25}[s]
    small = cv2.resize(p, (max(8, int(p.shape[1] * f)), max(8, int(p.shape[0] * f))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (p.shape[1], p.shape[0]), interpolation=cv2.INTER_LINEAR)


def rotation(p, s, rng):
    angle = {"mild": 5, "moderate": 10, "strong": 20}[s] * (1 if rng.random() < 0.5 else -1)
    matrix = cv2.getRotationMatrix2D((p.shape[1] / 2, p.shape[0] / 2), angle, 1.0)
    return cv2.warpAffine(p, matrix, (p.shape[1], p.shape[0]))


def crop(p, s, rng):
    f = {"mild": 0.05, "moderate": 0.1, "strong": 0.2}[s]
    h, w = p.shape
    dy, dx = int(h * f * rng.random()), int(w * f * rng.random())
    return p[dy : h - int(h * f) + dy, dx : w - int(w * f) + dx]


def inversion(p, s, rng):
    """T1 <-> T2-like remapping: a blend towards the inverted head intensities."""
    mix = {"mild": 0.15, "moderate": 0.3, "strong": 1.0}[s]
    head = p > np.percentile(p, 30)
    inverted = np.where(head, p.max() - p + p[head].min(), p) if head.any() else p
    return (1 - mix) * p + mix * inverted


SHIFTS = {f.__name__: f for f in (gamma, contrast, bias_field, blur, noise, jpeg, resample, rotation, crop, inversion)}


def shifted(scans, shift, strength):
    """Every scan under one shift; the random draws are seeded per condition, so reruns and
    other models see exactly the same shifted scans."""
    rng = np.random.default_rng(0)
    return [np.clip(shift(p.astype(np.float32), strength, rng), 0, None).astype(np.float32) for p in scans]


def accuracy(classifier, pixel_list, labels):
    """The classifier's accuracy on raw scans (its own preprocessing), in batches of 64."""
    predictions = []
    for start in range(0, len(pixel_list), 64):
        predictions += classifier.predict_pixels(pixel_list[start : start + 64])
    return float(np.mean([classifier.classes.index(p.label) == y for p, y in zip(predictions, labels)]))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--model", default=None)
    parser.add_argument("--update-card", action="store_true")
    args = parser.parse_args()

    from core.classifier import Classifier
    from core.io import load_scan
    from core.modelcard import write_card

    classifier = Classifier.load(args.model)
    files = test_files(per_class=args.per_class)
    labels = np.array([classifier.classes.index(f.split("/")[-2]) for f in files])
    scans = [load_scan(f).pixels for f in files]

    clean = accuracy(classifier, scans, labels)
    rows, card_table = [], {"clean": clean}
    for name, shift in SHIFTS.items():
        row = [name]
        for strength in STRENGTHS:
            acc = accuracy(classifier, shifted(scans, shift, strength), labels)
            card_table[f"{name}/{strength}"] = acc
            row.append(f"{acc:.3f} ({(acc - clean) * 100:+.1f})")
        rows.append(row)
    table = markdown_table(rows, ["shift", *STRENGTHS])
    print(f"clean accuracy on this sample: {clean:.3f}\n{table}")
    append_results(
        f"Robustness to synthetic shifts (bench_robustness.py, {len(files)} test scans, clean {clean:.3f})",
        table,
        "Cells: accuracy (change in points vs clean). Target: moderate column within -3 points.",
    )
    if args.update_card:
        card = dict(classifier.card.data)
        card["robustness"] = {"sample": len(files), "accuracy": card_table,
                              "note": "synthetic shifts applied before preprocessing; see benchmarks/bench_robustness.py"}
        write_card(classifier.card.path, card)
    return 0


if __name__ == "__main__":
    sys.exit(main())
