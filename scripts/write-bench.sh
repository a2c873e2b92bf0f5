#!/usr/bin/env bash
# Durable write gap (issue 12, docs/benchmarks.md "Durable PUT against PostgreSQL"): the real
# `lethe serve` (wrk PUT of 1 KiB records over HTTP, keep-alive) against a throw-away
# PostgreSQL 15 cluster (pgbench inserting 1 KiB bytea rows over its Unix socket,
# synchronous_commit=on), interleaved in the same run, at 1 and 32 connections:
#   pg-insert   INSERT INTO pii(subject, data) (bigserial key, index on subject), -M prepared
#   vault-put   a new record of an existing subject (64 seeded subjects)
#   vault-new   a new subject per request (two fresh DEKs each)
# plus the fdatasync rate of the data directory's disk before each round. Prints medians and
# the per-round ratios vault / PostgreSQL; keeps everything in OUT_DIR.
#
# Environment: LETHE_BIN (default build/api/lethe of this tree; build it Release or
# RelWithDebInfo), ROUNDS (5), DURATION (5s), CONNS ("1 32"), OUT_DIR (/tmp/write-bench-<ts>),
# PG_BIN (/usr/lib/postgresql/15/bin), SERVE_ARGS ("--rate-limit 0").
# Needs: wrk, pgbench, curl, python3. Loopback and Unix socket only; all killed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin=${LETHE_BIN:-$root/build/api/lethe}
pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
rounds=${ROUNDS:-5}
duration=${DURATION:-5s}
conns_list=${CONNS:-1 32}
out=${OUT_DIR:-/tmp/write-bench-$(date -u +%Y%m%dT%H%M%SZ)}
host=127.0.0.1
for tool in wrk pgbench curl python3; do
  command -v "$tool" >/dev/null || { echo "write-bench.sh: $tool is required" >&2; exit 1; }
done
[ -x "$bin" ] || { echo "write-bench.sh: no lethe binary at $bin" >&2; exit 1; }

mkdir -p "$out"
work=$(mktemp -d /tmp/write-bench-XXXXXX)
# PostgreSQL refuses to run as root: then its cluster belongs to the postgres user.
as_pg=()
if [ "$(id -u)" = 0 ]; then
  as_pg=(runuser -u postgres --)
  chmod 755 "$work"
fi
mkdir -p "$work/pg" "$work/pgsock"
[ "${#as_pg[@]}" = 0 ] || chown postgres: "$work/pg" "$work/pgsock"
pids=()
pg_started=0
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ "$pg_started" = 1 ] && "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

{
  echo "date: $(date -u +%FT%TZ)"
  echo "nproc: $(nproc)"
  lscpu | grep -E '^(Model name|CPU\(s\)|Hypervisor)' || true
  echo "kernel: $(uname -r)"
  echo "git: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "lethe: $bin"
  echo "postgres: $("$pg_bin/postgres" --version)"
  echo "loadavg at start: $(cat /proc/loadavg)"
} | tee "$out/machine.txt"

# --- PostgreSQL: throw-away cluster, Unix socket only, durable commits --------------------------
"${as_pg[@]}" "$pg_bin/initdb" -D "$work/pg" -U bench --auth=trust -E UTF8 >"$out/initdb.log" 2>&1
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pgsock/postgres.log" -w start -o \
  "-c listen_addresses='' -c unix_socket_directories='$work/pgsock' -c synchronous_commit=on \
   -c fsync=on -c max_connections=64" >/dev/null
pg_started=1
psql_() { psql -X -q -h "$work/pgsock" -U bench -d postgres "$@"; }
psql_ -c "CREATE TABLE pii (id bigserial PRIMARY KEY, subject text NOT NULL, data bytea NOT NULL);
          CREATE INDEX ON pii (subject);"
blob_hex=$(python3 -c 'print("78" * 1024)')
echo "INSERT INTO pii (subject, data) VALUES ('s' || :client_id, '\\x$blob_hex'::bytea);" \
  >"$work/insert.sql"

# --- Vault -----------------------------------------------------------------------------------
data=$work/vault
"$bin" init --data-dir "$data" --json >"$work/init.json"
admin=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin_token"])' \
  "$work/init.json")
read -r -a serve_args <<<"${SERVE_ARGS---rate-limit 0}"
"$bin" serve --data-dir "$data" --listen "$host:0" --port-file "$work/vault.port" \
  "${serve_args[@]}" 2>"$out/vault-serve.log" &
pids+=($!)
vault_pid=$!
for _ in $(seq 1 100); do [ -s "$work/vault.port" ] && break; sleep 0.1; done
V=http://$host:$(cat "$work/vault.port")
source "$root/scripts/lib/bench-seed.sh"
app=$(bench_app_token "$V" "$admin")
bench_seed "$V" "$app"
export VAULT_BENCH_LUA_DIR=$root/bench VAULT_BENCH_TOKEN=$app

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# The whole cluster's CPU: the postmaster's own, that of the backends it reaped (cutime and
# cstime: pgbench's connections end with each run), and that of the running ones.
pg_ticks() {
  local pm t p
  pm=$(head -1 "$work/pg/postmaster.pid")
  t=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat")
  for p in $(pgrep -P "$pm"); do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
fsync_rate() {  # fdatasync()s per second of a 4 KiB overwrite in the data directory, 1 s
  python3 - "$work/fsync.probe" <<'PY'
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600); buf = b"x" * 4096; n = 0
end = time.monotonic() + 1.0
while time.monotonic() < end:
    os.pwrite(fd, buf, 0); os.fdatasync(fd); n += 1
print(n)
PY
}

