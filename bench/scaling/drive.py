#!/usr/bin/env python3
"""One run of scripts/bench-scaling.sh: N wrk processes (one per server, the connections split
evenly) drive one workload for some seconds; prints one JSON line with the requests, latency,
the CPU time of PostgreSQL, of the lethe servers, of the load generators and of the rest of the
machine (from /proc), PostgreSQL's commits, rollbacks and new sessions (pg_stat_database),
transaction ids taken (write transactions), WAL bytes and WAL flushes (pg_stat_wal), the
serialization failures, deadlocks and unique-key races in PostgreSQL's log (each one a
transaction the store ran again), the servers' answers other than 2xx, and the load average."""
import argparse
import json
import os
import shlex
import subprocess
import time

HZ = os.sysconf("SC_CLK_TCK")


def proc_ticks(pid, children=False):
    """utime + stime of pid (and of its waited-for children), in clock ticks; 0 if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    ticks = int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5)
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks


def pg_ticks(postmaster):
    """CPU of the postmaster, its live children and its exited children."""
    total = proc_ticks(postmaster, children=True)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == postmaster:
            total += proc_ticks(int(entry))
    return total


def machine_ticks():
    """(busy, total) clock ticks of all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    idle = cpu[3] + cpu[4]
    return sum(cpu) - idle, sum(cpu)


def pg_counters(psql):
    """Commits and rollbacks (read and write transactions), sessions opened, the next
    transaction id (only a transaction that writes takes one), WAL bytes and WAL flushes."""
    sql = ("SELECT (SELECT sum(xact_commit) FROM pg_stat_database), "
           "(SELECT sum(xact_rollback) FROM pg_stat_database), "
           "(SELECT sum(sessions) FROM pg_stat_database), "
           "pg_snapshot_xmax(pg_current_snapshot()), "
           "pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0'), (SELECT wal_sync FROM pg_stat_wal)")
    out = subprocess.run(psql + ["-c", sql], check=True, capture_output=True, text=True).stdout
    return [int(float(x)) for x in out.strip().split("|")]


def log_conflicts(path, offset):
    """Serialization failures, deadlocks and unique-key races logged after offset."""
    counts = {"serialization": 0, "deadlock": 0, "unique": 0}
    with open(path, "rb") as f:
        f.seek(offset)
        for line in f:
            if b"ERROR:" not in line:
                continue
            if b"could not serialize access" in line:
                counts["serialization"] += 1
            elif b"deadlock detected" in line:
                counts["deadlock"] += 1
            elif b"duplicate key value" in line:
                counts["unique"] += 1
    return counts


