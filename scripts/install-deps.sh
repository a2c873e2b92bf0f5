#!/usr/bin/env bash
# Installs the Debian 12 packages Vault builds, tests and benchmarks with; a no-op when all are present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libsodium-dev liblmdb-dev lmdb-utils libargon2-dev libcrypt-dev libssl-dev libsystemd-dev
  nlohmann-json3-dev libyaml-cpp-dev libcpp-httplib-dev libboost-dev
  libp11-kit-dev  # p11-kit/pkcs11.h: the PKCS#11 API a root key in a token is used through
  libgtest-dev libgmock-dev libbenchmark-dev
  libpq-dev  # the PostgreSQL storage backend (vault/store_pg.cc)
  curl jq openssl wrk
  debootstrap python3  # tests/package/deb_test.sh: a fresh Debian 12 root, a NOTIFY_SOCKET
)
if [ "${LETHE_WITH_TEST_TOOLS:-0}" = 1 ]; then
  # Fuzzing, sanitizers, static analysis and the OpenAPI linter.
  packages+=(clang libclang-rt-dev clang-tidy clang-format python3)
  # promtool (tests/e2e/ops_test.cc: /metrics, the alert rules and their tests).
  packages+=(prometheus)
  # A PKCS#11 token for the `hsm` tests (root key and epoch KEKs in a token).
  packages+=(softhsm2)
  # PostgreSQL 15: the storage backend's tests (scripts/pg-test-cluster.sh) and the benchmark
  # suite (scripts/bench-suite.sh); matplotlib for its plots (run with /usr/bin/python3).
  packages+=(postgresql-15 python3-matplotlib)
  # Node may come from elsewhere (a newer release than Debian's); Debian's npm would conflict.
  command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
fi

if [ "${LETHE_WITH_FLEET:-0}" = 1 ]; then
  # scripts/run-fleet.sh: PostgreSQL primary and standby, a SoftHSM2 token, HAProxy in front.
  packages+=(postgresql-15 softhsm2 haproxy)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
