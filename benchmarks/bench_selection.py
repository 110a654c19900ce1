"""Pick the model to bundle by the rule fixed in RESULTS.md: validation accuracy, clean and shifted.

    .venv/bin/python benchmarks/bench_selection.py MODEL.keras [MODEL.keras ...]

Every model sees the same raw validation scans (Training's near-duplicate-group split, seed and
fraction from the first model's card), clean and under each bench_robustness shift at moderate and
strong strength, each through its own card's preprocessing. Testing/ is never read.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
from bench_robustness import SHIFTS, accuracy, shifted
from common import append_results, data_dir, markdown_table

STRENGTHS = ("moderate", "strong")
ELIGIBLE_WITHIN = 0.005  # clean validation accuracy: one binomial standard error at 98 % on ~690 scans
TIE_WITHIN = 0.001


def choose(results: dict) -> str:
    """results: name -> {"clean": acc, condition: acc, ...}. Returns the chosen name (the rule in RESULTS.md)."""
    best_clean = max(r["clean"] for r in results.values())
    eligible = {n: r for n, r in results.items() if r["clean"] >= best_clean - ELIGIBLE_WITHIN - 1e-12}
    mean = {n: float(np.mean(list(r.values()))) for n, r in eligible.items()}
    top = max(mean.values())
    close = [n for n in eligible if mean[n] >= top - TIE_WITHIN - 1e-12]
    return max(close, key=lambda n: (results[n]["clean"], mean[n]))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="+")
    args = parser.parse_args()

    from core.classifier import Classifier
    from core.io import load_scan
    from training.data import DEFAULT_CACHE_DIR, class_names, split_seed_of, validation_split_paths

    classifiers = {path: Classifier.load(path) for path in args.models}
    first = next(iter(classifiers.values()))
    config = first.card.data["training"]["config"]
    for path, classifier in classifiers.items():
        other = classifier.card.data["training"]["config"]
        if (split_seed_of(other), other["validation_fraction"]) != (split_seed_of(config), config["validation_fraction"]):
            sys.exit(f"{path} was validated on a different split; the comparison would not be fair")
    names = class_names(data_dir())
    paths, labels = validation_split_paths(data_dir(), names, first.input_size, DEFAULT_CACHE_DIR,
                                           config["validation_fraction"], split_seed_of(config))
    scans = [load_scan(p).pixels.astype(np.float32) for p in paths]
    print(f"{len(paths)} validation scans")

    conditions = {"clean": None} | {f"{n}/{s}": (f, s) for n, f in SHIFTS.items() for s in STRENGTHS}
    # Each model's labels in its own class order (the cards' orders normally agree).
    model_labels = {p: [c.classes.index(names[y]) for y in labels] for p, c in classifiers.items()}
    results = {path: {} for path in classifiers}
    for condition, shift in conditions.items():
        pixel_list = scans if shift is None else shifted(scans, *shift)
        for path, classifier in classifiers.items():
            results[path][condition] = accuracy(classifier, pixel_list, model_labels[path])
        print(condition, " ".join(f"{results[p][condition]:.4f}" for p in classifiers), flush=True)

    chosen = choose(results)
    short = {p: os.path.basename(os.path.dirname(os.path.abspath(p))) for p in classifiers}  # one folder per run
    headers = ["condition", *(short[p] for p in classifiers)]
    rows = [[c, *(f"{results[p][c]:.4f}" for p in classifiers)] for c in conditions]
    rows.append(["**mean of 21**", *(f"{np.mean(list(results[p].values())):.4f}" for p in classifiers)])
    table = markdown_table(rows, headers)
    print(table, f"\nchosen: {short[chosen]}", sep="\n")
    append_results(
        f"Model selection on validation (bench_selection.py, {len(paths)} validation scans)",
        table,
        f"Rule (fixed before run C, see above): eligible if clean accuracy >= best - {ELIGIBLE_WITHIN * 100:g} points; "
        f"highest mean of the 21 conditions wins. **Chosen: {short[chosen]}**. Testing/ was not read.",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
