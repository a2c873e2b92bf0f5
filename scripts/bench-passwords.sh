#!/usr/bin/env bash
# Password benchmark (docs/benchmarks.md, "Passwords"): bench/password_bench (the engine's
# verify against a bare libargon2 verify at the same cost, same run), then the real server on
# loopback under CONCURRENT simultaneous verify requests with record GETs alongside
# (bench/password_load.py: peak RSS, GET latency, 200 vs 503).
# Environment: BUILD_DIR (default build), CONCURRENT (200), WAVES (3), ROUNDS (3).
# Needs python3 and curl. The server is killed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
bin=$build/api/lethe
work=$(mktemp -d /tmp/lethe-password-bench-XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

"$build/bench/password_bench" --rounds "${ROUNDS:-3}"

admin=$("$bin" init --data-dir "$work/data" --json | python3 -c 'import json,sys;print(json.load(sys.stdin)["admin_token"])')
"$bin" serve --data-dir "$work/data" --listen 127.0.0.1:0 --port-file "$work/port" \
  --sweep-interval 0 --rate-limit 0 2>"$work/serve.log" &
pid=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
api() { curl -sf -X "$1" "http://127.0.0.1:$port$2" -H "Authorization: Bearer $3" \
  -H 'Content-Type: application/json' ${4:+-d "$4"}; }
app=$(api POST /v1/tokens "$admin" '{"role":"app","purposes":["service"]}' |
  python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])')
api PUT /v1/subjects/load/records/account/r1 "$app" '{"data":{"name":"x"}}' >/dev/null
api PUT /v1/subjects/load/password "$app" '{"password":"Load-Pass-1"}' >/dev/null
python3 bench/password_load.py --port "$port" --pid "$pid" --token "$app" \
  --concurrent "${CONCURRENT:-200}" --waves "${WAVES:-3}"
