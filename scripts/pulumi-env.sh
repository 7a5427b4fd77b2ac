# Sourced by scripts/start.sh and scripts/pulumi.sh (and by you: `source scripts/pulumi-env.sh`):
# the environment every pulumi command of this project runs in. See docs/local.md.
#
# - PATH: the Pulumi CLI and the Node.js language host of tools/toolchain.sh (official binaries
#   when installed, else built once from source and cached); the command provider is in Pulumi's
#   plugin cache;
# - PULUMI_BACKEND_URL: unless set, state in a local file backend under the project
#   (.pulumi/, ignored by git);
# - PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: set only where Pulumi's plugin downloads
#   (get.pulumi.com) cannot be reached, so that the engine does not try to fetch the aws and
#   hcloud plugins on every run; a machine that can fetch them keeps Pulumi's default. Checked
#   once a day (tools/plugin-downloads.sh); DHIS2_PLUGIN_DOWNLOADS=yes|no decides instead;
# - PULUMI_CONFIG_PASSPHRASE: unless a passphrase (or a passphrase file) is set, the local
#   stack's documented passphrase `dhis2-local`, for the stacks `local`, `e2e*` and their
#   on-demand instances (`local-*`) only, which run on this machine. Every other stack needs its own: export PULUMI_CONFIG_PASSPHRASE_FILE=...
# shellcheck shell=bash
_dhis2_root=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
_dhis2_bin=$(bash "$_dhis2_root/tools/toolchain.sh") || return 1
case ":$PATH:" in *":$_dhis2_bin:"*) ;; *) export PATH="$_dhis2_bin:$PATH" ;; esac
if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  mkdir -p "$_dhis2_root/.pulumi"
  export PULUMI_BACKEND_URL="file://$_dhis2_root/.pulumi"
fi
export PULUMI_SKIP_UPDATE_CHECK=true
if [ "$(bash "$_dhis2_root/tools/plugin-downloads.sh")" = no ]; then
  export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
fi
DHIS2_LOCAL_PASSPHRASE=dhis2-local
dhis2_default_passphrase() { # $1: stack name
  if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    case "$1" in
      local | local-* | e2e | e2e-*) export PULUMI_CONFIG_PASSPHRASE="$DHIS2_LOCAL_PASSPHRASE" ;;
    esac
  fi
}
unset _dhis2_bin
