#!/usr/bin/env bash
# The LXD server set-up (after templates/lxd-host/lib.sh): what a server running the DHIS2
# containers needs, on this machine (scripts/lxd-host.sh, for the local stack) or on a cloud or
# existing server (isolation lxd: components/platforms/lxd-server.ts runs it over SSH). Idempotent;
# when everything is in place it changes nothing and takes well under 3 s.
#
#   1. Debian's LXD (lxd, lxd-client, dnsmasq-base, nftables, xz-utils) when missing;
#   2. the LXD daemon when it is not running (systemd's lxd service; a machine without systemd
#      starts it first: tools/lxd-daemon.sh);
#   3. what is missing of: the `dir` storage pool `dhis2` and the profile `dhis2` (root disk on
#      that pool); the settings it owns are put back if they were changed. Nothing else of LXD
#      (other networks, pools, profiles, containers, server settings) is touched. Each stack's
#      network (its bridge) is a resource of the stack itself (templates/lxd/network.sh.hbs).
# Then templates/lxd-host/image.sh provides the image.
set -euo pipefail

POOL="dhis2"
PROFILE="dhis2"
LOCKFILE="/run/lxd-dhis2-setup.lock"

[ "$(id -u)" -eq 0 ] || die "must run as root"
# One run at a time (CI jobs on the same machine).
exec 9>"$LOCKFILE"
flock -w 600 9 || die "another lxd-setup is running (lock $LOCKFILE)"

# --- 1. packages ---------------------------------------------------------------------------
# dnsmasq-base: the bridge's DHCP and DNS; nftables: LXD's NAT and bridge firewall rules.
install_missing lxd lxd-client dnsmasq-base nftables xz-utils

# --- 2. the daemon -------------------------------------------------------------------------
if ! lxd_ready; then
  if [ -d /run/systemd/system ] && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
    did "starting lxd (systemd)"
    systemctl start lxd.socket lxd.service </dev/null
    lxd waitready --timeout 60 </dev/null || die "lxd did not become ready (journalctl -u lxd)"
  else
    die "the LXD daemon is not running and this machine has no systemd to start it (on a development machine: tools/lxd-daemon.sh)"
  fi
fi

# --- 3. storage pool, profile -----------------------------------------------------

# One `lxc ... show` each (YAML as LXD prints it), read with awk: few lxc calls keep this fast.
# (the four run side by side; each is a round trip to the daemon)
show_dir="$(mktemp -d /run/lxd-dhis2-setup.XXXXXX)"
trap 'rm -rf "$show_dir"' EXIT
show_pids=()
lxc storage show "$POOL" </dev/null >"$show_dir/pool" 2>/dev/null 9>&- & show_pids+=($!)
lxc profile show "$PROFILE" </dev/null >"$show_dir/profile" 2>/dev/null 9>&- & show_pids+=($!)
# (not a bare `wait`: the lxd daemon, when this run started it, is a child too)
wait "${show_pids[@]}" || true
pool_yaml="$(cat "$show_dir/pool")"
profile_yaml="$(cat "$show_dir/profile")"
rm -rf "$show_dir"
trap - EXIT

# LXD's YAML flattened to key=value lines: top-level scalars as `key`, the config map as
# `config.key`, profile devices as `devices.name.key`.
yaml_flat() {
  awk '/^[^ -]/ { sec = ""; if ($0 ~ /^(config|devices):$/) { sec = substr($0, 1, length($0) - 1); next } }
    /^[^ -][^:]*: / { k = substr($0, 1, index($0, ": ") - 1); v = substr($0, index($0, ": ") + 2)
      gsub(/^"|"$/, "", v); print k "=" v; next }
    sec == "config" && /^  [^ ][^:]*: / { k = substr($0, 3, index($0, ": ") - 3); v = substr($0, index($0, ": ") + 2)
      gsub(/^"|"$/, "", v); print "config." k "=" v; next }
    sec == "devices" && /^  [^ ][^:]*:$/ { dev = substr($0, 3, length($0) - 3); next }
    sec == "devices" && /^    [^ ][^:]*: / { k = substr($0, 5, index($0, ": ") - 5); v = substr($0, index($0, ": ") + 2)
      gsub(/^"|"$/, "", v); print "devices." dev "." k "=" v }'
}
declare -A POOLY=() PROF=()
load_flat() {   # array-name yaml
  local -n arr="$1"   # a nameref: fills the caller's array
  local line
  # shellcheck disable=SC2034
  while IFS= read -r line; do arr["${line%%=*}"]="${line#*=}"; done < <(yaml_flat <<<"$2")
}
[ -z "$pool_yaml" ] || load_flat POOLY "$pool_yaml"
[ -z "$profile_yaml" ] || load_flat PROF "$profile_yaml"

preseed=""
if [ -z "$pool_yaml" ]; then
  preseed+="storage_pools:
- name: $POOL
  driver: dir
  description: DHIS2 stacks (templates/lxd-host/setup-lxd.sh)
  config: {}
"
  did "creating storage pool $POOL (dir)"
fi
if [ -z "$profile_yaml" ]; then
  preseed+="profiles:
- name: $PROFILE
  description: DHIS2 stacks (templates/lxd-host/setup-lxd.sh)
  config: {}
  devices:
    root:
      type: disk
      path: /
      pool: $POOL
"
  did "creating profile $PROFILE (root on $POOL; each container has its own eth0 on its stack's bridge)"
fi
if [ -n "$preseed" ]; then
  printf '%s' "$preseed" | lxd init --preseed >&2 || die "lxd init --preseed failed; the preseed was:
$preseed"
fi

# What existed already (made by an earlier run, or by hand) is brought back to these settings;
# what the preseed just created is right.
if [ -n "$pool_yaml" ]; then
  pool_driver="${POOLY[driver]:-}"
  [ "$pool_driver" = dir ] || log "warning: storage pool $POOL exists with driver '$pool_driver' (not dir); using it as it is"
fi

ensure_profile_device() {   # device type key=value...
  local dev="$1" type="$2" kv k v cur
  shift 2
  cur="${PROF[devices.$dev.type]:-}"
  if [ -z "$cur" ]; then
    did "profile $PROFILE: adding device $dev ($type $*)"
    lxc profile device add "$PROFILE" "$dev" "$type" "$@" </dev/null >/dev/null
    return 0
  fi
  [ "$cur" = "$type" ] || die "profile $PROFILE: device $dev is a '$cur', not a $type; remove it (lxc profile device remove $PROFILE $dev) and run again"
  for kv in "$@"; do
    k="${kv%%=*}"; v="${kv#*=}"
    cur="${PROF[devices.$dev.$k]:-}"
    if [ "$cur" != "$v" ]; then
      did "profile $PROFILE: device $dev $k '$cur' -> '$v'"
      lxc profile device set "$PROFILE" "$dev" "$k" "$v" </dev/null
    fi
  done
}
if [ -n "$profile_yaml" ]; then
  ensure_profile_device root disk path=/ pool="$POOL"
fi

