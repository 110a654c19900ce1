"""Evaluation metrics (scikit-learn where it has them) and temperature scaling."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

ECE_BINS = 15


def softmax(logits, temperature=1.0):
    z = np.asarray(logits, np.float64) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(logits, labels, temperature=1.0) -> float:
    probs = softmax(logits, temperature)
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, 1.0))))


def fit_temperature(logits, labels) -> float:
    """The temperature minimising validation NLL (golden-section search over log T)."""
    lo, hi = np.log(0.05), np.log(20.0)
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(80):
        a = hi - ratio * (hi - lo)
        b = lo + ratio * (hi - lo)
        if nll(logits, labels, np.exp(a)) < nll(logits, labels, np.exp(b)):
            hi = b
        else:
            lo = a
    return float(np.exp((lo + hi) / 2))


def expected_calibration_error(probs, labels, bins=ECE_BINS):
    """ECE over equal-width confidence bins; also returns the per-bin table for the diagram."""
    probs = np.asarray(probs)
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == np.asarray(labels)).astype(float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece, table = 0.0, []
    for i in range(bins):
        upper_ok = confidence <= edges[i + 1] if i == bins - 1 else confidence < edges[i + 1]
        in_bin = (confidence >= edges[i]) & upper_ok
        if in_bin.any():
            gap = abs(correct[in_bin].mean() - confidence[in_bin].mean())
            ece += in_bin.mean() * gap
            table.append((edges[i], edges[i + 1], int(in_bin.sum()), float(confidence[in_bin].mean()), float(correct[in_bin].mean())))
    return float(ece), table


def classification_metrics(probs, labels, class_names) -> dict:
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels)
    predicted = probs.argmax(axis=1)
    label_ids = list(range(len(class_names)))
    report = skm.classification_report(
        labels, predicted, labels=label_ids, target_names=class_names, output_dict=True, zero_division=0
    )
    try:
        auc = skm.roc_auc_score(labels, probs, multi_class="ovr", labels=label_ids)
    except ValueError:
        auc = float("nan")  # a class absent from this subset
    ece, _ = expected_calibration_error(probs, labels)
    return {
        "n": int(len(labels)),
        "accuracy": float(skm.accuracy_score(labels, predicted)),
        "macro_f1": float(skm.f1_score(labels, predicted, average="macro", labels=label_ids, zero_division=0)),
        "mcc": float(skm.matthews_corrcoef(labels, predicted)),
        "roc_auc_ovr": float(auc),
        "ece": ece,
        "per_class": {
            name: {k: float(report[name][k]) for k in ("precision", "recall", "f1-score", "support")}
            for name in class_names
        },
        "confusion_matrix": skm.confusion_matrix(labels, predicted, labels=label_ids).tolist(),
    }
