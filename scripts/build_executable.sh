#!/usr/bin/env bash
# Build the stand-alone app with PyInstaller: dist/NeuroScanCAM/NeuroScanCAM (onedir).
#
#   bash scripts/build_executable.sh
#
# Works from a clean checkout: makes .venv-bundle from requirements.txt (the app's
# requirements: no TensorFlow) plus PyInstaller, then runs `pyinstaller --noconfirm
# --clean build.spec` and prints the bundle's size. Needs the exported model in
# models/ (brain_tumor_classifier.tflite + .json). Builds for the system it runs on; on Windows run it from Git Bash,
# or run the two commands at the end by hand (see README, "Building the executable").
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
# A virtual environment of its own, from the app's requirements alone (no TensorFlow):
# PyInstaller can only bundle what is installed, so the bundle holds what the app needs.
VENV="${BUNDLE_VENV:-.venv-bundle}"
if [ -x "$VENV/bin/python" ]; then
    VENV_PY="$VENV/bin/python"
elif [ -x "$VENV/Scripts/python.exe" ]; then
    VENV_PY="$VENV/Scripts/python.exe"  # Windows (Git Bash)
else
    echo "creating $VENV with $PYTHON" >&2
    "$PYTHON" -m venv "$VENV"
    VENV_PY="$VENV/bin/python"
    [ -x "$VENV_PY" ] || VENV_PY="$VENV/Scripts/python.exe"
fi
# Installs nothing when everything is already there at the pinned versions.
"$VENV_PY" -m pip install --quiet --disable-pip-version-check -r requirements.txt \
    "$(grep -E '^pyinstaller==' requirements-training.txt | cut -d' ' -f1)"
if "$VENV_PY" -c "import tensorflow" 2>/dev/null; then
    echo "error: TensorFlow is installed in $VENV; the bundle is built without it (remove $VENV)" >&2
    exit 1
fi

APP_NAME="$("$VENV_PY" -c 'from core.version import APP_NAME; print(APP_NAME)')"
for needed in models/brain_tumor_classifier.tflite models/brain_tumor_classifier.json; do
    if [ ! -f "$needed" ]; then
        echo "error: $needed is missing; export the model first (python -m training export models/brain_tumor_classifier.keras)" >&2
        exit 1
    fi
done

started=$(date +%s)
"$VENV_PY" -m PyInstaller --noconfirm --clean --log-level WARN build.spec
elapsed=$(( $(date +%s) - started ))

BUNDLE="dist/$APP_NAME"
if [ ! -d "$BUNDLE" ]; then
    echo "error: PyInstaller did not produce $BUNDLE" >&2
    exit 1
fi
echo "built $BUNDLE in ${elapsed}s"
du -sh "$BUNDLE"
