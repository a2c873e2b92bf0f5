#!/usr/bin/env bash
# The scaling bench (docs/scaling.md; issue 13, ops and scale): 1, 2 and 3 `lethe serve` over
# one PostgreSQL 15 cluster on this machine, and the figures the scaling arithmetic needs.
# Not part of the tests or CI.
#
# Starts a throw-away PostgreSQL cluster (scripts/pg-test-cluster.sh: Unix socket, fsync and
# synchronous_commit on; shared_buffers 256MB), `lethe init --store` and three `lethe serve`
# on 127.0.0.1 sharing one data directory (keyring and root key, as scripts/run-fleet.sh and
# tests/e2e/fleet_test.cc do; each its own port), and seeds 64 subjects. Then:
#   sizes        rows and bytes of lethe_kv per new subject, per new record and per GET (its
#                audit entry), by table,
#                heap, index and TOAST sizes (VACUUMed before each measurement)
#   throughput   ROUNDS rounds; in each, every workload with N = 1, 2, 3 servers back to back
#                (1 2 3 1 2 3 ...): put-subject, put-record, get, mixed (bench/scaling/load.lua);
#                CONNECTIONS in total split over the N servers, one wrk per server;
#                bench/scaling/drive.py records req/s, latency, the CPU seconds of PostgreSQL,
#                lethe, wrk and the rest of the machine, commits/s, WAL bytes, and the
#                serialization failures PostgreSQL logged (each one a batch run again)
#   rotation     ROTATIONS epoch rotations through one server, DEKs rewrapped per second
#   backup       pg_basebackup and pg_dump -Fc -Z0 of the database (plus BACKUP_MB of rows
#                of lethe_kv's shape), pg_restore into a new one
#   limits       pg_test_fsync (the disk's fdatasync rate), bench/keyring_hsm_bench (SoftHSM2)
# Writes runs.jsonl, sizes.json, ops.jsonl, machine.json and summary.md (bench/scaling/report.py
# and arithmetic.py: the tables of docs/scaling.md) into OUT_DIR.
#
#   scripts/bench-scaling.sh      # 2 cores, loaded: 12 min of rounds, 16 min of rotations
#   ROUNDS=1 RUN_SECONDS=3 scripts/bench-scaling.sh   # a quick look
# Environment: BUILD_DIR (/tmp/lethe-scaling-build), OUT_DIR (BUILD_DIR/scaling-results/<utc>),
#   ROUNDS (3), RUN_SECONDS (8), CONNECTIONS (30), WORKLOADS ("put-subject put-record get
#   mixed"), SIZE_SECONDS (10), ROTATIONS (2), SKIP_BUILD=1, PG_BIN (/usr/lib/postgresql/15/bin).
# Needs PostgreSQL 15, wrk, jq, curl, python3, softhsm2 (scripts/install-deps.sh with
# LETHE_WITH_TEST_TOOLS=1 and LETHE_WITH_FLEET=1). Run it niced (`nice -n 5 ...`) on a shared
# machine if you must: all of it (PostgreSQL too) then runs at that priority.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

build=${BUILD_DIR:-/tmp/lethe-scaling-build}
out=${OUT_DIR:-$build/scaling-results/$(date -u +%Y%m%dT%H%M%SZ)}
rounds=${ROUNDS:-3}
secs=${RUN_SECONDS:-8}
conns=${CONNECTIONS:-30}
workloads=${WORKLOADS:-"put-subject put-record get mixed"}
size_secs=${SIZE_SECONDS:-10}
rotations=${ROTATIONS:-2}
pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}

for tool in cmake ninja wrk jq curl python3 "$pg_bin/postgres"; do
  command -v "$tool" >/dev/null || { echo "bench-scaling.sh: $tool is required" >&2; exit 1; }
done
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVAULT_BUILD_TESTS=OFF \
    -DVAULT_BUILD_BENCH=ON >/dev/null
  nice cmake --build "$build" --target lethe keyring_hsm_bench
fi
lethe=$build/api/lethe

mkdir -p "$out"
work=$(mktemp -d /tmp/lethe-scaling-XXXXXX)
chmod 0755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  grep -h '"status":[345]' "$work"/server*.log 2>/dev/null | tail -n 200 \
    >"$out/server-non2xx.log" || true
  "$root/scripts/pg-test-cluster.sh" stop "$work/pg" || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
pg_tool() {  # the words of a PostgreSQL program's command line, as the right user
  if [ "$(id -u)" = 0 ]; then echo "runuser -u postgres -- $pg_bin/$1"; else echo "$pg_bin/$1"; fi
}

