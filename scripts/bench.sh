#!/usr/bin/env bash
# HTTP load test (docs/benchmarks.md): builds Release, starts the real `vault serve` and the
# cpp-httplib ceiling server (bench/ceiling_server.cc) on loopback, seeds records, and runs
# wrk with keep-alive against both in the same session:
#   GET  1 KiB record   vault vs ceiling, 1 and 32 connections
#   PUT  1 KiB records  vault (new record id per request, durable), 1 and 32 connections
# Each configuration runs ROUNDS times (interleaved vault/ceiling), DURATION seconds each; the
# summary gives medians, the GET ratio vault/ceiling per connection count, and each server's
# CPU time per request (user + system from /proc/<pid>/stat around each run).
#
# Environment:
#   BUILD_DIR  (default /tmp/vault-bench-build)   ROUNDS (3)   DURATION (10s)
#   OUT_DIR    (default $BUILD_DIR/bench-results/<timestamp>)
#   SKIP_BUILD=1 to use an existing build
#   SERVE_ARGS (default "--rate-limit 0": the load is one token's)
# Needs: cmake, ninja, wrk, curl, python3. Loopback only; servers are killed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

build=${BUILD_DIR:-/tmp/vault-bench-build}
rounds=${ROUNDS:-3}
duration=${DURATION:-10s}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=${OUT_DIR:-$build/bench-results/$stamp}
host=127.0.0.1

for tool in wrk curl python3 cmake ninja; do
  command -v "$tool" >/dev/null || { echo "bench.sh: $tool is required" >&2; exit 1; }
done

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVAULT_BUILD_TESTS=OFF \
    -DVAULT_BUILD_BENCH=ON >/dev/null
  cmake --build "$build" --target vault ceiling_server engine_bench
fi
vault_bin=$build/api/lethe
ceiling_bin=$build/bench/ceiling_server

