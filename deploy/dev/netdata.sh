#!/usr/bin/env bash
# Netdata (Debian package netdata-core 1.37) on loopback, for the agent resource benchmark:
#   deploy/dev/netdata.sh start|stop|status
# NETDATA_PORT (default 19999), NETDATA_STATSD_PORT (UDP, default 18125), NETDATA_UPDATE_EVERY (s, default 1).
# Its own config, cache and lib folders live under the dev state folder (run as the invoking
# user: the state folder may sit in a home directory other users cannot enter). Note: Debian's build has "Machine Learning: NO"
# (netdata -W buildinfo); bench/RESULTS.md says so next to the figures.
DEV_NAME=netdata
. "$(dirname "$0")/lib.sh"

PORT="${NETDATA_PORT:-19999}"
STATSD_PORT="${NETDATA_STATSD_PORT:-18125}"
EVERY="${NETDATA_UPDATE_EVERY:-1}"
D="$(dev_dir netdata)"
PIDFILE="$D/netdata.pid"

start() {
  if pid_alive "$PIDFILE"; then log "already running (pid $(cat "$PIDFILE"))"; return 0; fi
  apt_install netdata-core
  mkdir -p "$D/etc" "$D/cache" "$D/lib" "$D/log" "$D/run"
  cat >"$D/etc/netdata.conf" <<CONF
[global]
	run as user = root
	update every = $EVERY
	memory mode = dbengine
	page cache size = 32
	dbengine multihost disk space = 256
[directories]
	config = $D/etc
	stock config = /usr/lib/netdata/conf.d
	cache = $D/cache
	lib = $D/lib
	log = $D/log
	run = $D/run
[web]
	bind to = 127.0.0.1:$PORT
[statsd]
	enabled = yes
	update every (flushInterval) = $EVERY
	udp messages to process at once = 100
	max private charts hard limit = 200000
	bind to = udp:127.0.0.1:$STATSD_PORT
[ml]
	enabled = yes
[health]
	enabled = no
[cloud]
	enabled = no
CONF
  netdata -c "$D/etc/netdata.conf" -P "$PIDFILE" -D >"$D/log/stdout.log" 2>&1 &
  local boot=$!
  local deadline=$((SECONDS + 90))
  until http_ok "http://127.0.0.1:$PORT/api/v1/info"; do
    if ! kill -0 "$boot" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      tail -n 20 "$D/log/error.log" >&2 || true
      die "netdata did not start (log: $D/log/error.log)"
    fi
    sleep 0.3
  done
  log "netdata on 127.0.0.1:$PORT is ready"
  # -D keeps it in the foreground: the child we started is netdata itself
  [ -s "$PIDFILE" ] || echo "$boot" >"$PIDFILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop_pid "$PIDFILE" ;;
  status) if pid_alive "$PIDFILE"; then echo "running pid $(cat "$PIDFILE") port $PORT statsd $STATSD_PORT"; else echo stopped; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
