#!/usr/bin/env bash
# pg-pair.sh: a throw-away PostgreSQL 15 primary with a synchronous standby, for the fleet
# mode's failover tests and scripts/run-fleet.sh. Loopback only: both listen on Unix sockets
# in DIR/sock (no TCP), replication streams over that socket.
#
#   scripts/pg-pair.sh start DIR [PORT]   initdb both, start both, wait until the standby is
#                                         synchronous; prints the multi-host conninfo
#   scripts/pg-pair.sh conninfo DIR       prints it again
#   scripts/pg-pair.sh kill-primary DIR   pg_ctl stop -m immediate on the primary (a crash)
#   scripts/pg-pair.sh promote DIR        promotes the standby and waits until it takes writes
#   scripts/pg-pair.sh stop DIR           stops whatever runs (immediate) and leaves DIR
#
# Every commit the primary acknowledges has reached the standby's WAL on disk first
# (synchronous_standby_names = FIRST 1, synchronous_commit = on), so promoting the standby
# after the primary is killed loses no acknowledged transaction. Run as root, PostgreSQL runs
# as the postgres user. PG_BIN overrides /usr/lib/postgresql/15/bin.
set -euo pipefail

pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || {
  sed -n '4,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
psql_at() {  # port sql
  as_pg "$pg_bin/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$dir/sock" -p "$1" -U postgres \
    -d postgres -c "$2"
}
ports() { cat "$dir/ports"; }

conninfo() {
  read -r p1 p2 <"$dir/ports"
  echo "postgresql://postgres@/lethe?host=$dir/sock,$dir/sock&port=$p1,$p2&target_session_attrs=read-write&connect_timeout=2"
}

free_port() {  # a port number no socket in DIR/sock has yet, from $1 up (Unix sockets only:
  local p=$1  # the number only names the socket file, so no other server can collide)
  while [ -e "$dir/sock/.s.PGSQL.$p" ]; do
    p=$((p + 1))
  done
  echo "$p"
}

start() {
  local base=${1:-25432}
  [ -x "$pg_bin/postgres" ] || {
    echo "pg-pair.sh: no PostgreSQL 15 at $pg_bin (apt-get install postgresql-15)" >&2
    exit 1
  }
  mkdir -p "$dir/sock"
  chmod 0755 "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir" "$dir/sock"
  local p1 p2
  p1=$(free_port "$base")
  p2=$(free_port $((p1 + 1)))
  echo "$p1 $p2" >"$dir/ports"
  as_pg "$pg_bin/initdb" -D "$dir/primary" -U postgres --auth=trust -E UTF8 --no-instructions \
    >"$dir/initdb.log"
  cat >>"$dir/primary/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir/sock'
port = $p1
fsync = on
synchronous_commit = on
wal_level = replica
max_wal_senders = 4
cluster_name = 'primary'
CONF
  as_pg "$pg_bin/pg_ctl" -D "$dir/primary" -w -t 60 -l "$dir/primary.log" start >/dev/null
  psql_at "$p1" "CREATE DATABASE lethe" >/dev/null
  as_pg "$pg_bin/pg_basebackup" -D "$dir/standby" -h "$dir/sock" -p "$p1" -U postgres \
    -X stream -R -c fast >"$dir/basebackup.log" 2>&1
  cat >>"$dir/standby/postgresql.conf" <<CONF
port = $p2
cluster_name = 'standby1'
hot_standby = on
CONF
  as_pg "$pg_bin/pg_ctl" -D "$dir/standby" -w -t 60 -l "$dir/standby.log" start >/dev/null
  # Synchronous only now: with no standby yet, every commit (CREATE DATABASE too) would wait.
  psql_at "$p1" "ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (standby1)'" >/dev/null
  psql_at "$p1" "SELECT pg_reload_conf()" >/dev/null
  for _ in $(seq 1 100); do
    [ "$(psql_at "$p1" "SELECT sync_state FROM pg_stat_replication" 2>/dev/null)" = sync ] && {
      conninfo
      return 0
    }
    sleep 0.1
  done
  echo "pg-pair.sh: the standby did not become synchronous (see $dir/*.log)" >&2
  exit 1
}

promote() {
  read -r _ p2 <"$dir/ports"
  as_pg "$pg_bin/pg_ctl" -D "$dir/standby" -w -t 60 promote >/dev/null
  for _ in $(seq 1 100); do
    [ "$(psql_at "$p2" "SELECT pg_is_in_recovery()" 2>/dev/null)" = f ] && return 0
    sleep 0.1
  done
  echo "pg-pair.sh: the standby did not leave recovery" >&2
  exit 1
}

stop_one() {
  [ -f "$dir/$1/postmaster.pid" ] || return 0
  as_pg "$pg_bin/pg_ctl" -D "$dir/$1" -m immediate stop >/dev/null 2>&1 || true
}

case $cmd in
  start) start "${3:-}" ;;
  conninfo) conninfo ;;
  kill-primary) stop_one primary ;;
  promote) promote ;;
  stop) stop_one primary; stop_one standby ;;
  *) echo "pg-pair.sh: unknown command '$cmd'" >&2; exit 2 ;;
esac
