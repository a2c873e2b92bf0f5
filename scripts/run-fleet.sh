#!/usr/bin/env bash
# run-fleet.sh: the fleet mode on one machine, for trying it out and for failover drills.
# Installs what is missing, builds, then starts (all on loopback, all in one temp directory):
#   - a PostgreSQL 15 primary with a synchronous standby (scripts/pg-pair.sh),
#   - a SoftHSM2 token holding the root key (non-extractable; PIN in a 0600 file),
#   - two `lethe serve` processes over that database,
#   - HAProxy in front on 127.0.0.1:8200, routing to the servers that answer GET /readyz,
# and prints the admin token. Ctrl-C stops everything and removes the directory.
#   LETHE_FLEET_LISTEN (default 127.0.0.1:8200)   LETHE_FLEET_DIR (default: a new temp dir)
# A failover drill, from another terminal:
#   scripts/pg-pair.sh kill-primary DIR/pg && scripts/pg-pair.sh promote DIR/pg
# The servers reconnect to the promoted standby by themselves (target_session_attrs=read-write);
# requests during the switch get 503 with Retry-After.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
listen=${LETHE_FLEET_LISTEN:-127.0.0.1:8200}
module=${LETHE_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}

LETHE_WITH_FLEET=1 scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVAULT_BUILD_BENCH=OFF >/dev/null
cmake --build build -j "$(nproc)" --target vault
lethe=$root/build/api/lethe

work=${LETHE_FLEET_DIR:-$(mktemp -d /tmp/lethe-fleet-XXXXXX)}
mkdir -p "$work"
chmod 0755 "$work"  # PostgreSQL's user must reach its sockets inside
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  "$root/scripts/pg-pair.sh" stop "$work/pg" || true
  [ -n "${LETHE_FLEET_DIR:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "fleet: PostgreSQL primary and synchronous standby in $work/pg"
store=$("$root/scripts/pg-pair.sh" start "$work/pg")

echo "fleet: SoftHSM2 token in $work/hsm"
mkdir -p "$work/hsm/tokens"
export SOFTHSM2_CONF=$work/hsm/softhsm2.conf
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$work/hsm" >"$SOFTHSM2_CONF"
(umask 077 && openssl rand -hex 16 >"$work/hsm/pin")
so_pin=$(openssl rand -hex 16)
softhsm2-util --init-token --free --label lethe --pin "$(cat "$work/hsm/pin")" \
  --so-pin "$so_pin" >/dev/null
root_key="module=$module;token=lethe;key=lethe-root;pin-file=$work/hsm/pin"

# The servers share nothing but the database and the token: the epoch keys are token objects,
# the system keys a row sealed under the token's root key; each server has its own (empty)
# data directory. The rows, key slots and audit log are in PostgreSQL.
"$lethe" init --data-dir "$work/vault1" --store "$store" --root-key-pkcs11 "$root_key" --json \
  >"$work/init.json"
mkdir -m 700 "$work/vault2"
admin=$(jq -r .admin_token "$work/init.json")

wait_port_file() {  # file pid
  for _ in $(seq 1 300); do
    [ -s "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || { echo "run-fleet.sh: a server exited (see $work/*.log)" >&2; return 1; }
    sleep 0.1
  done
  echo "run-fleet.sh: a server did not start" >&2
  return 1
}
backends=""
for n in 1 2; do
  "$lethe" serve --data-dir "$work/vault$n" --store "$store" --root-key-pkcs11 "$root_key" \
    --listen 127.0.0.1:0 --port-file "$work/server$n.port" >"$work/server$n.log" 2>&1 &
  pids+=($!)
  wait_port_file "$work/server$n.port" "$!"
  backends+="    server lethe$n 127.0.0.1:$(cat "$work/server$n.port") check inter 1s fall 2 rise 1
"
done

cat >"$work/haproxy.cfg" <<CFG
global
    log stderr format short local0 notice
defaults
    mode http
    log global
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retry-on conn-failure empty-response
    retries 2
    option redispatch
frontend lethe
    bind $listen
    default_backend servers
backend servers
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
$backends
CFG
haproxy -W -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do
  curl -fsS "http://$listen/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://$listen/readyz" >/dev/null || { echo "run-fleet.sh: HAProxy does not answer" >&2; exit 1; }

cat <<EOF

Lethe fleet on http://$listen (HAProxy -> 2 servers -> PostgreSQL primary + sync standby;
root key in a SoftHSM2 token). Admin token (shown once):

  $admin

Directory: $work (logs: server1.log server2.log haproxy.log pg/*.log)
Failover drill: scripts/pg-pair.sh kill-primary $work/pg && scripts/pg-pair.sh promote $work/pg
Ctrl-C stops everything.
EOF
wait -n "${pids[@]}" || true
echo "run-fleet.sh: a process exited; stopping" >&2
