#!/usr/bin/env bash
# The start command (README.md): installs what is missing, builds, initialises ./data with a
# development root key on first run, and serves on 127.0.0.1:8270.
#   LETHE_DATA_DIR (default ./data)   LETHE_LISTEN (default 127.0.0.1:8270)
set -euo pipefail
cd "$(dirname "$0")/.."
data=${LETHE_DATA_DIR:-./data}
listen=${LETHE_LISTEN:-127.0.0.1:8270}

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVAULT_BUILD_BENCH=OFF >/dev/null
cmake --build build -j "$(nproc)" --target vault

if [ ! -e "$data/keyring" ]; then
  build/api/lethe init --data-dir "$data"
  echo "(the admin token above is shown once; the root key is $data/root.key)"
fi
exec build/api/lethe serve --data-dir "$data" --listen "$listen"
