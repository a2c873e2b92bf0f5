#!/usr/bin/env bash
# Builds the .deb, installs it into a fresh Debian 12 root, serves from it as lethe.service would.
#   tests/package/deb_test.sh BUILD_DIR [--no-ready-check]
# Needs root (debootstrap, chroot, mounts) and the network to the Debian mirror named by this
# host's apt sources. The debootstrapped root is cached as a tarball in /var/cache/lethe-test
# ($LETHE_TEST_CACHE) and rebuilt when older than 30 days. Exit 77 (skipped) when not root.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath "$1")
ready_check=1
[ "${2:-}" = --no-ready-check ] && ready_check=0
cache=${LETHE_TEST_CACHE:-/var/cache/lethe-test}

step() { printf '== %s (%ds)\n' "$*" "$SECONDS"; }
fail() { echo "deb_test: FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || { echo "deb_test: needs root (debootstrap, chroot); skipped"; exit 77; }
for tool in debootstrap chroot setpriv prlimit numfmt curl python3 apt-get; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/install-deps.sh installs it)"
done

work=$(mktemp -d /var/tmp/lethe-deb-test.XXXXXX)
root=$work/root
pid=""
receiver=""
cleanup() {
  if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
  if [ -n "$receiver" ]; then kill "$receiver" 2>/dev/null || true; fi
  for m in "$root/dev" "$root/proc"; do
    if mountpoint -q "$m"; then umount "$m" || umount -l "$m" || true; fi
  done
  if mountpoint -q "$root/dev" || mountpoint -q "$root/proc"; then
    echo "deb_test: mounts left under $root; not deleting it" >&2
  else
    rm -rf --one-file-system "$work"
  fi
}
trap cleanup EXIT
# Runs a command with its output in $work/NAME.log, shown when it fails.
logged() {  # NAME COMMAND...
  local log=$work/$1.log
  shift
  "$@" >"$log" 2>&1 || { cat "$log" >&2; fail "$*"; }
}
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
  DEBIAN_FRONTEND=noninteractive "$@"; }

# ------------------------------------------------------------------- the package
step "build the .deb"
deb=$("$src/scripts/build-deb.sh" "$build" 2>"$work/build-deb.log") ||
  { cat "$work/build-deb.log" >&2; fail "scripts/build-deb.sh failed"; }
[[ $(basename "$deb") =~ ^lethe_[0-9][^_]*_amd64\.deb$ ]] || fail "unexpected package name $deb"
echo "$deb"
dpkg-deb --field "$deb" Depends | grep -q 'libsodium' || fail "Depends lacks the shared libraries"

# ------------------------------------------------------------------- the fresh root
# The Debian mirror and suites this host's apt uses (sources.list or deb822 .sources alike).
sources=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
  'Identifier: Packages' | awk '$2 ~ /^bookworm(-|$)/' | sort -u)
mirror=$(awk '$2 == "bookworm" { print $1; exit }' <<<"$sources")
[ -n "$mirror" ] || fail "no bookworm source in this host's apt configuration"
# minbase plus systemd, as on a Debian 12 server: its systemd-analyze verifies the unit and
# postinst's `systemctl enable` runs.
tarball=$cache/bookworm-minbase-systemd-amd64.tar
mkdir -p "$root" "$cache"
if [ -f "$tarball" ] && [ -z "$(find "$tarball" -mtime +30)" ]; then
  step "unpack the cached Debian 12 root $tarball"
  tar -C "$root" -xpf "$tarball"
else
  step "debootstrap a minimal Debian 12 root from $mirror"
  logged debootstrap debootstrap --variant=minbase --include=systemd bookworm "$root" "$mirror"
  tar -C "$root" -cpf "$tarball.tmp.$$" . && mv "$tarball.tmp.$$" "$tarball"
fi
awk '{ print "deb " $1 " " $2 " " $3 }' <<<"$sources" >"$root/etc/apt/sources.list"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"

step "install the .deb with apt"
cp "$deb" "$root/tmp/"
logged apt in_root apt-get update -qq
logged install in_root apt-get install -y -q --no-install-recommends "/tmp/$(basename "$deb")"
token_file=/var/lib/lethe/initial-admin-token
grep -q "$token_file" "$work/install.log" || fail "postinst did not say where the admin token is"

# ------------------------------------------------------------------- what postinst made
step "check the installed files, user, key and store"
unit_path=$(in_root dpkg -L lethe | grep '/systemd/system/lethe\.service$' | head -1)
[ -n "$unit_path" ] || fail "the package installs no lethe.service"
unit=$root$unit_path
in_root dpkg-query -W -f='${Conffiles}\n' lethe | grep -q '/etc/lethe/lethe.yaml' ||
  fail "/etc/lethe/lethe.yaml is not a conffile"
IFS=: read -r _ _ lethe_uid _ _ lethe_home lethe_shell < <(in_root getent passwd lethe) ||
  fail "no system user lethe"
if [ "$lethe_home" != /var/lib/lethe ] || [ "$lethe_uid" -ge 1000 ]; then
  fail "lethe is not a system user homed in /var/lib/lethe"
fi
[ "$lethe_shell" = /usr/sbin/nologin ] || fail "lethe has a login shell ($lethe_shell)"
expect_stat() {  # PATH "MODE OWNER GROUP"
  local got
  got=$(in_root stat -c '%a %U %G' "$1") || fail "$1 is missing"
  [ "$got" = "$2" ] || fail "$1 is '$got', expected '$2'"
}
expect_stat /var/lib/lethe "700 lethe lethe"
expect_stat /var/lib/lethe/data "700 lethe lethe"
expect_stat /etc/lethe/root.key "600 lethe lethe"
expect_stat "$token_file" "600 root root"
in_root test -s /var/lib/lethe/data/keyring || fail "postinst did not initialise the store"
admin_token=$(cat "$root$token_file")
[ -n "$admin_token" ] || fail "empty admin token file"

