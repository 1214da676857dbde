#!/bin/sh
# Uploads the E3 job jar to the compose JobManager and runs it (Flink REST API: /jars/upload, /jars/:id/run).
# The job's main runs on the JobManager, which mounts the job configuration (e3stream.yaml) and the model bundle
# (docker-compose.yml): the file is passed as is, --config PATH, never re-parsed here.
set -eu
REST=${E3_FLINK_REST:-http://jobmanager:8081}
JARS=${E3_JARS:-/jars}
CONFIG=${E3_JOB_CONFIG:-/opt/e3/e3stream.yaml}
until curl -sf "$REST/overview" | grep -q '"taskmanagers":[1-9]'; do echo "waiting for a TaskManager"; sleep 2; done
jar=$(ls "$JARS"/e3stream-pipeline-*-cluster.jar | head -n 1)
id=$(curl -sf -X POST -H "Expect:" -F "jarfile=@$jar" "$REST/jars/upload" | sed 's/.*"filename":"\([^"]*\)".*/\1/' | xargs basename)
curl -sf -X POST -H 'Content-Type: application/json' -d "{\"programArgsList\":[\"--config\",\"$CONFIG\"]}" "$REST/jars/$id/run"
echo
