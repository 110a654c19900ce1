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


# --multisource (issue 16's rule, RESULTS.md 2026-12-01): score = 2/3 mean cell recall clean
# + 1/3 on head-inverted copies; eligible with Kaggle validation accuracy >= 97 %; ties within
# 0.5 points go to the lower validation ECE.
MIN_CELL = 15
KAGGLE_BAR = 0.97
SCORE_TIE = 0.005


def validation_cells(paths, shared, names):
    """Per validation path: (source, class name, sequence) from the manifests' train rows; Kaggle otherwise."""
    from training.sources import load_manifest, manifest_sources

    known = {os.path.abspath(s.path): (s.source, names[s.label], s.sequence)
             for folder in manifest_sources(os.path.join(shared, "data")) for s in load_manifest(folder, names, "train")}
    out = []
    for path in paths:
        norm = os.path.abspath(path)
        out.append(known.get(norm) or ("kaggle", os.path.basename(os.path.dirname(norm)), "unlabelled"))
    return out


def cell_keys(cells):
    """Cells with fewer than MIN_CELL scans merge into their source x class."""
    from collections import Counter

    counts = Counter(cells)
    return [f"{s}/{c}/{q}" if counts[(s, c, q)] >= MIN_CELL else f"{s}/{c}/all" for s, c, q in cells]


def cell_recalls(classifier, conditions: dict, cells, keys) -> dict:
    """condition -> (recall per cell key, calibrated probabilities, correct per scan) of one model on
    each condition's list of raw scans (its own card's preprocessing, batches of 128)."""
    labels = np.array([classifier.classes.index(c) for _, c, _ in cells])
    per = {}
    for name, pixel_list in conditions.items():
        logits = np.concatenate([classifier.logits(classifier.preprocess(pixel_list[i:i + 128])[0])
                                 for i in range(0, len(pixel_list), 128)])
        probs = classifier.probabilities(logits)
        correct = probs.argmax(1) == labels
        recall = {k: float(correct[[i for i, kk in enumerate(keys) if kk == k]].mean()) for k in sorted(set(keys))}
        per[name] = (recall, probs, correct)
    return per


def choose_multisource(results: dict, apply_bar: bool = False) -> str:
    """results: name -> {"score", "kaggle_accuracy", "ece"}; the rule in RESULTS.md. Amendment 2
    (2026-12-01) reports the Kaggle bar instead of applying it (``apply_bar`` keeps the first form)."""
    eligible = {n: r for n, r in results.items() if r["kaggle_accuracy"] >= KAGGLE_BAR or not apply_bar}
    if not eligible:
        raise SystemExit("no candidate is eligible (Kaggle validation accuracy below the bar)")
    top = max(r["score"] for r in eligible.values())
    close = [n for n, r in eligible.items() if r["score"] >= top - SCORE_TIE - 1e-12]
    return min(close, key=lambda n: eligible[n]["ece"])


# --stripped (issue 23's candidate-F rule, RESULTS.md 2026-12-08 00:21): score = 1/2 clean + 1/4
# inverted + 1/4 skull-stripped mean cell recall; the challenger (second model) replaces the bundled
# one (first) only with a score 0.5 points higher, Kaggle validation accuracy at most 1 point lower
# and mean tcga-lgg notumor recall at most 3 points lower. Sources the first model never trained on
# (its card's sources) are reported, not scored.
STRIPPED_WEIGHTS = {"clean": 0.5, "inverted": 0.25, "stripped": 0.25}
CHALLENGER_MARGIN = 0.005
KAGGLE_DROP = 0.01
NOTUMOR_DROP = 0.03


