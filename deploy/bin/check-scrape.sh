#!/usr/bin/env bash
# Checks that real Prometheus scrapes contain every metric the dashboard and alert rules use (deploy/metrics.txt).
#   deploy/bin/check-scrape.sh SOURCE...      SOURCE: a file with a scrape (text exposition format) or an http(s) URL
#                                             of a /metrics endpoint; give all of them (job endpoint, JobManager,
#                                             TaskManagers): a metric counts as present if any source has it.
# Exit 0 when all are present, 1 with the list of missing names otherwise, 2 on bad usage or an unreadable source.
set -euo pipefail
DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
METRICS="${E3_METRICS_LIST:-$DEPLOY_DIR/metrics.txt}"
[[ $# -ge 1 ]] || { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

scrape="$(mktemp)"
trap 'rm -f "$scrape"' EXIT
for source in "$@"; do
  case "$source" in
    http://*|https://*) curl -sf --max-time 20 "$source" >> "$scrape" || { echo "cannot scrape $source" >&2; exit 2; } ;;
    *) [[ -r "$source" ]] || { echo "cannot read scrape file $source" >&2; exit 2; }; cat "$source" >> "$scrape" ;;
  esac
  echo >> "$scrape"
done

missing=()
absent_optional=()
total=0
while read -r name flag; do
  total=$((total + 1))
  # a sample line starts with the name followed by '{' or a space
  if ! grep -qE "^${name}(\{| )" "$scrape"; then
    if [[ "$flag" == "optional" ]]; then absent_optional+=("$name"); else missing+=("$name"); fi
  fi
done < <(sed -e 's/#.*//' "$METRICS" | grep -v '^[[:space:]]*$')

if [[ ${#absent_optional[@]} -gt 0 ]]; then
  echo "absent but optional: ${absent_optional[*]}"
fi
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "missing from the scrape: ${missing[*]} ($(( total - ${#missing[@]} )) of $total present)"
  exit 1
fi
echo "all $(( total - ${#absent_optional[@]} )) required metrics of $(basename "$METRICS") are present in the scrape ($total listed)"
