"""Renders a benchmark-suite summary (report.py's results) as the Markdown block of
docs/benchmarks.md: targets, tables of medians with min-max, limits and fractions."""

NAMES = {"pg-pgcrypto": "PostgreSQL pgcrypto", "pg-sodium": "PostgreSQL libsodium",
         "vault-engine": "vault in-process", "vault-http": "vault HTTP", "pg": "PostgreSQL"}


def num(x, digits=0):
    if x is None:
        return "-"
    if digits == 0 and abs(x) >= 10:
        return f"{x:,.0f}"
    return f"{x:,.{max(digits, 2) if abs(x) < 10 else digits}f}"


def cell(s, digits=0):
    """median (min-max) of a stats dict."""
    if not s:
        return "-"
    if s["n"] == 1:
        return num(s["median"], digits)
    return f"{num(s['median'], digits)} ({num(s['min'], digits)}-{num(s['max'], digits)})"


def find(rows, **kw):
    for r in rows:
        if all(r.get(k) == v for k, v in kw.items()):
            return r
    return None


def header(res):
    m = res["machine"]
    rounds = max((x["ops_per_s"]["n"] for x in res["load"]
                  if x["system"] not in ("http-ceiling", "vault-noop")),
                 default=0)
    return [
        f"### Run of {m['date']} (commit {m['git']})",
        "",
        f"Command: `{res['command'].strip()}` ({rounds} round(s) per load figure; cells are "
        "median (min-max) over rounds, erasures over every repetition).",
        f"Machine: {m['nproc']} cores, {m['cpu']} ({m['hypervisor'] or 'bare metal'} guest), "
        f"{m['memory']}, {m['os']}, kernel {m['kernel']}; data of both systems on "
        f"`{m['data_disk']}`; PostgreSQL {m['postgresql']} (fsync on, synchronous_commit on, "
        "Unix socket). Load average at start: "
        f"{m['loadavg_at_start']}; at end: {res['end']['loadavg_at_end']}.",
        "",
    ]


def targets(res):
    out = ["#### Targets (issue 12), ratios in this run", "",
           "| target | this run | met |", "|---|---|---|"]
    for t in res["targets"]:
        v = t["value"]
        shown = "-" if v is None else (f"{v:.2f}x" if t["unit"] == "x" else f"{v:,.0f} {t['unit']}")
        met = {True: "yes", False: "**no**", None: "n/a"}[t["met"]]
        if t.get("note"):
            shown = t["note"]
        out.append(f"| {t['target']} | {shown} | {met} |")
    return out + [""]


def load_table(res):
    systems = ["pg-pgcrypto", "pg-sodium", "vault-engine", "vault-http"]
    out = ["#### Put, get, list: operations per second", "",
           "| workload | clients | " + " | ".join(NAMES[s] for s in systems) +
           " | vault HTTP / best PostgreSQL | vault in-process / best PostgreSQL |",
           "|---|---|" + "---|" * (len(systems) + 2)]
    for op in ("put-new", "put-existing", "get", "list"):
        for c in (1, 8, 32):
            rows = [find(res["load"], system=s, op=op, clients=c) for s in systems]
            if not any(rows):
                continue
            field = "records_per_s" if op == "list" else "ops_per_s"
            cells = [cell(r[field]) if r else "-" for r in rows]
            ratios = [cell(res["ratios"].get(f"{s}/pg {op} {c}"), 2) for s in
                      ("vault-http", "vault-engine")]
            label = {"put-new": "durable put, new subjects", "put-existing":
                     "durable put, existing subjects", "get": "get by key",
                     "list": "list 100 records (records/s)"}[op]
            out.append(f"| {label} | {c} | " + " | ".join(cells + ratios) + " |")
    out += ["", "Latency p50 / p99 (ms, medians over rounds):", "",
            "| workload | clients | " + " | ".join(NAMES[s] for s in systems) + " |",
            "|---|---|" + "---|" * len(systems)]
    for op in ("put-new", "put-existing", "get", "list"):
        for c in (1, 8, 32):
            rows = [find(res["load"], system=s, op=op, clients=c) for s in systems]
            if any(rows):
                cells = [f"{num(r['p50_ms']['median'], 2)} / {num(r['p99_ms']['median'], 2)}"
                         if r else "-" for r in rows]
                out.append(f"| {op} | {c} | " + " | ".join(cells) + " |")
    return out + [""]


def erase_table(res):
    sizes = sorted({e["records"] for e in res["erase"]})
    out = ["#### Erasure of one subject: milliseconds", "",
           "| records of the subject | PostgreSQL DELETE | vault in-process | vault HTTP |",
           "|---|---|---|---|"]
    for n in sizes:
        cells = [cell((find(res["erase"], system=s, records=n) or {}).get("erase_ms"), 2)
                 for s in ("pg", "vault-engine", "vault-http")]
        out.append(f"| {n:,} | " + " | ".join(cells) + " |")
    return out + [""]


