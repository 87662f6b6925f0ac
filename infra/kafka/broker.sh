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
#   KAFKA_SECURED       1: SASL/SCRAM-SHA-512 over TLS, ACLs (default 0: plaintext)
#   KAFKA_TOPIC_PREFIX  the project's topic prefix, for the ACLs (default gridwatch.)
#   KAFKA_APP_ID        the worker's app id = group and changelog prefix (default gridwatch)
#
# Secured (KAFKA_SECURED=1): on first start the script makes, under
# $KAFKA_DATA_DIR/secrets, a self-signed CA (ca.pem) and a broker certificate
# for 127.0.0.1/localhost, and one SCRAM user per principal with a random
# password in <user>.password (mode 0600): admin (the broker's own, super
# user), worker, terminal, registers, console, subscriber. The users are
# written into the KRaft storage at format time; StandardAuthorizer refuses
# whatever no ACL allows; the ACLs (see apply_acls) are (re)applied at every
# start. Clients take the CA and their password from those files.
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
secured="${KAFKA_SECURED:-0}"
prefix="${KAFKA_TOPIC_PREFIX:-gridwatch.}"
app_id="${KAFKA_APP_ID:-gridwatch}"
secrets="$data/secrets"
USERS=(admin worker terminal registers console subscriber)
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

make_secrets() {
  # A CA and a broker certificate (PEM, no passphrase: the files are the
  # secret, mode 0600) and one random password per SCRAM user; made once.
  [[ -s "$secrets/ca.pem" ]] && return 0
  command -v openssl >/dev/null || { log "openssl is required for the secured broker"; exit 1; }
  mkdir -p "$secrets"
  chmod 700 "$secrets"
  (
    cd "$secrets"
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=gridwatch local CA" \
      -keyout ca.key -out ca.pem >/dev/null 2>&1
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout broker.key -out broker.csr >/dev/null 2>&1
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >broker.ext
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 \
      -extfile broker.ext -out broker.crt >/dev/null 2>&1
    # Kafka's PEM key store wants the key as PKCS#8
    openssl pkcs8 -topk8 -nocrypt -in broker.key -out broker.pk8
    cat broker.crt ca.pem >broker-chain.pem
    for u in "${USERS[@]}"; do
      head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$u.password"
    done
  )
  log "made a CA, a broker certificate and SCRAM passwords in $secrets"
}

pem_oneline() { awk 'NF {printf "%s\\n", $0}' "$1" | sed 's/\\n$//'; }

secured_config() {
  local admin_pw
  admin_pw="$(cat "$secrets/admin.password")"
  cat <<PROPS
listeners=SASL_SSL://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=SASL_SSL://127.0.0.1:$port
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
inter.broker.listener.name=SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_pw";
ssl.keystore.type=PEM
ssl.keystore.location=$secrets/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$secrets/ca.pem
ssl.client.auth=none
ssl.endpoint.identification.algorithm=https
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:ANONYMOUS
PROPS
}

write_config() {
  mkdir -p "$data/logs"
  local listeners
  if [[ "$secured" == 1 ]]; then
    make_secrets
    # one PEM file: the private key (PKCS#8), then the certificate chain
    (umask 077; cat "$secrets/broker.pk8" "$secrets/broker-chain.pem" >"$secrets/broker-keystore.pem")
    listeners="$(secured_config)"
  else
    listeners="listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT"
  fi
  cat >"$data/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
$listeners
controller.listener.names=CONTROLLER
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
    local scram=()
    if [[ "$secured" == 1 ]]; then
      for u in "${USERS[@]}"; do
        scram+=(--add-scram "SCRAM-SHA-512=[name=$u,password=$(cat "$secrets/$u.password")]")
      done
    fi
    $(java_cmd "$cp") kafka.tools.StorageTool format --ignore-formatted \
      -t "$(cat /proc/sys/kernel/random/uuid | tr -d '-' | cut -c1-22)" \
      -c "$data/server.properties" "${scram[@]}" >>"$logfile" 2>&1 \
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
  if [[ "$secured" == 1 ]]; then
    apply_acls "$cp"
  fi
}

apply_acls() {
  # Who may do what (the README's table). Everything else is refused.
  local cp="$1" cfg="$secrets/admin.properties"
  (umask 077; cat >"$cfg" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(cat "$secrets/admin.password")";
ssl.truststore.type=PEM
ssl.truststore.location=$secrets/ca.pem
PROPS
  )
  acl() {
    # shellcheck disable=SC2046
    $(java_cmd "$cp") kafka.admin.AclCommand --bootstrap-server "127.0.0.1:$port" --command-config "$cfg" \
      --add --force "$@" >>"$logfile" 2>&1 || { log "ACL failed: $*"; exit 1; }
  }
  local t="$prefix"
  # the worker: every topic of the project and its own internal ones, its group, idempotent writes
  acl --allow-principal User:worker --operation All --topic "$t" --resource-pattern-type prefixed
  acl --allow-principal User:worker --operation All --topic "$app_id" --resource-pattern-type prefixed
  acl --allow-principal User:worker --operation All --group "$app_id" --resource-pattern-type prefixed
  acl --allow-principal User:worker --operation IdempotentWrite --operation Describe --cluster
  # terminals: write events, nothing else
  acl --allow-principal User:terminal --operation Write --operation Describe --topic "${t}events"
  acl --allow-principal User:terminal --operation IdempotentWrite --cluster
  # the register publisher: write the registers
  for r in residents compounds checkpoints quarantine-orders risk-areas visitors person-records; do
    acl --allow-principal User:registers --operation Write --operation Describe --topic "$t$r"
  done
  acl --allow-principal User:registers --operation IdempotentWrite --cluster
  # the console: read alerts and the place and register topics it names and counts, write actions
  for r in alerts compounds checkpoints residents quarantine-orders; do
    acl --allow-principal User:console --operation Read --operation Describe --topic "$t$r"
  done
  acl --allow-principal User:console --operation Write --operation Describe --topic "${t}alert-actions"
  acl --allow-principal User:console --operation IdempotentWrite --cluster
  # subscribers: read alerts and enriched events, in groups of their own
  for r in alerts enriched-events; do
    acl --allow-principal User:subscriber --operation Read --operation Describe --topic "$t$r"
  done
  acl --allow-principal User:subscriber --operation Read --group subscriber --resource-pattern-type prefixed
  log "ACLs applied (worker, terminal, registers, console, subscriber)"
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
