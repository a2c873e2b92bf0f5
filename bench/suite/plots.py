#!/usr/bin/python3
"""Plots of a benchmark-suite run (report.py's results.json), PNG via Debian's
python3-matplotlib: erase time against records per subject, and durable put throughput
against concurrent writers, for PostgreSQL and the vault. Error bars: min-max over rounds."""
import argparse
import json
import os
import shutil

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STYLE = {"pg-pgcrypto": ("PostgreSQL + pgcrypto", "tab:blue", "s"),
         "pg-sodium": ("PostgreSQL + client libsodium", "tab:cyan", "D"),
         "pg": ("PostgreSQL DELETE", "tab:blue", "s"),
         "vault-engine": ("vault in-process", "tab:orange", "o"),
         "vault-http": ("vault over HTTP", "tab:red", "^")}


def series(points):
    xs = [p[0] for p in points]
    med = [p[1]["median"] for p in points]
    err = [[p[1]["median"] - p[1]["min"] for p in points],
           [p[1]["max"] - p[1]["median"] for p in points]]
    return xs, med, err


def erase_plot(res, path, title):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for sys in ("pg", "vault-engine", "vault-http"):
        pts = sorted((e["records"], e["erase_ms"]) for e in res["erase"] if e["system"] == sys)
        if pts:
            label, color, marker = STYLE[sys]
            xs, med, err = series(pts)
            ax.errorbar(xs, med, yerr=err, label=label, color=color, marker=marker, capsize=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("records of the erased subject (1 KiB each)")
    ax.set_ylabel("erasure time, ms (median, min-max)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def put_plot(res, path, title):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    for ax, op, name in zip(axes, ("put-new", "put-existing"),
                            ("new subject per put", "new record of an existing subject")):
        for sys in ("pg-pgcrypto", "pg-sodium", "vault-engine", "vault-http"):
            pts = sorted((x["clients"], x["ops_per_s"]) for x in res["load"]
                         if x["system"] == sys and x["op"] == op)
            if pts:
                label, color, marker = STYLE[sys]
                xs, med, err = series(pts)
                ax.errorbar(xs, med, yerr=err, label=label, color=color, marker=marker, capsize=3)
        ax.set_xscale("log", base=2)
        ax.set_xticks([1, 8, 32])
        ax.set_xticklabels(["1", "8", "32"])
        ax.set_xlabel("concurrent writers")
        ax.set_title(f"durable 1 KiB put: {name}")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("puts/s (median, min-max)")
    axes[0].legend()
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--copy-to", help="also copy the PNGs here (docs/img)")
    a = ap.parse_args()
    res = json.load(open(a.results))
    m = res["machine"]
    title = f"{m['date']}, {m['nproc']} cores, load {m['loadavg_at_start'].split()[0]}"
    if a.copy_to:
        os.makedirs(a.copy_to, exist_ok=True)
    files = {"bench-suite-erase.png": erase_plot, "bench-suite-put.png": put_plot}
    for name, fn in files.items():
        fn(res, f"{a.out}/{name}", title)
        if a.copy_to:
            shutil.copy(f"{a.out}/{name}", f"{a.copy_to}/{name}")
    print("plots:", ", ".join(f"{a.out}/{n}" for n in files))


if __name__ == "__main__":
    main()
