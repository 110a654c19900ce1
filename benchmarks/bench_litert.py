"""Issue 24's figures, before (Keras on TensorFlow) and after (LiteRT), on this machine in one run.

    .venv/bin/python benchmarks/bench_litert.py [--repeats 3] [--no-gui] [--append]

"Before" runs the bundled model's .keras source through TensorFlow (``--model
models/brain_tumor_classifier.keras``), "after" the exported .tflite file the app
ships; every figure is a whole ``main.py`` process, as a user starts it:

- model ready: process start -> the first result of ``predict`` on one scan (median);
- predict: marginal scans/s over the Kaggle test split, (N - 100) / (t(N) - t(100)),
  N = all 1,311 scans, and the peak RSS of the N-scan process (os.wait4);
- Integrated Gradients: ``explain --method ig``, marginal ms per scan (5 vs 25 scans);
- explain both: ``explain --method both``, marginal ms per scan incl. writes (10 vs 210);
  both also as CPU time per scan (all threads), which start-up jitter moves less;
- window: launch -> first result shown (``App`` opened with a scan under Xvfb);
- frozen bundle: size of dist/NeuroScanCAM when present (build it with
  scripts/build_executable.sh; the TensorFlow bundle cannot be rebuilt from this tree).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

from common import ROOT, append_results, markdown_table, test_files

PY = sys.executable
MODELS = {
    "before: Keras on TensorFlow": os.path.join(ROOT, "models", "brain_tumor_classifier.keras"),
    "after: LiteRT": os.path.join(ROOT, "models", "brain_tumor_classifier.tflite"),
}
WINDOW_DRIVER = textwrap.dedent(
    """
    import sys, time, tkinter as tk
    t0 = float(sys.argv[1])
    from gui.app import App
    from gui.recent import RecentFiles
    root = tk.Tk()
    app = App(root, model_path=sys.argv[2], recent=RecentFiles(sys.argv[3]))
    app.open_scan(sys.argv[4])
    while app.analysis is None and not app.model_error:
        root.update(); time.sleep(0.002)
    root.update()
    print(time.time() - t0)
    app.close()
    """
)


def run(argv, env=None) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MB, CPU seconds) of one child process; output discarded, failure fatal."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):  # 1: some scans had warnings or failed, still a full run
        sys.exit(f"{argv[:4]} failed ({proc.returncode}): {proc.stderr.read().decode()[-500:]}")
    return elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def median_run(argv, repeats) -> tuple[float, float, float]:
    runs = [run(argv) for _ in range(repeats)]
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs), statistics.median(r[2] for r in runs)


def marginal(command, files, small, large, repeats) -> tuple[float, float, float]:
    """(wall seconds per scan between ``small`` and ``large`` scans, peak RSS MB of the large run,
    CPU seconds per scan: less moved by start-up jitter and other jobs than the wall clock)."""
    t_small, _, cpu_small = median_run(command(files[:small]), repeats)
    t_large, rss, cpu_large = median_run(command(files[:large]), repeats)
    return (t_large - t_small) / (large - small), rss, (cpu_large - cpu_small) / (large - small)


def window_seconds(model, scan, repeats) -> float | None:
    display = os.environ.get("DISPLAY")
    xvfb = None
    if not display:
        import shutil

        if not shutil.which("Xvfb"):
            return None
        xvfb = subprocess.Popen(["Xvfb", ":96", "-screen", "0", "1280x800x24"], stderr=subprocess.DEVNULL)
        time.sleep(1.0)
    env = dict(os.environ, DISPLAY=display or ":96")
    try:
        times = []
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as tmp:
                out = subprocess.run([PY, "-c", WINDOW_DRIVER, str(time.time()), model, os.path.join(tmp, "r.json"),
                                      scan], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
            times.append(float(out.stdout.strip().splitlines()[-1]))
        return statistics.median(times)
    finally:
        if xvfb:
            xvfb.terminate()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-gui", action="store_true")
    parser.add_argument("--append", action="store_true", help="append the table to benchmarks/RESULTS.md")
    args = parser.parse_args()
    files = test_files()
    # Classes interleaved, so that every prefix holds all four.
    by_class = [[f for f in files if os.sep + c + os.sep in f] for c in ("glioma", "meningioma", "notumor", "pituitary")]
    files = [f for group in zip(*by_class) for f in group] + [f for f in files if f not in set().union(*map(set, zip(*by_class)))]
    main_py = os.path.join(ROOT, "main.py")
    results = {}
    for name, model in MODELS.items():
        print(name, flush=True)
        r = {}
        r["ready"] = median_run([PY, main_py, "predict", files[0], "--model", model], args.repeats)[0]
        predict = lambda fs: [PY, main_py, "predict", *fs, "--model", model]  # noqa: E731
        per_scan, r["rss"], _ = marginal(predict, files, 100, len(files), 1)
        r["scans_per_s"] = 1 / per_scan
        with tempfile.TemporaryDirectory() as tmp:
            def explain(method):
                def command(fs):
                    out = tempfile.mkdtemp(dir=tmp)
                    return [PY, main_py, "explain", *fs, "--method", method, "--out-dir", out, "--model", model]
                return command
            wall, _, cpu = marginal(explain("ig"), files, 5, 25, args.repeats)
            r["ig_ms"], r["ig_cpu_ms"] = wall * 1000, cpu * 1000
            # 200 scans apart: TensorFlow's start-up jitter (+-0.5 s) would swamp 40 scans' difference.
            wall, _, cpu = marginal(explain("both"), files, 10, 210, args.repeats)
            r["both_ms"], r["both_cpu_ms"] = wall * 1000, cpu * 1000
        r["window"] = None if args.no_gui else window_seconds(model, files[0], args.repeats)
        results[name] = r
        print(json.dumps(r), flush=True)
    before, after = results.values()
    bundle = os.path.join(ROOT, "dist", "NeuroScanCAM")
    bundle_mb = None
    if os.path.isdir(bundle):
        from bench_bundle import size_of  # symbolic links count once

        bundle_mb = size_of(bundle) / 2**20

    def fmt(value, pattern):
        return "—" if value is None else pattern.format(value)

    rows = [
        ["model ready (start -> first predict result, one scan)", fmt(before["ready"], "{:.2f} s"),
         fmt(after["ready"], "{:.2f} s"), "<= 1.5 s"],
        [f"predict, marginal over the {len(files)} test scans", fmt(before["scans_per_s"], "{:.0f} scans/s"),
         fmt(after["scans_per_s"], "{:.0f} scans/s"), ">= 600 scans/s"],
        [f"peak RSS of that predict run ({len(files)} scans)", fmt(before["rss"], "{:.0f} MB"),
         fmt(after["rss"], "{:.0f} MB"), "<= 350 MB"],
        ["Integrated Gradients, marginal per scan (explain --method ig; CPU time)",
         f"{before['ig_ms']:.0f} ms ({before['ig_cpu_ms']:.0f} ms)", f"{after['ig_ms']:.0f} ms ({after['ig_cpu_ms']:.0f} ms)",
         "<= 100 ms"],
        ["explain --method both, marginal per scan incl. writes (CPU time)",
         f"{before['both_ms']:.1f} ms ({before['both_cpu_ms']:.1f} ms)",
         f"{after['both_ms']:.1f} ms ({after['both_cpu_ms']:.1f} ms)", "<= 10 ms"],
        ["window: launch -> first result shown", fmt(before["window"], "{:.2f} s"), fmt(after["window"], "{:.2f} s"),
         "<= 1.5 s"],
        ["frozen bundle (dist/NeuroScanCAM)", "1,024 MB (earlier build, TensorFlow inside)", fmt(bundle_mb, "{:.0f} MB"),
         "<= 300 MB"],
    ]
    table = markdown_table(rows, ["figure", "before: Keras on TensorFlow", "after: LiteRT", "target"])
    print(table)
    if args.append:
        append_results("LiteRT vs Keras (issue 24, benchmarks/bench_litert.py)", table,
                       f"Each figure a whole main.py process; medians of {args.repeats} runs (predict's large run: one).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
