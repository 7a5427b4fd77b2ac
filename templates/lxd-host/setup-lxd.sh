#!/usr/bin/env bash
# The LXD server set-up (after templates/lxd-host/lib.sh): what a server running the DHIS2
# containers needs, on this machine (scripts/lxd-host.sh, for the local stack) or on a cloud or
# existing server (isolation lxd: components/platforms/lxd-server.ts runs it over SSH). Idempotent;
# when everything is in place it changes nothing and takes well under 3 s.
#
#   1. Debian's LXD (lxd, lxd-client, dnsmasq-base, nftables, xz-utils) when missing;
#   2. the LXD daemon when it is not running (systemd's lxd service; a machine without systemd
#      starts it first: tools/lxd-daemon.sh);
#   3. what is missing of: the bridge `dhis2br0` (the stack network's gateway address, NAT, no
#      IPv6, DHCP with a dynamic range above the plan's fixed addresses), the `dir` storage pool
#      `dhis2` and the profile `dhis2` (root disk on that pool, eth0 on the bridge); the settings it
#      owns are put back if they were changed. Nothing else of LXD (lxdbr0, other pools, profiles,
#      containers, server settings) is touched.
# Then templates/lxd-host/image.sh provides the image.
#
# Environment: DHIS2_LXD_CIDR (required) the stack network (10.231.20.0/24: the bridge gets .1)
# or the bridge's own address with its prefix (10.231.20.1/24).
set -euo pipefail

BRIDGE="dhis2br0"       # lib/plan/topology.ts LXD_BRIDGE
POOL="dhis2"
PROFILE="dhis2"
LOCKFILE="/run/lxd-dhis2-setup.lock"

[ "$(id -u)" -eq 0 ] || die "must run as root"
# One run at a time (CI jobs on the same machine).
exec 9>"$LOCKFILE"
flock -w 600 9 || die "another lxd-setup is running (lock $LOCKFILE)"

cidr_arg="${DHIS2_LXD_CIDR:-}"
cidr_from="DHIS2_LXD_CIDR"
[ -n "$cidr_arg" ] || die "DHIS2_LXD_CIDR is not set: the stack network, e.g. 10.231.20.0/24"

# shellcheck disable=SC2086  # splits the address at its dots
ip2int() { local IFS=.; set -- $1; echo $(( ($1 << 24) + ($2 << 16) + ($3 << 8) + $4 )); }
int2ip() { echo "$(( ($1 >> 24) & 255 )).$(( ($1 >> 16) & 255 )).$(( ($1 >> 8) & 255 )).$(( $1 & 255 ))"; }

# Sets BRIDGE_ADDRESS (gateway/prefix) and DHCP_RANGES.
resolve_bridge_address() {
  local i prefix addr_int size net_int gw_int
  [[ "$cidr_arg" =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})/([0-9]{1,2})$ ]] \
    || die "not an IPv4 CIDR ($cidr_from): $cidr_arg"
  for i in 1 2 3 4; do [ "${BASH_REMATCH[$i]}" -le 255 ] || die "not an IPv4 CIDR ($cidr_from): $cidr_arg"; done
  prefix="${BASH_REMATCH[5]}"
  if [ "$prefix" -lt 8 ] || [ "$prefix" -gt 30 ]; then die "prefix /$prefix out of range 8..30 ($cidr_from): $cidr_arg"; fi
  addr_int=$(ip2int "${cidr_arg%/*}")
  size=$(( 1 << (32 - prefix) ))
  net_int=$(( addr_int & ~(size - 1) & 0xFFFFFFFF ))
  if [ "$addr_int" -eq "$net_int" ]; then gw_int=$(( net_int + 1 )); else gw_int=$addr_int; fi
  [ $(( gw_int - net_int )) -lt $(( size - 1 )) ] || die "the broadcast address cannot be the bridge's ($cidr_from): $cidr_arg"
  BRIDGE_ADDRESS="$(int2ip "$gw_int")/$prefix"
  # Dynamic DHCP leases only in the upper half of the network: the plan's fixed addresses
  # (proxy .2, instances .11-.19, database .20, monitor .30) stay out of the pool.
  DHCP_RANGES=""
  if [ "$size" -ge 64 ]; then
    DHCP_RANGES="$(int2ip $(( net_int + size / 2 )))-$(int2ip $(( net_int + size - 2 )))"
  fi
  log "bridge $BRIDGE address $BRIDGE_ADDRESS (from $cidr_from: $cidr_arg)"
}

