#!/usr/bin/env bash
# Rebuild every bundle from scratch: train the seven runs (two lanes in parallel, each resumable from its per-epoch
# checkpoint), then export all six bundles into models/. Measured on the 2-core dev machine: see README.md.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-/usr/bin/python3}
export E3_TRAIN_THREADS=${E3_TRAIN_THREADS:-1} OMP_WAIT_POLICY=PASSIVE
lane() { for run in "$@"; do "$PY" train.py "$run"; done; }
lane e3-n1 vit-s1 vit-s2 e3-n2 &
a=$!
lane vmoe-k1-s1 vmoe-k1-s2 vmoe-k2 &
b=$!
wait $a && wait $b
"$PY" export.py --all
