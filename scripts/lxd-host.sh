#!/usr/bin/env bash
# Makes this machine an LXD host for the local platform (docs/local.md, "Host set-up"): the LXD
# daemon running (on a machine without systemd: tools/lxd-daemon.sh), then the same LXD server
# set-up the toolkit runs on a cloud or existing server (templates/lxd-host/: packages, the storage
# pool, the profile, the image). Each stack's network is its own (made by its `pulumi up`).
# Idempotent; when everything is in place it changes nothing and takes well under 3 s. Progress
# goes to stderr; the last line on stdout is `ok`.
#
# Environment:
#   DHIS2_CACHE_DIR          cache directory (default <project>/.cache)
#   DHIS2_LXD_IMAGE_FILE, DHIS2_DEBIAN_MIRROR, DHIS2_LXD_IMAGE_REMOTE: see templates/lxd-host/image.sh
set -euo pipefail
# The system's programs only (see tools/lxd-daemon.sh).
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ROOT="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
case "${1:-}" in
  -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
  "") ;;
  *) echo "lxd-host: unknown argument: $1 (the network is the stack's: dhis2:network.cidr, dhis2:lxd.bridge)" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "lxd-host: must run as root" >&2; exit 1; }

if ! timeout 10 lxc info </dev/null >/dev/null 2>&1 && ! { [ -d /run/systemd/system ] && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; }; then
  bash "$ROOT/tools/lxd-daemon.sh"
fi
export DHIS2_CACHE_DIR="${DHIS2_CACHE_DIR:-$ROOT/.cache}"
cat "$ROOT/templates/lxd-host/lib.sh" "$ROOT/templates/lxd-host/setup-lxd.sh" "$ROOT/templates/lxd-host/image.sh" | bash -s
