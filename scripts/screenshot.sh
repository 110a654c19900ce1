#!/usr/bin/env bash
# Reproduce the documentation's screenshots: the real window, real test scans, the bundled model.
# Uses the current display if there is one, else a private Xvfb (xvfb-run, from the xvfb package).
#   scripts/screenshot.sh [SCAN] [OUT]   docs/screenshot.png only: SCAN with its Grad-CAM++ overlay
#   scripts/screenshot.sh --all [DIR]    docs/screenshot.png, volume.png, batch.png, model_card.png
# PYTHON=... picks the interpreter, MODEL=... another model (single screenshot), BRAIN_MRI_DATA=... the dataset.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
DATA="${BRAIN_MRI_DATA:-/work/shared/data/brain-tumor-mri}"
export BRAIN_MRI_DATA="$DATA"
run() {
    if [ -n "${DISPLAY:-}" ]; then
        "$PY" "$@"
    else  # tall enough for the window with the per-slice plot below it
        xvfb-run -a -s "-screen 0 1280x1240x24 -nolisten tcp" "$PY" "$@"
    fi
}
if [ "${1:-}" = "--all" ]; then
    run scripts/screenshots.py "${2:-docs}"
    exit
fi
SCAN="${1:-$DATA/Testing/meningioma/Te-me_0010.jpg}"
OUT="${2:-docs/screenshot.png}"
run scripts/screenshot.py "$SCAN" "$OUT" ${MODEL:+--model "$MODEL"}
