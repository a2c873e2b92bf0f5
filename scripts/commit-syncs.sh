#!/usr/bin/env bash
# Syncs per group commit (docs/benchmarks.md "Where a PUT's time goes"): starts `lethe serve`
# (BIN) on loopback, seeds 64 subjects, runs wrk -c32 with bench/SCRIPT (put.lua or
# put_new_subject.lua) for 5 s under `strace -f --seccomp-bpf -e trace=fdatasync,pwrite64`
# and prints the requests served, the data file's fdatasyncs (one per commit), the key slot
# file's fdatasyncs and pwrites, LMDB's meta page writes and the data page writes.
# Usage: scripts/commit-syncs.sh BIN put.lua|put_new_subject.lua   (needs strace, wrk, curl)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$1; script=$2
w=$(mktemp -d /tmp/commit-syncs-XXXXXX)
"$bin" init --data-dir $w/d --json > $w/init.json
admin=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin_token"])' $w/init.json)
"$bin" serve --data-dir $w/d --listen 127.0.0.1:0 --port-file $w/port --rate-limit 0 2>/dev/null &
spid=$!
for i in $(seq 100); do [ -s $w/port ] && break; sleep 0.1; done
V=http://127.0.0.1:$(cat $w/port)
source "$root/scripts/lib/bench-seed.sh"
app=$(bench_app_token "$V" "$admin")
bench_seed "$V" "$app"
export VAULT_BENCH_LUA_DIR=$root/bench VAULT_BENCH_TOKEN=$app
VAULT_BENCH_RUN=warm wrk -t2 -c32 -d2s -s $root/bench/$script $V >/dev/null
datafd=$(ls -l /proc/$spid/fd | awk '/data.mdb/{print $9}' | head -1)
slotfd=$(ls -l /proc/$spid/fd | awk '/keyslots/{print $9}' | head -1)
strace -f -qq --seccomp-bpf -e trace=fdatasync,pwrite64 -p $spid -o $w/st 2>/dev/null &
stpid=$!
sleep 0.5
line=$(VAULT_BENCH_RUN=st wrk -t2 -c32 -d5s -s $root/bench/$script $V | grep '^{')
kill -INT $stpid; wait $stpid 2>/dev/null || true
req=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["requests"])' "$line")
dsync=$(grep -c "fdatasync($datafd)" $w/st || true)
ssync=$(grep -c "fdatasync($slotfd)" $w/st || true)
slotw=$(grep -c "pwrite64($slotfd," $w/st || true)
# meta pages are written through LMDB's second (O_DSYNC) descriptor, not datafd
metaw=$(grep "pwrite64(" $w/st | grep -v "pwrite64($datafd," | grep -v "pwrite64($slotfd," | grep -c . || true)
pagew=$(grep -c "pwrite64($datafd," $w/st || true)
echo "$(basename $bin) $script: requests=$req data_fdatasync=$dsync slot_fdatasync=$ssync slot_pwrites=$slotw meta_dsync_writes=$metaw data_pwrites=$pagew per_commit=$(python3 -c "print(round($req/max($dsync,1),1))")"
kill $spid; wait $spid 2>/dev/null || true
rm -rf $w
