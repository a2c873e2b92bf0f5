#!/usr/bin/env bash
# A throw-away PostgreSQL 15 cluster for tests: `start DIR` makes DIR (an empty or missing
# directory), runs initdb and starts the server on a Unix socket in DIR only (no TCP),
# durable (fsync and synchronous_commit on), then prints a postgresql:// URI for it;
# `createdb DIR NAME` makes a database and prints its URI; `stop DIR` stops the cluster
# (immediate) and removes DIR; `crash DIR` stops it at once and keeps DIR for `restart DIR`.
# As root, PostgreSQL runs as `postgres`.
set -euo pipefail

pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
dir=${2:-}
usage="usage: $0 start DIR | createdb DIR NAME | crash DIR | restart DIR | stop DIR"
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "$usage" >&2; exit 2; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
  start)
    [ -x "$pg_bin/initdb" ] || { echo "$0: PostgreSQL 15 is not installed ($pg_bin)" >&2; exit 3; }
    mkdir -p "$dir"
    chmod 0755 "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    as_pg "$pg_bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-instructions \
      >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
fsync = on
synchronous_commit = on
max_connections = 100
shared_buffers = 32MB
CONF
    # The socket lives in DIR, so the port number only names it: 5432 never collides.
    as_pg "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "-p 5432" -w -t 60 start \
      >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    echo "postgresql:///postgres?host=$dir&port=5432&user=postgres"
    ;;
  createdb)
    name=${3:?$usage}
    as_pg "$pg_bin/psql" -X -q -h "$dir" -p 5432 -U postgres -d postgres -v ON_ERROR_STOP=1 \
      -c "CREATE DATABASE \"$name\"" >/dev/null
    echo "postgresql:///$name?host=$dir&port=5432&user=postgres"
    ;;
  crash)  # the server dies at once (immediate shutdown), DIR stays for `restart`
    as_pg "$pg_bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
    echo crashed
    ;;
  restart)
    as_pg "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "-p 5432" -w -t 60 start \
      >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    echo restarted
    ;;
  stop)
    if [ -d "$dir/data" ]; then
      as_pg "$pg_bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
