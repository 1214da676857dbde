#!/usr/bin/env bash
# Rebuild every bundle from scratch: train the seven runs in three lanes side by side (one torch thread each; every
# run resumes from its per-epoch checkpoint if interrupted), then export all six bundles into models/.
# On the 2-core development machine this took about an hour of wall time while other work shared the CPU
# (see README.md, "Models").
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-/usr/bin/python3}
export E3_TRAIN_THREADS=${E3_TRAIN_THREADS:-1} OMP_WAIT_POLICY=PASSIVE
lane() { for run in "$@"; do "$PY" train.py "$run"; done; }
pids=()
lane e3-n1 vit-s1 vit-s2 & pids+=($!)
lane vmoe-k1-s1 vmoe-k1-s2 vmoe-k2 & pids+=($!)
lane e3-n2 & pids+=($!)
for p in "${pids[@]}"; do wait "$p"; done
"$PY" export.py --all