record() {  # name conns round requests rps p50_us p99_us cpu_ticks
  local cpu_us
  cpu_us=$(python3 -c 'import os,sys; print("%.1f" % (int(sys.argv[1]) * 1e6 / os.sysconf("SC_CLK_TCK") / max(int(sys.argv[2]), 1)))' "$8" "$4")
  echo "{\"name\":\"$1\",\"connections\":$2,\"round\":$3,\"requests\":$4,\"rps\":$5,\"p50_us\":$6,\"p99_us\":$7,\"server_cpu_us_per_req\":$cpu_us,\"load\":\"$(cut -d' ' -f1 /proc/loadavg)\"}" \
    >>"$out/runs.jsonl"
  printf '%-10s c=%-3s round %s  %9.0f/s  p50 %6s us  p99 %7s us  server cpu %6s us/req\n' \
    "$1" "$2" "$3" "$5" "$6" "$7" "$cpu_us"
}

run_pg() {  # conns round
  local c=$1 r=$2 before after log=$out/pg-c$1-round$2.txt
  before=$(pg_ticks)
  pgbench -h "$work/pgsock" -U bench -n -M prepared -c "$c" -j "$(( c > 1 ? 2 : 1 ))" \
    -T "${duration%s}" -r -f "$work/insert.sql" postgres >"$log" 2>&1
  after=$(pg_ticks)
  local tps n lat
  tps=$(awk '/^tps = /{print $3; exit}' "$log")
  n=$(awk '/number of transactions actually processed/{print $NF}' "$log")
  lat=$(awk '/^latency average/{print $4 * 1000}' "$log")
  record pg-insert "$c" "$r" "$n" "$tps" "$lat" 0 "$((after - before))"
}

run_vault() {  # name script conns round
  local name=$1 script=$2 c=$3 r=$4 before after line
  before=$(cpu_ticks "$vault_pid")
  line=$(VAULT_BENCH_RUN="r$r$RANDOM" wrk -t"$(( c > 1 ? 2 : 1 ))" -c"$c" -d"$duration" \
    --latency -s "$root/bench/$script" "$V" | tee "$out/$name-c$c-round$r.txt" | grep '^{' | tail -1)
  after=$(cpu_ticks "$vault_pid")
  local fields
  fields=$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r["non2xx"]==0, "non-2xx replies"; print(r["requests"], r["rps"], r["p50_us"], r["p99_us"])' "$line")
  # shellcheck disable=SC2086
  record "$name" "$c" "$r" $fields "$((after - before))"
}

: >"$out/runs.jsonl"
for round in $(seq 1 "$rounds"); do
  echo "{\"name\":\"fdatasync\",\"round\":$round,\"rate\":$(fsync_rate)}" | tee -a "$out/runs.jsonl"
  for c in $conns_list; do
    run_pg "$c" "$round"
    run_vault vault-put put.lua "$c" "$round"
    run_vault vault-new put_new_subject.lua "$c" "$round"
  done
done
echo "loadavg at end: $(cat /proc/loadavg)" | tee -a "$out/machine.txt"
cp "$work/pgsock/postgres.log" "$out/postgres.log" 2>/dev/null || true

python3 - "$out/runs.jsonl" <<'PY' | tee "$out/summary.md"
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
med = statistics.median
fs = [r["rate"] for r in runs if r["name"] == "fdatasync"]
print(f"fdatasync/s of the data disk: median {med(fs):.0f} (rounds: {', '.join(map(str, fs))})\n")
print("| run | conns | req/s median (min-max) | p50 ms (pg: mean) | p99 ms | server CPU us/req | vault/pg median (per round) |")
print("|---|---|---|---|---|---|---|")
keys = sorted({(r["name"], r["connections"]) for r in runs if r["name"] != "fdatasync"},
              key=lambda k: (k[1], k[0]))
for name, c in keys:
    rs = [r for r in runs if r["name"] == name and r["connections"] == c]
    rps = [r["rps"] for r in rs]
    ratio = ""
    if name != "pg-insert":
        per = []
        for r in rs:
            pg = [p for p in runs if p["name"] == "pg-insert" and p["connections"] == c and p["round"] == r["round"]]
            if pg: per.append(r["rps"] / pg[0]["rps"])
        ratio = f"{med(per):.2f}x ({', '.join(f'{x:.2f}' for x in per)})"
    p99 = f"{med([r['p99_us'] for r in rs]) / 1000:.2f}" if name != "pg-insert" else "n/a"
    print(f"| {name} | {c} | {med(rps):,.0f} ({min(rps):,.0f}-{max(rps):,.0f}) | "
          f"{med([r['p50_us'] for r in rs]) / 1000:.2f} | {p99} | "
          f"{med([r['server_cpu_us_per_req'] for r in rs]):.1f} | {ratio} |")
PY
