#!/usr/bin/env bash
# npm start: the embedded default on this machine. Makes the Pulumi toolchain available, makes
# this machine an LXD host (scripts/lxd-host.sh), then `pulumi up` of the stack `local`
# (stacks/Pulumi.local.yaml): every role in its own LXD container. Extra arguments go to
# `pulumi up` (e.g. `npm start -- --diff`). Run as root. See docs/local.md.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "npm start: run as root (it installs and drives LXD)" >&2; exit 1; }
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
say() { printf '\nnpm start: %s\n' "$*" >&2; }
say "1/3 the Pulumi toolchain (built from source the first time: ~10 minutes on 2 cores, with progress)"
. scripts/pulumi-env.sh
say "2/3 this machine as an LXD host (the first time: LXD and the Debian 12 image, ~3 minutes)"
bash scripts/lxd-host.sh >/dev/null
stack=local
dhis2_default_passphrase "$stack"
if ! pulumi stack select "$stack" 2>/dev/null; then
  pulumi stack init "$stack" --secrets-provider passphrase
fi
# the stack's generated passwords, encrypted into its stack file (the first time; docs/security.md)
npx --no-install tsx scripts/secrets.ts --stack "$stack"
first=no
[ "$(pulumi stack export --stack "$stack" 2>/dev/null | grep -c '"urn"' || true)" -gt 0 ] || first=yes
if [ "$first" = yes ]; then
  say "3/3 pulumi up of stack $stack: the first time the containers' package images are made once (~3 minutes), then the containers (~2 minutes)"
else
  say "3/3 pulumi up of stack $stack: what changed since the last run"
fi
start=$(date +%s)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
pulumi up --yes --stack "$stack" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
  keys=$(grep -oE 'dhis2:[A-Za-z.]+(\[[0-9]+\])?[A-Za-z.]*' "$log" | sort -u | tr '\n' ' ')
  cat >&2 <<MSG

npm start: pulumi up of stack '$stack' failed after $(( $(date +%s) - start )) s (its message is above).
${keys:+  The stack keys it names: $keys
  Fix them in stacks/Pulumi.$stack.yaml (every key: docs/configuration.md).
}  Then run \`npm start\` again: it continues where it stopped; what was created stays.
  What exists now:    npm run pulumi -- stack --stack $stack
  Its health:         npm run status -- --stack $stack
  Logins made so far: npm run pulumi -- stack output credentials --show-secrets --stack $stack
  To remove it:       npm run pulumi -- destroy --stack $stack --exclude-protected --yes
                      (keeps the database's data volume and the encryption passwords; docs/local.md
                      "Removing it" says how to remove those too)
MSG
  exit "$rc"
fi
url=$(pulumi stack output urls --stack "$stack" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const u=JSON.parse(s);console.log(Object.entries(u).map(([k,v])=>`  ${k}: ${v}`).join("\n"))})')
cat <<MSG

DHIS2 stack '$stack' is up ($(( $(date +%s) - start )) s). Its instances:
$url
This machine forwards its ports to the proxy container (dhis2:lxd.forward, default 80 and 443); the
host name is dhis2.local, so either add "127.0.0.1 dhis2.local" to /etc/hosts or use
  curl -k --resolve dhis2.local:443:127.0.0.1 https://dhis2.local/api/ping
The certificate is self-signed. Monitoring (https://dhis2.local/munin/, /glowroot/<instance>/)
and database logins were generated; read them with
  npm run pulumi -- stack output credentials --show-secrets --stack $stack
Health of every container: npm run status -- --stack $stack
(state in ${PULUMI_BACKEND_URL}; passphrase: PULUMI_CONFIG_PASSPHRASE, for this stack by default
'$DHIS2_LOCAL_PASSPHRASE', see docs/local.md).
MSG
