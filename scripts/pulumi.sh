#!/usr/bin/env bash
# npm run pulumi -- ARGS: the project's pulumi (scripts/pulumi-env.sh) with ARGS, e.g.
#   npm run pulumi -- preview --diff --stack local
#   npm run pulumi -- stack output credentials --show-secrets --stack local
set -euo pipefail
. "$(dirname "$0")/pulumi-env.sh"
stack=""
prev=""
for a in "$@"; do
  case "$prev" in -s | --stack) stack=$a ;; esac
  case "$a" in --stack=*) stack=${a#--stack=} ;; esac
  prev=$a
done
dhis2_default_passphrase "${stack:-$(pulumi stack --show-name 2>/dev/null || true)}"
cd "$(dirname "$0")/.."
exec pulumi "$@"
