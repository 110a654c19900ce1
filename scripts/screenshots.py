"""Take the documentation's screenshots with the bundled model, in the real window:

    docs/screenshot.png   a meningioma test scan with its Grad-CAM++ overlay
    docs/volume.png       a NIfTI volume (12 test slices) with the per-slice plot below the window
    docs/batch.png        File > Classify folder: the table with its summary line
    docs/model_card.png   Model > Model information

    scripts/screenshot.sh --all                # under a private Xvfb
    python scripts/screenshots.py [OUT_DIR] [--scale 1.5]   # with a display (1280x1240 or more)

``--scale 1.5`` renders at 150 % (Tk scaling), for checking, e.g. into /tmp. Settings and the
recent list are throwaway files: the user's own are never touched.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import sys
import tempfile
import time
import tkinter as tk

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "scripts"))

from core import quiet  # noqa: E402

quiet.install()  # TensorFlow's start-up log off stderr
from screenshot import grab, pump_until  # noqa: E402

from gui.app import App  # noqa: E402
from gui.recent import RecentFiles  # noqa: E402
from gui.settings import Settings  # noqa: E402


def settle(root, seconds=1.0):
    end = time.monotonic() + seconds  # let the resize debounce and the final paint happen
    while time.monotonic() < end:
        root.update()
        time.sleep(0.01)


def stacked_volume(work, testing):
    """A NIfTI volume stacked from 12 test JPEGs (4 classes), 256x256, as axial slices."""
    from tests.volumes import make_nifti

    files = [sorted(glob.glob(f"{testing}/{c}/*.jpg"))[k] for k in range(3)
             for c in ("notumor", "glioma", "meningioma", "pituitary")]
    slices = [np.asarray(Image.open(f).convert("L").resize((256, 256)), dtype=np.float32) for f in files]
    volume = np.stack(slices, axis=0)  # (z, rows, cols)
    # read_nifti shows slice z as ras[::-1, ::-1, z].T: store data[x, y, z] flipped back
    data = np.ascontiguousarray(volume.transpose(2, 1, 0)[::-1, ::-1, :])
    return make_nifti(os.path.join(work, "demo_stack.nii.gz"), data), files


def clinic_folder(work, files):
    folder = os.path.join(work, "clinic_export")
    os.makedirs(os.path.join(folder, "patient_b"))
    for i, f in enumerate(files[:9]):
        shutil.copy(f, os.path.join(folder, "patient_b" if i % 3 == 2 else "", os.path.basename(f)))
    with open(os.path.join(folder, "notes.txt"), "w") as handle:
        handle.write("not a scan")
    photo = np.random.default_rng(7).integers(0, 255, (120, 160, 3), dtype=np.uint8)  # the app abstains
    Image.fromarray(photo).save(os.path.join(folder, "holiday_photo.png"))
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=os.path.join(ROOT, "docs"))
    parser.add_argument("--scale", type=float, default=None, help="display scaling, 1.0 = 100 %%")
    parser.add_argument("--data", default=os.environ.get("BRAIN_MRI_DATA", os.path.join(ROOT, "..", "shared",
                                                                                       "data", "brain-tumor-mri")))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    testing = os.path.join(args.data, "Testing")
    work = tempfile.mkdtemp()

    root = tk.Tk()
    if args.scale:
        root.tk.call("tk", "scaling", args.scale * 96 / 72)
    scale = args.scale or 1.0
    size = lambda w, h: f"{round(w * scale)}x{round(h * scale)}"  # noqa: E731
    app = App(root, recent=RecentFiles(os.path.join(work, "recent.json")),
              settings=Settings(os.path.join(work, "settings.json")))
    root.geometry(f"{size(1280, 770)}+0+0")
    pump_until(root, lambda: app.model is not None or app.model_error, 180)
    if app.model is None:
        raise SystemExit(f"model did not load: {app.model_error}")

    # 1. A tumour scan with its overlay.
    app.vars.method.set("layercam")  # the default overlay
    app.open_scan(os.path.join(testing, "meningioma", "Te-me_0010.jpg"))
    pump_until(root, lambda: app.analysis is not None and not app.busy, 120)
    settle(root)
    grab(root, os.path.join(args.out, "screenshot.png"))
    print("screenshot.png", app.analysis.prediction.label, f"{app.analysis.prediction.confidence:.1%}")

    # 2. A volume, with the per-slice plot placed below the window.
    nifti, files = stacked_volume(work, testing)
    app.open_scan(nifti)
    pump_until(root, lambda: app.analysis is not None and not app.busy, 120)
    app.scans.set_slice(5)
    pump_until(root, lambda: app.analysis is not None and not app.busy, 120)
    app.volumes.classify_all_slices()
    pump_until(root, lambda: app.volumes.slice_predictions is not None and not app.busy, 120)
    plot = app.windows["slices"]
    settle(root, 0.3)
    below = root.winfo_rooty() + root.winfo_height() + round(8 * scale)
    plot.geometry(f"{size(1280, 440)}+0+{below}")
    settle(root)
    whole = (0, 0, root.winfo_rootx() + root.winfo_width(), plot.winfo_rooty() + plot.winfo_height())
    from PIL import ImageGrab

    ImageGrab.grab(bbox=whole, xdisplay=os.environ.get("DISPLAY")).save(os.path.join(args.out, "volume.png"))
    print("volume.png", app.slice_bar.text.get(), app.analysis.prediction.label)
    plot.destroy()

    # 3. The folder table.
    app.batch.classify_folder(clinic_folder(work, files))
    pump_until(root, lambda: app.folder_run.done and not app.busy, 120)
    table = app.windows["batch"]
    table.geometry(f"{size(1080, 440)}+0+0")
    table.sort_by("confidence")
    settle(root)
    grab(root, os.path.join(args.out, "batch.png"), table)
    print("batch.png", table.count_var.get(), "|", table.summary_var.get())
    table.mark_exported("(screenshot)")  # closes without asking
    table.destroy()

    # 4. The model card.
    card = app.models.show_model_info()
    card.geometry(f"{size(820, 700)}+0+0")
    settle(root)
    grab(root, os.path.join(args.out, "model_card.png"), card)
    print("model_card.png", card.title())
    card.destroy()
    app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
