"""Report figures (matplotlib, Agg): confusion matrices, ROC curves, reliability diagram, learning curves."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay, RocCurveDisplay  # noqa: E402

from training.metrics import expected_calibration_error  # noqa: E402


def write_plots(report_dir, probs, labels, leak_free_idx, names, run_dir=None):
    subsets = {"full test": np.arange(len(labels)), "leak-free test": leak_free_idx}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    for ax, (title, idx) in zip(axes, subsets.items()):
        ConfusionMatrixDisplay.from_predictions(
            labels[idx], probs[idx].argmax(1), labels=range(len(names)), display_labels=names, ax=ax, colorbar=False
        )
        ax.set_title(f"{title} (n={len(idx)})")
    fig.tight_layout()
    fig.savefig(os.path.join(report_dir, "confusion_matrix.png"), dpi=90)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    for ax, (title, idx) in zip(axes, subsets.items()):
        for c, name in enumerate(names):
            RocCurveDisplay.from_predictions(labels[idx] == c, probs[idx, c], name=name, ax=ax)
        ax.set_title(f"ROC one-vs-rest, {title}")
    fig.tight_layout()
    fig.savefig(os.path.join(report_dir, "roc_curves.png"), dpi=90)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    for ax, (title, idx) in zip(axes, subsets.items()):
        ece, table = expected_calibration_error(probs[idx], labels[idx])
        centres = [(lo + hi) / 2 for lo, hi, *_ in table]
        accuracy = [acc for *_, acc in table]
        ax.bar(centres, accuracy, width=1 / 15, edgecolor="k", alpha=0.7, label="accuracy")
        ax.plot([0, 1], [0, 1], "r--", label="perfect calibration")
        ax.set_xlabel("confidence")
        ax.set_ylabel("accuracy")
        ax.set_title(f"reliability, {title}: ECE {ece:.3%}")
        ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(os.path.join(report_dir, "reliability.png"), dpi=90)
    plt.close(fig)

    csv_path = os.path.join(run_dir, "epochs.csv") if run_dir else None
    if csv_path and os.path.exists(csv_path):
        data = np.genfromtxt(csv_path, delimiter=",", names=True)
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        epochs = np.arange(1, len(np.atleast_1d(data["loss"])) + 1)
        for ax, key in zip(axes, ("loss", "accuracy")):
            ax.plot(epochs, np.atleast_1d(data[key]), label=f"train {key}")
            ax.plot(epochs, np.atleast_1d(data[f"val_{key}"]), label=f"validation {key}")
            ax.set_xlabel("epoch")
            ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(report_dir, "learning_curves.png"), dpi=90)
        plt.close(fig)
