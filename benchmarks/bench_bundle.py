"""What each library costs in the frozen bundle (dist/NeuroScanCAM), largest first.

    .venv/bin/python benchmarks/bench_bundle.py [--bundle dist/NeuroScanCAM] [--append]

Groups the files of ``_internal/`` by library: a package folder with its ``.libs``
folder of vendored shared libraries and its top-level extension modules
(``_libjpeg*.so`` belongs to pylibjpeg-libjpeg). Build the bundle first with
scripts/build_executable.sh. Also says whether any TensorFlow or Keras file is inside.
"""

from __future__ import annotations

import argparse
import os
import sys

from common import ROOT, append_results, markdown_table

# Top-level files and folders -> the library they come from (the rest are named as they are).
OWNERS = {
    "opencv_python_headless.libs": "cv2", "numpy.libs": "numpy", "pillow.libs": "PIL",
    "_libjpeg": "pylibjpeg-libjpeg", "libjpeg": "pylibjpeg-libjpeg", "_openjpeg": "pylibjpeg-openjpeg",
    "openjpeg": "pylibjpeg-openjpeg", "_CharLS": "pyjpegls", "jpeg_ls": "pyjpegls",
    "_tcl_data": "Tcl/Tk", "_tk_data": "Tcl/Tk", "tcl8": "Tcl/Tk", "libtcl8.6.so": "Tcl/Tk", "libtk8.6.so": "Tcl/Tk",
    "python3.11": "Python (lib-dynload)", "base_library.zip": "Python (stdlib)", "libpython3.11.so.1.0": "Python",
    "models": "the model (.tflite, card, OOD statistics)",
}


def owner(name: str) -> str:
    stem = name.split(".cpython")[0].split("-")[0]
    if name in OWNERS:
        return OWNERS[name]
    if stem in OWNERS:
        return OWNERS[stem]
    if name.endswith(".dist-info"):
        return "package metadata (.dist-info)"
    if name.startswith("lib") and ".so" in name:
        return "other shared libraries (X11, libstdc++, libcrypto, ...)"
    return name


def size_of(path: str) -> int:
    """Bytes on disk; symbolic links (PyInstaller links vendored libraries to the top) count 0."""
    if os.path.islink(path):
        return 0
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(size_of(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bundle", default=os.path.join(ROOT, "dist", "NeuroScanCAM"))
    parser.add_argument("--append", action="store_true")
    args = parser.parse_args()
    internal = os.path.join(args.bundle, "_internal")
    if not os.path.isdir(internal):
        sys.exit(f"no bundle at {args.bundle}; build it with scripts/build_executable.sh")
    groups = {}
    for name in os.listdir(internal):
        groups[owner(name)] = groups.get(owner(name), 0) + size_of(os.path.join(internal, name))
    executable = sum(size_of(os.path.join(args.bundle, n)) for n in os.listdir(args.bundle) if n != "_internal")
    groups["the executable (Python bytecode of the app and its libraries)"] = executable
    total = sum(groups.values())
    tensorflow = [os.path.join(d, f) for d, _, fs in os.walk(args.bundle) for f in fs
                  if "tensorflow" in f.lower() or "keras" in os.path.join(d, f).lower()]
    rows = [[name, f"{size / 2**20:.1f} MB", f"{size / total:.0%}"]
            for name, size in sorted(groups.items(), key=lambda kv: -kv[1]) if size >= 2**20]
    rows.append(["everything else (under 1 MB each)", f"{sum(s for s in groups.values() if s < 2**20) / 2**20:.1f} MB", ""])
    rows.append(["**total**", f"**{total / 2**20:.0f} MB**", "100%"])
    table = markdown_table(rows, ["library", "size", "share"])
    notes = f"TensorFlow or Keras files inside: {len(tensorflow)}" + (f" (e.g. {tensorflow[0]})" if tensorflow else "")
    print(table + "\n\n" + notes)
    if args.append:
        append_results("Frozen bundle by library (benchmarks/bench_bundle.py)", table, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
