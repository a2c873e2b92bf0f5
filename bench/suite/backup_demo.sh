# Sourced by scripts/bench-suite.sh: what a backup taken before an erasure still holds.
# PostgreSQL: a pg_basebackup, then DELETE of the subject; the backup, started as a cluster of
# its own, still returns the rows, and the application's key decrypts them. The vault: a
# `lethe backup`, then the erasure; before the horizon the backup restores and reads; once the
# horizon has passed (a policy with horizon 0h: the epoch rotation after the erasure destroys
# the old epoch's KEK at once, which the default policy does 31 days later) `lethe restore`
# refuses, and the backup's files copied by hand beside the live keyring read nothing (the
# same copy made before the horizon reads: the control that shows the copy itself works).

pg_backup_demo() {
  local key="bench-app-key-$RANDOM$RANDOM$RANDOM"
  psql_bench -v key="$key" <<'SQL'
INSERT INTO subjects (subject_id) VALUES ('bk-1');
INSERT INTO records SELECT 'bk-1', 'account', 'r' || g,
  pgp_sym_encrypt('{"email":"bk-' || g || '@example.com"}', :'key', 'cipher-algo=aes256, s2k-mode=1')
  FROM generate_series(1, 1000) g;
SQL
  as_pg "$pg_bin/pg_basebackup" -h "$work/pgsock" -p 5432 -U postgres -D "$work/pg/backup" \
    -X stream -c fast
  psql_bench -c "WITH r AS (DELETE FROM records WHERE subject_id = 'bk-1')
                 DELETE FROM subjects WHERE subject_id = 'bk-1'"
  local live backup sample
  live=$(psql_bench -c "SELECT count(*) FROM records WHERE subject_id = 'bk-1'")
  start_pg_cluster "$work/pg/backup" 5433
  backup=$(as_pg "$pg_bin/psql" -X -q -A -t -h "$work/pgsock" -p 5433 -U postgres -d bench \
    -c "SELECT count(*) FROM records WHERE subject_id = 'bk-1'")
  sample=$(as_pg "$pg_bin/psql" -X -q -A -t -h "$work/pgsock" -p 5433 -U postgres -d bench \
    -v key="$key" <<'SQL'
SELECT pgp_sym_decrypt(data, :'key') FROM records WHERE subject_id = 'bk-1' AND record_id = 'r7';
SQL
  )
  as_pg "$pg_bin/pg_ctl" -D "$work/pg/backup" -m fast stop >/dev/null
  jq -n --argjson live "$live" --argjson backup "$backup" \
    --arg decrypts "$([ "$sample" = '{"email":"bk-7@example.com"}' ] && echo yes || echo no)" \
    '{live_rows_after_delete: $live, backup_rows_after_delete: $backup,
      backup_row_decrypts_with_app_key: ($decrypts == "yes")}'
}

# get_status <url> <token> <path>
get_status() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $2" "$1$3"; }

