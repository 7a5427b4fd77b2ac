#!/usr/bin/env bash
# npm run test:e2e: the end-to-end test of the local stack (tests/e2e/local.ts). Installs what it
# needs through the project's own scripts first: the Pulumi toolchain (built once, cached), this
# machine as an LXD host, and the JDK and JDBC driver that build the test's stand-in webapp.
# Run as root. DHIS2_E2E_KEEP=1 leaves the stack deployed afterwards (for a look around).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "test:e2e: run as root (it drives LXD)" >&2; exit 1; }
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
need=()
for p in openjdk-17-jdk-headless libpostgresql-jdbc-java libtomcat10-java libtomcat10-embed-java libservlet-api-java curl openssh-client; do
  dpkg -s "$p" 2>/dev/null | grep -qx 'Status: install ok installed' || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "test:e2e: installing ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 update </dev/null >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "${need[@]}" </dev/null >/dev/null
fi
t0=$(date +%s)
bash tools/toolchain.sh >/dev/null
t1=$(date +%s)
bash scripts/lxd-host.sh >/dev/null
t2=$(date +%s)
echo "test:e2e: toolchain ready in $((t1 - t0)) s, LXD host ready in $((t2 - t1)) s" >&2
exec npx tsx tests/e2e/run.ts
