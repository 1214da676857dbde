#!/bin/sh
# Uploads the E3 job jar to the compose JobManager and runs it (Flink REST API: /jars/upload, /jars/:id/run).
set -eu
REST=http://jobmanager:8081
until curl -sf "$REST/overview" | grep -q '"taskmanagers":[1-9]'; do echo "waiting for a TaskManager"; sleep 2; done
jar=$(ls /jars/e3stream-pipeline-*-cluster.jar | head -n 1)
id=$(curl -sf -X POST -H "Expect:" -F "jarfile=@$jar" "$REST/jars/upload" | sed 's/.*"filename":"\([^"]*\)".*/\1/' | xargs basename)
# the config file is read by the job's main on the JobManager: pass its content as overrides instead of a path
args=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' /opt/e3/e3stream.yaml | awk -F': *' '{printf "%s\"--%s\",\"%s\"", (NR>1?",":""), $1, $2}')
curl -sf -X POST -H 'Content-Type: application/json' -d "{\"programArgsList\":[$args]}" "$REST/jars/$id/run"
echo
