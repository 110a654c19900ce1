"""Cold start and GUI memory, measured under Xvfb.

    .venv/bin/python benchmarks/bench_startup.py [--runs 5] [--scans 20] [--exe dist/NeuroScanCAM/NeuroScanCAM]

1. launch -> window visible: `python main.py` started as a user would, the window
   found with `xdotool search --sync` (targets: <= 1 s; frozen app <= 3 s with --exe).
2. launch -> model ready: the same window, timestamps printed by a driver script.
3. peak RSS of the GUI after opening N real test scans one after another (target <= 1 GB),
   and the longest gap between 10 ms `after()` ticks while it works (target <= 100 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

from common import ROOT, append_results, markdown_table, test_files

DRIVER = textwrap.dedent(
    """
    import json, sys, time, tkinter as tk
    t0 = float(sys.argv[1])
    from gui.app import App
    from gui.recent import RecentFiles
    root = tk.Tk()
    app = App(root, recent=RecentFiles(sys.argv[2]))
    root.update()
    window = time.time() - t0
    while app.model is None and not app.model_error:
        root.update(); time.sleep(0.002)
    ready = time.time() - t0
    scans = json.loads(sys.argv[3])
    ticks = []
    def tick():
        ticks.append(time.perf_counter()); root.after(10, tick)
    root.after(10, tick)
    per_scan = []
    for path in scans:
        opened = time.perf_counter()
        app.open_scan(path)
        while app.busy or app.analysis is None or app.loaded is None or app.loaded.scan.path != path:
            root.update(); time.sleep(0.002)
            if not app.busy and app.analysis is not None and app.loaded is not None and app.loaded.scan.path == path:
                break
        per_scan.append((time.perf_counter() - opened) * 1000)
    gaps = [(b - a) * 1000 for a, b in zip(ticks, ticks[1:])]
    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]
    print(json.dumps({"window_s": window, "ready_s": ready, "error": app.model_error,
                      "peak_rss_mb": int(hwm) / 1024, "max_gap_ms": max(gaps) if gaps else None,
                      "first_scan_ms": per_scan[0], "later_scans_ms": sorted(per_scan[1:])[len(per_scan[1:]) // 2]}))
    app.close()
    """
)


def ensure_display():
    if os.environ.get("DISPLAY"):
        return None
    if not shutil.which("Xvfb"):
        sys.exit("needs a display or Xvfb (apt-get install xvfb xdotool)")
    proc = subprocess.Popen(["Xvfb", ":95", "-screen", "0", "1280x800x24"], stderr=subprocess.DEVNULL)
    os.environ["DISPLAY"] = ":95"
    time.sleep(1.0)
    return proc


def time_to_window(command, title="NeuroScanCAM", timeout=30) -> float:
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--name", title],
                       timeout=timeout, capture_output=True, check=True)
        return time.perf_counter() - started
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scans", type=int, default=20)
    parser.add_argument("--exe", help="also time a frozen executable")
    args = parser.parse_args()
    xvfb = ensure_display()
    try:
        python = os.path.join(ROOT, ".venv", "bin", "python")
        python = python if os.path.exists(python) else sys.executable
        rows = []
        runs = [time_to_window([python, "main.py"]) for _ in range(args.runs)]
        rows.append([f"python main.py: launch -> window visible (median of {args.runs})", f"{statistics.median(runs):.2f} s", "target <= 1 s"])
        if args.exe:
            frozen = [time_to_window([os.path.abspath(args.exe)]) for _ in range(args.runs)]
            rows.append([f"frozen app: launch -> window visible (median of {args.runs})", f"{statistics.median(frozen):.2f} s", "target <= 3 s"])
        scans = test_files(per_class=max(1, args.scans // 4))
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run(
                [python, "-c", DRIVER, repr(time.time()), os.path.join(tmp, "recent.json"), json.dumps(scans)],
                cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True, text=True, timeout=600,
            )
        report = json.loads(out.stdout.strip().splitlines()[-1])
        rows += [
            ["python main.py (driver): launch -> window", f"{report['window_s']:.2f} s", ""],
            ["python main.py (driver): launch -> model ready", f"{report['ready_s']:.2f} s", "target <= 5 s"],
            ["first scan after model ready: open -> result shown", f"{report['first_scan_ms']:.0f} ms", ""],
            ["later scans: open -> result shown (median)", f"{report['later_scans_ms']:.0f} ms", ""],
            [f"GUI peak RSS after opening {len(scans)} scans", f"{report['peak_rss_mb']:.0f} MB", "target <= 1 GB"],
            ["longest gap between 10 ms after() ticks while analysing", f"{report['max_gap_ms']:.0f} ms", "target <= 100 ms"],
        ]
        table = markdown_table(rows, ["measure", "value", "target"])
        print(table)
        append_results("Startup and GUI memory under Xvfb (bench_startup.py)", table)
    finally:
        if xvfb:
            xvfb.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