resolve_bridge_address

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

# --- 3. network, storage pool, profile -----------------------------------------------------

# One `lxc ... show` each (YAML as LXD prints it), read with awk: few lxc calls keep this fast.
# (the four run side by side; each is a round trip to the daemon)
show_dir="$(mktemp -d /run/lxd-dhis2-setup.XXXXXX)"
trap 'rm -rf "$show_dir"' EXIT
show_pids=()
lxc network show "$BRIDGE" </dev/null >"$show_dir/network" 2>/dev/null 9>&- & show_pids+=($!)
lxc storage show "$POOL" </dev/null >"$show_dir/pool" 2>/dev/null 9>&- & show_pids+=($!)
lxc profile show "$PROFILE" </dev/null >"$show_dir/profile" 2>/dev/null 9>&- & show_pids+=($!)
# (not a bare `wait`: the lxd daemon, when this run started it, is a child too)
wait "${show_pids[@]}" || true
net_yaml="$(cat "$show_dir/network")"
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
declare -A NET=() POOLY=() PROF=()
load_flat() {   # array-name yaml
  local -n arr="$1"   # a nameref: fills the caller's array
  local line
  # shellcheck disable=SC2034
  while IFS= read -r line; do arr["${line%%=*}"]="${line#*=}"; done < <(yaml_flat <<<"$2")
}
[ -z "$net_yaml" ] || load_flat NET "$net_yaml"
[ -z "$pool_yaml" ] || load_flat POOLY "$pool_yaml"
[ -z "$profile_yaml" ] || load_flat PROF "$profile_yaml"

preseed=""
if [ -z "$net_yaml" ]; then
  preseed+="networks:
- name: $BRIDGE
  type: bridge
  description: DHIS2 stacks (templates/lxd-host/setup-lxd.sh)
  config:
    ipv4.address: $BRIDGE_ADDRESS
    ipv4.nat: \"true\"
    ipv4.dhcp: \"true\"
${DHCP_RANGES:+    ipv4.dhcp.ranges: $DHCP_RANGES
}    ipv6.address: none
"
  did "creating network $BRIDGE ($BRIDGE_ADDRESS, NAT, DHCP${DHCP_RANGES:+ $DHCP_RANGES}, no IPv6)"
fi
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
    eth0:
      type: nic
      name: eth0
      network: $BRIDGE
"
  did "creating profile $PROFILE (root on $POOL, eth0 on $BRIDGE)"
fi
if [ -n "$preseed" ]; then
  printf '%s' "$preseed" | lxd init --preseed >&2 || die "lxd init --preseed failed; the preseed was:
$preseed"
fi

# What existed already (made by an earlier run, or by hand) is brought back to these settings;
# what the preseed just created is right.
if [ -n "$net_yaml" ]; then
  net_type="${NET[type]:-}"
  [ "$net_type" = bridge ] || die "network $BRIDGE exists but is of type '$net_type', not bridge; not touching it"
  for kv in "ipv4.address=$BRIDGE_ADDRESS" ipv4.nat=true ipv4.dhcp=true "ipv4.dhcp.ranges=$DHCP_RANGES" ipv6.address=none; do
    k="${kv%%=*}"; v="${kv#*=}"
    cur="${NET[config.$k]:-}"
    if [ "$cur" != "$v" ]; then
      did "network $BRIDGE: $k '$cur' -> '$v'"
      if [ -n "$v" ]; then lxc network set "$BRIDGE" "$k" "$v" </dev/null; else lxc network unset "$BRIDGE" "$k" </dev/null; fi
    fi
  done
fi

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
  ensure_profile_device eth0 nic name=eth0 network="$BRIDGE"
fi

