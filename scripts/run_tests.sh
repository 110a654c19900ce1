#!/usr/bin/env bash
# The project's one test command (README and .ci/run call exactly this).
# Works on a fresh Debian/Ubuntu machine: makes .venv, installs the pinned
# requirements and the X virtual framebuffer for the GUI tests, then runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

# GUI tests need Tk and a virtual X server; screenshots need ImageMagick; report tests read PDFs.
missing=()
command -v Xvfb >/dev/null || missing+=(xvfb)
command -v xdotool >/dev/null || missing+=(xdotool)
command -v import >/dev/null || missing+=(imagemagick)
command -v pdftotext >/dev/null || missing+=(poppler-utils)  # the PDF report's text is checked
.venv/bin/python -c "import tkinter" 2>/dev/null || missing+=(python3-tk tk8.6)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "note: missing ${missing[*]}; GUI tests will be skipped" >&2
    fi
fi

# The dataset lives outside the project; tests that need it skip without it.
if [ -z "${BRAIN_MRI_DATA:-}" ] && [ -d ../shared/data/brain-tumor-mri ]; then
    export BRAIN_MRI_DATA="$(cd ../shared/data/brain-tumor-mri && pwd)"
fi
export TF_CPP_MIN_LOG_LEVEL=2

set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ $status -eq 5 ]; then
    echo "pytest collected no tests" >&2
    exit 1
fi
exit $status
