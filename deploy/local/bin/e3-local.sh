#!/usr/bin/env bash
# E3 Stream local cluster on one machine, without Docker and without the Flink/Kafka tarballs: a KRaft Kafka broker,
# a Flink session cluster as separate JVMs (a JobManager and E3_TASKMANAGERS TaskManagers) with Flink's Prometheus
# reporter, and a Prometheus server scraping them. Everything on 127.0.0.1; logs in $E3_LOCAL_RUN_DIR/logs.
#
#   e3-local.sh start                 fetch jars (first time), start broker + topics, Flink, Prometheus; wait until ready
#   e3-local.sh submit JAR [--class C] [--parallelism P] [--from-savepoint PATH] [-- ARGS...]   upload and run a job
#                                     (REST), prints its job id; the E3 job gets --metrics.port $E3_JOB_METRICS_PORTS
#                                     first (a later one in ARGS wins); --from-savepoint: start from that savepoint
#   e3-local.sh stop-with-savepoint JOB [DIR]   stop a job with a savepoint (default under $E3_LOCAL_RUN_DIR/savepoints),
#                                     print its path: the first step of a model upgrade (docs/operations.md)
#   e3-local.sh status                which processes run, Flink overview, Prometheus targets
#   e3-local.sh stop                  stop everything (SIGTERM, SIGKILL after 30 s)
#   e3-local.sh kill-taskmanager I    SIGKILL TaskManager I (1-based): a failure drill
#   e3-local.sh start-taskmanager I   (re)start TaskManager I
#   e3-local.sh kill-broker | start-broker      SIGKILL the Kafka broker / start it again (a failure drill)
#   e3-local.sh pause-broker | resume-broker    SIGSTOP / SIGCONT the Kafka broker (a hung broker)
#   e3-local.sh kill-jobmanager | start-jobmanager   SIGKILL the JobManager / start it again (its jobs are gone:
#                                     resubmit from the job's last checkpoint)
#   e3-local.sh last-checkpoint JOB   the newest complete retained checkpoint of JOB, for submit --from-savepoint
#   e3-local.sh create-topics         create the E3 topics (start does this)
#   e3-local.sh clean                 stop, then delete $E3_LOCAL_RUN_DIR
#   e3-local.sh env                   print the effective settings
# Settings (ports, memory, counts): deploy/local/conf/defaults.env, each overridable from the environment.
set -euo pipefail

E3_LOCAL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$E3_LOCAL_DIR/../.." && pwd)"
# shellcheck source=../conf/defaults.env
source "$E3_LOCAL_DIR/conf/defaults.env"
LIB_DIR="${E3_LOCAL_LIB_DIR:-$E3_LOCAL_DIR/lib}"
RUN_DIR="$E3_LOCAL_RUN_DIR"
LOG_DIR="$RUN_DIR/logs"
PID_DIR="$RUN_DIR/pids"
CONF_DIR="$RUN_DIR/conf"
export E3_LOCAL_RUN_DIR

# JVM flags Flink's own scripts pass on Java 17 (flink-dist config.yaml env.java.opts.all).
FLINK_JAVA_OPTS=(
  --add-exports=java.base/sun.net.util=ALL-UNNAMED --add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED
  --add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED
  --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED
  --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=java.base/java.text=ALL-UNNAMED --add-opens=java.base/java.time=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED
)

# Short-lived helper JVMs (storage format, topic creation, memory calculation): start-up time matters, not peak speed.
TOOL_JAVA_OPTS=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss1m)

log() { echo "[e3-local] $*" >&2; }
die() { echo "[e3-local] ERROR: $*" >&2; exit 1; }

# ---------------------------------------------------------------- processes (pid files + a marker in the environment)
pid_of() { [[ -f "$PID_DIR/$1.pid" ]] && cat "$PID_DIR/$1.pid" || true; }

is_running() {
  local pid; pid="$(pid_of "$1")"
  # the E3_LOCAL_PROCESS marker guards against a pid reused by an unrelated process; grep reads all of tr's output
  # (no -q): a grep that exits at the first match can leave tr to die of SIGPIPE, a failure under pipefail
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null \
    && tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -x "E3_LOCAL_PROCESS=$1" > /dev/null
}

