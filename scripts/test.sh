#!/usr/bin/env bash
# The test command of the README (`npm test`): installs what the tests need through the project's
# own scripts, type-checks, then runs every test with the real programs.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
bash scripts/install-check-tools.sh
npx tsc --noEmit -p tsconfig.json
npx ava "$@"
