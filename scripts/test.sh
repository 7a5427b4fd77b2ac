#!/usr/bin/env bash
# The test command of the README (`npm test`): installs what the tests need through the project's
# own scripts, type-checks, runs every unit and real-program test, then the end-to-end test of
# the local stack on LXD with the real Pulumi engine (scripts/e2e.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
bash tools/install-check-tools.sh
npx tsc --noEmit -p tsconfig.json
npx ava "$@"
bash scripts/e2e.sh