launch() {  # launch NAME CMD...: background, detached from this shell, output to logs/NAME.out
  local name="$1"; shift
  is_running "$name" && { log "$name already running (pid $(pid_of "$name"))"; return 0; }
  E3_LOCAL_PROCESS="$name" nohup setsid "$@" > "$LOG_DIR/$name.out" 2>&1 < /dev/null &
  local pid=$!
  echo "$pid" > "$PID_DIR/$name.pid"
  # Until the forked shell has exec'd the command, the marker is not in /proc/PID/environ yet: wait for it, so that
  # is_running does not mistake a process that is still starting for one that has exited.
  for _ in $(seq 1 100); do
    is_running "$name" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  log "started $name (pid $pid, log $LOG_DIR/$name.*)"
}

stop_process() {  # stop_process NAME [SIGNAL]
  local name="$1" signal="${2:-TERM}" pid
  is_running "$name" || { rm -f "$PID_DIR/$name.pid"; return 0; }
  pid="$(pid_of "$name")"
  kill "-$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$PID_DIR/$name.pid"; log "stopped $name"; return 0; }
    sleep 0.5
  done
  log "$name (pid $pid) did not stop within 30 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PID_DIR/$name.pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

require_free_port() {  # require_free_port PORT SETTING
  port_open "$1" && die "port $1 ($2) is already in use on 127.0.0.1; stop what uses it or set $2 to a free port"
  return 0
}

wait_for() {  # wait_for DESCRIPTION TIMEOUT_S PROCESS_NAME COMMAND...
  local what="$1" timeout="$2" name="$3"; shift 3
  local deadline=$((SECONDS + timeout))
  until "$@" > /dev/null 2>&1; do
    is_running "$name" || die "$name exited while waiting for $what; see $LOG_DIR/$name.out and $LOG_DIR/$name.log"
    (( SECONDS < deadline )) || die "timed out after ${timeout}s waiting for $what; see $LOG_DIR/$name.*"
    sleep 1
  done
}

render() {  # render TEMPLATE OUT: fill ${E3_*} placeholders only
  (
    # shellcheck disable=SC2046
    export $(compgen -v E3_)
    envsubst "$(compgen -v E3_ | sed 's/^/$/' | tr '\n' ' ')" < "$1" > "$2"
  )
}

# The ports of E3_JOB_METRICS_PORTS (PORT or FROM-TO, as the job's metrics.port), one per line.
job_metrics_ports() {
  [[ "$E3_JOB_METRICS_PORTS" =~ ^([0-9]+)(-([0-9]+))?$ ]] \
    || die "E3_JOB_METRICS_PORTS must be a port or a range FROM-TO, found '$E3_JOB_METRICS_PORTS'"
  local from="${BASH_REMATCH[1]}" to="${BASH_REMATCH[3]:-${BASH_REMATCH[1]}}"
  (( from >= 1 && from <= to && to <= 65535 )) \
    || die "E3_JOB_METRICS_PORTS must be a range FROM-TO with 1 <= FROM <= TO <= 65535, found '$E3_JOB_METRICS_PORTS'"
  (( to - from + 1 >= E3_TASKMANAGERS )) \
    || log "WARNING: E3_JOB_METRICS_PORTS $E3_JOB_METRICS_PORTS has fewer ports than E3_TASKMANAGERS ($E3_TASKMANAGERS): some TaskManagers will serve no e3_* metrics"
  seq "$from" "$to"
}

