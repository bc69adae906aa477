#!/usr/bin/env bash
# Shared helpers for deploy/dev/*.sh: each script installs its server if missing (Debian packages
# through apt, or downloads into a cache OUTSIDE the repo), starts it on loopback with its own
# state folder, waits until it answers, and stops it by PID. Idempotent: `start` on a running
# server is a no-op; `stop` on a stopped one too.
#
# State lives under $AIOPS_DEV_HOME (default ~/.cache/aiops-dev/<name>/): pid, log, data.
set -euo pipefail

AIOPS_DEV_HOME="${AIOPS_DEV_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/aiops-dev}"

dev_dir() { # dev_dir NAME -> prints and creates the state folder
  local d="$AIOPS_DEV_HOME/$1"
  mkdir -p "$d"
  printf '%s\n' "$d"
}

log() { printf '[%s] %s\n' "${DEV_NAME:-dev}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

apt_updated=0
apt_install() { # apt_install PACKAGE... (only the missing ones)
  local missing=()
  # dpkg -s also succeeds for a package removed but not purged: ask for the installed state.
  for p in "$@"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} by hand"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  # Test suites run in parallel and several may install at once: one apt at a time (a shared
  # lock file), and apt itself waits for a dpkg lock held by anything else.
  mkdir -p "$AIOPS_DEV_HOME"
  exec 8>"$AIOPS_DEV_HOME/.apt.lock"
  flock -w 1800 8 || die "waited 30 minutes for another apt install to finish"
  missing=()
  for p in "$@"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then exec 8>&-; return 0; fi
  local wait_lock=(-o DPkg::Lock::Timeout=600)
  if [ $apt_updated -eq 0 ]; then
    log "apt-get update"
    $sudo apt-get "${wait_lock[@]}" update -qq >/dev/null || die "apt-get update failed"
    apt_updated=1
  fi
  log "installing ${missing[*]} (apt)"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get "${wait_lock[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
  exec 8>&-
}

apt_install_retried() { # apt_install_retried PACKAGE: apt_install, tried 6 times 10 s apart
  # (another session may hold the dpkg lock); dies after the last failure
  local i
  for i in 1 2 3 4 5 6; do
    if (apt_install "$1"); then return 0; fi
    [ "$i" -eq 6 ] && die "could not install the $1 package"
    log "apt failed (lock held?), retrying in 10 s"
    sleep 10
  done
}

maven_install() { # maven_install NAME POM VERSION DIST_CACHE CHECK_GLOB [-Dprop=value...]: resolves
  # the POM's runtime dependencies from Maven Central into DIST_CACHE/VERSION/libs once per
  # machine (flock: parallel callers wait, then find it complete; `.complete` marks success),
  # with progress every 10 s; dies with Maven's tail when it fails or CHECK_GLOB matches nothing.
  local name="$1" pom="$2" version="$3" cache="$4" check="$5"
  shift 5
  local dist="$cache/$version"
  [ -f "$dist/.complete" ] && return 0
  command -v mvn >/dev/null 2>&1 || apt_install_retried maven
  mkdir -p "$cache"
  exec 9>"$cache/.lock-$version"
  flock 9
  if [ -f "$dist/.complete" ]; then exec 9>&-; return 0; fi
  local tmp mvnlog started=$SECONDS
  tmp="$(mktemp -d "$cache/.install-$version.XXXXXX")"
  mvnlog="$tmp/mvn.log"
  log "installing $name $version: resolving its jars from Maven Central (first install: may take minutes)"
  mvn -B -f "$pom" "$@" dependency:copy-dependencies -DoutputDirectory="$tmp/libs" -DincludeScope=runtime >"$mvnlog" 2>&1 &
  local mvnpid=$! rc=0
  while kill -0 "$mvnpid" 2>/dev/null; do
    sleep 1
    if [ $(((SECONDS - started) % 10)) -eq 0 ] && kill -0 "$mvnpid" 2>/dev/null; then
      log "  still resolving ($((SECONDS - started)) s, $(grep -c '^Downloaded from' "$mvnlog" || true) files downloaded)"
    fi
  done
  wait "$mvnpid" || rc=$?
  # shellcheck disable=SC2086 # CHECK_GLOB is a glob on purpose
  if [ "$rc" -ne 0 ] || ! ls "$tmp/libs"/$check >/dev/null 2>&1; then
    tail -n 30 "$mvnlog" >&2 || true
    rm -rf "$tmp"
    exec 9>&-
    die "could not resolve $name $version from Maven Central (mvn exit $rc)"
  fi
  rm -rf "$dist"
  mv "$tmp" "$dist"
  touch "$dist/.complete"
  exec 9>&-
  log "installed $name $version ($(ls "$dist/libs" | wc -l) jars, $(du -sh "$dist/libs" | cut -f1)) in $((SECONDS - started)) s: $dist/libs"
}

