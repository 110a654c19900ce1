#!/usr/bin/env bash
# Reproduce docs/screenshot.png: the real window, a real test scan, a Grad-CAM++ overlay.
# Uses the current display if there is one, else a private Xvfb (xvfb-run, from the xvfb package).
#   scripts/screenshot.sh [SCAN] [OUT]    (PYTHON=... picks the interpreter, MODEL=... another model)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
DATA="${BRAIN_MRI_DATA:-/work/shared/data/brain-tumor-mri}"
SCAN="${1:-$DATA/Testing/meningioma/Te-me_0010.jpg}"
OUT="${2:-docs/screenshot.png}"
if [ -n "${DISPLAY:-}" ]; then
    "$PY" scripts/screenshot.py "$SCAN" "$OUT" ${MODEL:+--model "$MODEL"}
else
    xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" "$PY" scripts/screenshot.py "$SCAN" "$OUT" ${MODEL:+--model "$MODEL"}
fi
