# Sourced by the benchmark scripts (bench.sh, write-bench.sh, bench-scaling.sh,
# commit-syncs.sh): an app token for a running vault, and the 64 seeded subjects
# bench-1 .. bench-64, each with a 1 KiB account record r1, that the wrk scripts
# (bench/requests.lua) read and write under.
# shellcheck shell=bash

# bench_app_token URL ADMIN_TOKEN: prints a new app token (purpose "service").
bench_app_token() {
  curl -fsS -X POST "$1/v1/tokens" -H "Authorization: Bearer $2" \
    -H 'Content-Type: application/json' \
    -d '{"role":"app","purposes":["service"],"name":"bench"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}

# bench_seed URL APP_TOKEN: puts bench-1 .. bench-64, each with record r1 (1 KiB).
bench_seed() {
  local blob i
  blob=$(printf 'x%.0s' $(seq 1 1000))
  for i in $(seq 1 64); do
    curl -fsS -o /dev/null -X PUT "$1/v1/subjects/bench-$i/records/account/r1" \
      -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
      -d "{\"data\":{\"blob\":\"$blob\"}}"
  done
}
