#!/usr/bin/env python3
"""docs/scaling.md's arithmetic from a scripts/bench-scaling.sh result directory: storage, index,
audit, backup/restore and epoch rotation for 1 million and 100 million subjects, using the
measured bytes per subject/record/audit entry and the measured rates (markdown on stdout).
Assumptions are printed with the figures: 2 DEKs per subject (measured), 1 or 5 records of
1 KiB per subject, audit retention 90 days (the policy default), audited operations per
subject per day as stated."""
import argparse
import json
import os
import statistics


def gb(b):
    return f"{b / 1e9:,.1f} GB" if b < 1e12 else f"{b / 1e12:,.2f} TB"


def dur(s):
    if s < 3600:
        return f"{s / 60:,.0f} min"
    if s < 3 * 86400:
        return f"{s / 3600:,.1f} h"
    return f"{s / 86400:,.1f} days"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    d = ap.parse_args().dir
    s = json.load(open(os.path.join(d, "sizes.json")))
    ops = [json.loads(l) for l in open(os.path.join(d, "ops.jsonl")) if l.strip()]
    runs = [json.loads(l) for l in open(os.path.join(d, "runs.jsonl")) if l.strip()]

    def per(before, run, after, key):
        return (after[key] - before[key]) / (run["requests"] - run["non2xx"])
    subj = {k: per(s[0], s[1], s[2], k) for k in ("total", "indexes")}
    rec = {k: per(s[2], s[3], s[4], k) for k in ("total", "indexes")}
    # Per audit entry: a get's entry is appended asynchronously, and under load part of them
    # may still be queued when the table is measured.
    entries = s[6]["tables"]["audit"]["rows"] - s[4]["tables"]["audit"]["rows"]
    aud = {k: (s[6][k] - s[4][k]) / entries for k in ("total", "indexes")}
    deks_per_subject = ((s[2]["tables"]["keys"]["rows"] - s[0]["tables"]["keys"]["rows"]) /
                        (s[1]["requests"] - s[1]["non2xx"]))
    op = lambda name: [o for o in ops if o["op"] == name]
    rot = statistics.median(o["deks_per_s"] for o in op("epoch-rotation"))
    base = op("pg_basebackup")[0]["mb_per_s"] * 1e6
    dump = op("pg_dump")[0]["mb_per_s"] * 1e6
    restore = op("pg_restore")[0]["mb_per_s"] * 1e6
    hsm = {o["op"]: o["softhsm2"] for o in ops if "softhsm2" in o}
    hsm_rewrap = 1 / (1 / hsm["unwrap/s"] + 1 / hsm["wrap/s"]) if len(hsm) == 2 else 0
    put_subject = statistics.median([r["rps"] for r in runs
                                     if r["workload"] == "put-subject" and r["n"] == 1] or
                                    [s[1]["rps"]])

    print(f"Measured inputs: {subj['total']:,.0f} B per subject with one 1 KiB record "
          f"({subj['indexes']:,.0f} B of it index), {rec['total']:,.0f} B per further record "
          f"({rec['indexes']:,.0f} B index), {aud['total']:,.0f} B per audit entry "
          f"({aud['indexes']:,.0f} B index); {deks_per_subject:.2f} DEKs per subject; "
          f"epoch rotation {rot:,.0f} DEKs/s on PostgreSQL; SoftHSM2 unwrap+wrap "
          f"{hsm_rewrap:,.0f} DEKs/s (one session); pg_basebackup {base / 1e6:,.0f} MB/s, "
          f"pg_dump {dump / 1e6:,.0f} MB/s, pg_restore {restore / 1e6:,.0f} MB/s; put of a new "
          f"subject {put_subject:,.0f}/s (one server, median).\n")
    print("| | 1 million subjects | 100 million subjects |")
    print("|---|---|---|")
    rows = []
    for m in (1e6, 1e8):
        one = m * subj["total"]
        five = m * (subj["total"] + 4 * rec["total"])
        idx1 = m * subj["indexes"]
        idx5 = m * (subj["indexes"] + 4 * rec["indexes"])
        audit1 = m * 1 * 90 * aud["total"]
        audit10 = m * 10 * 90 * aud["total"]
        deks = m * deks_per_subject
        rows.append({
            "lethe_kv, 1 record per subject (of it index)": f"{gb(one)} ({gb(idx1)})",
            "lethe_kv, 5 records per subject (of it index)": f"{gb(five)} ({gb(idx5)})",
            "audit, 90 days at 1 / 10 audited reads per subject per day":
                f"{gb(audit1)} / {gb(audit10)}",
            "audited operations per second, 1 / 10 per subject per day (average)":
                f"{m / 86400:,.0f} / {10 * m / 86400:,.0f}",
            "pg_basebackup of the 5-record database (no audit)": dur(five / base),
            "pg_dump / pg_restore of it (logical, indexes rebuilt)":
                f"{dur(five / dump)} / {dur(five / restore)}",
            "loading the subjects through one server (put of a new subject)":
                dur(m / put_subject),
            "DEKs": f"{deks:,.0f}",
            "epoch rotation on PostgreSQL (measured rate)": dur(deks / rot),
            "epoch rotation if every rewrap were 2 operations in the token (SoftHSM2 rate)":
                dur(deks / hsm_rewrap) if hsm_rewrap else "n/a",
        })
    for key in rows[0]:
        print(f"| {key} | {rows[0][key]} | {rows[1][key]} |")


if __name__ == "__main__":
    main()
