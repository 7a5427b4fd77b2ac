#!/usr/bin/env bash
# Makes this machine the LXD host of the local stack (docs/local.md, "Host set-up"): the LXD daemon
# running (on a machine without systemd: tools/lxd-daemon.sh), then the same LXD server set-up the
# toolkit runs on a cloud or existing server (templates/lxd-host/: packages, the bridge, the
# storage pool, the profile, the image), with the network of stacks/Pulumi.local.yaml.
# Idempotent; when everything is in place it changes nothing and takes well under 3 s. Progress
# goes to stderr; the last line on stdout is `ok`.
#
# Usage: scripts/lxd-host.sh [--cidr A.B.C.D/N]
#   --cidr      the stack network (10.231.20.0/24: the bridge gets .1). Default: DHIS2_LXD_CIDR,
#               else dhis2:network.cidr of stacks/Pulumi.local.yaml, else 10.231.20.0/24.
# Environment:
#   DHIS2_LXD_CIDR           as --cidr
#   DHIS2_CACHE_DIR          cache directory (default <project>/.cache)
#   DHIS2_LXD_IMAGE_FILE, DHIS2_DEBIAN_MIRROR, DHIS2_LXD_IMAGE_REMOTE: see templates/lxd-host/image.sh
set -euo pipefail
# The system's programs only (see tools/lxd-daemon.sh); node, which reads the stack file, is
# looked up first: it may live elsewhere (nvm's).
NODE_BIN="$(command -v node 2>/dev/null || true)"
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ROOT="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
DEFAULT_CIDR="10.231.20.0/24"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; }
cidr="${DHIS2_LXD_CIDR:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --cidr) [ $# -ge 2 ] || { usage; exit 2; }; cidr="$2"; shift 2 ;;
    --cidr=*) cidr="${1#--cidr=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage; echo "lxd-host: unknown argument: $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "lxd-host: must run as root" >&2; exit 1; }

# The stack's network, read by node (the project's yaml package); kept in /run while the stack
# file does not change.
if [ -z "$cidr" ]; then
  stack_file="$ROOT/stacks/Pulumi.local.yaml"
  cache="/run/lxd-dhis2-setup.stack-cidr"
  key="$stack_file $(stat -c '%d:%i %Y %s' "$stack_file" 2>/dev/null || echo missing)"
  if [ -r "$cache" ] && [ "$(head -n1 "$cache")" = "$key" ]; then
    cidr="$(sed -n 2p "$cache")"
  elif [ -f "$stack_file" ] && [ -n "$NODE_BIN" ] && [ -d "$ROOT/node_modules/yaml" ]; then
    cidr="$(cd "$ROOT" && "$NODE_BIN" -e '
      const YAML = require("yaml");
      const doc = YAML.parse(require("fs").readFileSync(process.argv[1], "utf8")) || {};
      const net = (doc.config || {})["dhis2:network"];
      if (net && typeof net === "object" && typeof net.cidr === "string") process.stdout.write(net.cidr);
    ' "$stack_file" 2>/dev/null || true)"
    [ -z "$cidr" ] || printf '%s\n%s\n' "$key" "$cidr" >"$cache"
  fi
  cidr="${cidr:-$DEFAULT_CIDR}"
fi

if ! timeout 10 lxc info </dev/null >/dev/null 2>&1 && ! { [ -d /run/systemd/system ] && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; }; then
  bash "$ROOT/tools/lxd-daemon.sh"
fi
export DHIS2_LXD_CIDR="$cidr" DHIS2_CACHE_DIR="${DHIS2_CACHE_DIR:-$ROOT/.cache}"
cat "$ROOT/templates/lxd-host/lib.sh" "$ROOT/templates/lxd-host/setup-lxd.sh" "$ROOT/templates/lxd-host/image.sh" | bash -s
