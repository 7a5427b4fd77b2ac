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
. scripts/pulumi-env.sh
bash scripts/lxd-host.sh >/dev/null
stack=local
dhis2_default_passphrase "$stack"
if ! pulumi stack select "$stack" 2>/dev/null; then
  pulumi stack init "$stack" --secrets-provider passphrase
fi
start=$(date +%s)
pulumi up --yes --stack "$stack" "$@"
url=$(pulumi stack output urls --stack "$stack" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const u=JSON.parse(s);console.log(Object.entries(u).map(([k,v])=>`  ${k}: ${v}`).join("\n"))})')
cat <<MSG

DHIS2 stack '$stack' is up ($(( $(date +%s) - start )) s). Its instances:
$url
This machine forwards ports 80 and 443 to the proxy container; the host name is dhis2.local, so
either add "127.0.0.1 dhis2.local" to /etc/hosts or use
  curl -k --resolve dhis2.local:443:127.0.0.1 https://dhis2.local/api/ping
The certificate is self-signed. Monitoring (https://dhis2.local/munin/, /glowroot/<instance>/)
and database logins were generated; read them with
  npm run pulumi -- stack output credentials --show-secrets --stack $stack
(state in ${PULUMI_BACKEND_URL}; passphrase: PULUMI_CONFIG_PASSPHRASE, for this stack by default
'$DHIS2_LOCAL_PASSPHRASE', see docs/local.md).
MSG
