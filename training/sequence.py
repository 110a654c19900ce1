"""Fit the sequence probe (core.sequence) for a trained model and count its training scans per class x sequence.

    python -m training.sequence --data DIR [--model FILE] [--update-card]

Labelled scans: the manifest sources' training part (T1, T1 post-contrast, FLAIR), plus the same
scans with the head's intensities inverted, labelled "t2-like" (no source here has T2; an inverted
T1 looks more like a T2 than like anything else the probe knows). A logistic regression on the
model's penultimate features (standardised) is fitted on the training part and scored on the
validation part (whole groups). It then estimates the sequence of the scans whose source does not
label it (Kaggle), and the card records the counts per class and sequence that the app warns from.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from core.modelcard import sha256_of
from training.data import DEFAULT_CACHE_DIR
from training.sources import UNLABELLED_SEQUENCE

T2_LIKE = "t2-like"


def inverted_inputs(images: np.ndarray) -> np.ndarray:
    """Rank-normalised model inputs with the head's order reversed (the rank of the inverse)."""
    x = images.astype(np.float32)
    n = np.maximum((x > 0).sum(axis=(1, 2, 3), keepdims=True), 1)
    return np.where(x > 0, 1.0 - x + 1.0 / n, 0.0).astype(np.float32)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.sequence")
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", default=None)
    parser.add_argument("--update-card", action="store_true")
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR)
    args = parser.parse_args(argv)

    from sklearn.linear_model import LogisticRegression

    from core.modelcard import write_card
    from core.sequence import SequenceProbe
    from training.multisource import model_and_training_data

    classifier, names, data = model_and_training_data(args.model, args.data, args.cache_dir)
    card = classifier.card.data

    def features(images):
        return np.concatenate([classifier.logits_and_features(images[i : i + 256].astype(np.float32))[1]
                               for i in range(0, len(images), 256)])

    labelled = data.sequences != UNLABELLED_SEQUENCE
    parts = {}
    for part, idx in (("train", data.train_idx), ("validation", data.val_idx)):
        idx = idx[labelled[idx]]
        x = np.concatenate([features(data.images[idx]), features(inverted_inputs(data.images[idx]))])
        y = np.concatenate([data.sequences[idx], np.full(len(idx), T2_LIKE)])
        parts[part] = (x, y)
    x_train, y_train = parts["train"]
    mean, scale = x_train.mean(axis=0), x_train.std(axis=0) + 1e-6
    fit = LogisticRegression(C=0.05, max_iter=3000).fit((x_train - mean) / scale, y_train)
    probe = SequenceProbe(fit.coef_, fit.intercept_, mean, scale, list(fit.classes_))
    x_val, y_val = parts["validation"]
    predicted = np.array(probe.names)[probe.probabilities(x_val).argmax(1)]
    per_sequence = {s: float((predicted[y_val == s] == s).mean()) for s in probe.names if np.any(y_val == s)}

    # Counts per class x sequence over everything the model trained on: labelled sequences as
    # given, the others (Kaggle) as the probe estimates them.
    estimated = data.sequences.copy()
    unlabelled = np.nonzero(~labelled)[0]
    if len(unlabelled):
        probs = probe.probabilities(features(data.images[unlabelled]))
        estimated[unlabelled] = np.array(probe.names)[probs.argmax(1)]
    counts = {n: {s: int(np.sum((data.labels[data.train_idx] == c) & (estimated[data.train_idx] == s)))
                  for s in probe.names} for c, n in enumerate(names)}
    probe_name = os.path.splitext(os.path.basename(classifier.model_path))[0] + ".sequence.npz"
    probe_path = os.path.join(os.path.dirname(classifier.model_path), probe_name)
    probe.save(probe_path)
    result = {
        "file": probe_name,
        "sha256": sha256_of(probe_path),
        "sequences": probe.names,
        "method": "logistic regression (C=0.05) on the standardised penultimate features; T1/T1c/FLAIR from the "
        "manifest sources' training part, 't2-like' = the same scans with the head's intensities inverted",
        "validation_accuracy": float((predicted == y_val).mean()),
        "validation_recall_per_sequence": per_sequence,
        "validation_scans": int(len(y_val)),
        "training_counts": counts,
        "training_counts_note": "training scans per class x sequence: manifest sources as labelled, Kaggle as "
        "estimated by this probe (its README: tumours mostly T1 post-contrast, normals mixed)",
    }
    print(json.dumps(result, indent=2))
    if args.update_card:
        write_card(classifier.card.path, dict(card, sequence_probe=result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