pid_alive() { # pid_alive PIDFILE
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

wait_until() { # wait_until SECONDS DESCRIPTION COMMAND...
  local secs="$1" what="$2"
  shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then return 1; fi
    sleep 0.2
  done
  log "$what is ready"
}

reuse_or_replace() { # reuse_or_replace PIDFILE CONF PORT WANTED_CONFIG: 0 = already running with
  # this config (nothing to do); 1 = caller must start (a running one with another config was
  # stopped, the config file written). Dies when another process holds the port.
  local pf="$1" conf="$2" port="$3" wanted="$4"
  if pid_alive "$pf"; then
    if [ "$(cat "$conf" 2>/dev/null || true)" = "$wanted" ]; then
      log "already running (pid $(cat "$pf")) on 127.0.0.1:$port"
      return 0
    fi
    log "config changed: restarting"
    stop_pid "$pf"
  fi
  if tcp_open 127.0.0.1 "$port"; then die "port $port is already in use by another process"; fi
  printf '%s\n' "$wanted" >"$conf"
  return 1
}

wait_started() { # wait_started NAME PIDFILE LOGFILE SECONDS COMMAND...: until COMMAND succeeds;
  # dies (with the log's tail) when the process exits or the deadline passes (then stops it).
  local name="$1" pf="$2" logf="$3" secs="$4"
  shift 4
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if ! pid_alive "$pf"; then
      tail -n 20 "$logf" >&2 || true
      rm -f "$pf"
      die "$name exited during start-up (log: $logf)"
    fi
    if [ $SECONDS -ge $deadline ]; then
      tail -n 20 "$logf" >&2 || true
      stop_pid "$pf"
      die "$name did not become ready within $secs s (log: $logf)"
    fi
    sleep 0.2
  done
}

http_ok() { # http_ok URL
  if command -v curl >/dev/null; then curl -fs -o /dev/null --max-time 2 "$1"; else
    node -e "require('http').get(process.argv[1],r=>process.exit(r.statusCode<400?0:1)).on('error',()=>process.exit(1))" "$1"; fi
}

tcp_open() { # tcp_open HOST PORT
  node -e "const s=require('net').connect(+process.argv[2],process.argv[1],()=>{s.end();process.exit(0)});s.on('error',()=>process.exit(1))" "$1" "$2"
}

stop_pid() { # stop_pid PIDFILE: TERM, wait up to 15 s, then KILL
  local pf="$1"
  if ! pid_alive "$pf"; then rm -f "$pf"; return 0; fi
  local pid
  pid="$(cat "$pf")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 75); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  rm -f "$pf"
  log "stopped (pid $pid)"
}

launch() { # launch COMMAND...: runs the server in the background (output to $LOGFILE, pid to
  # $PIDFILE) and waits up to 60 s for the script's ready() (see wait_started)
  nohup "$@" >"$LOGFILE" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  wait_started "$DEV_NAME" "$PIDFILE" "$LOGFILE" 60 ready
  log "ready (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"
}

pid_status() { # pid_status: whether the script's server runs (by $PIDFILE); 0 running, 3 stopped
  if pid_alive "$PIDFILE"; then
    echo "$DEV_NAME running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT, state $DIR"
    return 0
  fi
  echo "$DEV_NAME stopped (state $DIR)"
  return 3
}

dev_command() { # dev_command ACTION: the command line of a script that runs one server on
  # 127.0.0.1:$PORT with its state in $DIR and defines start(): start|stop|status (pid_status);
  # anything else prints the usage (exit 2)
  case "${1:-}" in
    start) start ;;
    stop) stop_pid "$PIDFILE" ;;
    status) pid_status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
  esac
}
