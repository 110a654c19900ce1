"""How predictive are non-anatomical cues? (issue: learn tumours, not the dataset's sources)

    python -m training.shortcuts --data DIR [--model FILE] [--out FILE.json]

1. Train a small classifier on file/source features alone (size, aspect, colour
   mode, format, JPEG quantisation, border statistics, histogram shape) and
   report its accuracy. A high number means the labels can be guessed without
   looking at any anatomy.
2. With --model: the model's accuracy on test images whose head region has been
   blanked (only background and borders remain). Chance is ~25-31 %; anything far
   above it means the model reads the frame, not the brain.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
from PIL import Image

from core.io import load_scan
from core.preprocess import head_bounding_box
from training.data import class_names, list_split

FEATURES = [
    "width", "height", "aspect", "is_rgb_mode", "is_png", "jpeg_q_luma_mean",
    "border_mean", "border_std", "p1", "p50", "p99", "dark_fraction", "entropy",
]


def source_features(path: str) -> list[float]:
    with Image.open(path) as image:
        width, height = image.size
        mode, fmt = image.mode, image.format
        tables = getattr(image, "quantization", None) or {}
    luma_q = float(np.mean(tables[0])) if 0 in tables else 0.0
    pixels = load_scan(path).pixels
    h, w = pixels.shape
    band = max(1, int(0.05 * min(h, w)))
    border = np.concatenate([pixels[:band].ravel(), pixels[-band:].ravel(), pixels[:, :band].ravel(), pixels[:, -band:].ravel()])
    hist, _ = np.histogram(pixels, bins=64, range=(0, 256))
    p = hist / max(1, hist.sum())
    entropy = float(-(p[p > 0] * np.log2(p[p > 0])).sum())
    p1, p50, p99 = np.percentile(pixels, [1, 50, 99])
    return [
        width, height, width / height, float(mode in ("RGB", "RGBA", "P")), float(fmt == "PNG"), luma_q,
        float(border.mean()), float(border.std()), p1, p50, p99, float((pixels < 10).mean()), entropy,
    ]


def feature_table(data_dir, split, names):
    paths, labels = list_split(data_dir, split, names)
    return np.array([source_features(p) for p in paths]), labels, paths


def head_removed(pixels: np.ndarray, method: str) -> np.ndarray:
    """The scan with its head bounding box (as ``method``, the model's preprocessing, finds it)
    filled with the background level."""
    x0, y0, x1, y1 = head_bounding_box(pixels, method)
    out = pixels.copy()
    out[y0:y1, x0:x1] = float(np.percentile(pixels, 1))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.shortcuts")
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", help="also measure the model on head-removed test images")
    parser.add_argument("--out", help="write the numbers as JSON here")
    parser.add_argument("--update-card", action="store_true", help="store the numbers in the model's card")
    args = parser.parse_args(argv)

    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import cross_val_score

    names = class_names(args.data)
    x_train, y_train, _ = feature_table(args.data, "Training", names)
    x_test, y_test, test_paths = feature_table(args.data, "Testing", names)
    forest = RandomForestClassifier(n_estimators=200, random_state=0, n_jobs=2)
    # Training/ images were downscaled (longer side capped at 256), so pixel sizes
    # differ between the splits: also report 5-fold CV within the original Testing files.
    cv_all = cross_val_score(forest, x_test, y_test, cv=5).mean()
    no_size = [i for i, f in enumerate(FEATURES) if f not in ("width", "height")]
    forest.fit(x_train[:, no_size], y_train)
    train_to_test = float((forest.predict(x_test[:, no_size]) == y_test).mean())
    forest.fit(x_test, y_test)
    importances = dict(sorted(zip(FEATURES, map(float, forest.feature_importances_)), key=lambda kv: -kv[1]))
    results = {
        "source_feature_classifier": {
            "features": FEATURES,
            "testing_5fold_cv_accuracy": float(cv_all),
            "train_on_training_test_on_testing_accuracy_without_pixel_size": train_to_test,
            "feature_importance": importances,
            "chance_accuracy": float(np.bincount(y_test).max() / len(y_test)),
        }
    }
    if args.model:
        from core.classifier import Classifier

        classifier = Classifier.load(args.model)
        correct = 0
        for start in range(0, len(test_paths), 64):
            chunk = test_paths[start : start + 64]
            predictions = classifier.predict_pixels([head_removed(load_scan(p).pixels, classifier.preprocessing) for p in chunk])
            correct += sum(names.index(p.label) == y for p, y in zip(predictions, y_test[start : start + 64]))
        results["model_accuracy_head_removed"] = correct / len(test_paths)
    print(json.dumps(results, indent=2))
    if args.update_card and args.model:
        from core.modelcard import write_card

        write_card(classifier.card.path, dict(classifier.card.data, shortcut_analysis=results))
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as handle:
            json.dump(results, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
