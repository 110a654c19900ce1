"""CAMEngine.explain per scan for the method sets the app and the CLI use (the bundled model, LiteRT).

    .venv/bin/python benchmarks/bench_engine_methods.py

60 Kaggle test scans (every 20th), read once; per set: one warm-up, then the median and 90th
percentile of explain (preprocess, the passes each method's layer needs, the maps). The window's
default set (LayerCAM at block_13_expand_relu, Grad-CAM and Grad-CAM++ at out_relu) needs two passes.
"""

from __future__ import annotations

import glob
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import data_dir  # noqa: E402

from core.classifier import Classifier  # noqa: E402
from core.io import load_scan  # noqa: E402
from gradcam.engine import CAMEngine  # noqa: E402


def main() -> int:
    classifier = Classifier.load()
    paths = sorted(glob.glob(os.path.join(data_dir(), "Testing", "*", "*.jpg")))[::20][:60]
    scans = [load_scan(p).pixels.astype(np.float32) for p in paths]
    for methods in (("gradcam", "gradcam++"), ("layercam",), None):
        engine = CAMEngine(classifier, methods=methods)
        engine.explain(scans[0])
        times = []
        for scan in scans:
            started = time.perf_counter()
            engine.explain(scan)
            times.append((time.perf_counter() - started) * 1000)
        print(f"{' + '.join(engine.default_methods)}: median {np.median(times):.1f} ms, "
              f"p90 {np.percentile(times, 90):.1f} ms ({len(scans)} scans)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
