#!/usr/bin/env bash
# Fetches the jars of the local cluster from Maven Central (through the project's Maven wrapper) into
# deploy/local/lib (git-ignored):
#   lib/flink/                          Flink 2.3 session cluster classpath (no flink-dist tarball needed)
#   lib/kafka/                          Kafka 4.2 broker (KRaft) and its tools
#   lib/plugins/metrics-prometheus/     Flink's Prometheus reporter, loaded as a Flink plugin (own class loader,
#                                       because it bundles simpleclient 0.8.1 un-relocated)
# Idempotent: does nothing when the jars of the pinned versions are already there. Usage: fetch-libs.sh [--force]
set -euo pipefail
LOCAL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$LOCAL_DIR/../.." && pwd)"
LIB_DIR="${E3_LOCAL_LIB_DIR:-$LOCAL_DIR/lib}"
MVNW="$REPO_DIR/mvnw"

# The stamp names the poms' content, so a version bump in the parent pom or the lib poms refetches.
stamp="$(cat "$REPO_DIR/pom.xml" "$LOCAL_DIR/maven/flink-pom.xml" "$LOCAL_DIR/maven/kafka-pom.xml" \
  "$LOCAL_DIR/maven/reporter-pom.xml" | sha256sum | cut -c1-16)"
if [[ "${1:-}" != "--force" && -f "$LIB_DIR/.fetched-$stamp" ]]; then
  exit 0
fi

echo "fetching local cluster jars into $LIB_DIR (Maven Central, first time only)"
rm -rf "$LIB_DIR"
mkdir -p "$LIB_DIR/flink" "$LIB_DIR/kafka" "$LIB_DIR/plugins/metrics-prometheus"
"$MVNW" -q -B -f "$LOCAL_DIR/maven/flink-pom.xml" dependency:copy-dependencies -DoutputDirectory="$LIB_DIR/flink"
"$MVNW" -q -B -f "$LOCAL_DIR/maven/kafka-pom.xml" dependency:copy-dependencies -DoutputDirectory="$LIB_DIR/kafka"
"$MVNW" -q -B -f "$LOCAL_DIR/maven/reporter-pom.xml" dependency:copy-dependencies -DexcludeTransitive=true \
  -DoutputDirectory="$LIB_DIR/plugins/metrics-prometheus"
touch "$LIB_DIR/.fetched-$stamp"
echo "fetched: $(ls "$LIB_DIR/flink" | wc -l) Flink jars, $(ls "$LIB_DIR/kafka" | wc -l) Kafka jars, $(ls "$LIB_DIR/plugins/metrics-prometheus")"
