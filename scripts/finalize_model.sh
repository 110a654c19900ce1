#!/usr/bin/env bash
# After `python -m training train ... --report-dir`, add the slower analyses to the model card:
# out-of-distribution threshold (chosen on validation), shortcut analysis, robustness table.
#   bash scripts/finalize_model.sh [MODEL.keras]
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL="${1:-models/brain_tumor_classifier.keras}"
DATA="${BRAIN_MRI_DATA:-../shared/data/brain-tumor-mri}"
PY=.venv/bin/python
$PY -m training.ood --data "$DATA" --model "$MODEL" --update-card
$PY -m training.shortcuts --data "$DATA" --model "$MODEL" --update-card --out "$(dirname "$MODEL")/report/shortcuts.json"
$PY benchmarks/bench_robustness.py --model "$MODEL" --update-card
