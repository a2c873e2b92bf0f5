#!/usr/bin/env bash
# Paired, interleaved before/after of the durable write benchmark (docs/benchmarks.md): runs
# scripts/write-bench.sh with ROUNDS=1 for lethe binary A, then B, then A, ... PAIRS times
# (each run against its own fresh PostgreSQL cluster, so PostgreSQL is in every run), then
# prints per workload the medians of A and B, the median of the per-pair ratios B / A, and
# the medians of vault / PostgreSQL for each side. On a shared machine only the pairing makes
# a before/after claim: both halves of a pair ran within a minute of each other.
# Usage: scripts/paired-write-bench.sh A_BIN B_BIN   (env: PAIRS=5, DURATION=5s, CONNS="1 32",
#        OUT_DIR=/tmp/paired-<ts>)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
a=$1 b=$2
pairs=${PAIRS:-5}
out=${OUT_DIR:-/tmp/paired-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
for p in $(seq 1 "$pairs"); do
  for side in A B; do
    bin=$a
    [ "$side" = B ] && bin=$b
    echo "== pair $p, $side ($bin)"
    LETHE_BIN=$bin ROUNDS=1 OUT_DIR="$out/$side-$p" "$root/scripts/write-bench.sh" >"$out/$side-$p.log" 2>&1 ||
      { echo "run failed: $out/$side-$p.log" >&2; exit 1; }
    grep -E '^(pg-insert|vault-)' "$out/$side-$p.log" || true
  done
done
python3 - "$out" "$pairs" <<'PY' | tee "$out/summary.md"
import json, statistics, sys
out, pairs = sys.argv[1], int(sys.argv[2])
med = statistics.median
def load(side, p):
    return [json.loads(l) for l in open(f"{out}/{side}-{p}/runs.jsonl") if l.strip()]
runs = {(s, p): load(s, p) for s in "AB" for p in range(1, pairs + 1)}
def rps(s, p, name, c):
    return next(r["rps"] for r in runs[(s, p)] if r["name"] == name and r.get("connections") == c)
def cpu(s, p, name, c):
    return next(r["server_cpu_us_per_req"] for r in runs[(s, p)] if r["name"] == name and r.get("connections") == c)
keys = sorted({(r["name"], r["connections"]) for r in runs[("A", 1)] if r["name"] != "fdatasync"},
              key=lambda k: (k[1], k[0]))
print("| run | conns | A median | B median | B/A per pair (median; pairs) | A/pg | B/pg | CPU us/req A, B |")
print("|---|---|---|---|---|---|---|---|")
for name, c in keys:
    A = [rps("A", p, name, c) for p in range(1, pairs + 1)]
    B = [rps("B", p, name, c) for p in range(1, pairs + 1)]
    ratio = [b / a for a, b in zip(A, B)]
    if name == "pg-insert":
        vs_a = vs_b = "-"
    else:
        vs_a = f"{med([rps('A', p, name, c) / rps('A', p, 'pg-insert', c) for p in range(1, pairs + 1)]):.2f}x"
        vs_b = f"{med([rps('B', p, name, c) / rps('B', p, 'pg-insert', c) for p in range(1, pairs + 1)]):.2f}x"
    ca = med([cpu("A", p, name, c) for p in range(1, pairs + 1)])
    cb = med([cpu("B", p, name, c) for p in range(1, pairs + 1)])
    print(f"| {name} | {c} | {med(A):,.0f} | {med(B):,.0f} | {med(ratio):.2f} "
          f"({', '.join(f'{x:.2f}' for x in ratio)}) | {vs_a} | {vs_b} | {ca:.0f}, {cb:.0f} |")
fs = {s: [next(r["rate"] for r in runs[(s, p)] if r["name"] == "fdatasync") for p in range(1, pairs + 1)] for s in "AB"}
print(f"\nfdatasync/s probe per run: A {fs['A']}, B {fs['B']}")
PY
