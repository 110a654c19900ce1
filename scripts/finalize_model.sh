#!/usr/bin/env bash
# After `python -m training train ... --report-dir`, add the slower analyses to the model card:
# out-of-distribution thresholds (chosen on validation), shortcut analysis, robustness and generalisation tables.
#   bash scripts/finalize_model.sh [MODEL.keras]
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL="${1:-models/brain_tumor_classifier.keras}"
DATA="${BRAIN_MRI_DATA:-../shared/data/brain-tumor-mri}"
PY=.venv/bin/python
$PY -m training.ood --data "$DATA" --model "$MODEL" --update-card
$PY -m training.sequence --data "$DATA" --model "$MODEL" --update-card
$PY -m training.shortcuts --data "$DATA" --model "$MODEL" --update-card --out "$(dirname "$MODEL")/report/shortcuts.json"
$PY benchmarks/bench_robustness.py --model "$MODEL" --update-card
# Held-out sources, Kaggle test, inverted tumours, non-MRI set -> card "generalisation" and RESULTS.md
$PY benchmarks/bench_generalisation.py --model "$MODEL" --update-card --append \
    --json "$(dirname "$MODEL")/report/generalisation.json"
