#!/usr/bin/env bash
# Rebuild every bundle from scratch: train the seven runs in two lanes side by side (one torch thread each, at low
# CPU priority so builds and tests on the same machine come first), then export all six bundles into models/.
# Every run resumes from its per-epoch checkpoint (checkpoints/, outside git), so re-running this same command after
# an interruption - another session, another day - continues where it stopped; finished runs are skipped.
# With a CUDA GPU, train.py uses it (one call rebuilds everything there; lanes then share the GPU).
# Wall time of the rebuild and where each run was trained are written into every model.json (training.history).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-/usr/bin/python3}
export E3_TRAIN_THREADS=${E3_TRAIN_THREADS:-1} OMP_WAIT_POLICY=PASSIVE
lane() { for run in "$@"; do nice -n 19 "$PY" train.py "$run"; done; }
began=$(date +%s)
pids=()
# Lanes balanced on measured one-core epoch times; the E3-vs-deep-ensemble comparison's runs come first.
lane e3 vit-s1 vit-s2 vmoe-k2 & pids+=($!)
lane vmoe-k1-s1 vmoe-k1-s2 e3-n1 & pids+=($!)
for p in "${pids[@]}"; do wait "$p"; done
echo "training finished; wall seconds of this invocation: $(( $(date +%s) - began ))"
"$PY" export.py --all
