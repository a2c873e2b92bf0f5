# Sourced by scripts/bench-suite.sh: the workloads, each appending JSON lines to results.jsonl
# through `record`. Uses the script's variables (see servers.sh) and its knobs.

# The four systems of a comparison, as suite_bench flags (the in-process store lives in
# $work/engine for the whole run, as the server's store and PostgreSQL's database do).
system_flags() {
  case $1 in
    pg-pgcrypto) echo "--system pg --pg $pg_conn --crypto pgcrypto" ;;
    pg-sodium) echo "--system pg --pg $pg_conn --crypto sodium" ;;
    vault-engine) echo "--system engine --dir $work/engine" ;;
    vault-http) echo "--system http --url $vault_url --token $admin" ;;
  esac
}

# load_run <system> <op> <clients>: one timed load run.
load_run() {
  local sys=$1 op=$2 clients=$3 flags
  read -r -a flags <<<"$(system_flags "$sys")"
  # pg_conn holds spaces: pass it whole.
  [[ $sys == pg-* ]] && flags=(--system pg --pg "$pg_conn" --crypto "${sys#pg-}")
  record "{\"workload\":\"load\",\"system\":\"$sys\",\"op\":\"$op\"}" -- \
    load "${flags[@]}" --op "$op" --clients "$clients" --seconds "$secs" \
    --run "r$round-$op-c$clients-$RANDOM"
}

run_limits() {
  echo "== limits (fdatasync of $work's disk, AEAD, Argon2id)"
  record '{"workload":"limits"}' -- limits --dir "$work" --seconds 2
  for c in 1 32; do
    record '{"workload":"load","system":"http-ceiling","op":"get"}' -- \
      load --system http --url "$ceiling_url" --token "" --op get-fixed --clients "$c" \
      --seconds "$secs" --run ceiling
    # The vault's own edge doing nothing (GET /healthz): what any route of it can reach here.
    record '{"workload":"load","system":"vault-noop","op":"get"}' -- \
      load --system http --url "$vault_url" --token "" --op get-noop --clients "$c" \
      --seconds "$secs" --run noop
  done
}

# One round: every system back to back for each workload, so ratios compare runs under the
# same load of the machine.
run_round() {
  echo "== round $1 of $rounds"
  for op in put-new put-existing; do
    for c in 1 8 32; do
      for sys in pg-pgcrypto pg-sodium vault-engine vault-http; do load_run "$sys" "$op" "$c"; done
    done
  done
  for op in get list; do
    for c in 1 32; do
      for sys in pg-pgcrypto pg-sodium vault-engine vault-http; do load_run "$sys" "$op" "$c"; done
      if [ "$op" = get ]; then record '{"workload":"load","system":"http-ceiling","op":"get"}' -- \
        load --system http --url "$ceiling_url" --token "" --op get-fixed --clients "$c" \
        --seconds "$secs" --run ceiling; fi
    done
  done
}

# PostgreSQL's erasure is a DELETE of the subject's rows; the data is never read, so one
# encryption mode (pgcrypto) stands for both.
run_erasures() {
  echo "== erasure of a subject with $erase_sizes records"
  for n in $erase_sizes; do
    record "{\"workload\":\"erase\",\"system\":\"pg\"}" -- erase --system pg --pg "$pg_conn" \
      --crypto pgcrypto --records "$n" --reps "$erase_reps" --run "x$n-$RANDOM"
    record "{\"workload\":\"erase\",\"system\":\"vault-engine\"}" -- erase --system engine \
      --dir "$work/engine" --records "$n" --reps "$erase_reps" --run "x$n-$RANDOM"
    record "{\"workload\":\"erase\",\"system\":\"vault-http\"}" -- erase --system http \
      --url "$vault_url" --token "$admin" --records "$n" --reps "$erase_reps" --run "x$n-$RANDOM"
  done
}

run_export_and_password() {
  echo "== export of a subject with $export_records records; password verification"
  record '{"workload":"export","system":"vault-http"}' -- export --url "$vault_url" \
    --token "$admin" --records "$export_records" --reps 3 --run "ex-$RANDOM"
  for c in 1 2; do
    record '{"workload":"password","system":"vault-http"}' -- password --url "$vault_url" \
      --token "$admin" --clients "$c" --seconds "$secs" --run "pw$c-$RANDOM"
  done
}

run_rotation() {
  echo "== epoch rotation of $rotate_keys keys (in-process; seeding takes most of the time)"
  record '{"workload":"rotate","system":"vault-engine"}' -- rotate --dir "$work/rotate" \
    --keys "$rotate_keys" --reps 1
  rm -rf "$work/rotate"
}

source "$root/bench/suite/backup_demo.sh"
