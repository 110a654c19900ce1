"""Take docs/volume.png and docs/batch.png (plus a per-slice plot) with the bundled model, under xvfb-run:

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python scripts/screenshot_volume_batch.py [OUT_DIR]
"""
import glob, os, sys, tempfile, time, shutil
import numpy as np
import tkinter as tk
from PIL import Image
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT); sys.path.insert(0, os.path.join(ROOT, "scripts"))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "docs")
os.makedirs(OUT, exist_ok=True)
from screenshot import grab, pump_until
from gui.app import App
from gui.recent import RecentFiles
from tests.volumes import make_nifti

data = os.path.join(os.environ.get("BRAIN_MRI_DATA", "/work/shared/data/brain-tumor-mri"), "Testing")
work = tempfile.mkdtemp()
# A NIfTI volume stacked from 12 test JPEGs (4 classes), each 256x256, as axial slices.
files = [sorted(glob.glob(f"{data}/{c}/*.jpg"))[k] for k in range(3) for c in ("notumor", "glioma", "meningioma", "pituitary")]
slices = [np.asarray(Image.open(f).convert("L").resize((256, 256)), dtype=np.float32) for f in files]
vol = np.stack(slices, axis=0)  # (z, rows, cols)
# read_nifti shows slice z as ras[::-1, ::-1, z].T -> store data[x, y, z] = slice[rows=y', cols=x'] flipped back
data_xyz = vol.transpose(2, 1, 0)[::-1, ::-1, :]
nii = make_nifti(os.path.join(work, "demo_stack.nii.gz"), np.ascontiguousarray(data_xyz))
folder = os.path.join(work, "clinic_export")
os.makedirs(os.path.join(folder, "patient_b"))
for i, f in enumerate(files[:9]):
    shutil.copy(f, os.path.join(folder, "patient_b" if i % 3 == 2 else "", os.path.basename(f)))
open(os.path.join(folder, "notes.txt"), "w").write("not a scan")

root = tk.Tk()
app = App(root, recent=RecentFiles(os.path.join(work, "recent.json")))
root.geometry("1280x770+0+0")
pump_until(root, lambda: app.model is not None or app.model_error, 180)
assert app.model is not None, app.model_error
app.vars.method.set("gradcam++")
app.open_scan(nii)
pump_until(root, lambda: app.analysis is not None and not app.busy, 120)
app.set_slice(5)
pump_until(root, lambda: app.analysis is not None and not app.busy, 120)
end = time.monotonic() + 1.0
while time.monotonic() < end:
    root.update(); time.sleep(0.01)
grab(root, os.path.join(OUT, "volume.png"))
print("volume", app.analysis.prediction.label, app.slice_bar.text.get())

app.classify_all_slices()
pump_until(root, lambda: app.slice_predictions is not None and not app.busy, 120)
plot = app.windows["slices"]; plot.geometry("760x440+0+0")
end = time.monotonic() + 1.0
while time.monotonic() < end:
    root.update(); time.sleep(0.01)
import subprocess
subprocess.run(["import", "-window", "root", "-crop", "760x440+0+0", "+repage", os.path.join(OUT, "slices.png")], check=True)
plot.destroy()

app.classify_folder(folder)
pump_until(root, lambda: app.folder_run.done and not app.busy, 120)
win = app.windows["batch"]; win.geometry("1080x420+0+0")
win.sort_by("confidence")
end = time.monotonic() + 1.0
while time.monotonic() < end:
    root.update(); time.sleep(0.01)
subprocess.run(["import", "-window", "root", "-crop", "1080x420+0+0", "+repage", os.path.join(OUT, "batch.png")], check=True)
print(win.rows())
app.close()
