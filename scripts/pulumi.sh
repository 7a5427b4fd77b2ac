#!/usr/bin/env bash
# npm run pulumi -- ARGS: the project's pulumi (scripts/pulumi-env.sh) with ARGS, e.g.
#   npm run pulumi -- preview --diff --stack local
#   npm run pulumi -- stack output credentials --show-secrets --stack local
# Before up and preview it writes the stack's missing generated secrets (npm run secrets).
set -euo pipefail
. "$(dirname "$0")/pulumi-env.sh"
stack=""
prev=""
verbosity=0
for a in "$@"; do
  case "$prev" in -s | --stack) stack=$a ;; -v | --verbose) verbosity=$a ;; esac
  case "$a" in --stack=*) stack=${a#--stack=} ;; -v=* | --verbose=*) verbosity=${a#*=} ;; -v[0-9]*) verbosity=${a#-v} ;; esac
  prev=$a
done
# Pulumi 3.248 prints resource inputs in plain text from verbosity 7 on, secrets included
# (docs/security.md): such output is as secret as the stack's passwords
if [[ "$verbosity" =~ ^[0-9]+$ ]] && [ "$verbosity" -ge 7 ]; then
  echo "npm run pulumi: -v=$verbosity prints the stack's secrets in plain text (Pulumi logs resource inputs from level 7 on): keep this output as secret as the passwords, or use -v=6" >&2
fi
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
