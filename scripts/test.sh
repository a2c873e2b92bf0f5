#!/usr/bin/env bash
# The test command (README.md): installs what is missing, builds with warnings as errors,
# and runs every test. Stages can be skipped for quick local runs:
#   LETHE_SKIP_SANITIZERS=1  LETHE_SKIP_FUZZ=1  LETHE_SKIP_LINT=1
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=${LETHE_JOBS:-$(nproc)}

LETHE_WITH_TEST_TOOLS=1 scripts/install-deps.sh

stage_start=$SECONDS
step() {
  stage_start=$SECONDS
  printf '\n== %s\n' "$*"
}
done_step() { printf '== done in %ds\n' "$((SECONDS - stage_start))"; }

step "build (gcc, -Werror)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVAULT_WERROR=ON >/dev/null
cmake --build build -j "$jobs"
done_step

step "unit and end-to-end tests (ctest)"
(cd build && ctest --output-on-failure -j "$jobs" --timeout 600)
done_step

if [ "${LETHE_SKIP_LINT:-0}" != 1 ]; then
  step "OpenAPI lint"
  scripts/lint-openapi.sh
  done_step
fi

if [ -x scripts/test-hardening.sh ] && { [ "${LETHE_SKIP_SANITIZERS:-0}" != 1 ] || [ "${LETHE_SKIP_FUZZ:-0}" != 1 ]; }; then
  scripts/test-hardening.sh
fi
echo
echo "all tests passed"