# ---------------------------------------------------------------- Kafka
kafka_launch() {
  require_free_port "$E3_KAFKA_PORT" E3_KAFKA_PORT
  require_free_port "$E3_KAFKA_CONTROLLER_PORT" E3_KAFKA_CONTROLLER_PORT
  render "$E3_LOCAL_DIR/conf/kafka-server.properties.template" "$CONF_DIR/kafka-server.properties"
  if [[ ! -f "$RUN_DIR/kafka/data/meta.properties" ]]; then
    mkdir -p "$RUN_DIR/kafka/data"
    # A 16-byte id in URL-safe base64; one starting with '-' would be read by the storage tool as an option
    # ("--cluster-id: expected one argument", 1 start in 64), so draw again.
    local cluster_id; cluster_id="-"
    while [[ "$cluster_id" == -* ]]; do
      cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22)"
    done
    # transaction.version=1: with Kafka 4.2's default (2) the Flink Kafka sink logs fencing errors after recovery.
    java "${TOOL_JAVA_OPTS[@]}" -cp "$LIB_DIR/kafka/*" \
      -Dlog4j2.configurationFile="file:$E3_LOCAL_DIR/conf/log4j2-kafka.properties" -Dkafka.log.file="$LOG_DIR/kafka-format.log" \
      kafka.tools.StorageTool format -t "$cluster_id" -c "$CONF_DIR/kafka-server.properties" \
      --feature transaction.version=1 > "$LOG_DIR/kafka-format.out" 2>&1 \
      || die "formatting the Kafka storage failed; see $LOG_DIR/kafka-format.out"
  fi
  launch kafka java -Xms"$E3_KAFKA_HEAP" -Xmx"$E3_KAFKA_HEAP" -XX:+UseG1GC -De3.local.process=kafka \
    -Dlog4j2.configurationFile="file:$E3_LOCAL_DIR/conf/log4j2-kafka.properties" -Dkafka.log.file="$LOG_DIR/kafka.log" \
    -cp "$LIB_DIR/kafka/*" kafka.Kafka "$CONF_DIR/kafka-server.properties"
}

create_topics() {
  # shellcheck disable=SC2086
  java "${TOOL_JAVA_OPTS[@]}" -cp "$LIB_DIR/kafka/*" \
    -Dlog4j2.configurationFile="file:$E3_LOCAL_DIR/conf/log4j2-kafka.properties" -Dkafka.log.file="$LOG_DIR/create-topics.log" \
    "$E3_LOCAL_DIR/bin/CreateTopics.java" "127.0.0.1:$E3_KAFKA_PORT" "$E3_TOPIC_PARTITIONS" $E3_TOPICS >&2 \
    || die "creating topics failed; see $LOG_DIR/create-topics.log and $LOG_DIR/kafka.log"
}

# ---------------------------------------------------------------- Flink
flink_conf() {
  mkdir -p "$CONF_DIR/flink" "$RUN_DIR/flink/web-upload" "$RUN_DIR/flink/tmp" "$RUN_DIR/flink/checkpoints"
  render "$E3_LOCAL_DIR/conf/flink-config.yaml.template" "$CONF_DIR/flink/config.yaml"
}

