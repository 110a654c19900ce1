#!/usr/bin/env bash
# Build the frozen app and check that it behaves like the source it came from.
#
#   bash scripts/verify_executable.sh              build, then verify
#   bash scripts/verify_executable.sh --no-build   verify the existing dist/NeuroScanCAM
#   --no-record: do not append the summary to benchmarks/RESULTS.md
#
# Checks, all on the FROZEN binary dist/NeuroScanCAM/NeuroScanCAM:
#   1. --self-test exits 0
#   2. predict on 8 real test scans (2 per class) gives the same labels, and
#      probabilities within 1e-5, as `.venv/bin/python main.py predict`
#   3. explain --report writes Grad-CAM and Grad-CAM++ overlays (heatmaps equal to the
#      source's) and the PDF report; predict reads a DICOM and a NIfTI file like the source
#   4. --self-test and predict also work inside `unshare -n` (no network at all)
#   5. the window opens under Xvfb with a scan loaded; screenshot -> docs/frozen_screenshot.png
#   6. start-up time to a visible window, 5 runs, median (frozen and source)
# Prints a summary table and appends it to benchmarks/RESULTS.md.
# Linux only (Xvfb, xdotool, ImageMagick `import`, util-linux `unshare`).
# Exit status: 0 when every check passed, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD=1
RECORD=1
for arg in "$@"; do
    case "$arg" in
        --no-build) BUILD=0 ;;
        --no-record) RECORD=0 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "unknown option $arg" >&2; exit 2 ;;
    esac
done

PY=.venv/bin/python
SCANS_PER_CLASS="${SCANS_PER_CLASS:-2}"
STARTUP_RUNS="${STARTUP_RUNS:-5}"
WINDOW_TIMEOUT="${WINDOW_TIMEOUT:-60}"   # seconds to wait for a window
SHOT_DELAY="${SHOT_DELAY:-30}"           # seconds after the window appears: model load + analysis
TOLERANCE=1e-5
DATA="${BRAIN_MRI_DATA:-../shared/data/brain-tumor-mri}/Testing"
export TF_CPP_MIN_LOG_LEVEL=2

