"""Do the maps point at the tumour? Scored against expert masks, explaining the TRUE class.

    .venv/bin/python benchmarks/bench_localisation.py [--model FILE] [--limit N] [--layer NAME]
        [--methods gradcam,gradcam++,ig] [--json OUT] [--append]

Data: the ``split == test`` rows with a mask of ``../shared/data/tcga-lgg`` (glioma; T1,
T1 post-contrast, FLAIR) and ``../shared/data/tiantan-pituitary`` (pituitary; T1
post-contrast), manifest paths relative to each source's folder. These rows are held out:
this script only evaluates; nothing (method, layer, smoothing, threshold) is chosen on it.

Per scan and method, with the map on the scan's pixel grid (what the window shows):

- **pointing game**: the map's maximum lies inside the mask dilated by 5 px (a disk). An
  empty map (no positive evidence for the true class) is a miss.
- **heat in mask**: the share of the map's total heat inside the (undilated) mask, against
  the **mask's share of the head** (the head as the engine masks heat to it, on the scan
  grid). A map spread at random over the head gets a ratio of about 1; the issue's target
  is >= 3. ``ratio`` = mean heat share / mean mask share over the scans (stable for tiny
  masks); ``median ratio``: the median of the per-scan ratios.

Reported per source, and per sequence for tcga-lgg; ``correct`` is how often the model's
predicted class is the true one (the maps explain the true class either way).
``--limit N`` takes N rows per source, evenly spaced through the manifest (patients and
slices spread alike); default: all of them.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time

from common import ROOT, append_results, markdown_table

import numpy as np  # noqa: E402

SOURCES = {"tcga-lgg": "glioma", "tiantan-pituitary": "pituitary"}
DEFAULT_METHODS = ("gradcam", "gradcam++", "ig")
DILATION_PX = 5


def data_root() -> str:
    return os.path.abspath(os.environ.get("SHARED_DATA", os.path.join(ROOT, "..", "shared", "data")))


def test_rows(root: str, source: str, limit: int | None) -> list[dict]:
    manifest = os.path.join(root, source, "manifest.csv")
    if not os.path.exists(manifest):
        sys.exit(f"{manifest} not found; set SHARED_DATA to the folder holding {', '.join(SOURCES)}")
    with open(manifest, newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["split"] == "test" and r["mask"]]
    if limit is not None and limit < len(rows):
        rows = [rows[int(i)] for i in np.linspace(0, len(rows) - 1, limit).round()]
    return rows


def read_mask(path: str, shape) -> np.ndarray:
    import cv2
    from PIL import Image

    mask = np.asarray(Image.open(path).convert("L")) > 0
    if mask.shape != tuple(shape):  # a mask must match its slice; resize (nearest) if a source differs
        mask = cv2.resize(mask.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST) > 0
    return mask


def dilate(mask: np.ndarray, radius: int = DILATION_PX) -> np.ndarray:
    import cv2

    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel) > 0


def head_on_scan(classifier, pixels) -> np.ndarray:
    """The head as the engine keeps heat to it (``gradcam.maps.head_mask``), on the scan grid."""
    from gradcam.maps import head_mask

    batch, geometries = classifier.preprocess([pixels])
    return geometries[0].to_scan_grid(head_mask(batch[0])) > 0.5


def score(heat: np.ndarray, mask: np.ndarray, near: np.ndarray, head: np.ndarray) -> dict:
    total = float(heat.sum())
    inside_head = head | mask
    mask_share = float(mask.sum()) / max(float(inside_head.sum()), 1.0)
    if total <= 0:
        return {"hit": False, "empty": True, "heat_share": 0.0, "mask_share": mask_share}
    peak = np.unravel_index(int(np.argmax(heat)), heat.shape)
    return {
        "hit": bool(near[peak]),
        "empty": False,
        "heat_share": float(heat[mask].sum()) / total,
        "mask_share": mask_share,
    }


def summarise(items: list[dict]) -> dict:
    n = len(items)
    heat = [i["heat_share"] for i in items]
    share = [i["mask_share"] for i in items]
    ratios = [h / s for h, s in zip(heat, share) if s > 0]
    mean_share = statistics.fmean(share) if share else 0.0
    return {
        "n": n,
        "pointing": sum(i["hit"] for i in items) / n if n else 0.0,
        "heat_in_mask": statistics.fmean(heat) if heat else 0.0,
        "mask_of_head": mean_share,
        "ratio": (statistics.fmean(heat) / mean_share) if mean_share > 0 else 0.0,
        "median_ratio": statistics.median(ratios) if ratios else 0.0,
        "empty": sum(i["empty"] for i in items),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="a .keras model with its card (default: bundled)")
    parser.add_argument("--limit", type=int, default=None, help="rows per source, evenly spaced (default: all)")
    parser.add_argument("--layer", default=None,
                        help="target layer for the CAMs (default: the last spatial layer, as the app uses)")
    parser.add_argument("--methods", default=",".join(DEFAULT_METHODS))
    parser.add_argument("--json", dest="json_out", default=None, help="write the summary and every scan's scores")
    parser.add_argument("--append", action="store_true", help="append the table to benchmarks/RESULTS.md")
    args = parser.parse_args()
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())

    from core.classifier import Classifier
    from core.io import load_scan
    from gradcam.engine import CAMEngine

    classifier = Classifier.load(args.model)
    missing = [c for c in SOURCES.values() if c not in classifier.classes]
    if missing:
        sys.exit(f"the model has no class {missing}")
    engine = CAMEngine(classifier, target_layer=args.layer, methods=methods)
    root = data_root()
    per_scan = []
    started = time.perf_counter()
    for source, true_class in SOURCES.items():
        rows = test_rows(root, source, args.limit)
        for k, row in enumerate(rows):
            scan = load_scan(os.path.join(root, source, row["path"]))
            mask = read_mask(os.path.join(root, source, row["mask"]), scan.pixels.shape[:2])
            near, head = dilate(mask), head_on_scan(classifier, scan.pixels)
            result = engine.explain(scan.pixels, true_class, methods=methods)
            for method in methods:
                per_scan.append({
                    "source": source, "sequence": row["sequence"], "path": row["path"], "method": method,
                    "correct": result.prediction.label == true_class, "predicted": result.prediction.label,
                    **score(result.heatmaps[method], mask, near, head),
                })
            if (k + 1) % 25 == 0:
                print(f"{source}: {k + 1} / {len(rows)}", file=sys.stderr)
    seconds = time.perf_counter() - started

    groups = []
    for source in SOURCES:
        groups.append((source, "all", lambda r, s=source: r["source"] == s))
        if source == "tcga-lgg":
            for sequence in sorted({r["sequence"] for r in per_scan if r["source"] == source}):
                groups.append((source, sequence,
                               lambda r, s=source, q=sequence: r["source"] == s and r["sequence"] == q))
    summary, rows = [], []
    for source, sequence, keep in groups:
        chosen = [r for r in per_scan if keep(r)]
        first = [r for r in chosen if r["method"] == methods[0]]
        correct = sum(r["correct"] for r in first) / len(first) if first else 0.0
        for method in methods:
            s = summarise([r for r in chosen if r["method"] == method])
            summary.append({"source": source, "sequence": sequence, "method": method, "correct": correct, **s})
            rows.append([source, sequence, s["n"], f"{correct:.0%}", method, f"**{s['pointing']:.0%}**",
                         f"{s['heat_in_mask']:.1%}", f"{s['mask_of_head']:.1%}", f"**{s['ratio']:.2f}x**",
                         f"{s['median_ratio']:.2f}x", s["empty"]])
    table = markdown_table(rows, ["source", "sequence", "scans", "correct", "method", "pointing game",
                                  "heat in mask", "mask / head", "ratio", "median ratio", "empty maps"])
    print(table)
    model_name = f"{classifier.name} (sha256 {classifier.checksum[:12]}…)"
    layer = engine.layer_name
    note = (f"Model {model_name}; CAM target layer `{layer}`; explaining the true class; "
            f"{'all test rows with a mask' if args.limit is None else f'{args.limit} test rows per source, evenly spaced'}; "
            f"pointing game: map maximum inside the mask dilated by {DILATION_PX} px; {seconds:.0f} s. "
            "Targets (issue 17): pointing >= 85 % on both sources, ratio >= 3x.")
    print(note)
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as handle:
            json.dump({"model": classifier.name, "sha256": classifier.checksum, "layer": layer,
                       "limit": args.limit, "methods": methods, "summary": summary, "scans": per_scan},
                      handle, indent=1)
    if args.append:
        append_results("Localisation against expert tumour masks (test rows)", table, note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
