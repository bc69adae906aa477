#!/usr/bin/env bash
# Prometheus node_exporter (Debian package prometheus-node-exporter) on loopback, for the edge
# agent's hostmetrics and prometheus receiver tests.
#
#   deploy/dev/node-exporter.sh start|stop|status
#
# Port: NODE_EXPORTER_PORT (default 19100, away from the usual 9100). State (pid, log) under
# $AIOPS_DEV_HOME/node-exporter/<port>/, so instances on different ports (two test files running
# at once) are started and stopped independently. It reads this machine's /proc and /sys, the same files the
# agent's hostmetrics receiver reads, so the two can be compared.
set -euo pipefail
DEV_NAME=node-exporter
# shellcheck source=deploy/dev/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT="${NODE_EXPORTER_PORT:-19100}"
case "$PORT" in '' | *[!0-9]*) die "NODE_EXPORTER_PORT must be a number (got '$PORT')" ;; esac
DIR="$(dev_dir "node-exporter/$PORT")"
PIDFILE="$DIR/node-exporter.pid"
LOGFILE="$DIR/node-exporter.log"
URL="http://127.0.0.1:$PORT/metrics"

find_bin() {
  local b
  for b in prometheus-node-exporter node_exporter /usr/bin/prometheus-node-exporter; do
    if command -v "$b" >/dev/null 2>&1; then command -v "$b"; return 0; fi
  done
  return 1
}

start() {
  if pid_alive "$PIDFILE"; then
    log "already running (pid $(cat "$PIDFILE")) on $URL"
    return 0
  fi
  rm -f "$PIDFILE"
  find_bin >/dev/null || apt_install_retried prometheus-node-exporter
  local bin
  bin="$(find_bin)" || die "prometheus-node-exporter binary not found after install"
  if tcp_open 127.0.0.1 "$PORT" 2>/dev/null; then
    die "port $PORT on 127.0.0.1 is taken by another process: set NODE_EXPORTER_PORT"
  fi
  log "starting $bin on 127.0.0.1:$PORT (log $LOGFILE)"
  # The textfile collector is pointed at an empty folder of ours so that files a packaged
  # install may leave in /var/lib/prometheus do not leak into the tests.
  mkdir -p "$DIR/textfile"
  nohup "$bin" \
    --web.listen-address="127.0.0.1:$PORT" \
    --collector.textfile.directory="$DIR/textfile" \
    >"$LOGFILE" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  if ! wait_until 60 "node_exporter on $URL" http_ok "$URL"; then
    log "node_exporter did not answer on $URL within 60 s; last log lines:"
    tail -n 20 "$LOGFILE" >&2 || true
    stop_pid "$PIDFILE"
    exit 1
  fi
  if ! pid_alive "$PIDFILE"; then
    tail -n 20 "$LOGFILE" >&2 || true
    die "node_exporter exited right after start"
  fi
}

status() {
  if pid_alive "$PIDFILE" && http_ok "$URL"; then
    log "running (pid $(cat "$PIDFILE")) on $URL"
    return 0
  fi
  log "not running"
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop_pid "$PIDFILE" ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