WORK="$(mktemp -d)"
XVFB_PID=""
APP_PID=""
cleanup() {
    [ -n "$APP_PID" ] && kill "$APP_PID" 2>/dev/null
    [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

declare -a ROWS=()
FAILED=0
row() {  # row NAME RESULT DETAIL ; RESULT is PASS, FAIL or INFO
    ROWS+=("| $1 | $2 | $3 |")
    [ "$2" = FAIL ] && FAILED=1
    printf '%-48s %-5s %s\n' "$1" "$2" "$3"
}
now() { date +%s.%N; }
seconds_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

if [ ! -x "$PY" ]; then
    echo "error: $PY missing; run scripts/build_executable.sh first (it creates .venv)" >&2
    exit 1
fi
APP_NAME="$("$PY" -c 'from core.version import APP_NAME; print(APP_NAME)')"
BIN="dist/$APP_NAME/$APP_NAME"

# ----- build ---------------------------------------------------------------
BUILD_TIME="not rebuilt (--no-build)"
if [ "$BUILD" = 1 ]; then
    started=$(now)
    if bash scripts/build_executable.sh > "$WORK/build.log" 2>&1; then
        BUILD_TIME="$(seconds_since "$started") s"
        row "build (scripts/build_executable.sh)" PASS "$BUILD_TIME"
    else
        tail -30 "$WORK/build.log" >&2
        row "build (scripts/build_executable.sh)" FAIL "see output above"
        exit 1
    fi
fi
if [ ! -x "$BIN" ]; then
    echo "error: $BIN not found; build it first" >&2
    exit 1
fi
BUNDLE_SIZE="$(du -sh "dist/$APP_NAME" | cut -f1)"
BUNDLE_MB="$(du -sm "dist/$APP_NAME" | cut -f1)"
if [ "$BUNDLE_MB" -le 300 ]; then
    row "bundle size (du -sh dist/$APP_NAME)" PASS "$BUNDLE_SIZE (target <= 300 MB)"
else
    row "bundle size (du -sh dist/$APP_NAME)" INFO "$BUNDLE_SIZE (above the 300 MB target; benchmarks/bench_bundle.py says what each library costs)"
fi
TF_FILES="$(find "dist/$APP_NAME" \( -iname '*tensorflow*' -o -iname 'keras' -o -iname '_pywrap_tf*' \) | wc -l)"
if [ "$TF_FILES" -eq 0 ]; then
    row "no TensorFlow or Keras in the bundle" PASS "0 files named tensorflow/keras (the network runs on LiteRT)"
else
    row "no TensorFlow or Keras in the bundle" FAIL "$TF_FILES files, e.g. $(find "dist/$APP_NAME" -iname '*tensorflow*' | head -1)"
fi

# ----- the scans: the first SCANS_PER_CLASS files of each class, by name ----
if [ ! -d "$DATA" ]; then
    echo "error: test scans not found at $DATA (set BRAIN_MRI_DATA)" >&2
    exit 1
fi
SCANS=()
for class_dir in "$DATA"/*/; do
    while IFS= read -r name; do
        SCANS+=("$(cd "$class_dir" && pwd)/$name")
    done < <(ls "$class_dir" | sort | head -n "$SCANS_PER_CLASS")
done

compare_predictions() {  # compare_predictions REFERENCE.jsonl CANDIDATE.jsonl [COUNT] -> one line; exit 0 when equal
    "$PY" - "$1" "$2" "$TOLERANCE" "${3:-${#SCANS[@]}}" <<'PYEOF'
import json, sys
reference_file, candidate_file, tolerance, expected = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])

def load(path):
    with open(path, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    return {(r["path"], r.get("slice")): r for r in records}

reference, candidate = load(reference_file), load(candidate_file)
problems, worst = [], 0.0
if set(reference) != set(candidate) or len(reference) != expected:
    problems.append(f"scan sets differ ({len(reference)} vs {len(candidate)}, expected {expected})")
for path in sorted(set(reference) & set(candidate)):
    a, b = reference[path], candidate[path]
    if "error" in a or "error" in b:
        problems.append(f"{path[0]}: error {a.get('error') or b.get('error')}")
        continue
    if a["label"] != b["label"]:
        problems.append(f"{path[0]}: label {a['label']} vs {b['label']}")
    worst = max([worst, abs(a["confidence"] - b["confidence"])] + [abs(a["probabilities"][c] - b["probabilities"][c]) for c in a["probabilities"]])
labels = " ".join(reference[key].get("label", "?") for key in sorted(reference))
status = "labels match" if not problems else "; ".join(problems[:3])
print(f"{len(candidate)} scans, {status}, max |dp| = {worst:.1e} [{labels}]")
sys.exit(0 if not problems and worst <= tolerance else 1)
PYEOF
}

# ----- 1. self-test ----------------------------------------------------------
started=$(now)
if "$BIN" --self-test > "$WORK/selftest.out" 2> "$WORK/selftest.err"; then
    SELFTEST_S="$(seconds_since "$started")"
    row "frozen --self-test" PASS "exit 0 in ${SELFTEST_S} s: $(head -c 120 "$WORK/selftest.out")"
else
    row "frozen --self-test" FAIL "exit $?: $(tail -3 "$WORK/selftest.err" | tr '\n' ' ')"
fi
started=$(now)
"$PY" main.py --self-test > /dev/null 2>&1
row "source --self-test (for comparison)" INFO "$(seconds_since "$started") s"

# ----- 2. predict: frozen vs source ------------------------------------------
if ! "$PY" main.py predict --quiet "${SCANS[@]}" > "$WORK/source.jsonl" 2> "$WORK/source.err"; then
    row "source predict (the reference)" FAIL "$(tail -2 "$WORK/source.err" | tr '\n' ' ')"
fi
"$BIN" predict --quiet "${SCANS[@]}" > "$WORK/frozen.jsonl" 2> "$WORK/frozen.err"
rc=$?
if grep -q "AutoGraph could not transform" "$WORK/frozen.err"; then
    row "frozen predict: no AutoGraph source warning" FAIL "AutoGraph could not read the app's source (module_collection_mode in build.spec)"
fi
if detail="$(compare_predictions "$WORK/source.jsonl" "$WORK/frozen.jsonl")" && [ $rc = 0 ]; then
    row "frozen predict == source predict" PASS "$detail"
else
    row "frozen predict == source predict" FAIL "exit $rc; $detail $(tail -2 "$WORK/frozen.err" | tr '\n' ' ')"
fi

# ----- 3. explain + PDF report -------------------------------------------------------
"$PY" main.py explain "${SCANS[0]}" --out-dir "$WORK/explain-source" > /dev/null 2>&1
"$BIN" explain --report "${SCANS[0]}" --out-dir "$WORK/explain-frozen" > "$WORK/explain.out" 2> "$WORK/explain.err"
rc=$?
detail="$("$PY" - "$WORK/explain-source" "$WORK/explain-frozen" <<'PYEOF'
import glob, os, sys
import numpy as np
source_dir, frozen_dir = sys.argv[1:3]
maps = sorted(glob.glob(os.path.join(frozen_dir, "*.npy")))
pngs = sorted(glob.glob(os.path.join(frozen_dir, "*.png")))
pdfs = [p for p in glob.glob(os.path.join(frozen_dir, "*.pdf")) if open(p, "rb").read(5) == b"%PDF-"]
worst = max((float(np.abs(np.load(m) - np.load(os.path.join(source_dir, os.path.basename(m)))).max()) for m in maps), default=float("nan"))
print(f"{len(pngs)} overlays, {len(maps)} heatmaps (max |d| vs source {worst:.1e}), {len(pdfs)} PDF report")
sys.exit(0 if len(pngs) == 2 and len(maps) == 2 and len(pdfs) == 1 and worst <= 1e-4 else 1)
PYEOF
)"
if [ $? = 0 ] && [ $rc = 0 ]; then
    row "frozen explain --report (Grad-CAM, ++, PDF)" PASS "$detail"
else
    row "frozen explain --report (Grad-CAM, ++, PDF)" FAIL "exit $rc; $detail $(tail -2 "$WORK/explain.err" | tr '\n' ' ')"
fi

# ----- 3b. DICOM and NIfTI (pydicom / nibabel inside the bundle) --------------------
if "$PY" - "${SCANS[0]}" "$WORK/volumes" <<'PYEOF' 2> "$WORK/volumes.err"
import os, sys
import numpy as np
from PIL import Image
from tests.volumes import make_dicom, make_nifti
grey = np.asarray(Image.open(sys.argv[1]).convert("L"), np.float32)
os.makedirs(sys.argv[2], exist_ok=True)
make_dicom(os.path.join(sys.argv[2], "scan.dcm"), (grey * 8).astype(np.uint16), bits_stored=12)
make_nifti(os.path.join(sys.argv[2], "scan.nii.gz"), np.stack([np.rot90(grey, -1)] * 3, axis=-1).astype(np.int16))
PYEOF
then
    VOLUMES=("$WORK/volumes/scan.dcm" "$WORK/volumes/scan.nii.gz")
    "$PY" main.py predict --quiet "${VOLUMES[@]}" > "$WORK/volumes-source.jsonl" 2> /dev/null
    "$BIN" predict --quiet "${VOLUMES[@]}" > "$WORK/volumes-frozen.jsonl" 2> "$WORK/volumes-frozen.err"
    rc=$?
    if detail="$(compare_predictions "$WORK/volumes-source.jsonl" "$WORK/volumes-frozen.jsonl" 2)" && [ $rc = 0 ]; then
        row "frozen predict DICOM + NIfTI == source" PASS "$detail"
    else
        row "frozen predict DICOM + NIfTI == source" FAIL "exit $rc; $detail $(tail -2 "$WORK/volumes-frozen.err" | tr '\n' ' ')"
    fi
else
    row "frozen predict DICOM + NIfTI == source" FAIL "could not write the test volumes: $(tail -1 "$WORK/volumes.err")"
fi

# ----- 4. no network ---------------------------------------------------------
NONET=""
if unshare -n true 2>/dev/null; then
    NONET="unshare -n"
elif unshare -rn true 2>/dev/null; then
    NONET="unshare -rn"  # unprivileged: map the user to root in a new user namespace
fi
if [ -z "$NONET" ]; then
    row "no network (unshare -n)" FAIL "unshare -n is not permitted here"
else
    interfaces="$($NONET cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' ' | tr '\n' ' ')"
    $NONET "$BIN" --self-test > "$WORK/nonet-selftest.out" 2> "$WORK/nonet-selftest.err"
    rc_self=$?
    $NONET "$BIN" predict --quiet "${SCANS[@]}" > "$WORK/nonet.jsonl" 2> "$WORK/nonet.err"
    rc_pred=$?
    if detail="$(compare_predictions "$WORK/source.jsonl" "$WORK/nonet.jsonl")" && [ $rc_self = 0 ] && [ $rc_pred = 0 ]; then
        row "$NONET: --self-test + predict" PASS "interfaces: ${interfaces}; self-test exit 0; predict $detail"
    else
        row "$NONET: --self-test + predict" FAIL "self-test exit $rc_self, predict exit $rc_pred; $detail"
    fi
fi

# ----- 5. the window under Xvfb -------------------------------------------------
DISPLAY_NUMBER=97
while [ -e "/tmp/.X${DISPLAY_NUMBER}-lock" ]; do DISPLAY_NUMBER=$((DISPLAY_NUMBER + 1)); done
Xvfb ":$DISPLAY_NUMBER" -screen 0 1280x800x24 -nolisten tcp > /dev/null 2>&1 &
XVFB_PID=$!
export DISPLAY=":$DISPLAY_NUMBER"
for _ in $(seq 100); do [ -e "/tmp/.X11-unix/X$DISPLAY_NUMBER" ] && break; sleep 0.05; done
sleep 0.5

wait_for_window() {  # wait_for_window PID -> prints the window id, or returns 1 on timeout / exit
    local deadline wid
    deadline=$(awk -v t="$(now)" -v d="$WINDOW_TIMEOUT" 'BEGIN { printf "%.3f", t + d }')
    while awk -v t="$(now)" -v d="$deadline" 'BEGIN { exit !(t < d) }'; do
        wid="$(xdotool search --onlyvisible --name "^$APP_NAME" 2>/dev/null | head -1)"
        if [ -n "$wid" ]; then echo "$wid"; return 0; fi
        kill -0 "$1" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

no_window_left() {  # wait (up to 10 s) until no window of the app is on the display: a closing one must not count
    local i
    for i in $(seq 200); do
        [ -z "$(xdotool search --name "^$APP_NAME" 2>/dev/null)" ] && return 0
        sleep 0.05
    done
    return 1
}

close_app() {  # close_app PID WID -> Ctrl+Q (the app's Quit), then SIGTERM if it lingers
    local pid=$1 wid=$2 i
    xdotool windowfocus "$wid" 2>/dev/null
    sleep 0.2
    xdotool key --clearmodifiers ctrl+q 2>/dev/null
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        return 1
    fi
    wait "$pid" 2>/dev/null
    return $?
}

no_window_left
"$BIN" "${SCANS[0]}" > "$WORK/gui.out" 2> "$WORK/gui.err" &
APP_PID=$!
if WID="$(wait_for_window $APP_PID)"; then
    TITLE="$(xdotool getwindowname "$WID")"
    sleep "$SHOT_DELAY"
    mkdir -p docs
    import -window root docs/frozen_screenshot.png
    if close_app $APP_PID "$WID"; then closed="closed with Ctrl+Q, exit 0"; else closed="did not exit cleanly on Ctrl+Q"; fi
    APP_PID=""
    if grep -q "Traceback" "$WORK/gui.err"; then
        grep -B2 -A12 "Traceback" "$WORK/gui.err" | head -30 >&2
        row "frozen window under Xvfb (scan argument)" FAIL "'$TITLE' opened, but the app raised: $(grep -E '^[A-Za-z_.]+(Error|Exception):' "$WORK/gui.err" | tail -1)"
    else
        row "frozen window under Xvfb (scan argument)" PASS "'$TITLE'; no traceback; docs/frozen_screenshot.png; $closed"
    fi
else
    row "frozen window under Xvfb (scan argument)" FAIL "no window in ${WINDOW_TIMEOUT}s: $(tail -3 "$WORK/gui.err" | tr '\n' ' ')"
    kill $APP_PID 2>/dev/null
    APP_PID=""
fi

# ----- 6. start-up time to a visible window ----------------------------------------
measure_startup() {  # measure_startup COMMAND... -> prints "median (runs: run, run, ...)"
    local times=() started wid
    for _ in $(seq "$STARTUP_RUNS"); do
        no_window_left
        started=$(now)
        "$@" > /dev/null 2>&1 &
        APP_PID=$!
        if wid="$(wait_for_window $APP_PID)"; then
            times+=("$(seconds_since "$started")")
            close_app $APP_PID "$wid" || true
        else
            kill $APP_PID 2>/dev/null
            times+=("timeout")
        fi
        APP_PID=""
        sleep 1
    done
    printf '%s\n' "${times[@]}" | "$PY" -c '
import statistics, sys
runs = sys.stdin.read().split()
ok = [float(r) for r in runs if r != "timeout"]
median = f"{statistics.median(ok):.2f} s" if ok and len(ok) == len(runs) else "FAILED"
joined = ", ".join(runs)
print(f"{median} (runs: {joined})")'
}
FROZEN_STARTUP="$(measure_startup "$BIN")"
case "$FROZEN_STARTUP" in
    FAILED*) row "frozen start-up to visible window, median of $STARTUP_RUNS" FAIL "$FROZEN_STARTUP" ;;
    *) row "frozen start-up to visible window, median of $STARTUP_RUNS" PASS "$FROZEN_STARTUP" ;;
esac
SOURCE_STARTUP="$(measure_startup "$PY" main.py)"
row "source start-up (python main.py), median of $STARTUP_RUNS" INFO "$SOURCE_STARTUP"
kill "$XVFB_PID" 2>/dev/null
XVFB_PID=""

# ----- summary -----------------------------------------------------------------------
CPU="$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)"
CORES="$(nproc)"
RAM="$(free -g | awk '/^Mem:/ { print $2 " GiB" }')"
OS="$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
{
    echo
    echo "## Frozen executable (PyInstaller onedir), $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Machine: ${CPU:-unknown CPU}, $CORES cores, $RAM RAM, ${OS:-Linux}; $("$PY" --version 2>&1); the bundle runs LiteRT, no TensorFlow inside."
    echo "Command: \`bash scripts/verify_executable.sh$([ "$BUILD" = 0 ] && echo ' --no-build')\`; start-up = launch until xdotool sees the window (Xvfb)."
    echo
    echo "| check | result | detail |"
    echo "|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
} > "$WORK/summary.md"
echo
cat "$WORK/summary.md"
if [ "$RECORD" = 1 ]; then
    mkdir -p benchmarks
    if [ ! -f benchmarks/RESULTS.md ]; then
        printf '# Benchmark results\n\nMeasured numbers, newest last. Each section names the machine and the command.\n' > benchmarks/RESULTS.md
    fi
    cat "$WORK/summary.md" >> benchmarks/RESULTS.md
    echo "appended to benchmarks/RESULTS.md"
fi
echo
if [ "$FAILED" = 0 ]; then echo "verify: all checks passed"; else echo "verify: SOME CHECKS FAILED"; fi
exit "$FAILED"
