#!/usr/bin/env bash
# Single-node Apache Kafka broker in KRaft mode (combined broker+controller),
# resolved from Maven Central by ./pom.xml and run on the machine's JDK.
#
#   broker.sh start    resolve jars, format storage once, start, wait until ready
#   broker.sh stop     stop cleanly (SIGTERM, then SIGKILL after a grace period)
#   broker.sh status   exit 0 when the broker is running and accepts clients
#
# Environment (all optional):
#   KAFKA_PORT          client port                     (default 9092)
#   KAFKA_CONTROLLER_PORT controller port               (default KAFKA_PORT+1)
#   KAFKA_DATA_DIR      storage, logs, pid file         (default <repo>/.data/kafka)
#   KAFKA_HEAP_OPTS     JVM heap                        (default -Xms256m -Xmx1g)
#   KAFKA_START_TIMEOUT seconds to wait for readiness   (default 90)
#
# Starting a running broker is harmless: it reports and exits 0.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
port="${KAFKA_PORT:-9092}"
cport="${KAFKA_CONTROLLER_PORT:-$((port + 1))}"
data="${KAFKA_DATA_DIR:-$repo/.data/kafka}"
heap="${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"
timeout_s="${KAFKA_START_TIMEOUT:-90}"
pidfile="$data/broker.pid"
logfile="$data/broker.log"

log() { printf '[kafka] %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running_pid() {
  [[ -f "$pidfile" ]] || return 1
  local pid
  pid="$(cat "$pidfile")"
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

classpath() {
  # Cache the resolved class path next to the pom, keyed by the pom's hash,
  # so a changed pin re-resolves and an unchanged one costs nothing.
  local key cache
  key="$(sha256sum "$here/pom.xml" | cut -c1-16)"
  cache="$here/.classpath-$key"
  if [[ ! -s "$cache" ]]; then
    command -v mvn >/dev/null || { log "Maven (mvn) is required to resolve the broker's jars"; exit 1; }
    log "resolving broker jars with Maven (first run only)..."
    mvn -q -B -f "$here/pom.xml" dependency:build-classpath -Dmdep.outputFile="$cache.tmp" >&2
    mv "$cache.tmp" "$cache"
  fi
  cat "$cache"
}

write_config() {
  mkdir -p "$data/logs"
  cat >"$data/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$data/logs
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=3000
auto.create.topics.enable=false
log.retention.hours=168
log.segment.bytes=134217728
PROPS
  cat >"$data/log4j.properties" <<PROPS
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$logfile
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
PROPS
}

java_cmd() {
  # shellcheck disable=SC2086
  echo java $heap -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$data/log4j.properties" -cp "$1"
}

start() {
  if pid="$(running_pid)"; then
    if port_open "$port"; then
      log "already running (pid $pid) on 127.0.0.1:$port"
      return 0
    fi
  fi
  command -v java >/dev/null || { log "a JDK (java) is required"; exit 1; }
  if port_open "$port"; then
    log "port $port is taken by another process (another broker, with other data?); stop it or set KAFKA_PORT"
    exit 1
  fi
  local cp
  cp="$(classpath)"
  write_config
  if [[ ! -f "$data/logs/meta.properties" ]]; then
    log "formatting KRaft storage in $data/logs"
    # shellcheck disable=SC2046
    $(java_cmd "$cp") kafka.tools.StorageTool format --ignore-formatted \
      -t "$(cat /proc/sys/kernel/random/uuid | tr -d '-' | cut -c1-22)" \
      -c "$data/server.properties" >>"$logfile" 2>&1 \
      || { log "storage format failed, see $logfile"; exit 1; }
  fi
  log "starting broker on 127.0.0.1:$port (log: $logfile)"
  # shellcheck disable=SC2046
  nohup $(java_cmd "$cp") kafka.Kafka "$data/server.properties" >>"$data/broker.out" 2>&1 &
  echo $! >"$pidfile"
  local waited=0
  until port_open "$port" && grep -q "Kafka Server started" "$logfile" 2>/dev/null; do
    if ! running_pid >/dev/null; then
      log "broker exited during start-up; last lines of $logfile:"
      tail -n 20 "$logfile" >&2 || true
      exit 1
    fi
    if (( waited >= timeout_s * 2 )); then
      log "broker not ready after ${timeout_s}s, see $logfile"
      exit 1
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
  log "ready after $((waited / 2))s (pid $(cat "$pidfile"))"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    log "not running"
    rm -f "$pidfile"
    return 0
  fi
  log "stopping broker (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; log "stopped"; return 0; }
    sleep 0.5
  done
  log "broker did not stop within 30s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

status() {
  if pid="$(running_pid)" && port_open "$port"; then
    log "running (pid $pid) on 127.0.0.1:$port"
  else
    log "not running"
    return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 {start|stop|status}" >&2; exit 2 ;;
esac
