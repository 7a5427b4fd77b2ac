#!/usr/bin/env bash
# Prints "yes" when this machine can download Pulumi plugins (get.pulumi.com answers over
# HTTPS), "no" when it cannot. scripts/pulumi-env.sh turns Pulumi's automatic plugin
# acquisition off only on a "no": in a build environment like this project's CI, which reaches
# only the npm registry, Debian's archive and the Go module proxy, the engine would otherwise try
# to fetch the aws and hcloud plugins on every run; a user's machine that can fetch them keeps
# Pulumi's default.
#
# The answer is kept for a day in <toolchain dir>/plugin-downloads. DHIS2_PLUGIN_DOWNLOADS=yes|no
# decides without asking the network.
set -euo pipefail
case "${DHIS2_PLUGIN_DOWNLOADS:-}" in
  yes | no) echo "$DHIS2_PLUGIN_DOWNLOADS"; exit 0 ;;
  "") ;;
  *) echo "plugin-downloads: DHIS2_PLUGIN_DOWNLOADS must be yes or no, not '$DHIS2_PLUGIN_DOWNLOADS'" >&2; exit 2 ;;
esac
root=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
dir=${DHIS2_TOOLCHAIN_DIR:-$root/.toolchain}
cache=$dir/plugin-downloads
if [ -f "$cache" ] && [ -n "$(find "$cache" -mmin -1440 2>/dev/null)" ]; then
  cat "$cache"
  exit 0
fi
mkdir -p "$dir"
# any HTTP answer means the host is reachable; no answer (DNS, refused, timeout) means not
if curl -sS -o /dev/null --max-time 5 -I https://get.pulumi.com/releases/plugins/ 2>/dev/null; then
  answer=yes
else
  answer=no
fi
echo "$answer" >"$cache"
echo "$answer"