# --- PostgreSQL and the servers -------------------------------------------------------------
"$root/scripts/pg-test-cluster.sh" start "$work/pg" >/dev/null
psql_admin="$(pg_tool psql) -X -q -A -t -v ON_ERROR_STOP=1 -h $work/pg -p 5432 -U postgres"
$psql_admin -d postgres -c "ALTER SYSTEM SET shared_buffers = '256MB'" \
  -c "ALTER SYSTEM SET max_connections = 200" >/dev/null
"$root/scripts/pg-test-cluster.sh" crash "$work/pg" >/dev/null
"$root/scripts/pg-test-cluster.sh" restart "$work/pg" >/dev/null
store=$("$root/scripts/pg-test-cluster.sh" createdb "$work/pg" lethe)
psql_db="$psql_admin -d lethe"
postmaster=$(head -1 "$work/pg/data/postmaster.pid")
pg_log=$work/pg/server.log

"$lethe" init --data-dir "$work/vault" --store "$store" --json >"$work/init.json"
admin=$(jq -r .admin_token "$work/init.json")
wait_port_file() {  # file pid
  for _ in $(seq 1 300); do
    [ -s "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || { echo "bench-scaling.sh: a server exited" >&2; return 1; }
    sleep 0.1
  done
  echo "bench-scaling.sh: a server did not start" >&2
  return 1
}
urls=() lethe_pids=()
for n in 1 2 3; do
  "$lethe" serve --data-dir "$work/vault" --store "$store" --listen 127.0.0.1:0 \
    --port-file "$work/server$n.port" --rate-limit 0 >/dev/null 2>"$work/server$n.log" &
  pids+=($!)
  lethe_pids+=($!)
  wait_port_file "$work/server$n.port" "$!"
  urls+=("http://127.0.0.1:$(cat "$work/server$n.port")")
done
url_list=$(IFS=,; echo "${urls[*]}")
pid_list=$(IFS=,; echo "${lethe_pids[*]}")
source "$root/scripts/lib/bench-seed.sh"
app=$(bench_app_token "${urls[0]}" "$admin")
bench_seed "${urls[0]}" "$app"  # the servers share one store
export VAULT_BENCH_LUA_DIR=$root/bench VAULT_BENCH_TOKEN=$app

jq -n --arg date "$(date -u +%FT%TZ)" --arg nproc "$(nproc)" \
  --arg cpu "$(lscpu | sed -n 's/^Model name: *//p' | head -1)" \
  --arg mem "$(free -g | awk '/^Mem:/ {print $2" GB"}')" --arg kernel "$(uname -r)" \
  --arg disk "$(df -PT "$work" | awk 'NR==2 {print $1" "$2}')" \
  --arg git "$(git rev-parse --short HEAD 2>/dev/null || echo '?')" \
  --arg pg "$($psql_db -c 'SHOW server_version')" --arg uptime "$(uptime)" \
  --arg nice "$(nice)" --arg cmd "ROUNDS=$rounds RUN_SECONDS=$secs CONNECTIONS=$conns $0" \
  '{date: $date, nproc: ($nproc | tonumber), cpu: $cpu, memory: $mem, kernel: $kernel,
    data_disk: $disk, git: $git, postgresql: $pg, uptime_at_start: $uptime, nice: $nice,
    command: $cmd}' >"$out/machine.json"
cat "$out/machine.json"

drive() {  # n workload seconds round
  python3 "$root/bench/scaling/drive.py" --urls "$url_list" --lethe-pids "$pid_list" \
    --n "$1" --workload "$2" --seconds "$3" --round "$4" --connections "$conns" \
    --postmaster "$postmaster" --pg-log "$pg_log" --psql "$psql_admin -d postgres" \
    --server-logs "$work/server1.log,$work/server2.log,$work/server3.log" \
    --lua "$root/bench/scaling/load.lua" --raw "$out/wrk-raw.txt"
}

# --- Sizes: rows and bytes per subject and per record ---------------------------------------
kv_sizes() {  # label: one JSON object with the relation sizes and rows/bytes by table
  $psql_db -c "VACUUM lethe_kv" >/dev/null
  $psql_db -c "SELECT json_build_object('label', '$1',
    'total', pg_total_relation_size('lethe_kv'), 'heap', pg_relation_size('lethe_kv'),
    'indexes', pg_indexes_size('lethe_kv'),
    'toast', pg_total_relation_size('lethe_kv') - pg_relation_size('lethe_kv')
             - pg_indexes_size('lethe_kv'),
    'database', pg_database_size('lethe'),
    'tables', (SELECT json_object_agg(t, json_build_object('rows', n, 'key_bytes', kb,
                                                           'value_bytes', vb))
               FROM (SELECT t, count(*) n, sum(octet_length(k)) kb, sum(octet_length(v)) vb
                     FROM lethe_kv GROUP BY t) s))"
}
echo "bench-scaling.sh: sizes"
{
  kv_sizes seeded
  drive 1 put-subject "$size_secs" 0
  kv_sizes after-put-subject
  drive 1 put-record "$size_secs" 0
  kv_sizes after-put-record
  drive 1 get "$size_secs" 0
  kv_sizes after-get
} | jq -s . >"$out/sizes.json"

