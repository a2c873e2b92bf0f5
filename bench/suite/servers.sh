# Sourced by scripts/bench-suite.sh: starts the systems under test (PostgreSQL 15, lethe serve,
# the trivial HTTP handler) on loopback or a Unix socket, and records the machine's facts.
# Uses the script's variables: work, out, pg_bin, lethe, ceiling, suite, pids, pg_clusters.

# start_pg_cluster <data dir> <port>: PostgreSQL on a Unix socket in $work/pgsock only.
start_pg_cluster() {
  as_pg "$pg_bin/pg_ctl" -D "$1" -w -t 60 -l "$1.log" \
    -o "-p $2 -k $work/pgsock -c listen_addresses=''" start >/dev/null
  pg_clusters+=("$1")
}

start_postgres() {
  mkdir -p "$work/pg" "$work/pgsock"
  chown postgres: "$work/pg" "$work/pgsock" 2>/dev/null || true
  as_pg "$pg_bin/initdb" -D "$work/pg/data" -U postgres --auth=trust -E UTF8 --no-instructions \
    >"$out/pg-initdb.log"
  # Durable commits, as the vault's: fsync and synchronous_commit on (the defaults, stated).
  cat >>"$work/pg/data/postgresql.conf" <<CONF
fsync = on
synchronous_commit = on
full_page_writes = on
wal_sync_method = fdatasync
max_connections = 100
shared_buffers = 256MB
CONF
  start_pg_cluster "$work/pg/data" 5432
  pg_conn="host=$work/pgsock port=5432 user=postgres dbname=bench"
  as_pg "$pg_bin/createdb" -h "$work/pgsock" -p 5432 -U postgres bench
  "$suite" pg-schema --pg "$pg_conn" >/dev/null
  psql_bench() { as_pg "$pg_bin/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$work/pgsock" -p 5432 \
    -U postgres -d bench "$@"; }
  echo "postgresql: $(psql_bench -c 'SHOW server_version'), synchronous_commit=$(psql_bench \
    -c 'SHOW synchronous_commit'), fsync=$(psql_bench -c 'SHOW fsync')"
}

# start_lethe <data dir> <port file> [serve args...]: lethe serve on 127.0.0.1, kernel's port.
start_lethe() {
  local dir=$1 port_file=$2
  shift 2
  "$lethe" serve --data-dir "$dir" --listen 127.0.0.1:0 --port-file "$port_file" \
    --rate-limit 0 "$@" >/dev/null 2>>"$work/lethe-serve.log" &
  pids+=($!)
  lethe_pid=$!
  wait_port_file "$port_file" "$lethe_pid"
}

start_vault() {
  "$lethe" init --data-dir "$work/vault" --json >"$work/vault-init.json"
  admin=$(jq -r .admin_token "$work/vault-init.json")
  start_lethe "$work/vault" "$work/vault.port"
  vault_pid=$lethe_pid
  vault_url=http://127.0.0.1:$(cat "$work/vault.port")
  echo "lethe serve on $vault_url"
}

start_ceiling() {
  "$ceiling" 127.0.0.1 0 64 "$work/ceiling.port" 2>"$out/ceiling.log" &
  pids+=($!)
  wait_port_file "$work/ceiling.port" "$!"
  ceiling_url=http://127.0.0.1:$(cat "$work/ceiling.port")
}

machine_facts() {
  local fs
  fs=$(df -PT "$work" | awk 'NR==2 {print $1" "$2}')
  jq -n --arg date "$(date -u +%FT%TZ)" --arg nproc "$(nproc)" \
    --arg cpu "$(lscpu | sed -n 's/^Model name: *//p' | head -1)" \
    --arg hyper "$(lscpu | sed -n 's/^Hypervisor vendor: *//p')" \
    --arg mem "$(free -g | awk '/^Mem:/ {print $2" GB"}')" --arg kernel "$(uname -r)" \
    --arg disk "$fs" --arg git "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')" \
    --arg pg "$(psql_bench -c 'SHOW server_version')" --arg load "$(cat /proc/loadavg)" \
    --arg os "$(. /etc/os-release && echo "$PRETTY_NAME")" \
    '{date: $date, nproc: ($nproc | tonumber), cpu: $cpu, hypervisor: $hyper, memory: $mem,
      kernel: $kernel, os: $os, data_disk: $disk, git: $git, postgresql: $pg,
      loadavg_at_start: $load}'
}
