#!/usr/bin/env bash
# Builds the Debian package lethe_<version>_amd64.deb with CPack and prints its path.
#   scripts/build-deb.sh [BUILD_DIR]   (default build-deb; an existing build directory is reused
#   with its configuration, e.g. `build` after a full build)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-deb}

for tool in cpack dpkg-shlibdeps dpkg-deb; do
  command -v "$tool" >/dev/null ||
    { echo "build-deb: $tool is missing; run scripts/install-deps.sh" >&2; exit 1; }
done
if [ ! -e "$dir/CMakeCache.txt" ]; then
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVAULT_BUILD_TESTS=OFF \
    -DVAULT_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$dir" --target vault >&2
rm -rf "$dir/packages"
(cd "$dir" && cpack -G DEB >&2)
debs=("$dir"/packages/lethe_*.deb)
if [ ${#debs[@]} -ne 1 ] || [ ! -f "${debs[0]}" ]; then
  echo "build-deb: cpack made no single lethe_*.deb in $dir/packages" >&2
  exit 1
fi
realpath "${debs[0]}"