# --- Throughput: 1 2 3 servers, interleaved -------------------------------------------------
: >"$out/runs.jsonl"
for round in $(seq 1 "$rounds"); do
  for w in $workloads; do
    for n in 1 2 3; do
      drive "$n" "$w" "$secs" "$round" | tee -a "$out/runs.jsonl" |
        jq -c '{n, workload, round, rps, p50_ms, p99_ms, non2xx, cpu_s, commits,
                conflicts: .pg_conflicts.serialization, load: .load[0]}'
    done
  done
done
uptime >"$out/uptime-end.txt"

# --- Epoch rotation, backup and restore, limits ---------------------------------------------
ops=$out/ops.jsonl
: >"$ops"
deks=$($psql_db -c "SELECT count(*) FROM lethe_kv WHERE t = 'keys'")
for i in $(seq 1 "$rotations"); do
  t=$(curl -fsS -o /dev/null -w '%{time_total}' -X POST "${urls[0]}/v1/admin/epochs/rotate" \
    -H "Authorization: Bearer $admin")
  jq -nc --argjson deks "$deks" --argjson s "$t" \
    '{op: "epoch-rotation", deks: $deks, seconds: $s, deks_per_s: ($deks / $s)}' | tee -a "$ops"
done
timed() {  # name bytes command...: seconds and bytes per second of one command
  local name=$1 bytes=$2
  shift 2
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N)
  jq -nc --arg op "$name" --argjson b "$bytes" \
    --argjson s "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" \
    '{op: $op, bytes: $b, seconds: $s, mb_per_s: ($b / $s / 1e6)}' | tee -a "$ops"
}
# Backup and restore rates on the lethe database plus BACKUP_MB (default 400) MB of rows of
# lethe_kv's shape (t, 8-byte key, 1,216-byte value, the same primary key).
$psql_db -c "CREATE TABLE bulk (t text NOT NULL, k bytea NOT NULL, v bytea NOT NULL,
  PRIMARY KEY (t, k))" -c "INSERT INTO bulk SELECT 'records', int8send(g),
  convert_to(repeat(md5(g::text), 38), 'UTF8')
  FROM generate_series(1, ${BACKUP_MB:-400} * 1000000 / 1400) g" >/dev/null
db_bytes=$($psql_db -c "SELECT pg_database_size('lethe')")
mkdir -p "$work/backup"
chown postgres: "$work/backup" 2>/dev/null || true
timed pg_basebackup "$db_bytes" as_pg "$pg_bin/pg_basebackup" -h "$work/pg" -p 5432 \
  -U postgres -D "$work/backup/base" -X stream -c fast
timed pg_dump "$db_bytes" as_pg "$pg_bin/pg_dump" -h "$work/pg" -p 5432 -U postgres -Fc -Z0 \
  -f "$work/backup/lethe.dump" lethe
$psql_admin -d postgres -c "CREATE DATABASE restored" >/dev/null
timed pg_restore "$db_bytes" as_pg "$pg_bin/pg_restore" -h "$work/pg" -p 5432 -U postgres \
  -d restored "$work/backup/lethe.dump"
fsync=$(as_pg "$pg_bin/pg_test_fsync" -s 2 -f "$work/backup/fsync.test" |
  awk '/fdatasync/ && /ops\/sec/ {print $(NF-3); exit}')
jq -nc --argjson v "${fsync:-0}" '{op: "pg_test_fsync fdatasync 8kB", ops_per_s: $v}' |
  tee -a "$ops"
if [ -x "$build/bench/keyring_hsm_bench" ] && "$build/bench/keyring_hsm_bench" 5 0.5 \
  >"$out/hsm.txt" 2>&1; then
  cat "$out/hsm.txt"
  awk '{print "{\"op\":\"" $1 "\",\"file_keyring\":" $4 ",\"softhsm2\":" $6 "}"}' \
    "$out/hsm.txt" | tee -a "$ops"
fi
echo "uptime at end: $(uptime)" | tee -a "$out/uptime-end.txt"

python3 "$root/bench/scaling/report.py" --dir "$out" | tee "$out/summary.md"
python3 "$root/bench/scaling/arithmetic.py" --dir "$out" | tee -a "$out/summary.md"
echo "bench-scaling.sh: results in $out"
