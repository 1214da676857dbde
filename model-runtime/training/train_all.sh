#!/usr/bin/env bash
# Rebuild every bundle: train the seven runs, then export all six bundles into models/ and calibrate their triage.
#
# The runs' state lives in runs/ (one file per run, tracked in git), so re-running this command in a fresh clone - after
# an interruption, another session, another day - resumes every unfinished run after its last finished epoch and skips
# the finished ones. Lanes (E3_TRAIN_LANES, default 2) take the next run off one queue (train.py --queue: the
# comparison's runs first, then the longest remaining), one torch thread each, at low CPU priority so that builds and
# tests on the same machine come first. With a CUDA GPU train.py uses it (the lanes then share the GPU).
# Pause a lane with SIGSTOP to its python3 process and resume it with SIGCONT (benchmarks need a quiet machine).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-/usr/bin/python3}
LANES=${E3_TRAIN_LANES:-2}
export E3_TRAIN_THREADS=${E3_TRAIN_THREADS:-1} OMP_WAIT_POLICY=PASSIVE
queue=$(mktemp)
trap 'rm -f "$queue" "$queue.lock"' EXIT
"$PY" train.py --queue > "$queue"
next_run() { flock "$queue.lock" sh -c 'head -n 1 "$1"; sed -i 1d "$1"' _ "$queue"; }
lane() {
  local run
  while run=$(next_run) && [ -n "$run" ]; do nice -n 19 "$PY" train.py "$run"; done
}
began=$(date +%s)
pids=()
for _ in $(seq "$LANES"); do lane & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done
echo "training done; wall seconds of this invocation: $(( $(date +%s) - began ))"
"$PY" export.py --all
# The shipped triage of every bundle, fitted on the validation split (bin/e3stream calibrate; needs a JDK 17):
# at most 1.5 % error among accepted items, and the review capacity left under 24 % given to the least familiar
# inputs (feature log density).
for bundle in $("$PY" -c "from e3.specs import BUNDLES; print(*BUNDLES)"); do
  ../../bin/e3stream calibrate --bundle "../../models/$bundle" --max-accepted-error 0.015 --density-review-budget 0.24
done
