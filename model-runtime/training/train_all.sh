#!/usr/bin/env bash
# Train every run of the family in turn (each resumable), then export all bundles into models/.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-/usr/bin/python3}
for run in e3-n1 vmoe-k1-s1 vmoe-k1-s2 vit-s1 vit-s2 vmoe-k2 e3-n2; do
  "$PY" train.py "$run"
done
"$PY" export.py --all
