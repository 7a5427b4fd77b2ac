#!/usr/bin/env bash
# npm run pulumi -- ARGS: the project's pulumi (scripts/pulumi-env.sh) with ARGS, e.g.
#   npm run pulumi -- preview --diff --stack local
#   npm run pulumi -- stack output credentials --show-secrets --stack local
# Before up and preview it writes the stack's missing generated secrets (npm run secrets).
set -euo pipefail
. "$(dirname "$0")/pulumi-env.sh"
stack=""
prev=""
for a in "$@"; do
  case "$prev" in -s | --stack) stack=$a ;; esac
  case "$a" in --stack=*) stack=${a#--stack=} ;; esac
  prev=$a
done
stack=${stack:-$(pulumi stack --show-name 2>/dev/null || true)}
dhis2_default_passphrase "$stack"
cd "$(dirname "$0")/.."
# up and preview need the stack's generated secrets in its stack file (dhis2:generated): the
# missing ones are generated first, encrypted (scripts/secrets.ts)
case "${1:-}" in
  up | update | preview | pre)
    [ -z "$stack" ] || npx --no-install tsx scripts/secrets.ts --stack "$stack" --quiet || exit $? ;;
esac
exec pulumi "$@"
