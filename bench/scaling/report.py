#!/usr/bin/env python3
"""The summary of scripts/bench-scaling.sh (markdown on stdout): per workload and number of
servers, medians with min-max over the rounds of req/s and latency, where the CPU went (cores
busy on average: PostgreSQL, lethe, wrk, the rest of the machine, idle), commits/s, requests
per commit, WAL bytes per request and the reruns PostgreSQL logged; then the bytes and rows
per subject and per record, and the single operations (rotation, backup, restore, limits)."""
import argparse
import json
import os
import statistics


def mmm(xs, fmt="{:.0f}"):
    return f"{fmt.format(statistics.median(xs))} ({fmt.format(min(xs))}-{fmt.format(max(xs))})"


def med(xs):
    return statistics.median(xs)


def non2xx(rs):
    total = sum(r["non2xx"] + r["errors"] for r in rs)
    codes = {}
    for r in rs:
        for code, n in r.get("non2xx_by_status", {}).items():
            codes[code] = codes.get(code, 0) + n
    return f"{total}" + (" (" + ", ".join(f"{c}: {n}" for c, n in sorted(codes.items())) + ")"
                         if codes else "")


def throughput(runs):
    print("| workload | servers | req/s median (min-max) | p50 ms | p99 ms | cores: postgres / "
          "lethe / wrk / other / idle | commits/s (all) | write xacts/s | WAL flushes/s | "
          "WAL B/req | new PG sessions/s | reruns (40001+23505, all rounds) | "
          "non-2xx + wrk errors (by status) | load 1m |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for w in dict.fromkeys(r["workload"] for r in runs):
        for n in (1, 2, 3):
            rs = [r for r in runs if r["workload"] == w and r["n"] == n]
            if not rs:
                continue
            cores = " / ".join(
                f"{med([r['cpu_s'][k] / r['duration_s'] for r in rs]):.2f}"
                for k in ("postgres", "lethe", "wrk", "other", "idle"))
            commits = [r["commits"] / r["duration_s"] for r in rs]
            xacts = med([r["write_xacts"] / r["duration_s"] for r in rs])
            syncs = med([r["wal_syncs"] / r["duration_s"] for r in rs])
            sessions = med([r.get("sessions", 0) / r["duration_s"] for r in rs])
            wal = med([r["wal_bytes"] / max(r["requests"], 1) for r in rs])
            reruns = sum(r["pg_conflicts"]["serialization"] + r["pg_conflicts"]["unique"] +
                         r["pg_conflicts"]["deadlock"] for r in rs)
            loads = [float(r["load"][0]) for r in rs]
            print(f"| {w} | {n} | {mmm([r['rps'] for r in rs])} | "
                  f"{med([r['p50_ms'] for r in rs]):.1f} | {med([r['p99_ms'] for r in rs]):.1f} | "
                  f"{cores} | {med(commits):.0f} | {xacts:.0f} | {syncs:.0f} | {wal:.0f} | "
                  f"{sessions:.0f} | {reruns} | "
                  f"{non2xx(rs)} | "
                  f"{min(loads):.1f}-{max(loads):.1f} |")
    print()
    print("Paired ratios (req/s of N servers over N = 1 in the same round; median, min-max):")
    for w in dict.fromkeys(r["workload"] for r in runs):
        parts = []
        for n in (2, 3):
            rat = []
            for rnd in sorted({r["round"] for r in runs}):
                a = [r for r in runs if (r["workload"], r["n"], r["round"]) == (w, 1, rnd)]
                b = [r for r in runs if (r["workload"], r["n"], r["round"]) == (w, n, rnd)]
                if a and b and a[0]["rps"] > 0:
                    rat.append(b[0]["rps"] / a[0]["rps"])
            if rat:
                parts.append(f"N={n}: {mmm(rat, '{:.2f}')}")
        print(f"- {w}: {'; '.join(parts)}")
    print()
    print("CPU per request (median, microseconds): ", end="")
    parts = []
    for w in dict.fromkeys(r["workload"] for r in runs):
        for n in (1, 3):
            rs = [r for r in runs if r["workload"] == w and r["n"] == n]
            if rs:
                f = lambda k: med([r["cpu_s"][k] * 1e6 / max(r["requests"], 1) for r in rs])
                parts.append(f"{w} N={n}: postgres {f('postgres'):.0f}, lethe {f('lethe'):.0f}, "
                             f"wrk {f('wrk'):.0f}")
    print("; ".join(parts) + ".")
    print()


def sizes(snaps, runs_by_label):
    print("| step | requests | lethe_kv total B | heap B | index B | TOAST B | rows added, by "
          "table | bytes (k+v) added, by table |")
    print("|---|---|---|---|---|---|---|---|")
    for before, run, after in runs_by_label:
        req = run["requests"] - run["non2xx"]
        d = lambda k: (after[k] - before[k]) / req
        rows, kv = [], []
        for t, a in sorted(after["tables"].items()):
            b = before["tables"].get(t, {"rows": 0, "key_bytes": 0, "value_bytes": 0})
            dr = (a["rows"] - b["rows"]) / req
            db = (a["key_bytes"] + a["value_bytes"] - b["key_bytes"] - b["value_bytes"]) / req
            if abs(dr) >= 0.005 or abs(db) >= 1:
                rows.append(f"{t} {dr:.2f}")
                kv.append(f"{t} {db:.0f}")
        print(f"| per {run['workload']} | {req} | {d('total'):.0f} | {d('heap'):.0f} | "
              f"{d('indexes'):.0f} | {d('toast'):.0f} | {', '.join(rows)} | {', '.join(kv)} |")
    last = runs_by_label[-1][2]
    print(f"\nAfter the size steps: lethe_kv {last['total'] / 1e6:.1f} MB (heap "
          f"{last['heap'] / 1e6:.1f}, indexes {last['indexes'] / 1e6:.1f}, TOAST "
          f"{last['toast'] / 1e6:.1f}); database {last['database'] / 1e6:.1f} MB.\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    a = ap.parse_args()
    machine = json.load(open(os.path.join(a.dir, "machine.json")))
    print(f"Machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['memory']}, "
          f"{machine['data_disk']}, PostgreSQL {machine['postgresql']}, git {machine['git']}, "
          f"nice {machine['nice']}.  \nAt start: `{machine['uptime_at_start'].strip()}`  ")
    end = open(os.path.join(a.dir, "uptime-end.txt")).read().strip().splitlines()
    print(f"At end: `{end[-1].strip()}`  \nCommand: `{machine['command']}`\n")
    runs = [json.loads(l) for l in open(os.path.join(a.dir, "runs.jsonl")) if l.strip()]
    if runs:
        throughput(runs)
    s = json.load(open(os.path.join(a.dir, "sizes.json")))
    if len(s) == 7:
        sizes(s, [(s[0], s[1], s[2]), (s[2], s[3], s[4]), (s[4], s[5], s[6])])
    ops_path = os.path.join(a.dir, "ops.jsonl")
    if os.path.exists(ops_path):
        for line in open(ops_path):
            if line.strip():
                print(f"- `{line.strip()}`")


if __name__ == "__main__":
    main()