def challenger_wins(bundled: dict, challenger: dict) -> tuple[bool, list]:
    """(whether the challenger replaces the bundled model, the reasons) by the candidate-F rule."""
    reasons = []
    if challenger["score"] < bundled["score"] + CHALLENGER_MARGIN - 1e-12:
        reasons.append(f"score {challenger['score']:.4f} is not {CHALLENGER_MARGIN * 100:g} points above {bundled['score']:.4f}")
    if challenger["kaggle_accuracy"] < bundled["kaggle_accuracy"] - KAGGLE_DROP - 1e-12:
        reasons.append("Kaggle validation accuracy more than 1 point lower")
    if challenger["lgg_notumor"] < bundled["lgg_notumor"] - NOTUMOR_DROP - 1e-12:
        reasons.append("tcga-lgg notumor recall more than 3 points lower")
    return not reasons, reasons


def stripped_main(models, validation_json, shared) -> int:
    """Candidate-F rule: ``models`` = [bundled, challenger], the challenger's validation.json."""
    import json

    from bench_generalisation import head_inverted, skull_stripped
    from core.classifier import Classifier
    from core.io import load_scan
    from training.metrics import expected_calibration_error

    if len(models) != 2:
        raise SystemExit("--stripped compares two models: the bundled one, then the challenger")
    with open(validation_json) as handle:
        paths = json.load(handle)["paths"]
    bundled = Classifier.load(models[0])
    seen = {"kaggle", *(os.path.basename(os.path.normpath(s)) for s in bundled.card.data["training"]["config"]["sources"])}
    cells = validation_cells(paths, shared, bundled.classes)
    keys = cell_keys(cells)
    scored = np.array([s in seen for s, _, _ in cells])
    raw = [load_scan(p).pixels.astype(np.float32) for p in paths]
    conditions = {"clean": raw, "inverted": [head_inverted(p) for p in raw], "stripped": [skull_stripped(p) for p in raw]}
    print(f"{len(paths)} validation scans, {int(scored.sum())} scored, in {len(set(keys))} cells", flush=True)
    results, tables = {}, {}
    for path in models:
        classifier = Classifier.load(path)
        labels = np.array([classifier.classes.index(c) for _, c, _ in cells])
        per = cell_recalls(classifier, conditions, cells, keys)
        scored_keys = sorted({k for k, s in zip(keys, scored) if s})
        mean = {name: float(np.mean([per[name][0][k] for k in scored_keys])) for name in conditions}
        kaggle = np.array([s == "kaggle" for s, _, _ in cells])
        lgg_notumor = [k for k in scored_keys if k.startswith("tcga-lgg/notumor/")]
        results[path] = {
            "score": sum(STRIPPED_WEIGHTS[n] * mean[n] for n in conditions),
            **{f"mean_{n}": mean[n] for n in conditions},
            "kaggle_accuracy": float(per["clean"][2][kaggle].mean()),
            "lgg_notumor": float(np.mean([per["clean"][0][k] for k in lgg_notumor])),
            "ece": expected_calibration_error(per["clean"][1][scored], labels[scored])[0],
        }
        tables[path] = per
        print(path, results[path], flush=True)
    wins, reasons = challenger_wins(results[models[0]], results[models[1]])
    short = {p: os.path.basename(os.path.dirname(os.path.abspath(p))) for p in models}
    rows = [[k + ("" if k.split("/")[0] in seen else " (not scored)"),
             *(" / ".join(f"{tables[p][n][0][k]:.3f}" for n in conditions) for p in models)] for k in sorted(set(keys))]
    for field in ("mean_clean", "mean_inverted", "mean_stripped", "score", "kaggle_accuracy", "lgg_notumor", "ece"):
        rows.append([f"**{field}**" if field == "score" else field, *(f"{results[p][field]:.4f}" for p in models)])
    table = markdown_table(rows, ["cell: recall clean / inverted / skull-stripped", *(short[p] for p in models)])
    verdict = (f"**{short[models[1]]} replaces {short[models[0]]}**" if wins
               else f"**{short[models[0]]} stays** ({'; '.join(reasons)})")
    print(table, verdict, sep="\n")
    append_results(
        f"Issue 23 candidate selection on validation (bench_selection.py --stripped, {len(paths)} scans)",
        table,
        "Rule (RESULTS.md 2026-12-08 00:21, committed before training): score = 1/2 clean + 1/4 inverted + 1/4 "
        "skull-stripped mean cell recall over the sources the bundled model trained on; the challenger needs +0.5 "
        f"points, Kaggle validation accuracy within 1 point, tcga-lgg notumor recall within 3 points. {verdict}. "
        "No test rows were read.",
    )
    return 0


