#!/usr/bin/env bash
# The benchmark suite (docs/benchmarks.md, "Benchmark suite"; issue 12): the vault against
# PostgreSQL 15 in one run on one machine. Not part of the tests or CI.
#
# Starts a throw-away PostgreSQL 15 cluster (Debian's /usr/lib/postgresql/15, Unix socket,
# fsync and synchronous_commit on) and the real `lethe serve` on loopback, and runs, ROUNDS
# times interleaved: durable puts of 1 KiB records (1, 8, 32 writers; new subjects and new
# records of existing subjects), get by key and list of a subject's records (1 and 32 clients),
# against PostgreSQL with pgcrypto and with client-side libsodium encryption into bytea,
# against the vault in-process and over HTTP; then erasure of a subject with 1, 1,000 and
# 100,000 records, what a backup taken before the erasure still holds on each system, export
# of a subject with 10,000 records, password verification, and epoch rotation of 1,000,000
# keys (in-process). Limits measured in the same run: the data disk's fdatasync rate,
# libsodium's AEAD rate, Argon2id at the policy's cost, a trivial HTTP handler's rate.
#
# Writes results.jsonl (every run), results.json and results.csv (medians, min-max), summary.md
# and two plots into OUT_DIR, and the summary into docs/benchmarks.md (--no-docs: not).
#
#   scripts/bench-suite.sh            # the full suite, about 20 minutes on 2 cores
#   scripts/bench-suite.sh --quick    # reduced sizes, 1 round, about 4 minutes
# Environment: BUILD_DIR (/tmp/lethe-bench-suite-build), OUT_DIR (BUILD_DIR/suite-results/<utc>),
#   BENCH_DIR (/tmp: where both systems keep their data; the same disk for both), ROUNDS (3),
#   RUN_SECONDS (3), ERASE_SIZES ("1 1000 100000"), ERASE_REPS (3), ROTATE_KEYS (1000000),
#   EXPORT_RECORDS (10000), SKIP_BUILD=1, PG_BIN (/usr/lib/postgresql/15/bin),
#   PARTS ("all", or some of "load erase backup export rotate"; limits always run).
# Needs: PostgreSQL 15, libpq-dev, python3-matplotlib, jq, curl (scripts/install-deps.sh with
# LETHE_WITH_TEST_TOOLS=1). Run as root, PostgreSQL runs as the `postgres` user; otherwise as you.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

quick=0
write_docs=1
for arg in "$@"; do
  case $arg in
    --quick) quick=1 ;;
    --no-docs) write_docs=0 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-suite.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done

build=${BUILD_DIR:-/tmp/lethe-bench-suite-build}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=${OUT_DIR:-$build/suite-results/$stamp}
pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
if [ "$quick" = 1 ]; then
  rounds=${ROUNDS:-1} secs=${RUN_SECONDS:-2} erase_sizes=${ERASE_SIZES:-"1 1000 10000"}
  erase_reps=${ERASE_REPS:-2} rotate_keys=${ROTATE_KEYS:-20000} export_records=${EXPORT_RECORDS:-2000}
else
  rounds=${ROUNDS:-3} secs=${RUN_SECONDS:-3} erase_sizes=${ERASE_SIZES:-"1 1000 100000"}
  erase_reps=${ERASE_REPS:-3} rotate_keys=${ROTATE_KEYS:-1000000} export_records=${EXPORT_RECORDS:-10000}
fi
parts=${PARTS:-all}
command_line="scripts/bench-suite.sh $*"
for knob in PARTS RUN_SECONDS ROUNDS ERASE_SIZES ERASE_REPS ROTATE_KEYS EXPORT_RECORDS BENCH_DIR; do
  if [ -n "${!knob:-}" ]; then command_line="$knob=\"${!knob}\" $command_line"; fi
done

for tool in cmake ninja jq curl /usr/bin/python3 "$pg_bin/postgres"; do
  command -v "$tool" >/dev/null || { echo "bench-suite.sh: $tool is required" >&2; exit 1; }
done

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVAULT_BUILD_TESTS=OFF \
    -DVAULT_BUILD_BENCH=ON >/dev/null
  nice cmake --build "$build" --target lethe ceiling_server suite_bench
fi
lethe=$build/api/lethe
suite=$build/bench/suite_bench
ceiling=$build/bench/ceiling_server

mkdir -p "$out"
work=$(mktemp -d "${BENCH_DIR:-/tmp}/lethe-bench-suite-XXXXXX")
chmod 0755 "$work"  # PostgreSQL's user must reach its directory inside
pids=()
pg_clusters=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for d in "${pg_clusters[@]}"; do
    as_pg "$pg_bin/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1 || true
  done
  # The access log of millions of requests stays behind; its end is kept.
  tail -n 200 "$work/lethe-serve.log" >"$out/lethe-serve.tail.log" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# PostgreSQL refuses to run as root: as root, run its programs as the postgres user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

wait_port_file() {  # file pid
  for _ in $(seq 1 200); do
    [ -s "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || { echo "bench-suite.sh: server $2 exited" >&2; return 1; }
    sleep 0.1
  done
  echo "bench-suite.sh: a server did not start" >&2
  return 1
}

# record <json-fields> -- <suite_bench args...>: runs one workload, appends one line to
# results.jsonl with the given fields, the round and the load average before it.
results=$out/results.jsonl
: >"$results"
round=0
record() {
  local fields=$1
  shift 2
  local load line
  load=$(cut -d' ' -f1 /proc/loadavg)
  line=$("$suite" "$@")
  jq -c --argjson f "$fields" --argjson round "$round" --argjson load "$load" \
    '$f + {round: $round, load: $load} + .' <<<"$line" | tee -a "$results"
}

source "$root/bench/suite/servers.sh"
start_postgres
start_vault
start_ceiling
machine_facts >"$out/machine.json"
cat "$out/machine.json"

source "$root/bench/suite/runs.sh"
part() { [ "$parts" = all ] || [[ " $parts " == *" $1 "* ]]; }
run_limits
if part load; then for round in $(seq 1 "$rounds"); do run_round "$round"; done; fi
round=1
if part erase; then run_erasures; fi
if part backup; then run_backup_demo; fi
if part export; then run_export_and_password; fi
if part rotate; then run_rotation; fi
round=0
run_limits  # again at the end: the machine's limits move with the other load on it
jq -n --arg load "$(cat /proc/loadavg)" '{loadavg_at_end: $load}' >"$out/end.json"

/usr/bin/python3 "$root/bench/suite/report.py" --results "$results" --machine "$out/machine.json" \
  --end "$out/end.json" --command "$command_line" --out "$out" \
  $([ "$write_docs" = 1 ] && echo --docs "$root/docs/benchmarks.md")
/usr/bin/python3 "$root/bench/suite/plots.py" --results "$out/results.json" --out "$out" \
  $([ "$write_docs" = 1 ] && echo --copy-to "$root/docs/img")
echo "bench-suite.sh: results in $out"
