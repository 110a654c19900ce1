"""Integrated Gradients: time per scan (warm), on this machine's cores.

    .venv/bin/python benchmarks/bench_ig.py [--sample 40] [--model FILE] [--append]

For each test scan (the same per-class sample as the other benchmarks): the IG part
of ``CAMEngine.explain(..., methods=("ig",))`` (``timings_ms["ig"]``: the batched
32-step pass, the map and its peak), for the predicted class (one target: 32 path
points) and for the runner-up class (the runner-up's map and the predicted class's, for
the relative scale: the same 32 path points, one forward pass, two backward passes). Also the CPU
time of the whole ``explain`` call (all threads). Target (issue 17): <= 150 ms per
scan on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from common import append_results, markdown_table, test_files

import numpy as np  # noqa: E402

TARGET_MS = 150.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sample", type=int, default=40)
    parser.add_argument("--model", default=None)
    parser.add_argument("--append", action="store_true")
    args = parser.parse_args()

    from core.classifier import Classifier
    from core.io import load_scan
    from gradcam.engine import CAMEngine
    from gradcam.integrated_gradients import DEFAULT_STEPS

    classifier = Classifier.load(args.model)
    engine = CAMEngine(classifier)
    files = test_files(per_class=max(1, args.sample // 4))
    scans = [load_scan(p).pixels for p in files]
    engine.explain(scans[0], methods=("ig",))  # trace the graphs
    second = classifier.classes[int(np.argsort(-classifier.logits(classifier.preprocess([scans[0]])[0])[0])[1])]
    engine.explain(scans[0], second, methods=("ig",))
    own, other, cpu_own, cpu_other = [], [], [], []
    for pixels in scans:
        logits = classifier.logits(classifier.preprocess([pixels])[0])[0]
        runner_up = classifier.classes[int(np.argsort(-logits)[1])]
        for target, times, cpus in ((None, own, cpu_own), (runner_up, other, cpu_other)):
            cpu = time.process_time()
            result = engine.explain(pixels, target, methods=("ig",))
            cpus.append((time.process_time() - cpu) * 1000)
            times.append(result.timings_ms["ig"])

    def p90(values):
        return float(np.percentile(values, 90))

    rows = [
        [f"IG, predicted class ({DEFAULT_STEPS} steps, one call)", f"**{statistics.median(own):.0f} ms**",
         f"{p90(own):.0f} ms", f"{statistics.median(cpu_own):.0f} ms", f"<= {TARGET_MS:.0f} ms"],
        [f"IG, runner-up class + predicted for the scale ({DEFAULT_STEPS} steps, one forward, two backward)",
         f"{statistics.median(other):.0f} ms", f"{p90(other):.0f} ms", f"{statistics.median(cpu_other):.0f} ms", ""],
    ]
    table = markdown_table(rows, ["measure", "median", "90th percentile", "CPU (explain call, all threads)",
                                  "target"])
    print(table)
    note = (f"`benchmarks/bench_ig.py --sample {args.sample}`: {len(scans)} test scans, model {classifier.name}; "
            f"{os.cpu_count()} cores; load average at the end {os.getloadavg()[0]:.1f} (other jobs share the cores).")
    print(note)
    if args.append:
        append_results("Integrated Gradients per scan", table, note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
