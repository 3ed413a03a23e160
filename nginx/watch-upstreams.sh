#!/bin/bash
# nginx, reloaded when the replicas behind an upstream change.
#
# nginx resolves `server chat:8004` once, when it loads its config, to every
# address Docker's DNS gives for the name: with `docker compose up --scale
# chat=3` that is all three replicas. Replicas added, removed or recreated later
# (new addresses) would go unseen, so this script starts nginx and then, every
# WATCH_INTERVAL seconds, resolves each upstream name again; when the set of
# addresses changed it checks the config and sends nginx SIGHUP. A reload is
# graceful (old workers finish their requests, long polls included) and keeps
# the `upstream` blocks, so keep-alive pools and balancing over every replica
# stay. (The alternative, `proxy_pass http://$var` with `resolver 127.0.0.11`,
# resolves per request but drops upstream keep-alive; `server ... resolve` needs
# nginx 1.27.3, newer than Debian bookworm's 1.22 in the local base image.)
#
# Settings: UPSTREAM_NAMES (the service names to watch; default: every host of a
# `server host:port;` line in nginx.conf's upstream blocks, which
# scripts/render-nginx-conf writes from services/catalog.py), WATCH_INTERVAL
# (2 s), START_WAIT (60 s: how long to wait at start for every name to resolve).
set -u
NGINX_CONF=${NGINX_CONF:-/etc/nginx/nginx.conf}
names=${UPSTREAM_NAMES:-$(sed -n 's/^ *server \([a-z][a-z0-9_-]*\):[0-9][0-9]*;.*$/\1/p' "$NGINX_CONF" | sort -u | tr '\n' ' ')}
if [ -z "${names// /}" ]; then
  echo "watch-upstreams: no upstream server found in $NGINX_CONF" >&2
  exit 1
fi
interval=${WATCH_INTERVAL:-2}

addresses() {
  local name
  for name in $names; do
    printf '%s=%s\n' "$name" "$(getent ahostsv4 "$name" | awk '{print $1}' | sort -u | tr '\n' ',')"
  done
}

# nginx refuses to start while an upstream name does not resolve. Right after
# the services were (re)created, Docker's DNS may not answer for a moment: wait
# for every name (up to START_WAIT seconds) rather than exit and be restarted
# with a growing back-off.
for _ in $(seq "${START_WAIT:-60}"); do
  grep -q '=$' <<<"$(addresses)" || break
  sleep 1
done

nginx -e stderr "$@" &
master=$!
# Compose stops nginx with SIGQUIT (graceful), SIGTERM or SIGINT: pass it on, wait.
stopping=0
trap 'stopping=1; kill -QUIT "$master" 2>/dev/null' QUIT
trap 'stopping=1; kill -TERM "$master" 2>/dev/null' TERM INT

seen=$(addresses)
while [ $stopping = 0 ] && kill -0 "$master" 2>/dev/null; do
  sleep "$interval" & wait $! 2>/dev/null
  [ $stopping = 0 ] || break
  now=$(addresses)
  [ "$now" != "$seen" ] || continue
  if grep -q '=$' <<<"$now"; then
    continue  # a name resolves to nothing (all replicas down): nginx keeps what it has
  fi
  echo "watch-upstreams: replicas changed: $(tr '\n' ' ' <<<"$now")" >&2
  if nginx -t -q -e stderr; then
    kill -HUP "$master" && seen=$now
  fi
done
wait "$master"