# serve_and_get <data dir> <tag> <token>: serves a copy, prints "erased-subject other-subject"
# statuses of a GET of one record each; "refused" when the server does not start.
serve_and_get() {
  local dir=$1 tag=$2 tok=$3 pid url
  "$lethe" serve --data-dir "$dir" --root-key-file "$work/vh/root.key" --policy "$horizon_policy" \
    --listen 127.0.0.1:0 --port-file "$work/$tag.port" --sweep-interval 0 \
    >/dev/null 2>>"$work/lethe-serve.log" &
  pid=$!
  if ! wait_port_file "$work/$tag.port" "$pid" 2>/dev/null; then echo "refused refused"; return; fi
  url=http://127.0.0.1:$(cat "$work/$tag.port")
  echo "$(get_status "$url" "$tok" /v1/subjects/bk-1/records/account/r7)" \
    "$(get_status "$url" "$tok" /v1/subjects/bk-keep/records/account/r0)"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

# copy_by_hand <dir>: the backup's store and slot file and the live keyring, as a data dir.
copy_by_hand() {
  mkdir -p "$1/store"
  cp "$work/vh-backup/data.mdb" "$1/store/data.mdb"
  cp "$work/vh-backup/keyslots" "$work/vh/keyring" "$1/"
  chmod -R go-rwx "$1"
}

vault_backup_demo() {
  horizon_policy=$work/horizon-0h.yaml
  cat >"$horizon_policy" <<'YAML'
version: 1
erasure: {grace: 0d}
keys: {epoch: 1h, horizon: 0h}
audit: {retention: 90d}
categories:
  account:
    legal_basis: contract
    purposes: [service]
    retention: until_erasure
    survives_erasure: false
YAML
  local vh=$work/vh tok url before control forensic erase_status live_status rot restore_rc=0
  "$lethe" init --data-dir "$vh" --policy "$horizon_policy" --json >"$work/vh-init.json"
  tok=$(jq -r .admin_token "$work/vh-init.json")
  start_lethe "$vh" "$work/vh.port" --policy "$horizon_policy" --sweep-interval 0
  local vh_pid=$lethe_pid
  url=http://127.0.0.1:$(cat "$work/vh.port")
  "$suite" seed --system http --url "$url" --token "$tok" --sid bk-1 --records 1000 >/dev/null
  "$suite" seed --system http --url "$url" --token "$tok" --sid bk-keep --records 1 >/dev/null
  "$lethe" backup --data-dir "$vh" --out "$work/vh-backup" >/dev/null
  erase_status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $tok" \
    -H 'Content-Type: application/json' -d '{"mode":"immediate","reason":"bench"}' \
    "$url/v1/subjects/bk-1/erasure")
  live_status=$(get_status "$url" "$tok" /v1/subjects/bk-1/records/account/r7)
  # Before the horizon: the backup restores with the live keyring and reads.
  "$lethe" restore --from "$work/vh-backup" --data-dir "$work/vh-r1" --keyring "$vh/keyring" \
    --root-key-file "$vh/root.key" >/dev/null 2>"$work/restore1.err"
  before=$(serve_and_get "$work/vh-r1" vh-r1 "$tok")
  copy_by_hand "$work/vh-f0"
  control=$(serve_and_get "$work/vh-f0" vh-f0 "$tok")
  # The horizon passes: rotate (horizon 0h destroys the retired epoch's KEK at once).
  rot=$(curl -fsS -X POST -H "Authorization: Bearer $tok" "$url/v1/admin/epochs/rotate")
  "$lethe" restore --from "$work/vh-backup" --data-dir "$work/vh-r2" --keyring "$vh/keyring" \
    --root-key-file "$vh/root.key" >/dev/null 2>"$work/restore2.err" || restore_rc=$?
  # The same files by hand, beside the live keyring, without restore's check.
  copy_by_hand "$work/vh-f"
  forensic=$(serve_and_get "$work/vh-f" vh-f "$tok")
  kill "$vh_pid"
  wait "$vh_pid" 2>/dev/null || true
  jq -n --arg erase "$erase_status" --arg live "$live_status" --arg before "$before" \
    --argjson rot "$rot" --argjson rc "$restore_rc" --arg err "$(head -c 400 "$work/restore2.err")" \
    --arg forensic "$forensic" --arg control "$control" \
    '{erase_status: $erase, live_get_after_erase: $live,
      backup_before_horizon_get: {erased_subject: ($before | split(" ")[0]),
                                  other_subject: ($before | split(" ")[1])},
      backup_files_before_horizon_get: {erased_subject: ($control | split(" ")[0]),
                                        other_subject: ($control | split(" ")[1])},
      rotation: $rot, restore_after_horizon_exit: $rc, restore_after_horizon_message: $err,
      backup_files_after_horizon_get: {erased_subject: ($forensic | split(" ")[0]),
                                       other_subject: ($forensic | split(" ")[1])}}'
}

run_backup_demo() {
  echo "== a backup taken before an erasure (PostgreSQL pg_basebackup; lethe backup)"
  # Into files, not $(...): a server started inside would hold a substitution's pipe open.
  pg_backup_demo >"$work/pg-backup.json"
  vault_backup_demo >"$work/vault-backup.json"
  jq -c -n --slurpfile pg "$work/pg-backup.json" --slurpfile vault "$work/vault-backup.json" \
    '{workload: "backup", pg: $pg[0], vault: $vault[0]}' | tee -a "$results"
}