mkdir -p "$out"
work=$(mktemp -d /tmp/vault-http-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

wait_port_file() {  # file pid
  for _ in $(seq 1 100); do
    [ -s "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || { echo "bench.sh: server $2 exited" >&2; return 1; }
    sleep 0.1
  done
  echo "bench.sh: server did not start" >&2
  return 1
}

# --- Machine facts --------------------------------------------------------------------------
{
  echo "date: $(date -u +%FT%TZ)"
  echo "nproc: $(nproc)"
  lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|Socket|CPU MHz|Hypervisor)' || true
  echo "kernel: $(uname -r)"
  echo "wrk: $(wrk -v 2>&1 | head -1)"
  echo "git: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "loadavg at start: $(cat /proc/loadavg)"
} | tee "$out/machine.txt"

# --- Servers --------------------------------------------------------------------------------
data=$work/data
"$vault_bin" init --data-dir "$data" --json >"$work/init.json"
admin=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin_token"])' \
  "$work/init.json")

# The load comes from one token, far above the default per-token rate limit: switch it off
# (SERVE_ARGS="" for a binary older than the limit).
read -r -a serve_args <<<"${SERVE_ARGS---rate-limit 0}"
"$vault_bin" serve --data-dir "$data" --listen "$host:0" --port-file "$work/vault.port" \
  "${serve_args[@]}" 2>"$out/vault-serve.log" &
pids+=($!)
vault_pid=$!
wait_port_file "$work/vault.port" "${pids[-1]}"
vport=$(cat "$work/vault.port")

"$ceiling_bin" "$host" 0 64 "$work/ceiling.port" 2>"$out/ceiling.log" &
pids+=($!)
ceiling_pid=$!
wait_port_file "$work/ceiling.port" "${pids[-1]}"
cport=$(cat "$work/ceiling.port")
echo "vault on $host:$vport, ceiling on $host:$cport, results in $out"

V=http://$host:$vport
source "$root/scripts/lib/bench-seed.sh"
app=$(bench_app_token "$V" "$admin")
# Seed: 64 subjects, each with a 1 KiB account record r1 (GET reads bench-1/r1; PUT writes
# new record ids under these subjects).
bench_seed "$V" "$app"
get_path=/v1/subjects/bench-1/records/account/r1
curl -fsS "$V$get_path" -H "Authorization: Bearer $app" -o "$out/vault-get-body.json"
curl -fsS "http://$host:$cport$get_path" -o "$out/ceiling-get-body.json"
echo "GET body bytes: vault $(wc -c <"$out/vault-get-body.json")," \
  "ceiling $(wc -c <"$out/ceiling-get-body.json")"

export VAULT_BENCH_LUA_DIR=$root/bench VAULT_BENCH_PATH=$get_path

# CPU time (user + system, in clock ticks) the process has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run <name> <url> <script> <threads> <connections> <round> <server pid>
# Also records the server's CPU time per request (from /proc/<pid>/stat around the run):
# less sensitive to other load on the machine than requests per second.
run() {
  local name=$1 url=$2 script=$3 t=$4 c=$5 round=$6 spid=$7
  local load
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  local line before after
  before=$(cpu_ticks "$spid")
  line=$(VAULT_BENCH_RUN="r$round$RANDOM" wrk -t"$t" -c"$c" -d"$duration" --latency \
    -s "$root/bench/$script" "$url" | tee "$out/$name-c$c-round$round.txt" | grep '^{' | tail -1)
  after=$(cpu_ticks "$spid")
  local cpu_us
  cpu_us=$(python3 -c 'import json,sys,os
r = json.loads(sys.argv[1]); hz = os.sysconf("SC_CLK_TCK")
print("%.1f" % ((int(sys.argv[3]) - int(sys.argv[2])) * 1e6 / hz / max(r["requests"], 1)))' \
    "$line" "$before" "$after")
  echo "{\"name\":\"$name\",\"connections\":$c,\"threads\":$t,\"round\":$round,\"load\":\"$load\",\"server_cpu_us_per_req\":$cpu_us,${line#\{}" \
    >>"$out/runs.jsonl"
  printf '%-14s c=%-3s round %s  cpu %6s us/req  %s\n' "$name" "$c" "$round" "$cpu_us" "$line"
}

: >"$out/runs.jsonl"
for round in $(seq 1 "$rounds"); do
  for conns in 1 32; do
    threads=1
    [ "$conns" -gt 1 ] && threads=2
    # Ceiling and vault back to back, so each ratio compares runs under the same load.
    VAULT_BENCH_TOKEN="" run ceiling-get "http://$host:$cport" get.lua $threads $conns "$round" \
      "$ceiling_pid"
    VAULT_BENCH_TOKEN=$app run vault-get "$V" get.lua $threads $conns "$round" "$vault_pid"
    VAULT_BENCH_TOKEN=$app run vault-put "$V" put.lua $threads $conns "$round" "$vault_pid"
  done
done
echo "loadavg at end: $(cat /proc/loadavg)" | tee -a "$out/machine.txt"

# --- Summary: medians over rounds, and per-round GET ratios ---------------------------------
python3 - "$out/runs.jsonl" <<'EOF' | tee "$out/summary.md"
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(xs): return statistics.median(xs) if xs else float("nan")
def per_round(rs): return ", ".join("%.0f" % r["rps"] for r in rs)
keys = sorted({(r["name"], r["connections"]) for r in runs}, key=lambda k: (k[1], k[0]))
print("| run | conns | req/s (median) | p50 ms | p99 ms | server CPU us/req (median) | req/s per round | non-2xx | errors |")
print("|---|---|---|---|---|---|---|---|---|")
for name, c in keys:
    rs = [r for r in runs if r["name"] == name and r["connections"] == c]
    errs = sum(r["err_connect"] + r["err_read"] + r["err_write"] + r["err_timeout"] for r in rs)
    print(f"| {name} | {c} | {med([r['rps'] for r in rs]):.0f} | "
          f"{med([r['p50_us'] for r in rs]) / 1000:.2f} | {med([r['p99_us'] for r in rs]) / 1000:.2f} | "
          f"{med([r['server_cpu_us_per_req'] for r in rs]):.1f} | "
          f"{per_round(rs)} | {sum(r['non2xx'] for r in rs)} | {errs} |")
print()
for c in sorted({k[1] for k in keys}):
    ratios = []
    for rnd in sorted({r["round"] for r in runs}):
        v = [r for r in runs if r["name"] == "vault-get" and r["connections"] == c and r["round"] == rnd]
        g = [r for r in runs if r["name"] == "ceiling-get" and r["connections"] == c and r["round"] == rnd]
        if v and g: ratios.append(v[0]["rps"] / g[0]["rps"])
    cpu = [(r["server_cpu_us_per_req"], r["name"]) for r in runs
           if r["connections"] == c and r["name"] in ("vault-get", "ceiling-get")]
    if ratios:
        print(f"GET vault/ceiling at {c} connection(s): median {med(ratios) * 100:.1f}% "
              f"(per round: {', '.join(f'{x * 100:.1f}%' for x in ratios)}; target >= 70%); "
              f"server CPU per GET: vault {med([x for x, n in cpu if n == 'vault-get']):.1f} us, "
              f"ceiling {med([x for x, n in cpu if n == 'ceiling-get']):.1f} us")
EOF
