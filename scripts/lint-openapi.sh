#!/usr/bin/env bash
# Lints docs/openapi.yaml with Redocly CLI (pinned in tools/openapi-lint/package.json).
# Exits non-zero on any lint error. Needs node and npm: scripts/install-deps.sh installs
# them with LETHE_WITH_TEST_TOOLS=1.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tool=tools/openapi-lint

for bin in node npm npx; do
  if ! command -v "$bin" >/dev/null 2>&1; then
    echo "lint-openapi: $bin not found; install node and npm" \
         "(LETHE_WITH_TEST_TOOLS=1 scripts/install-deps.sh)" >&2
    exit 1
  fi
done

if [ ! -x "$tool/node_modules/.bin/redocly" ]; then
  echo "lint-openapi: installing Redocly CLI into $tool/node_modules" >&2
  npm ci --prefix "$tool" --no-audit --no-fund --loglevel=error >/dev/null
fi

exec npx --no-install --prefix "$tool" redocly lint \
  --config "$tool/redocly.yaml" docs/openapi.yaml
