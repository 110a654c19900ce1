"""Long session: 1,000 scans through the same classifier + CAM path the GUI uses.

    .venv/bin/python benchmarks/bench_long_session.py [--scans 1000]

Reports RSS growth (target <= 50 MB after warm-up) and per-scan time drift.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time

from common import append_results, markdown_table, test_files


def rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scans", type=int, default=1000)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()

    from core.classifier import Classifier
    from core.io import load_scan
    from gradcam.engine import CAMEngine
    from gradcam.overlay import overlay

    classifier = Classifier.load(args.model)
    engine = CAMEngine(classifier)
    files = test_files()
    times, rss = [], []
    targets = [None, *classifier.classes]
    for i in range(args.scans):
        started = time.perf_counter()
        scan = load_scan(files[i % len(files)])
        result = engine.explain(scan.pixels, targets[i % len(targets)])
        display = scan.display_uint8()
        for heatmap in result.heatmaps.values():
            overlay(display, heatmap, 0.4, "jet")
        times.append((time.perf_counter() - started) * 1000)
        if i % 50 == 0 or i == args.scans - 1:
            rss.append((i, rss_mb()))
    warm = [r for i, r in rss if i >= 50]
    first, last = times[50:150], times[-100:]
    rows = [
        ["RSS after 50 scans (warm)", f"{warm[0]:.0f} MB"],
        [f"RSS after {args.scans} scans", f"{rss[-1][1]:.0f} MB"],
        ["RSS growth after warm-up", f"{rss[-1][1] - warm[0]:+.1f} MB (target <= 50 MB)"],
        ["RSS max", f"{max(r for _, r in rss):.0f} MB"],
        ["per-scan time, scans 50-150 (median)", f"{statistics.median(first):.1f} ms"],
        [f"per-scan time, last 100 (median)", f"{statistics.median(last):.1f} ms"],
    ]
    table = markdown_table(rows, ["measure", "value"])
    print(table)
    append_results(
        f"Long session (bench_long_session.py, {args.scans} scans: decode + explain + 2 overlays, targets cycled)", table
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
