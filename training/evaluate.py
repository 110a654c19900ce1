"""Evaluate a model on Testing/: the full split and the leak-free subset, side by side.

Runs the app's own path (core.io.load_scan -> core.Classifier), so the numbers
are what users get.
"""

from __future__ import annotations

import json
import os

import numpy as np

from core.classifier import Classifier
from core.io import load_scan
from core.modelcard import write_card
from training.data import class_names, leak_free_test_indices, list_split, load_split
from training.dedup import dhash_bits
from training.metrics import classification_metrics, expected_calibration_error


def predict_files(classifier: Classifier, paths, batch_size=64, progress=True):
    from tqdm import tqdm

    logits, bits = [], []
    for start in tqdm(range(0, len(paths), batch_size), desc="evaluating", unit="batch", disable=not progress):
        scans = [load_scan(p) for p in paths[start : start + batch_size]]
        batch, _ = classifier.preprocess([s.pixels for s in scans])
        logits.append(classifier.logits(batch))
        bits.extend(dhash_bits(s.pixels) for s in scans)
    return np.concatenate(logits), np.stack(bits)


def evaluate(data_dir, model_path, report_dir=None, cache_dir=None, update_card=False, run_dir=None,
             split="Testing") -> dict:
    """Evaluate on ``data_dir/<split>/<class>/``.

    An external set (other hospitals, other sequences) only needs that layout:
    ``--split .`` reads ``data_dir/<class>/``; without a Training/ folder beside
    it the leak-free subset is the whole set.
    """
    classifier = Classifier.load(model_path)
    names = classifier.classes
    split_dir = os.path.normpath(os.path.join(data_dir, split))
    present = sorted(d for d in os.listdir(split_dir) if os.path.isdir(os.path.join(split_dir, d)))
    if not set(present) <= set(names):
        raise ValueError(f"folders {present} in {split_dir} are not all among the model's classes {names}")
    paths, labels = list_split(data_dir, split, names)
    logits, test_bits = predict_files(classifier, paths)
    probs = classifier.probabilities(logits)

    if os.path.isdir(os.path.join(data_dir, "Training")):
        train = load_split(data_dir, "Training", class_names(data_dir), classifier.input_size, cache_dir,
                           progress=False, method=classifier.preprocessing)

        class _Bits:  # leak_free_test_indices needs objects with .hash_bits
            hash_bits = test_bits

        leak_free = leak_free_test_indices(_Bits, train)
    else:
        leak_free = np.arange(len(labels))
    results = {
        "full_test": classification_metrics(probs, labels, names),
        "leak_free_test": classification_metrics(probs[leak_free], labels[leak_free], names),
        "leak_free_definition": "Testing images whose 256-bit dHash is more than 8 bits from every Training image",
    }
    _print_summary(results)
    if report_dir:
        os.makedirs(report_dir, exist_ok=True)
        with open(os.path.join(report_dir, "metrics.json"), "w") as handle:
            json.dump(results, handle, indent=2)
        from training.report import write_plots

        write_plots(report_dir, probs, labels, leak_free, names, run_dir)
    if update_card:
        card = dict(classifier.card.data)
        card["metrics"] = {
            key: {k: v for k, v in results[key].items() if k != "per_class"} | {"per_class_f1": {n: results[key]["per_class"][n]["f1-score"] for n in names}}
            for key in ("full_test", "leak_free_test")
        }
        card["metrics"]["leak_free_definition"] = results["leak_free_definition"]
        write_card(classifier.card.path, card)
    return results


def _print_summary(results):
    full, free = results["full_test"], results["leak_free_test"]
    print(f"{'metric':<12}{'full test':>12}{'leak-free':>12}")
    for key in ("n", "accuracy", "macro_f1", "mcc", "roc_auc_ovr", "ece"):
        a, b = full[key], free[key]
        fmt = "{:>12d}" if key == "n" else "{:>12.4f}"
        print(f"{key:<12}" + fmt.format(a) + fmt.format(b))


__all__ = ["evaluate", "expected_calibration_error"]
