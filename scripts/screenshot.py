"""Take docs/screenshot.png: the real window with a real scan and its LayerCAM overlay.

Needs a display (scripts/screenshot.sh provides Xvfb); captures with Pillow's ImageGrab
(else ImageMagick's ``import``, or ``xwd`` + ``convert``). ``scripts/screenshots.py`` takes
all the documentation's screenshots. Also prints how long the Tk loop ever paused while
the real model loaded and explained the scan.

    python scripts/screenshot.py SCAN [OUT] [--model PATH] [--method layercam]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tkinter as tk

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from gui.app import App  # noqa: E402
from gui.recent import RecentFiles  # noqa: E402
from gui.settings import Settings  # noqa: E402


def pump_until(root, predicate, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        root.update()
        if predicate():
            return
        time.sleep(0.01)
    raise SystemExit(f"timed out after {timeout} s")


def grab(root: tk.Tk, out: str, window=None) -> None:
    """Capture the screen area of ``window`` (default: the main window, menu bar included; placed at
    +0+0, no window manager). Pillow's ImageGrab (XCB) when it can, else ImageMagick's ``import``."""
    window = window or root
    window.update()
    x, y = window.winfo_rootx(), window.winfo_rooty()
    width, height = window.winfo_width(), window.winfo_height()
    if window is root:  # the menu bar sits above the root's client area
        width, height, x, y = x + width, y + height, 0, 0
    try:
        from PIL import ImageGrab

        ImageGrab.grab(bbox=(x, y, x + width, y + height), xdisplay=os.environ.get("DISPLAY")).save(out)
        return
    except (ImportError, OSError):
        pass
    crop = f"{width}x{height}+{x}+{y}"
    if shutil.which("import"):
        subprocess.run(["import", "-window", "root", "-crop", crop, "+repage", out], check=True)
    else:
        xwd = subprocess.run(["xwd", "-silent", "-root"], check=True, capture_output=True).stdout
        subprocess.run(["convert", "xwd:-", "-crop", crop, "+repage", out], input=xwd, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scan")
    parser.add_argument("out", nargs="?", default=os.path.join(ROOT, "docs", "screenshot.png"))
    parser.add_argument("--model", help="default: the bundled model in models/")
    parser.add_argument("--method", default="layercam", choices=("layercam", "gradcam", "gradcam++"))
    parser.add_argument("--size", default="1280x770", help="window size (the menu bar adds ~30 px)")
    args = parser.parse_args()

    root = tk.Tk()
    # A throwaway recent list and settings: a screenshot must not touch the user's own.
    work = tempfile.mkdtemp()
    app = App(root, model_path=args.model, recent=RecentFiles(os.path.join(work, "recent.json")),
              settings=Settings(os.path.join(work, "settings.json")))
    root.geometry(f"{args.size}+0+0")
    ticks = []

    def tick():
        ticks.append(time.perf_counter())
        root.after(10, tick)

    tick()
    started = time.perf_counter()
    pump_until(root, lambda: app.model is not None or app.model_error, 180)
    if app.model is None:
        raise SystemExit(f"model did not load: {app.model_error}")
    model_s = time.perf_counter() - started
    load_gap = max(b - a for a, b in zip(ticks, ticks[1:], strict=False)) * 1000
    ticks.clear()
    app.vars.method.set(args.method)
    app.open_scan(args.scan)
    pump_until(root, lambda: app.analysis is not None and not app.busy, 120)
    tick_gap = max(b - a for a, b in zip(ticks, ticks[1:], strict=False)) * 1000
    end = time.monotonic() + 1.0  # let the resize debounce and the final paint happen
    while time.monotonic() < end:
        root.update()
        time.sleep(0.01)
    prediction = app.analysis.prediction
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    grab(root, args.out)
    print(
        f"{args.out}: {os.path.basename(args.scan)} -> {prediction.label} {prediction.confidence:.1%}; "
        f"model loaded in {model_s:.1f} s; Tk loop max pause {load_gap:.0f} ms while loading, "
        f"{tick_gap:.0f} ms while analysing ({app.status.timing_var.get()})"
    )
    app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
