#!/usr/bin/env bash
# A real single-node Apache Kafka 4.4 broker (KRaft, one process as broker and controller) on
# loopback, for central's Kafka tests (central/src/bus/kafka-bus.test.ts,
# central/src/pipeline/feature-bus.kafka.test.ts), the scale benchmark, and split roles run by hand.
#
#   deploy/dev/kafka.sh start|stop|status
#
# Environment:
#   KAFKA_PORT             loopback port of the PLAINTEXT (client) listener (default 19092)
#   KAFKA_CONTROLLER_PORT  loopback port of the CONTROLLER listener (default: the one of the last
#                          start in this state folder if still free, else a free port)
#   KAFKA_HEAP_OPTS        JVM heap (default -Xms256m -Xmx512m)
#   KAFKA_START_TIMEOUT    seconds to wait for the broker to answer (default 120)
#   KAFKA_DIST_CACHE       where the jars go (default ${XDG_CACHE_HOME:-~/.cache}/aiops-dev/kafka-dist)
#   AIOPS_DEV_HOME         state root (see lib.sh); this instance uses kafka/ under it
#
# Install: there is no Debian package of Kafka, so the broker's jars are resolved from Maven
# Central by deploy/dev/kafka/pom.xml (org.apache.kafka:kafka_2.13 with its dependencies, plus
# Log4j's SLF4J binding) with `mvn dependency:copy-dependencies`, into
# $KAFKA_DIST_CACHE/<version>/libs, OUTSIDE the repository, once per machine (about a minute on
# an empty ~/.m2). The install is locked (flock) so parallel test files do not race, and marked
# complete only when Maven succeeded.
#
# State (server.properties, log4j2.xml, cluster id, KRaft metadata and topic logs, pid, log)
# lives in $AIOPS_DEV_HOME/kafka/. The storage is formatted once (kafka.tools.StorageTool); the
# topics survive stop + start. `start` on a running broker is a no-op when its configuration is
# unchanged and a restart when it changed (another KAFKA_PORT, say). Ready means: the process
# logged "Kafka Server started" and the client port accepts connections. Stopped by its PID only
# (SIGTERM: a controlled shutdown; SIGKILL after 15 s).
#
# The broker is made for tests and small installs: no auto-creation of topics (ensureTopics
# creates them, and a publish to a missing topic must fail), replication factor 1 everywhere,
# no initial rebalance delay, and a small offsets topic so the first group join is quick.
set -euo pipefail
DEV_NAME=kafka
# shellcheck source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

# Keep in step with <kafka.version> in kafka/pom.xml (passed to Maven, so this one wins).
KAFKA_VERSION=4.4.0
POM="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/kafka/pom.xml"

PORT="${KAFKA_PORT:-19092}"
HEAP="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
DIST_CACHE="${KAFKA_DIST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aiops-dev/kafka-dist}"
DIST="$DIST_CACHE/$KAFKA_VERSION"
LIBS="$DIST/libs"

is_port() { [[ "$1" =~ ^[0-9]{1,5}$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 65535 ]; }
is_port "$PORT" || die "KAFKA_PORT must be a port number (got '$PORT')"
[ -z "${KAFKA_CONTROLLER_PORT:-}" ] || is_port "$KAFKA_CONTROLLER_PORT" || die "KAFKA_CONTROLLER_PORT must be a port number (got '$KAFKA_CONTROLLER_PORT')"
[ "${KAFKA_CONTROLLER_PORT:-}" != "$PORT" ] || die "KAFKA_CONTROLLER_PORT must differ from KAFKA_PORT ($PORT)"
[[ "$START_TIMEOUT" =~ ^[0-9]+$ ]] && [ "$START_TIMEOUT" -ge 1 ] || die "KAFKA_START_TIMEOUT must be a number of seconds (got '$START_TIMEOUT')"
[[ "$HEAP" =~ ^(-X[a-z]+[0-9]+[kmgKMG]?[[:space:]]*)+$ ]] || die "KAFKA_HEAP_OPTS must look like '-Xms256m -Xmx512m' (got '$HEAP')"

DIR="$(dev_dir kafka)"
PIDFILE="$DIR/kafka.pid"
LOGFILE="$DIR/kafka.log"
CONF="$DIR/server.properties"
LOG4J="$DIR/log4j2.xml"
DATA="$DIR/data"
CLUSTER_ID_FILE="$DIR/cluster.id"

JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

install() {
  command -v "$JAVA" >/dev/null 2>&1 || { apt_install_retried openjdk-17-jre-headless; JAVA=java; }
  [ -f "$DIST/.complete" ] && return 0
  command -v mvn >/dev/null 2>&1 || apt_install_retried maven
  mkdir -p "$DIST_CACHE"
  # One installer at a time; the others wait, then find it complete.
  exec 9>"$DIST_CACHE/.lock-$KAFKA_VERSION"
  flock 9
  if [ -f "$DIST/.complete" ]; then exec 9>&-; return 0; fi
  local tmp mvnlog started=$SECONDS
  tmp="$(mktemp -d "$DIST_CACHE/.install-$KAFKA_VERSION.XXXXXX")"
  mvnlog="$tmp/mvn.log"
  log "installing Kafka $KAFKA_VERSION: resolving its jars from Maven Central (first install: may take minutes)"
  mvn -B -f "$POM" -Dkafka.version="$KAFKA_VERSION" dependency:copy-dependencies \
    -DoutputDirectory="$tmp/libs" -DincludeScope=runtime >"$mvnlog" 2>&1 &
  local mvnpid=$! rc=0
  while kill -0 "$mvnpid" 2>/dev/null; do
    sleep 1
    if [ $(((SECONDS - started) % 10)) -eq 0 ] && kill -0 "$mvnpid" 2>/dev/null; then
      log "  still resolving ($((SECONDS - started)) s, $(grep -c '^Downloaded from' "$mvnlog" || true) files downloaded)"
    fi
  done
  wait "$mvnpid" || rc=$?
  if [ "$rc" -ne 0 ] || ! ls "$tmp/libs"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1; then
    tail -n 30 "$mvnlog" >&2 || true
    rm -rf "$tmp"
    die "could not resolve Kafka $KAFKA_VERSION from Maven Central (mvn exit $rc)"
  fi
  rm -rf "$DIST"
  mv "$tmp" "$DIST"
  touch "$DIST/.complete"
  exec 9>&-
  log "installed Kafka $KAFKA_VERSION ($(ls "$LIBS" | wc -l) jars, $(du -sh "$LIBS" | cut -f1)) in $((SECONDS - started)) s: $LIBS"
}

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})"
}

