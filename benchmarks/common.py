"""Shared benchmark plumbing: machine description, data location, appending to RESULTS.md."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
RESULTS = os.path.join(ROOT, "benchmarks", "RESULTS.md")


def data_dir() -> str:
    path = os.environ.get("BRAIN_MRI_DATA", os.path.join(ROOT, "..", "shared", "data", "brain-tumor-mri"))
    if not os.path.isdir(os.path.join(path, "Testing")):
        sys.exit(f"dataset not found at {path}; set BRAIN_MRI_DATA")
    return os.path.abspath(path)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name"):
                cpu = line.split(":", 1)[1].strip()
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB RAM, Python {platform.python_version()}"


def test_files(per_class: int | None = None, seed: int = 0):
    import numpy as np

    root = os.path.join(data_dir(), "Testing")
    files = []
    for cls in sorted(os.listdir(root)):
        names = sorted(os.listdir(os.path.join(root, cls)))
        if per_class:
            names = list(np.random.default_rng(seed).choice(names, per_class, replace=False))
        files += [os.path.join(root, cls, n) for n in names]
    return files


def append_results(title: str, table: str, notes: str = "") -> None:
    with open(RESULTS, "a", encoding="utf-8") as handle:
        handle.write(f"\n## {title} — {dt.datetime.now():%Y-%m-%d %H:%M}\n\n")
        handle.write(f"Machine: {machine()}\n\n{table}\n")
        if notes:
            handle.write(f"\n{notes}\n")
    print(f"appended to {os.path.relpath(RESULTS, ROOT)}")


def markdown_table(rows, headers) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
