"""Deletion check on the bundled model: blank the hottest 20 % vs a random 20 % of the input.

    .venv/bin/python benchmarks/bench_faithfulness.py [--sample 100] [--fraction 0.2]

Target: blanking the top 20 % of either map lowers the predicted-class
probability at least twice as much as blanking a random 20 %.
"""

from __future__ import annotations

import argparse
import statistics
import sys

import numpy as np
from common import append_results, markdown_table, test_files


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sample", type=int, default=100)
    parser.add_argument("--fraction", type=float, default=0.2)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()

    from core.classifier import Classifier
    from core.io import load_scan
    from gradcam.engine import CAMEngine
    from gradcam.faithfulness import deletion_drops

    classifier = Classifier.load(args.model)
    engine = CAMEngine(classifier, methods=("gradcam", "gradcam++", "layercam"))
    rng = np.random.default_rng(0)
    drops = {"gradcam": [], "gradcam++": [], "layercam": [], "random": []}
    for path in test_files(per_class=max(1, args.sample // 4)):
        pixels = load_scan(path).pixels
        result = engine.explain(pixels)
        batch, _ = classifier.preprocess([pixels])
        target = classifier.classes.index(result.target_class)
        grid = int(engine.passes.run(batch).activations.shape[1])  # the target layer's grid
        drops_here = deletion_drops(classifier, batch[0], result.input_heatmaps, target, args.fraction, rng, grid)
        for name, value in drops_here.items():
            drops[name].append(value)
    random_mean = statistics.mean(drops["random"])
    rows = [
        [name, f"{statistics.mean(v):.3f}", f"{statistics.median(v):.3f}",
         "" if name == "random" else f"{statistics.mean(v) / max(random_mean, 1e-9):.1f}x"]
        for name, v in drops.items()
    ]
    table = markdown_table(rows, ["blanked pixels", "mean drop in p(predicted)", "median drop", "vs random"])
    print(table)
    append_results(
        f"Grad-CAM faithfulness, deletion of {args.fraction:.0%} (bench_faithfulness.py, {len(drops['random'])} test scans)",
        table,
        "Blanked pixels are set to 0 (the background level after preprocessing). Random: the top pixels of a random "
        "map drawn on the same CAM grid and upsampled the same way (random regions of the same area). Target: >= 2x random.",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