controller_port() {
  if [ -n "${KAFKA_CONTROLLER_PORT:-}" ]; then printf '%s' "$KAFKA_CONTROLLER_PORT"; return; fi
  local old
  old="$(sed -n 's/^controller\.quorum\.voters=1@127\.0\.0\.1:\([0-9]*\)$/\1/p' "$CONF" 2>/dev/null || true)"
  # Reuse the last one: it is still ours while the broker runs, and free otherwise.
  if [ -n "$old" ] && [ "$old" != "$PORT" ] && { pid_alive "$PIDFILE" || ! tcp_open 127.0.0.1 "$old" 2>/dev/null; }; then
    printf '%s' "$old"
    return
  fi
  local p
  for _ in 1 2 3 4 5; do
    p="$(free_port)"
    [ "$p" != "$PORT" ] && { printf '%s' "$p"; return; }
  done
  die "could not find a free port for the controller listener"
}

render_config() { # render_config CONTROLLER_PORT
  cat <<EOF
# Generated by deploy/dev/kafka.sh; rewritten on every start. Single KRaft node, loopback only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$1
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$1
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DATA
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.retention.hours=24
log.segment.bytes=67108864
EOF
}

render_log4j() {
  cat <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by deploy/dev/kafka.sh: the broker logs to stdout, which the script sends to kafka.log. -->
<Configuration status="WARN">
  <Appenders>
    <Console name="stdout" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Logger name="kafka.log.LogCleaner" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
    <Logger name="org.apache.kafka.storage.internals.log" level="WARN"/>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Root level="INFO">
      <AppenderRef ref="stdout"/>
    </Root>
  </Loggers>
</Configuration>
EOF
}

# Ready: the broker said so (in this start's log) and its client port answers.
ready() { grep -q 'Kafka Server started' "$LOGFILE" && tcp_open 127.0.0.1 "$PORT"; }

format_storage() {
  [ -f "$DATA/meta.properties" ] && return 0
  local id
  if [ -s "$CLUSTER_ID_FILE" ]; then id="$(cat "$CLUSTER_ID_FILE")"; else
    # A Kafka cluster id: 16 random bytes, base64url without padding (what `random-uuid` prints).
    id="$(node -e "process.stdout.write(require('crypto').randomBytes(16).toString('base64url'))")"
    printf '%s\n' "$id" >"$CLUSTER_ID_FILE"
  fi
  mkdir -p "$DATA"
  log "formatting the KRaft storage in $DATA (cluster id $id)"
  "$JAVA" -Xmx256m -Dlog4j2.configurationFile="$LOG4J" -cp "$LIBS/*" kafka.tools.StorageTool \
    format -t "$id" -c "$CONF" >"$DIR/format.log" 2>&1 \
    || { cat "$DIR/format.log" >&2; die "formatting the storage failed"; }
}

start() {
  install
  local cport wanted
  cport="$(controller_port)"
  wanted="$(render_config "$cport")"
  reuse_or_replace "$PIDFILE" "$CONF" "$PORT" "$wanted" && return 0
  if tcp_open 127.0.0.1 "$cport" 2>/dev/null; then die "controller port $cport is already in use by another process: set KAFKA_CONTROLLER_PORT"; fi
  render_log4j >"$LOG4J"
  format_storage
  log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$PORT (controller 127.0.0.1:$cport, log $LOGFILE)"
  local heap=()
  read -r -a heap <<<"$HEAP"
  local started=$SECONDS
  nohup "$JAVA" "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$LOG4J" -Dkafka.logs.dir="$DIR" \
    -cp "$LIBS/*" kafka.Kafka "$CONF" >"$LOGFILE" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  wait_started "$DEV_NAME" "$PIDFILE" "$LOGFILE" "$START_TIMEOUT" ready
  log "ready (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT after $((SECONDS - started)) s"
}

dev_command "${1:-}"