# ------------------------------------------------------------------- the unit
unit_value() {  # KEY: the unit's value, continuation lines joined
  awk -v key="$1" '
    { line = cont ? line $0 : $0 }
    /\\$/ { sub(/\\$/, "", line); cont = 1; next }
    { cont = 0; if (index(line, key "=") == 1) print substr(line, length(key) + 2) }' "$unit" |
    tail -1
}
[ "$(unit_value Type)" = notify ] || fail "the unit is not Type=notify"
in_root test -L /etc/systemd/system/multi-user.target.wants/lethe.service ||
  fail "postinst did not enable lethe.service"
step "systemd-analyze verify $unit_path"
# The root's own systemd 252 (no systemd runs there: verify loads the unit offline). It fails
# on a missing ExecStart binary and warns on unknown or invalid settings: both fail the test.
logged verify in_root systemd-analyze verify "$unit_path"
[ ! -s "$work/verify.log" ] || { cat "$work/verify.log" >&2; fail "systemd-analyze verify warned"; }

# ------------------------------------------------------------------- serve as the unit does
read -r -a argv <<<"$(unit_value ExecStart)"
[ "${#argv[@]}" -gt 1 ] || fail "no ExecStart in the unit"
user=$(unit_value User)
listen=127.0.0.1:8270
for ((i = 0; i + 1 < ${#argv[@]}; i++)); do
  [ "${argv[i]}" = --listen ] && listen=${argv[i + 1]}
done
# The unit's limits; a container without CAP_SYS_RESOURCE cannot raise a hard limit, so there
# the current hard limit stands in (and is said).
limit() {  # NAME UNIT_VALUE CURRENT_HARD
  if [ "$3" != unlimited ] && [ "$2" -gt "$3" ] && ! prlimit --"$1"="$2:$2" true 2>/dev/null; then
    echo "deb_test: cannot raise $1 to $2 here; using the hard limit $3" >&2
    echo "$3"
  else
    echo "$2"
  fi
}
memlock=$(limit memlock "$(numfmt --from=iec "$(unit_value LimitMEMLOCK)")" \
  "$(prlimit --memlock --output HARD --noheadings --raw)")
nofile=$(limit nofile "$(unit_value LimitNOFILE)" \
  "$(prlimit --nofile --output HARD --noheadings --raw)")
if curl -s -o /dev/null "http://$listen/healthz"; then
  fail "something already listens on $listen"
fi

step "start '${argv[*]}' as $user"
notify_socket=/run/lethe-test-notify
python3 - "$root$notify_socket" "$work/notify.log" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1] + ".tmp")
os.chmod(sys.argv[1] + ".tmp", 0o777)
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as log:
    while True:
        log.write(s.recv(4096) + b"\n")
PY
receiver=$!
for _ in $(seq 50); do [ -S "$root$notify_socket" ] && break; sleep 0.1; done
[ -S "$root$notify_socket" ] || fail "the notify receiver did not start"
(umask "$(unit_value UMask)"
 exec prlimit --memlock="$memlock:$memlock" --nofile="$nofile:$nofile" --core=0:0 -- \
   chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin LANG=C.UTF-8 \
   NOTIFY_SOCKET="$notify_socket" setpriv --reuid="$user" --regid="$user" --init-groups -- \
   "${argv[@]}") 2>"$work/server.log" &
pid=$!
healthy=0
for _ in $(seq 100); do
  kill -0 "$pid" 2>/dev/null || { cat "$work/server.log" >&2; fail "the server exited on start"; }
  if [ "$(curl -s "http://$listen/healthz" 2>/dev/null)" != "" ]; then healthy=1; break; fi
  sleep 0.1
done
[ "$healthy" = 1 ] || { cat "$work/server.log" >&2; fail "no /healthz answer on $listen in 10 s"; }
curl -sf "http://$listen/healthz" >/dev/null || fail "/healthz did not answer 2xx"
[ "$(stat -c %u "/proc/$pid")" = "$lethe_uid" ] || fail "the server does not run as $user"
grep VmLck "/proc/$pid/status" | sed 's/^/server /'
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
notified() {  # LINE: seen on NOTIFY_SOCKET within 2 s
  for _ in $(seq 20); do grep -qx "$1" "$work/notify.log" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
[ "$(code "http://$listen/v1/policy")" = 401 ] || fail "/v1/policy without a token is not 401"
[ "$(code -H "Authorization: Bearer $admin_token" "http://$listen/v1/policy")" = 200 ] ||
  fail "the admin token from $token_file is not accepted"
if [ "$ready_check" = 1 ]; then
  notified READY=1 || fail "no READY=1 on NOTIFY_SOCKET"
fi

step "stop it with SIGTERM"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
[ "$rc" = 0 ] || { cat "$work/server.log" >&2; fail "the server exited $rc on SIGTERM"; }
if [ "$ready_check" = 1 ]; then
  notified STOPPING=1 || fail "no STOPPING=1 on NOTIFY_SOCKET"
fi

# ------------------------------------------------------------------- remove, purge
step "remove keeps the store and key; purge deletes both"
logged remove in_root apt-get remove -y -q lethe
in_root test ! -e "${argv[0]}" || fail "remove left ${argv[0]}"
in_root test -s /var/lib/lethe/data/keyring || fail "remove deleted the store"
in_root test -s /etc/lethe/root.key || fail "remove deleted the root key"
logged purge in_root apt-get purge -y -q lethe
in_root test ! -e /var/lib/lethe || fail "purge left /var/lib/lethe"
in_root test ! -e /etc/lethe || fail "purge left /etc/lethe"

step "passed"
