#!/usr/bin/env bash
# The real peer of the filelog rotation tests: logrotate (Debian package `logrotate`). It is a
# command, not a server, so `start` only installs it if missing and checks that it runs; the
# tests run it themselves with a generated config and state file in a temp folder.
#   edge-agent/src/receivers/filelog/testdata/logrotate.sh start|stop|status
# LOGROTATE_BIN overrides the binary (default: logrotate on PATH, else /usr/sbin/logrotate).
set -euo pipefail
DEV_NAME=logrotate
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../../../../deploy/dev/lib.sh
source "$here/../../../../../deploy/dev/lib.sh"

bin() {
  if [ -n "${LOGROTATE_BIN:-}" ]; then printf '%s\n' "$LOGROTATE_BIN"; return; fi
  command -v logrotate 2>/dev/null || { [ -x /usr/sbin/logrotate ] && printf '%s\n' /usr/sbin/logrotate; } || return 1
}

case "${1:-}" in
  start)
    if ! bin >/dev/null; then
      apt_install logrotate
      # lib.sh's apt_install trusts `dpkg -s`, which also succeeds for a removed package whose
      # config files remain ("deinstall ok config-files"): install explicitly in that case.
      if ! bin >/dev/null; then
        log "installing logrotate (apt, package was removed but not purged)"
        sudo=""
        [ "$(id -u)" -ne 0 ] && sudo="sudo"
        DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends logrotate >/dev/null \
          || { $sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends logrotate >/dev/null; } \
          || die "apt-get install logrotate failed"
      fi
    fi
    b="$(bin)" || die "logrotate not found after install"
    "$b" --version >/dev/null 2>&1 || die "$b does not run"
    log "$("$b" --version 2>&1 | head -1) at $b is ready"
    printf '%s\n' "$b"
    ;;
  stop)
    : # nothing runs in the background
    ;;
  status)
    b="$(bin)" || { log "not installed"; exit 1; }
    "$b" --version 2>&1 | head -1
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
