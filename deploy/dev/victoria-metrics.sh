#!/usr/bin/env bash
# A real single-node VictoriaMetrics (Debian package `victoria-metrics`, 1.79 on bookworm) for the
# TSDB exporter's and query adapter's tests and the remote-write ingest benchmark. It accepts
# Prometheus remote-write 1.0 on POST /api/v1/write and answers the Prometheus query API
# (/api/v1/query, /api/v1/query_range, /api/v1/series).
#
#   deploy/dev/victoria-metrics.sh start|stop|status
#
# Environment:
#   VICTORIA_METRICS_PORT            loopback port of its HTTP listener (default 18428)
#   VICTORIA_METRICS_RETENTION       -retentionPeriod: 1d, 2w, 1y or a number of months (default 2d)
#   VICTORIA_METRICS_LATENCY_OFFSET  -search.latencyOffset: how far behind "now" queries stop (VM's
#                                    default 30s hides the latest samples; here 1s)
#   AIOPS_DEV_HOME                   state root (see lib.sh); this instance uses victoria-metrics-<port>/
#
# The data lives in the state folder, never in the repository. `start` on a running instance is
# a no-op when its flags are unchanged and a restart when they changed; the data is kept across
# restarts (the tests rely on that). Stopped by its PID only (SIGTERM flushes to disk). The
# package's own init script is not used; if it runs anyway it listens on 8428, not on our port.
set -euo pipefail
DEV_NAME=victoria-metrics
# shellcheck source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

PORT="${VICTORIA_METRICS_PORT:-18428}"
RETENTION="${VICTORIA_METRICS_RETENTION:-2d}"
LATENCY="${VICTORIA_METRICS_LATENCY_OFFSET:-1s}"

[[ "$PORT" =~ ^[0-9]{1,5}$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || die "VICTORIA_METRICS_PORT must be a port number (got '$PORT')"
[[ "$RETENTION" =~ ^[0-9]+(h|d|w|y)?$ ]] || die "VICTORIA_METRICS_RETENTION must look like 2d, 1w, 1y or 3 (months) (got '$RETENTION')"
[[ "$LATENCY" =~ ^[0-9]+(ms|s|m)$ ]] || die "VICTORIA_METRICS_LATENCY_OFFSET must look like 1s or 500ms (got '$LATENCY')"

DIR="$(dev_dir "victoria-metrics-$PORT")"
PIDFILE="$DIR/victoria-metrics.pid"
LOGFILE="$DIR/victoria-metrics.log"
FLAGSFILE="$DIR/flags"
DATA="$DIR/data"

# Everything that defines the running instance; a change restarts it (reuse_or_replace).
render_flags() {
  cat <<EOF
-httpListenAddr=127.0.0.1:$PORT
-storageDataPath=$DATA
-retentionPeriod=$RETENTION
-search.latencyOffset=$LATENCY
-search.disableCache
-loggerLevel=INFO
EOF
}

install() {
  command -v victoria-metrics >/dev/null 2>&1 && return 0
  apt_install_retried victoria-metrics
  command -v victoria-metrics >/dev/null 2>&1 || die "victoria-metrics binary not found after install"
}

ready() { http_ok "http://127.0.0.1:$PORT/health"; }

start() {
  install
  local wanted
  wanted="$(render_flags)"
  reuse_or_replace "$PIDFILE" "$FLAGSFILE" "$PORT" "$wanted" && return 0
  mkdir -p "$DATA"
  local flags=()
  mapfile -t flags <<<"$wanted"
  log "starting on 127.0.0.1:$PORT (data $DATA)"
  launch victoria-metrics "${flags[@]}"
}

dev_command "${1:-}"