def multisource_main(models, validation_json, shared) -> int:
    import json

    from bench_generalisation import head_inverted
    from core.classifier import Classifier
    from core.io import load_scan
    from training.metrics import expected_calibration_error

    with open(validation_json) as handle:
        paths = json.load(handle)["paths"]
    cells = validation_cells(paths, shared, Classifier.load(models[0]).classes)
    keys = cell_keys(cells)
    scans = [load_scan(p).pixels.astype(np.float32) for p in paths]
    inverted = [head_inverted(p) for p in scans]
    print(f"{len(paths)} validation scans in {len(set(keys))} cells")
    results, tables = {}, {}
    for path in models:
        classifier = Classifier.load(path)
        labels = np.array([classifier.classes.index(c) for _, c, _ in cells])
        per = cell_recalls(classifier, {"clean": scans, "inverted": inverted}, cells, keys)
        kaggle = np.array([s == "kaggle" for s, _, _ in cells])
        results[path] = {
            "score": 2 / 3 * np.mean(list(per["clean"][0].values())) + 1 / 3 * np.mean(list(per["inverted"][0].values())),
            "kaggle_accuracy": float(per["clean"][2][kaggle].mean()),
            "ece": expected_calibration_error(per["clean"][1], labels)[0],
        }
        tables[path] = per
        print(path, results[path], flush=True)
    chosen = choose_multisource(results)
    short = {p: os.path.basename(os.path.dirname(os.path.abspath(p))) for p in models}
    rows = [[k, *(f"{tables[p]['clean'][0][k]:.3f} / {tables[p]['inverted'][0][k]:.3f}" for p in models)]
            for k in sorted(set(keys))]
    rows.append(["**score**", *(f"{results[p]['score']:.4f}" for p in models)])
    rows.append(["Kaggle validation accuracy", *(f"{results[p]['kaggle_accuracy']:.4f}" for p in models)])
    rows.append(["validation ECE (clean)", *(f"{results[p]['ece']:.4f}" for p in models)])
    table = markdown_table(rows, ["cell: recall clean / inverted", *(short[p] for p in models)])
    print(table, f"\nchosen: {short[chosen]}", sep="\n")
    append_results(
        f"Multi-source model selection on validation (bench_selection.py --multisource, {len(paths)} scans)",
        table,
        f"Rule (RESULTS.md, committed before training, amendment 2): score = 2/3 mean cell recall clean + 1/3 inverted; "
        f"the Kaggle bar ({KAGGLE_BAR:.0%}) reported, not applied; ties within {SCORE_TIE * 100:g} points to the lower ECE. "
        f"**Chosen: {short[chosen]}**. No test rows were read.",
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="+")
    parser.add_argument("--multisource", metavar="VALIDATION_JSON",
                        help="issue 16's rule on a multi-source run's validation.json (runs/<run>/validation.json)")
    parser.add_argument("--shared", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
    parser.add_argument("--stripped", action="store_true",
                        help="with --multisource: issue 23's candidate-F rule (clean, inverted and skull-stripped "
                             "validation scans); MODELS = the bundled model, then the challenger")
    args = parser.parse_args()
    if args.multisource and args.stripped:
        return stripped_main(args.models, args.multisource, os.path.abspath(args.shared))
    if args.multisource:
        return multisource_main(args.models, args.multisource, os.path.abspath(args.shared))

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
