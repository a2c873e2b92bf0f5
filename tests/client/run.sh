#!/usr/bin/env bash
# Tests the generated TypeScript client (clients/typescript) against the real binary with node's test runner.
# Usage: tests/client/run.sh PATH/TO/lethe WORK_DIR
# Installs the pinned npm packages when node_modules is missing or stale, fails when
# src/schema.d.ts no longer matches docs/openapi.yaml, type-checks and compiles into
# WORK_DIR/dist (tsc, strict), then runs node --test. Exits 77 (skipped) only when node or
# npm is absent; scripts/install-deps.sh installs them with LETHE_WITH_TEST_TOOLS=1.
set -euo pipefail
bin=$(realpath "$1")
work=$(mkdir -p "$2" && cd "$2" && pwd)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
client=$root/clients/typescript

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool not found (LETHE_WITH_TEST_TOOLS=1 scripts/install-deps.sh installs it)"
    exit 77
  fi
done
cd "$client"

# node_modules is current when it was installed from this very lock file.
stamp=node_modules/.installed-package-lock.json
if ! cmp -s package-lock.json "$stamp"; then
  echo "client: npm ci in clients/typescript"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi

if ! out=$(npm run --silent check-schema 2>&1); then
  echo "$out"
  echo "FAIL: clients/typescript/src/schema.d.ts is out of date with docs/openapi.yaml;" \
       "run 'npm run generate' in clients/typescript and commit the result"
  exit 1
fi

# Compile into the build tree; node finds the packages through a link to node_modules.
rm -rf "$work/dist"
npx --no-install tsc -p tsconfig.json --outDir "$work/dist"
ln -sfn "$client/node_modules" "$work/node_modules"
echo '{"type":"module"}' > "$work/dist/package.json"

LETHE_BIN=$bin exec node --test "$work"/dist/test/*.test.js
