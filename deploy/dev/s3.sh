#!/usr/bin/env bash
# An S3-compatible object store for the model registry's S3 artifact store tests: moto's S3
# server (PyPI `moto[server]`, pinned below), an independent implementation of the S3 REST API
# including conditional writes (If-None-Match: * and If-Match on PutObject, answered with 412
# PreconditionFailed), in memory, served one request at a time (s3/serve.py says why). Installed into a virtualenv in a cache folder OUTSIDE
# the repository (first install: about 30 s from PyPI), started on loopback, stopped by PID.
#
#   deploy/dev/s3.sh start|stop|status
#
# Environment:
#   S3_PORT          loopback port of its HTTP listener (default 19000)
#   S3_DIST_CACHE    where the virtualenv is kept (default ~/.cache/aiops-dev/s3-dist)
#   AIOPS_DEV_HOME   state root (see lib.sh); this instance uses s3-<port>/
#
# Any access key and secret are accepted (the server checks signatures' shape, not the keys):
# it is a test peer, never a place for data. Production points `models.registry` at AWS S3 or
# another S3-compatible store with conditional writes (docs/decisions/027).
set -euo pipefail
DEV_NAME=s3
# shellcheck source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

MOTO_VERSION=5.2.5
PORT="${S3_PORT:-19000}"
[[ "$PORT" =~ ^[0-9]{1,5}$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || die "S3_PORT must be a port number (got '$PORT')"
DIST_CACHE="${S3_DIST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aiops-dev/s3-dist}"
VENV="$DIST_CACHE/moto-$MOTO_VERSION"
SERVE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/s3/serve.py"

DIR="$(dev_dir "s3-$PORT")"
PIDFILE="$DIR/s3.pid"
LOGFILE="$DIR/s3.log"
FLAGSFILE="$DIR/flags"

install() {
  [ -f "$VENV/.complete" ] && return 0
  command -v python3 >/dev/null 2>&1 || apt_install_retried python3
  python3 -c 'import venv' 2>/dev/null || apt_install_retried python3-venv
  mkdir -p "$DIST_CACHE"
  # One installer at a time; the others wait, then find it complete.
  exec 9>"$DIST_CACHE/.lock-$MOTO_VERSION"
  flock 9
  if [ -f "$VENV/.complete" ]; then exec 9>&-; return 0; fi
  local started=$SECONDS
  # A virtualenv records its own path, so it is built in place; .complete marks a finished one
  # (a half-built one from an interrupted install is removed first).
  rm -rf "$VENV"
  log "installing moto[server] $MOTO_VERSION from PyPI into $VENV (first install: about 30 s)"
  if ! python3 -m venv "$VENV" >"$DIST_CACHE/install.log" 2>&1 \
    || ! "$VENV/bin/pip" install --disable-pip-version-check -q "moto[server]==$MOTO_VERSION" >>"$DIST_CACHE/install.log" 2>&1; then
    tail -n 30 "$DIST_CACHE/install.log" >&2 || true
    rm -rf "$VENV"
    die "could not install moto[server]==$MOTO_VERSION from PyPI (needs python3 with venv and pip)"
  fi
  touch "$VENV/.complete"
  exec 9>&-
  log "installed moto $MOTO_VERSION in $((SECONDS - started)) s"
}

ready() { http_ok "http://127.0.0.1:$PORT/moto-api/"; }

start() {
  install
  local wanted
  wanted="moto $MOTO_VERSION serial 127.0.0.1:$PORT"
  reuse_or_replace "$PIDFILE" "$FLAGSFILE" "$PORT" "$wanted" && return 0
  log "starting moto's S3 server on 127.0.0.1:$PORT (one request at a time: conditional writes are atomic, as on S3)"
  launch "$VENV/bin/python" "$SERVE" 127.0.0.1 "$PORT"
}

dev_command "${1:-}"
