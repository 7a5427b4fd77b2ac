#!/usr/bin/env bash
# npm run instance -- COMMAND ...: on-demand staging, training and rehearsal instances
# (scripts/instance.ts; docs/instances.md), in the project's pulumi environment
# (scripts/pulumi-env.sh). An instance stack shares its country stack's passphrase.
set -euo pipefail
. "$(dirname "$0")/pulumi-env.sh"
from=local
prev=""
for a in "$@"; do
  case "$prev" in --from) from=$a ;; esac
  case "$a" in --from=*) from=${a#--from=} ;; esac
  prev=$a
done
dhis2_default_passphrase "$from"
cd "$(dirname "$0")/.."
exec npx --no-install tsx scripts/instance.ts "$@"
