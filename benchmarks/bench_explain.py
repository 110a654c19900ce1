"""``explain`` over a folder: marginal cost per scan, writes included.

    .venv/bin/python benchmarks/bench_explain.py [--method both] [--repeats 3] [--model FILE] [--append]

Marginal cost = (time for 50 scans - time for 10 scans) / 40 (wall clock; also the
process's CPU time, all threads, which another job on the machine inflates less), each a whole
``explain`` command run in this process (``cli.run_cli``: model load,
graph tracing, every scan read, explained, its overlay PNG and raw ``.npy``
written); the model load and tracing cancel out in the difference. Median of
``--repeats`` runs of each. The scans are the first of the test split's classes
in turn (the same 50 every run). Also printed: where the time of one scan goes
(read, explain, overlay, PNG encode + write, ``.npy``), median over the 50 scans, one stage
after another (``explain`` itself overlaps the writes with the next scan on writer threads).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import tempfile
import time

from common import append_results, markdown_table, test_files

import numpy as np  # noqa: E402

TARGET_MS = 25.0


def scans(count: int) -> list[str]:
    by_class: dict[str, list[str]] = {}
    for path in test_files():
        by_class.setdefault(os.path.basename(os.path.dirname(path)), []).append(path)
    chosen, index = [], 0
    while len(chosen) < count:
        for files in by_class.values():
            if index < len(files) and len(chosen) < count:
                chosen.append(files[index])
        index += 1
    return chosen


def run_explain(paths, method, model) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process: every thread, TensorFlow's included)."""
    from cli import run_cli

    with tempfile.TemporaryDirectory() as out:
        argv = ["explain", *paths, "--out-dir", out, "--method", method] + (["--model", model] if model else [])
        started, cpu = time.perf_counter(), time.process_time()
        with contextlib.redirect_stdout(io.StringIO()):
            code = run_cli(argv)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    if code != 0:
        raise SystemExit(f"explain exited {code}")
    return seconds, cpu


def breakdown(paths, method, model) -> dict:
    """Per-stage milliseconds of one scan, as ``explain`` does it (median over ``paths``)."""
    from core.classifier import Classifier
    from core.io import load_scan
    from gradcam.engine import CAMEngine
    from gradcam.overlay import overlay

    try:
        from cli import explain_methods, save_overlay_png
    except ImportError:  # before the fast explain: Pillow at its default level
        from PIL import Image

        explain_methods = None

        def save_overlay_png(rgb, path, *_args):
            Image.fromarray(rgb).save(path)

    classifier = Classifier.load(model)
    methods = explain_methods(method) if explain_methods else (("gradcam", "gradcam++") if method == "both" else (method,))
    engine = CAMEngine(classifier, methods=tuple(m for m in methods if m != "ig"))
    stages = {k: [] for k in ("read", "explain", "overlay", "png", "npy")}
    with tempfile.TemporaryDirectory() as out:
        for i, path in enumerate(paths):
            t0 = time.perf_counter()
            scan = load_scan(path)
            t1 = time.perf_counter()
            result = engine.explain(scan.pixels, methods=methods) if explain_methods else engine.explain(scan.pixels)
            t2 = time.perf_counter()
            maps = result.relative_heatmaps if hasattr(result, "relative_heatmaps") else result.heatmaps
            display = scan.display_uint8()
            rgbs = {m: overlay(display, maps[m]) for m in methods}
            t3 = time.perf_counter()
            for m in methods:
                save_overlay_png(rgbs[m], os.path.join(out, f"{i}.{m}.png"), "jet", "peak")
            t4 = time.perf_counter()
            raw = result.raw_heatmaps if hasattr(result, "raw_heatmaps") else result.heatmaps
            for m in methods:
                np.save(os.path.join(out, f"{i}.{m}.npy"), raw[m].astype(np.float32))
            t5 = time.perf_counter()
            if i:  # the first scan traces graphs
                for key, a, b in (("read", t0, t1), ("explain", t1, t2), ("overlay", t2, t3), ("png", t3, t4),
                                  ("npy", t4, t5)):
                    stages[key].append((b - a) * 1000)
    return {k: statistics.median(v) for k, v in stages.items()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--method", default="both")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", default=None)
    parser.add_argument("--label", default="", help="what this run measures (e.g. 'before')")
    parser.add_argument("--append", action="store_true", help="append the table to benchmarks/RESULTS.md")
    args = parser.parse_args()

    paths = scans(50)
    run_explain(paths[:2], args.method, args.model)  # warm the imports
    runs10, runs50 = [], []
    for _ in range(args.repeats):
        runs10.append(run_explain(paths[:10], args.method, args.model))
        runs50.append(run_explain(paths, args.method, args.model))
    small, large = [r[0] for r in runs10], [r[0] for r in runs50]
    t10, t50 = statistics.median(small), statistics.median(large)
    marginal = (t50 - t10) / 40 * 1000
    cpu = (statistics.median(r[1] for r in runs50) - statistics.median(r[1] for r in runs10)) / 40 * 1000
    stages = breakdown(paths, args.method, args.model)
    rows = [
        [f"explain --method {args.method}, 10 scans (median of {args.repeats})", f"{t10:.2f} s", ""],
        [f"explain --method {args.method}, 50 scans (median of {args.repeats})", f"{t50:.2f} s", ""],
        ["**marginal per scan** = (t50 - t10) / 40", f"**{marginal:.1f} ms**", f"<= {TARGET_MS:.0f} ms"],
        ["marginal CPU time per scan (all threads)", f"{cpu:.1f} ms", ""],
    ]
    rows += [[f"one scan, one stage at a time: {k}", f"{v:.1f} ms", ""] for k, v in stages.items()]
    table = markdown_table(rows, ["measure", "value", "target"])
    print(table)
    if args.append:
        notes = (f"{args.label + ': ' if args.label else ''}`benchmarks/bench_explain.py --method {args.method}`; "
                 f"runs: 10 scans {', '.join(f'{s:.2f}' for s in small)} s; 50 scans "
                 f"{', '.join(f'{s:.2f}' for s in large)} s; load average at the end "
                 f"{os.getloadavg()[0]:.1f} (other jobs share the 2 cores).")
        append_results(f"explain marginal cost per scan ({args.method})", table, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
