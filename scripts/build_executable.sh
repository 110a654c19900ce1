#!/usr/bin/env bash
# Build the stand-alone app with PyInstaller: dist/NeuroScanCAM/NeuroScanCAM (onedir).
#
#   bash scripts/build_executable.sh
#
# Works from a clean checkout: makes .venv and installs requirements.txt when
# missing, then runs `pyinstaller --noconfirm --clean build.spec` and prints the
# bundle's size. Needs the trained model in models/ (brain_tumor_classifier.keras
# + .json). Builds for the system it runs on; on Windows run it from Git Bash,
# or run the two commands at the end by hand (see README, "Building the executable").
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ -x .venv/bin/python ]; then
    VENV_PY=.venv/bin/python
elif [ -x .venv/Scripts/python.exe ]; then
    VENV_PY=.venv/Scripts/python.exe  # Windows (Git Bash)
else
    echo "creating .venv with $PYTHON" >&2
    "$PYTHON" -m venv .venv
    VENV_PY=.venv/bin/python
    [ -x "$VENV_PY" ] || VENV_PY=.venv/Scripts/python.exe
fi
# Installs nothing when everything is already there at the pinned versions.
"$VENV_PY" -m pip install --quiet --disable-pip-version-check -r requirements.txt

APP_NAME="$("$VENV_PY" -c 'from core.version import APP_NAME; print(APP_NAME)')"
for needed in models/brain_tumor_classifier.keras models/brain_tumor_classifier.json; do
    if [ ! -f "$needed" ]; then
        echo "error: $needed is missing; train the model first (python -m training train ...)" >&2
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
