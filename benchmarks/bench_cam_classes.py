"""Do the maps depend on the class explained? Predicted class vs runner-up, per method.

    .venv/bin/python benchmarks/bench_cam_classes.py [--sample 100] [--model PATH]

For each test scan (the same per-class sample as the other benchmarks), explain
the predicted class and the runner-up (second most probable) class, and take
the Pearson correlation of the two maps:

- ``grid``: the per-map stretched maps on the target layer's grid (the method alone);
- ``scan``: the maps the window and ``explain`` show, on the scan's pixel grid,
  over the head's crop box (the same pixels for every version of the engine).

A method whose two maps correlate near 1 shows the same picture whatever class
is asked for; the issue's target is a mean <= 0.5, or the method is not offered
for a non-predicted class (``class_specific = False`` on the method class).
Also printed where the engine provides it: the runner-up map's peak relative to
the predicted class's (the honest scale), median over the scans.
"""

from __future__ import annotations

import argparse
import statistics
import sys

import numpy as np
from common import markdown_table, test_files

METHODS = ("gradcam", "gradcam++", "layercam")


def correlation(a: np.ndarray, b: np.ndarray) -> float | None:
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    if a.std() < 1e-12 or b.std() < 1e-12:
        return None  # an empty (all-zero) or flat map: no correlation defined
    return float(np.corrcoef(a, b)[0, 1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sample", type=int, default=100)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()

    from core.classifier import Classifier
    from core.io import load_scan
    from gradcam.engine import CAMEngine

    classifier = Classifier.load(args.model)
    engine = CAMEngine(classifier, methods=METHODS)
    grid = {m: [] for m in METHODS}
    scan = {m: [] for m in METHODS}
    relative = {m: [] for m in METHODS}
    undefined = {m: 0 for m in METHODS}
    files = test_files(per_class=max(1, args.sample // 4))
    for path in files:
        pixels = load_scan(path).pixels
        batch, geometries = classifier.preprocess([pixels])
        logits = classifier.logits(batch)[0]
        predicted, runner_up = (int(i) for i in np.argsort(-logits)[:2])
        p_pred = engine.passes.run(batch, [predicted])
        p_next = engine.passes.run(batch, [runner_up])
        first = engine.explain(pixels)
        second = engine.explain(pixels, classifier.classes[runner_up])
        x0, y0, x1, y1 = geometries[0].crop
        for name, method in engine.methods.items():
            r_grid = correlation(method.cam_from_pass(p_pred)[0][0], method.cam_from_pass(p_next)[0][0])
            r_scan = correlation(first.heatmaps[name][y0:y1, x0:x1], second.heatmaps[name][y0:y1, x0:x1])
            for store, value in ((grid, r_grid), (scan, r_scan)):
                if value is None:
                    undefined[name] += 1
                else:
                    store[name].append(value)
            peaks = getattr(second, "relative_peak", None)
            if peaks is not None:
                relative[name].append(peaks[name])

    def mean(values):
        return f"{statistics.mean(values):.2f}" if values else "-"

    def spread(values):
        return f"{min(values):.2f} .. {max(values):.2f}" if values else "-"

    rows = []
    for name in METHODS:
        flag = getattr(engine.methods[name], "class_specific", None)
        rows.append([
            name, mean(grid[name]), mean(scan[name]), spread(scan[name]),
            f"{statistics.median(relative[name]):.3f}" if relative[name] else "-",
            "-" if flag is None else ("yes" if flag else "no (not offered)"),
            undefined[name],
        ])
    headers = ["method", "mean r, grid", "mean r, scan", "r range, scan", "runner-up peak / predicted's (median)",
               "class-specific", "undefined r"]
    print(f"{len(files)} test scans, model {classifier.name}, target layer {engine.layer_name}")
    print(markdown_table(rows, headers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
