#!/usr/bin/env bash
# The HTTP edge benchmark (docs/benchmarks.md, "HTTP edge"): starts `vault serve` on loopback
# and runs bench/edge_load.py in five scenarios: no load, IDLE idle keep-alive connections,
# SLOW slow-header clients, both at once, and a header bomb; prints one JSON line each.
#
# Environment: LETHE_BIN (default build/api/lethe)  IDLE (1000)  SLOW (256)  DURATION (20)
#              BOMB_LINES (30000)  OUT (default: stdout only)
# Loopback only; every scenario is bounded by DURATION; the server is killed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${LETHE_BIN:-build/api/lethe}
idle=${IDLE:-1000}
slow=${SLOW:-256}
duration=${DURATION:-20}
bomb=${BOMB_LINES:-30000}
work=$(mktemp -d /tmp/vault-edge-bench-XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

start_server() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -f "$work/port"
  "$bin" serve --data-dir "$work/data" --listen 127.0.0.1:0 --port-file "$work/port" \
    --sweep-interval 0 2>"$work/serve.log" &
  pid=$!
  for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.1; done
  port=$(cat "$work/port")
}

"$bin" init --data-dir "$work/data" --json >/dev/null
run() {  # name edge_load-args...
  local name=$1
  shift
  start_server  # a fresh server per scenario: RSS and connections start from the same point
  local line
  line=$(python3 bench/edge_load.py --port "$port" --pid "$pid" --duration "$duration" "$@")
  echo "{\"scenario\":\"$name\",${line#\{}" | tee -a "${OUT:-/dev/null}"
}
run baseline --idle 0 --slow 0
run idle --idle "$idle" --slow 0
run slow --idle 0 --slow "$slow"
run idle+slow --idle "$idle" --slow "$slow"
run header-bomb --header-bomb "$bomb"
