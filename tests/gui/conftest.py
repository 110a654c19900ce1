"""GUI test fixtures: a display (Xvfb when none is set), a tiny model, real or synthetic scans.

Tests that need a window take the ``display`` fixture; without a display and
without Xvfb they are skipped with the reason. Pure-logic tests need neither.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time

import numpy as np
import pytest
from PIL import Image

from tests.conftest import dataset_dir, save_with_card, tiny_classifier_model

XVFB_SCREEN = "1280x800x24"


def _start_xvfb():
    """Start Xvfb on :99 (or the next free number); return (process, display) or (None, reason)."""
    xvfb = shutil.which("Xvfb")
    if not xvfb:
        return None, "no DISPLAY and Xvfb is not on PATH (apt-get install xvfb)"
    for number in range(99, 120):
        if os.path.exists(f"/tmp/.X{number}-lock"):
            continue  # another server (perhaps a stale one) owns this number
        proc = subprocess.Popen(
            [xvfb, f":{number}", "-screen", "0", XVFB_SCREEN, "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            if os.path.exists(f"/tmp/.X11-unix/X{number}"):
                return proc, f":{number}"
            time.sleep(0.05)
        proc.kill()
        proc.wait()
    return None, "Xvfb did not start"


def _tk_works() -> str | None:
    import tkinter as tk

    last = None
    for _ in range(20):  # the socket can appear a moment before the server accepts clients
        try:
            root = tk.Tk()
            root.destroy()
            return None
        except tk.TclError as err:
            last = str(err)
            time.sleep(0.1)
    return last


@pytest.fixture(scope="session")
def display():
    started = None
    previous = os.environ.get("DISPLAY")
    if not previous:
        started, result = _start_xvfb()
        if started is None:
            pytest.skip(f"GUI tests need a display: {result}")
        os.environ["DISPLAY"] = result
    problem = _tk_works()
    if problem:
        pytest.skip(f"GUI tests need a display: Tk cannot open {os.environ['DISPLAY']} ({problem})")
    yield os.environ["DISPLAY"]
    if started is not None:
        started.terminate()
        try:
            started.wait(5)
        except subprocess.TimeoutExpired:
            started.kill()
        if previous is None:
            os.environ.pop("DISPLAY", None)


@pytest.fixture(scope="session", autouse=True)
def private_config(tmp_path_factory):
    """Every window of the test run keeps its settings and recent list in a throwaway folder,
    never in the user's ~/.config (windows opened in subprocesses inherit it too)."""
    folder = tmp_path_factory.mktemp("xdg_config")
    previous = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("XDG_CONFIG_HOME", None)
    else:
        os.environ["XDG_CONFIG_HOME"] = previous


@pytest.fixture(scope="session")
def gui_model_path(tmp_path_factory):
    """A tiny untrained compact-Xception with its card (``trained: false``), built once per session."""
    return save_with_card(tiny_classifier_model(), tmp_path_factory.mktemp("gui_model"), name="tiny-gui", trained=False)


def _synthetic_scan(path, seed: int) -> str:
    """A head-like greyscale image: black field, bright ellipse, a brighter blob placed by ``seed``."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:256, :256]
    img = ((((yy - 128) / 100.0) ** 2 + ((xx - 128) / 85.0) ** 2) < 1).astype(np.float32) * 110
    cy, cx = rng.integers(80, 176, size=2)
    img += 120 * np.exp(-(((yy - cy) / 14.0) ** 2 + ((xx - cx) / 14.0) ** 2))
    img += rng.normal(0, 4, img.shape)
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
    return str(path)


@pytest.fixture(scope="session")
def scan_paths(tmp_path_factory):
    """Two different scans: real test images when $BRAIN_MRI_DATA is set, else synthetic ones."""
    root = dataset_dir()
    if root:
        first = sorted(glob.glob(os.path.join(root, "Testing", "meningioma", "*.jpg")))
        second = sorted(glob.glob(os.path.join(root, "Testing", "glioma", "*.jpg")))
        if first and second:
            return first[0], second[0]
    folder = tmp_path_factory.mktemp("synthetic_scans")
    return _synthetic_scan(folder / "synthetic_a.png", 1), _synthetic_scan(folder / "synthetic_b.png", 2)


@pytest.fixture(scope="module")
def app(display, gui_model_path, tmp_path_factory):
    """One real window per test module (IDLE's pattern), with the tiny model loaded and fake dialogs."""
    import tkinter as tk

    from gui.app import App
    from gui.recent import RecentFiles
    from gui.settings import Settings
    from tests.gui.helpers import FakeDialogs, pump_until

    root = tk.Tk()
    config = tmp_path_factory.mktemp("config")
    recent = RecentFiles(str(config / "recent.json"))
    window = App(root, model_path=gui_model_path, dialogs=FakeDialogs(), recent=recent,
                 settings=Settings(str(config / "settings.json")))
    pump_until(root, lambda: window.model is not None or window.model_error, 90, "the model to load")
    assert window.model is not None, window.model_error
    yield window
    window.close()  # no-op when a test already closed it