def log_statuses(paths, offsets):
    """Answers other than 2xx in the servers' access logs after the offsets, by status."""
    counts = {}
    for path, offset in zip(paths, offsets):
        with open(path, "rb") as f:
            f.seek(offset)
            for line in f:
                i = line.find(b'"status":')
                if i >= 0 and line[i + 9:i + 10] != b"2":
                    code = line[i + 9:i + 12].decode()
                    counts[code] = counts.get(code, 0) + 1
    return counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--urls", required=True, help="comma-separated server URLs")
    ap.add_argument("--lethe-pids", required=True, help="comma-separated, every server")
    ap.add_argument("--n", type=int, required=True, help="servers to drive (the first n)")
    ap.add_argument("--workload", required=True)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--connections", type=int, default=30, help="in total, split over n")
    ap.add_argument("--postmaster", type=int, required=True)
    ap.add_argument("--pg-log", required=True)
    ap.add_argument("--server-logs", required=True, help="comma-separated access logs")
    ap.add_argument("--psql", required=True, help="psql command line (shell words)")
    ap.add_argument("--lua", required=True)
    ap.add_argument("--round", type=int, default=0)
    ap.add_argument("--raw", help="file to append the wrk outputs to")
    a = ap.parse_args()

    urls = a.urls.split(",")[: a.n]
    lethe_pids = [int(p) for p in a.lethe_pids.split(",")]
    psql = shlex.split(a.psql)
    conns = [a.connections // a.n + (1 if i < a.connections % a.n else 0) for i in range(a.n)]
    load = open("/proc/loadavg").read().split()[:3]

    pgc0 = pg_counters(psql)
    log0 = os.path.getsize(a.pg_log)
    server_logs = a.server_logs.split(",")
    slog0 = [os.path.getsize(p) for p in server_logs]
    pg0, m0 = pg_ticks(a.postmaster), machine_ticks()
    lethe0 = sum(proc_ticks(p) for p in lethe_pids)
    stamp = f"{a.round}{a.n}{int(time.time() * 1000) % 100000000}"
    procs = []
    for i, (url, c) in enumerate(zip(urls, conns)):
        env = dict(os.environ, VAULT_SCALE_WORKLOAD=a.workload, VAULT_BENCH_RUN=f"{stamp}g{i}")
        procs.append(subprocess.Popen(
            ["wrk", "-t1", f"-c{c}", f"-d{a.seconds}s", "--latency", "-s", a.lua, url],
            stdout=subprocess.PIPE, env=env, text=True))
    outs, wrk_ticks = [], 0
    for p in procs:
        outs.append(p.stdout.read())
        _, _, ru = os.wait4(p.pid, 0)
        wrk_ticks += (ru.ru_utime + ru.ru_stime) * HZ
    pg1, m1 = pg_ticks(a.postmaster), machine_ticks()
    lethe1 = sum(proc_ticks(p) for p in lethe_pids)
    time.sleep(1.5)  # backends flush their statistics within a second of going idle
    c0, r0, n0, x0, w0, s0 = pgc0
    c1, r1, n1, x1, w1, s1 = pg_counters(psql)
    conflicts = log_conflicts(a.pg_log, log0)
    statuses = log_statuses(server_logs, slog0)
    if a.raw:
        with open(a.raw, "a") as f:
            f.write("".join(outs))

    gens = [json.loads([l for l in o.splitlines() if l.startswith("{")][-1]) for o in outs]
    reqs = sum(g["requests"] for g in gens)
    wall = max(g["duration_s"] for g in gens)
    sec = lambda ticks: round(ticks / HZ, 2)
    busy = (m1[0] - m0[0]) / HZ
    capacity = (m1[1] - m0[1]) / HZ
    pg_s, lethe_s, wrk_s = sec(pg1 - pg0), sec(lethe1 - lethe0), round(wrk_ticks / HZ, 2)
    print(json.dumps({
        "n": a.n, "workload": a.workload, "round": a.round, "connections": conns,
        "requests": reqs, "duration_s": wall, "rps": round(reqs / wall, 1),
        # p50: the generators' p50s weighted by their requests; p99, max: the worst generator.
        "p50_ms": round(sum(g["p50_us"] * g["requests"] for g in gens) / max(reqs, 1) / 1e3, 2),
        "p99_ms": round(max(g["p99_us"] for g in gens) / 1e3, 2),
        "max_ms": round(max(g["max_us"] for g in gens) / 1e3, 2),
        "non2xx": sum(g["non2xx"] for g in gens),
        "errors": sum(g["err_connect"] + g["err_read"] + g["err_write"] + g["err_timeout"]
                      for g in gens),
        "cpu_s": {"postgres": pg_s, "lethe": lethe_s, "wrk": wrk_s,
                  "other": round(busy - pg_s - lethe_s - wrk_s, 2),
                  "idle": round(capacity - busy, 2)},
        "commits": c1 - c0, "rollbacks": r1 - r0, "sessions": n1 - n0, "write_xacts": x1 - x0,
        "wal_bytes": w1 - w0, "wal_syncs": s1 - s0,
        "pg_conflicts": conflicts, "non2xx_by_status": statuses, "load": load,
    }))


if __name__ == "__main__":
    main()