# Memory flags exactly as Flink's own scripts compute them: line 1 JVM flags, line 2 dynamic -D properties.
flink_resource_params() {  # flink_resource_params GET_JM_RESOURCE_PARAMS|GET_TM_RESOURCE_PARAMS [-D k=v ...]
  local cmd="$1"; shift
  local out
  out="$(java "${TOOL_JAVA_OPTS[@]}" -cp "$LIB_DIR/flink/*" -Dlog4j.configurationFile="file:$E3_LOCAL_DIR/conf/log4j2-flink.properties" \
    -Dlog.file="$LOG_DIR/bash-java-utils.log" org.apache.flink.runtime.util.bash.BashJavaUtils "$cmd" \
    --configDir "$CONF_DIR/flink" "$@" 2>&1)" || die "BashJavaUtils $cmd failed: $out"
  echo "$out" | grep '^BASH_JAVA_UTILS_EXEC_RESULT:' | sed 's/^BASH_JAVA_UTILS_EXEC_RESULT://' | tail -n 2
}

jobmanager_launch() {
  require_free_port "$E3_FLINK_REST_PORT" E3_FLINK_REST_PORT
  require_free_port "$E3_FLINK_RPC_PORT" E3_FLINK_RPC_PORT
  require_free_port "$E3_FLINK_JM_METRICS_PORT" E3_FLINK_JM_METRICS_PORT
  local params jvm dyn
  params="$(flink_resource_params GET_JM_RESOURCE_PARAMS)"
  jvm="${params%%$'\n'*}"; dyn="${params##*$'\n'}"  # first and last line; no pipe (see taskmanager_start)
  # shellcheck disable=SC2086
  FLINK_PLUGINS_DIR="$LIB_DIR/plugins" FLINK_CONF_DIR="$CONF_DIR/flink" launch jobmanager \
    java $jvm "${FLINK_JAVA_OPTS[@]}" -De3.local.process=jobmanager -Dlog.file="$LOG_DIR/jobmanager.log" \
    -Dlog4j.configurationFile="file:$E3_LOCAL_DIR/conf/log4j2-flink.properties" -cp "$LIB_DIR/flink/*" \
    org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint --configDir "$CONF_DIR/flink" \
    --executionMode cluster $dyn
}

taskmanager_start() {  # taskmanager_start I
  local i="$1" name="taskmanager-$1" port=$((E3_FLINK_TM_METRICS_PORT + $1 - 1))
  is_running "$name" && { log "$name already running"; return 0; }
  require_free_port "$port" "E3_FLINK_TM_METRICS_PORT (+$((i - 1)))"
  local jvm dyn
  # every TaskManager gets the same memory flags: compute them once per script run
  [[ -n "${TM_PARAMS:-}" ]] || TM_PARAMS="$(flink_resource_params GET_TM_RESOURCE_PARAMS)"
  # First and last line by parameter expansion: `echo | head -n 1` under pipefail can fail with SIGPIPE (141) when
  # head exits before echo has written everything, which ended a TaskManager restart silently in one CI run.
  jvm="${TM_PARAMS%%$'\n'*}"; dyn="${TM_PARAMS##*$'\n'}"
  # shellcheck disable=SC2086
  FLINK_PLUGINS_DIR="$LIB_DIR/plugins" FLINK_CONF_DIR="$CONF_DIR/flink" launch "$name" \
    java $jvm "${FLINK_JAVA_OPTS[@]}" -De3.local.process="$name" -Dlog.file="$LOG_DIR/$name.log" \
    -Dlog4j.configurationFile="file:$E3_LOCAL_DIR/conf/log4j2-flink.properties" -cp "$LIB_DIR/flink/*" \
    org.apache.flink.runtime.taskexecutor.TaskManagerRunner --configDir "$CONF_DIR/flink" $dyn \
    -D "metrics.reporter.prom.port=$port" -D "taskmanager.resource-id=$name"
}

registered_taskmanagers() {
  curl -sf "http://127.0.0.1:$E3_FLINK_REST_PORT/overview" | grep -o '"taskmanagers":[0-9]*' | cut -d: -f2
}

wait_taskmanagers() {  # wait_taskmanagers N
  local deadline=$((SECONDS + 180))
  until [[ "$(registered_taskmanagers || echo 0)" -ge "$1" ]]; do
    (( SECONDS < deadline )) || die "only $(registered_taskmanagers || echo 0) of $1 TaskManagers registered after 180 s; see $LOG_DIR/taskmanager-*.log"
    sleep 1
  done
}

# ---------------------------------------------------------------- Prometheus
prometheus_launch() {
  command -v "$E3_PROMETHEUS_BIN" > /dev/null || die "$E3_PROMETHEUS_BIN not found: apt-get install prometheus, or set E3_PROMETHEUS_BIN"
  require_free_port "$E3_PROMETHEUS_PORT" E3_PROMETHEUS_PORT
  local tm_targets="" job_targets=""
  for i in $(seq 1 "$E3_TASKMANAGERS"); do
    tm_targets+="${tm_targets:+, }'127.0.0.1:$((E3_FLINK_TM_METRICS_PORT + i - 1))'"
  done
  local job_ports
  job_ports="$(job_metrics_ports)"  # exits on a bad setting
  for p in $job_ports; do
    require_free_port "$p" "E3_JOB_METRICS_PORTS ($E3_JOB_METRICS_PORTS)"
    job_targets+="${job_targets:+, }'127.0.0.1:$p'"
  done
  mkdir -p "$RUN_DIR/prometheus/data"
  E3_TM_TARGETS="$tm_targets" E3_JOB_TARGETS="$job_targets" \
    E3_PROMETHEUS_RULES="$REPO_DIR/deploy/prometheus/rules/e3-alerts.yml" \
    render "$REPO_DIR/deploy/prometheus/prometheus.yml" "$CONF_DIR/prometheus.yml"
  launch prometheus "$E3_PROMETHEUS_BIN" --config.file="$CONF_DIR/prometheus.yml" \
    --storage.tsdb.path="$RUN_DIR/prometheus/data" --storage.tsdb.retention.time=1d \
    --web.listen-address="127.0.0.1:$E3_PROMETHEUS_PORT" --web.enable-lifecycle \
    --log.level=info
}

# ---------------------------------------------------------------- commands
cmd_start() {
  command -v java > /dev/null || die "java not found (JDK 17 needed)"
  command -v curl > /dev/null || die "curl not found (apt-get install curl)"
  command -v envsubst > /dev/null || die "envsubst not found (apt-get install gettext-base)"
  mkdir -p "$LOG_DIR" "$PID_DIR" "$CONF_DIR"
  "$E3_LOCAL_DIR/bin/fetch-libs.sh"
  # Launch everything first and wait afterwards: the JVMs start up side by side (TaskManagers retry registering
  # until the JobManager is up).
  kafka_launch
  flink_conf
  jobmanager_launch
  for i in $(seq 1 "$E3_TASKMANAGERS"); do taskmanager_start "$i"; done
  prometheus_launch
  wait_for "Kafka on 127.0.0.1:$E3_KAFKA_PORT" 180 kafka port_open "$E3_KAFKA_PORT"
  create_topics
  wait_for "the Flink REST API on 127.0.0.1:$E3_FLINK_REST_PORT" 180 jobmanager \
    curl -sf "http://127.0.0.1:$E3_FLINK_REST_PORT/overview"
  wait_taskmanagers "$E3_TASKMANAGERS"
  wait_for "Prometheus on 127.0.0.1:$E3_PROMETHEUS_PORT" 60 prometheus \
    curl -sf "http://127.0.0.1:$E3_PROMETHEUS_PORT/-/ready"
  log "ready: Kafka 127.0.0.1:$E3_KAFKA_PORT, Flink http://127.0.0.1:$E3_FLINK_REST_PORT ($E3_TASKMANAGERS TaskManagers x $E3_TM_SLOTS slots), Prometheus http://127.0.0.1:$E3_PROMETHEUS_PORT, logs $LOG_DIR"
}

cmd_stop() {
  [[ -d "$PID_DIR" ]] || { log "nothing to stop ($PID_DIR does not exist)"; return 0; }
  stop_process prometheus
  stop_process jobmanager
  for f in "$PID_DIR"/taskmanager-*.pid; do [[ -e "$f" ]] && stop_process "$(basename "$f" .pid)"; done
  stop_process kafka
  return 0
}

cmd_status() {
  local all_up=0
  for f in kafka jobmanager $(cd "$PID_DIR" 2>/dev/null && ls taskmanager-*.pid 2>/dev/null | sed 's/\.pid$//') prometheus; do
    if is_running "$f"; then echo "$f: running (pid $(pid_of "$f"))"; else echo "$f: not running"; all_up=1; fi
  done
  curl -sf "http://127.0.0.1:$E3_FLINK_REST_PORT/overview" && echo || echo "Flink REST: not reachable"
  curl -sf "http://127.0.0.1:$E3_PROMETHEUS_PORT/api/v1/targets?state=active" | grep -o '"scrapeUrl":"[^"]*","globalUrl":"[^"]*","lastError":"[^"]*","lastScrape":"[^"]*","lastScrapeDuration":[0-9.e-]*,"health":"[a-z]*"' \
    | sed 's/"globalUrl":"[^"]*",//; s/"lastScrape":"[^"]*",//; s/"lastScrapeDuration":[0-9.e-]*,//' || echo "Prometheus: not reachable"
  return $all_up
}

job_ids() {  # ids of every job the cluster knows, sorted
  { curl -sf "http://127.0.0.1:$E3_FLINK_REST_PORT/jobs" | grep -o '"id":"[0-9a-f]*"' | cut -d'"' -f4 | sort; } || true
}

json_string() { local s="${1//\\/\\\\}"; s="${s//\"/\\\"}"; printf '"%s"' "$s"; }

cmd_submit() {
  local jar="" entry="" parallelism="$E3_PARALLELISM" savepoint=""
  [[ $# -ge 1 ]] || die "usage: e3-local.sh submit JAR [--class MAIN] [--parallelism P] [--from-savepoint PATH] [-- PROGRAM ARGS...]"
  jar="$1"; shift
  [[ -f "$jar" ]] || die "job jar $jar does not exist (build it: ./mvnw -pl pipeline -am package -DskipTests)"
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --class) entry="$2"; shift 2 ;;
      --parallelism) parallelism="$2"; shift 2 ;;
      --from-savepoint) savepoint="$2"; shift 2 ;;
      --) shift; break ;;
      *) die "unknown submit option $1 (program arguments go after --)" ;;
    esac
  done
  local upload jar_id body="" args=""
  upload="$(curl -sS -X POST -H "Expect:" -F "jarfile=@$jar" "http://127.0.0.1:$E3_FLINK_REST_PORT/jars/upload")" \
    || die "uploading $jar to Flink failed"
  jar_id="$(echo "$upload" | grep -o '"filename":"[^"]*"' | cut -d'"' -f4 | xargs -r basename || true)"
  [[ -n "$jar_id" ]] || die "Flink rejected the jar upload: $upload"
  # The job's own endpoints on the ports Prometheus scrapes (E3StreamOptions: a later --metrics.port in ARGS wins).
  job_metrics_ports > /dev/null  # exits on a bad setting
  for a in --metrics.port "$E3_JOB_METRICS_PORTS" "$@"; do args+="${args:+,}$(json_string "$a")"; done
  body="{\"parallelism\":$parallelism,\"programArgsList\":[${args}]${entry:+,\"entryClass\":$(json_string "$entry")}"
  body+="${savepoint:+,\"savepointPath\":$(json_string "$savepoint")}}"
  local run job_id before after new_jobs
  before="$(job_ids)"
  run="$(curl -sS -X POST -H 'Content-Type: application/json' -d "$body" \
    "http://127.0.0.1:$E3_FLINK_REST_PORT/jars/$jar_id/run")" || die "running jar $jar_id failed"
  job_id="$(echo "$run" | grep -o '"jobid":"[0-9a-f]*"' | cut -d'"' -f4 || true)"
  if [[ -z "$job_id" ]]; then
    # A main() that throws after env.execute() submitted the job (e.g. by reading the JobExecutionResult, which a
    # REST submission runs detached) makes Flink answer with an error although the job runs: say both.
    after="$(job_ids)"
    new_jobs="$(comm -13 <(echo "$before") <(echo "$after") | grep -v '^$' || true)"
    if [[ "$(echo "$new_jobs" | grep -c .)" == 1 ]]; then
      log "WARNING: Flink answered the run request with an error, but the program submitted job $new_jobs, which runs;"
      log "the job's main() failed after submitting it: $(echo "$run" | grep -o 'Caused by: [^\\]*' | tail -n 1 || true)"
      job_id="$new_jobs"
    else
      die "Flink did not start the job: $run"
    fi
  fi
  [[ -z "$savepoint" ]] || log "the job starts from savepoint $savepoint"
  log "submitted $jar as job $job_id (http://127.0.0.1:$E3_FLINK_REST_PORT/#/job/running/$job_id/overview)"
  echo "$job_id"
}

cmd_stop_with_savepoint() {  # stops a job with a savepoint (Flink REST /jobs/:id/stop) and prints its path
  local job="${1:-}" target="${2:-file://$RUN_DIR/savepoints}" answer request status location deadline
  [[ -n "$job" ]] || die "usage: e3-local.sh stop-with-savepoint JOB [TARGET_DIR (default file://\$E3_LOCAL_RUN_DIR/savepoints)]"
  answer="$(curl -sS -X POST -H 'Content-Type: application/json' \
    -d "{\"targetDirectory\":$(json_string "$target"),\"drain\":false}" \
    "http://127.0.0.1:$E3_FLINK_REST_PORT/jobs/$job/stop")" || die "asking Flink to stop job $job failed"
  request="$(echo "$answer" | grep -o '"request-id":"[0-9a-f]*"' | cut -d'"' -f4 || true)"
  [[ -n "$request" ]] || die "Flink did not stop job $job with a savepoint: $answer"
  deadline=$((SECONDS + 300))
  while (( SECONDS < deadline )); do
    status="$(curl -sS "http://127.0.0.1:$E3_FLINK_REST_PORT/jobs/$job/savepoints/$request" || true)"
    if echo "$status" | grep -q '"id":"COMPLETED"'; then
      location="$(echo "$status" | grep -o '"location":"[^"]*"' | cut -d'"' -f4 || true)"
      [[ -n "$location" ]] || die "the savepoint of job $job failed (the job keeps running): $status"
      log "job $job stopped with savepoint $location; start the upgraded job from it: submit JAR --from-savepoint $location -- ARGS"
      echo "$location"
      return 0
    fi
    sleep 1
  done
  die "the savepoint of job $job did not complete within 300 s: $status"
}

cmd_last_checkpoint() {  # the newest complete checkpoint of JOB under the cluster's checkpoint folder: resume with submit --from-savepoint
  local dir="$RUN_DIR/flink/checkpoints/$1" latest
  latest="$(ls -d "$dir"/chk-* 2>/dev/null | sed 's/.*chk-//' | sort -n -r | while read -r n; do
    [[ -f "$dir/chk-$n/_metadata" ]] && { echo "$dir/chk-$n"; break; }; done || true)"
  [[ -n "$latest" ]] || die "no complete checkpoint of job $1 under $dir"
  echo "file://$latest"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  submit) shift; cmd_submit "$@" ;;
  stop-with-savepoint) shift; cmd_stop_with_savepoint "$@" ;;
  create-topics) create_topics ;;
  kill-taskmanager) [[ -n "${2:-}" ]] || die "usage: kill-taskmanager I"; stop_process "taskmanager-$2" KILL ;;
  kill-broker) stop_process kafka KILL ;;
  start-broker) mkdir -p "$LOG_DIR" "$PID_DIR"; kafka_launch
    wait_for "Kafka on 127.0.0.1:$E3_KAFKA_PORT" 180 kafka port_open "$E3_KAFKA_PORT" ;;
  pause-broker) is_running kafka || die "kafka is not running"; kill -STOP "$(pid_of kafka)"; log "paused kafka (SIGSTOP)" ;;
  resume-broker) is_running kafka || die "kafka is not running"; kill -CONT "$(pid_of kafka)"; log "resumed kafka (SIGCONT)" ;;
  kill-jobmanager) stop_process jobmanager KILL ;;
  start-jobmanager) mkdir -p "$LOG_DIR" "$PID_DIR"; jobmanager_launch
    wait_for "the Flink REST API on 127.0.0.1:$E3_FLINK_REST_PORT" 180 jobmanager \
      curl -sf "http://127.0.0.1:$E3_FLINK_REST_PORT/overview"
    wait_taskmanagers "$E3_TASKMANAGERS" ;;
  last-checkpoint) [[ -n "${2:-}" ]] || die "usage: last-checkpoint JOB"; cmd_last_checkpoint "$2" ;;
  start-taskmanager) [[ -n "${2:-}" ]] || die "usage: start-taskmanager I"; mkdir -p "$LOG_DIR" "$PID_DIR"; taskmanager_start "$2" ;;
  clean) cmd_stop; rm -rf "$RUN_DIR"; log "removed $RUN_DIR" ;;
  env) compgen -v E3_ | while read -r v; do echo "$v=${!v}"; done ;;
  *) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; [[ -z "${1:-}" || "${1:-}" == "-h" || "${1:-}" == "--help" ]] || exit 2 ;;
esac