def backup_section(res):
    b = res.get("backup")
    if not b:
        return []
    pg, v = b["pg"], b["vault"]
    return [
        "#### A backup taken before the erasure", "",
        f"- PostgreSQL: after the DELETE the live table holds {pg['live_rows_after_delete']} of "
        f"the subject's 1,000 rows; the `pg_basebackup` taken before, started as a cluster, "
        f"holds {pg['backup_rows_after_delete']:,}, and the application's key decrypts them: "
        f"{'yes' if pg['backup_row_decrypts_with_app_key'] else 'no'}. Nothing ends this: the "
        "rows live as long as the backup (and in the WAL archive, and in dead tuples until "
        "VACUUM).",
        f"- Vault (`lethe backup` before the erasure; policy `keys: {{epoch: 1h, horizon: 0h}}` "
        f"so the horizon passes at the next rotation): erasure answered "
        f"{v['erase_status']}, live GET afterwards {v['live_get_after_erase']}. Before the "
        f"horizon the backup restores and reads (GET of the erased subject "
        f"{v['backup_before_horizon_get']['erased_subject']}, of another subject "
        f"{v['backup_before_horizon_get']['other_subject']}). After the rotation (destroyed "
        f"epochs {v['rotation'].get('destroyed_epochs')}), `lethe restore` exits "
        f"{v['restore_after_horizon_exit']}: \"{v['restore_after_horizon_message'].strip()}\"; "
        f"the backup's files copied by hand beside the live keyring (no restore check): GET of "
        f"the erased subject {v['backup_files_after_horizon_get']['erased_subject']}, of "
        f"another subject {v['backup_files_after_horizon_get']['other_subject']}; the same copy "
        f"made before the rotation read "
        f"{v['backup_files_before_horizon_get']['erased_subject']} and "
        f"{v['backup_files_before_horizon_get']['other_subject']} (200: readable; 500: the "
        "server cannot unwrap the keys; \"refused\": it does not open the store). With the "
        "default policy (horizon 31d) the same happens 31 days after "
        "the erasure.",
        "",
    ]


def others(res):
    out = ["#### Export, password verification, epoch rotation", ""]
    ex = res.get("export")
    if ex and ex.get("skipped"):
        out.append(f"- Export: skipped: {ex['skipped']}.")
    elif ex:
        out.append(f"- Export of a subject with {ex['records']:,} records ({ex['bytes']:,} bytes "
                   f"of JSON): {cell(ex['records_per_s'])} records/s.")
    for p in res.get("password", []):
        if p.get("skipped"):
            out.append(f"- Password verify ({p['clients']} clients): skipped: {p['skipped']}.")
        else:
            out.append(f"- Password verify, {p['clients']} clients: {num(p['ops_per_s'], 1)}/s.")
    r = res.get("rotate")
    if r:
        out.append(f"- Epoch rotation of {r['live_keys']:,} live keys (in-process): "
                   f"{cell(r['seconds'], 2)} s, {cell(r['keys_per_s'])} keys/s (setup "
                   f"{r['setup_s']:.0f} s).")
    return out + [""]


def limits(res):
    names = {"fdatasync_per_s": "fdatasync/s of the data disk (4 KiB overwrite)",
             "aead_seal_1k_1t": "XChaCha20-Poly1305 seal 1 KiB/s, 1 thread",
             "aead_open_1k_1t": "XChaCha20-Poly1305 open 1 KiB/s, 1 thread",
             "aead_open_1k_all": "XChaCha20-Poly1305 open 1 KiB/s, all cores",
             "aead_rewrap_32b_1t": "rewrap (open + seal) of a 32-byte key/s, 1 thread",
             "argon2id_verify_1t": "Argon2id verify/s (19,456 KiB, t=2), 1 thread",
             "argon2id_verify_all": "Argon2id verify/s, all cores"}
    out = ["#### Limits of the machine (measured at the start and at the end of the run)", "",
           "| limit | median (min-max) |", "|---|---|"]
    for k, label in names.items():
        out.append(f"| {label} | {cell(res['limits'].get(k))} |")
    for c in (1, 32):
        r = find(res["load"], system="http-ceiling", op="get", clients=c)
        if r:
            out.append(f"| trivial HTTP handler (cpp-httplib, bench/ceiling_server), GET, "
                       f"{c} clients | {cell(r['ops_per_s'])} |")
        r = find(res["load"], system="vault-noop", op="get", clients=c)
        if r:
            out.append(f"| the vault's own edge doing nothing (GET /healthz: no auth, no store), "
                       f"{c} clients | {cell(r['ops_per_s'])} |")
    out += ["", "| vault figure | value | limit | limit value | fraction |", "|---|---|---|---|---|"]
    for f in res["fractions"]:
        out.append(f"| {f['figure']} | {num(f['value'])} | {f['limit']} | "
                   f"{num(f['limit_value'])} | {f['fraction']:.2f} |")
    return out + [""]


def render(res):
    lines = (header(res) + targets(res) + load_table(res) + erase_table(res) +
             backup_section(res) + others(res) + limits(res))
    return "\n".join(lines)
