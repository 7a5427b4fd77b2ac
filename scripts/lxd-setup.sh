#!/usr/bin/env bash
# Makes this machine an LXD host for the project's `local` stack (docs/local.md, "Host set-up"):
#
#   1. installs Debian's LXD (lxd, lxd-client, dnsmasq-base, nftables, xz-utils) when missing;
#   2. starts the LXD daemon when it is not running: the lxd service when systemd is PID 1,
#      otherwise `lxd --group root` in the background (pid file /run/lxd-dhis2.pid, log
#      /var/log/lxd-dhis2.log, its stderr in /var/log/lxd-dhis2.stderr.log);
#   3. creates what is missing of: the bridge `dhis2br0` (the stack network's gateway address,
#      NAT, no IPv6, DHCP with a dynamic range above the plan's fixed addresses), the `dir`
#      storage pool `dhis2` and the profile `dhis2` (root disk on that pool, eth0 on the bridge),
#      and puts back the settings it owns if they were changed. Nothing else of the machine's
#      LXD (lxdbr0, other pools, profiles, containers, server settings) is touched;
#   4. provides the image alias `dhis2-debian-12`: from DHIS2_LXD_IMAGE_FILE if given, else from
#      the cache (${DHIS2_CACHE_DIR:-<project>/.cache}/lxd-image/), else `images:debian/12`, else
#      built here with debootstrap from the machine's own Debian mirror (and cached).
#
# Idempotent; when everything is in place it changes nothing and takes well under 3 s.
# Progress goes to stderr; the last line on stdout is `ok`.
#
# Usage: scripts/lxd-setup.sh [--cidr A.B.C.D/N]
#   --cidr      the stack network (10.231.20.0/24: the bridge gets .1) or the bridge's own
#               address with its prefix (10.231.20.1/24). Default: DHIS2_LXD_CIDR, else
#               dhis2:network.cidr of stacks/Pulumi.local.yaml, else 10.231.20.0/24.
# Environment:
#   DHIS2_LXD_CIDR           as --cidr
#   DHIS2_LXD_IMAGE_FILE     a unified LXD image tarball (metadata.yaml, templates/, rootfs/) to
#                            import as dhis2-debian-12 instead of downloading or building one
#   DHIS2_CACHE_DIR          cache directory (default <project>/.cache)
#   DHIS2_DEBIAN_MIRROR      Debian mirror for the image build (default: the machine's own)
#   DHIS2_LXD_IMAGE_REMOTE   remote image tried before building (default images:debian/12;
#                            empty: do not try)
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
export DEBCONF_NONINTERACTIVE_SEEN=true
export LC_ALL=C
export HOME="${HOME:-/root}"   # lxc keeps its client configuration there
# The system's programs only. Under `npm test` / `npm start`, npm puts node_modules/.bin first
# on PATH, and ava brings @vercel/nft, whose command is called `nft`: the LXD daemon started
# from such a PATH runs it in place of nftables' nft to read its version and crashes at start.
# (node, which reads the stack file below, is looked up first: it may live elsewhere, nvm's)
NODE_BIN="$(command -v node 2>/dev/null || true)"
SYSTEM_PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export PATH="$SYSTEM_PATH"

# Bump when the image build below changes: the cache is keyed by it, and the image records it
# (property dhis2.build).
IMAGE_BUILD="bookworm-2"
IMAGE_ALIAS="dhis2-debian-12"
BRIDGE="dhis2br0"       # lib/plan/topology.ts LXD_BRIDGE
POOL="dhis2"
PROFILE="dhis2"
DEFAULT_CIDR="10.231.20.0/24"
PIDFILE="/run/lxd-dhis2.pid"
LOGFILE="/var/log/lxd-dhis2.log"
LOCKFILE="/run/lxd-dhis2-setup.lock"

PROJECT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${DHIS2_CACHE_DIR:-$PROJECT_DIR/.cache}/lxd-image"

log() { printf 'lxd-setup: %s\n' "$*" >&2; }
die() { printf 'lxd-setup: error: %s\n' "$*" >&2; exit 1; }
changed=0
did() { changed=1; log "$*"; }

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; }

cidr_arg="${DHIS2_LXD_CIDR:-}"
cidr_from="DHIS2_LXD_CIDR"
while [ $# -gt 0 ]; do
  case "$1" in
    --cidr) [ $# -ge 2 ] || die "--cidr needs a value"; cidr_arg="$2"; cidr_from="--cidr"; shift 2 ;;
    --cidr=*) cidr_arg="${1#--cidr=}"; cidr_from="--cidr"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage; die "unknown argument: $1" ;;
  esac
done

[ "$(id -u)" -eq 0 ] || die "must run as root"

# One run at a time (CI jobs on the same machine).
exec 9>"$LOCKFILE"
flock -w 600 9 || die "another lxd-setup is running (lock $LOCKFILE)"

t_start=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f s", b - a }'; }

# --- the bridge address --------------------------------------------------------------------
# Read from the stack file by node (the project's yaml package) in the background, while the
# package and daemon checks run: node takes a few tenths of a second to start. The answer is
# kept in /run for as long as the stack file does not change.

stack_cidr_file=""
CIDR_CACHE="/run/lxd-dhis2-setup.stack-cidr"
if [ -z "$cidr_arg" ]; then
  stack_file="$PROJECT_DIR/stacks/Pulumi.local.yaml"
  stack_key="$stack_file $(stat -c '%d:%i %Y %s' "$stack_file" 2>/dev/null || echo missing)"
  if [ -r "$CIDR_CACHE" ] && [ "$(head -n1 "$CIDR_CACHE")" = "$stack_key" ]; then
    cidr_arg="$(sed -n 2p "$CIDR_CACHE")"
    cidr_from="stacks/Pulumi.local.yaml dhis2:network.cidr"
  elif [ -f "$stack_file" ] && [ -n "$NODE_BIN" ] && [ -d "$PROJECT_DIR/node_modules/yaml" ]; then
    stack_cidr_file="$(mktemp /run/lxd-dhis2-setup.cidr.XXXXXX)"
    trap 'rm -f "$stack_cidr_file"' EXIT
    (cd "$PROJECT_DIR" && exec "$NODE_BIN" -e '
      const YAML = require("yaml");
      const doc = YAML.parse(require("fs").readFileSync(process.argv[1], "utf8")) || {};
      const net = (doc.config || {})["dhis2:network"];
      const cidr = net && typeof net === "object" ? net.cidr : undefined;
      if (typeof cidr === "string") process.stdout.write(cidr);
    ' "$stack_file" >"$stack_cidr_file" 2>/dev/null 9>&-) &
    stack_cidr_pid=$!
  fi
fi

# shellcheck disable=SC2086  # splits the address at its dots
ip2int() { local IFS=.; set -- $1; echo $(( ($1 << 24) + ($2 << 16) + ($3 << 8) + $4 )); }
int2ip() { echo "$(( ($1 >> 24) & 255 )).$(( ($1 >> 16) & 255 )).$(( ($1 >> 8) & 255 )).$(( $1 & 255 ))"; }

# Sets BRIDGE_ADDRESS (gateway/prefix) and DHCP_RANGES.
resolve_bridge_address() {
  if [ -n "$stack_cidr_file" ]; then
    wait "$stack_cidr_pid" || true
    cidr_arg="$(cat "$stack_cidr_file")"
    rm -f "$stack_cidr_file"
    cidr_from="stacks/Pulumi.local.yaml dhis2:network.cidr"
    if [ -n "$cidr_arg" ]; then printf '%s\n%s\n' "$stack_key" "$cidr_arg" >"$CIDR_CACHE"; fi
  fi
  if [ -z "$cidr_arg" ]; then cidr_arg="$DEFAULT_CIDR"; cidr_from="default"; fi
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
# An address given as argument is checked before anything is installed.
if [ -z "$stack_cidr_file" ]; then resolve_bridge_address; fi

# --- 1. packages ---------------------------------------------------------------------------

apt_install() {
  log "installing from Debian: $*"
  # (fd 9, the lock, closed: a daemon a package's maintainer script starts would keep it)
  apt-get -q -o DPkg::Lock::Timeout=600 update </dev/null >&2 9>&-
  apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "$@" </dev/null >&2 9>&-
  changed=1
}

install_missing() {   # packages: one dpkg-query for all of them
  local missing
  missing="$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null | awk -v want="$*" '
    $2 " " $3 " " $4 == "install ok installed" { ok[$1] = 1 }
    END { n = split(want, w, " "); for (i = 1; i <= n; i++) if (!(w[i] in ok)) printf "%s ", w[i] }' || true)"
  # shellcheck disable=SC2086  # package names
  if [ -n "$missing" ]; then apt_install $missing; fi
  return 0
}

# dnsmasq-base: the bridge's DHCP and DNS; nftables: LXD's NAT and bridge firewall rules.
install_missing lxd lxd-client dnsmasq-base nftables xz-utils

# --- 2. the daemon -------------------------------------------------------------------------

lxd_ready() { timeout 10 lxc info </dev/null >/dev/null 2>&1; }

if lxd_ready; then
  :
elif [ -d /run/systemd/system ] && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
  did "starting lxd (systemd)"
  systemctl start lxd.socket lxd.service </dev/null
  lxd waitready --timeout 60 </dev/null || die "lxd did not become ready (journalctl -u lxd)"
else
  pid=""
  [ -r "$PIDFILE" ] && pid="$(tr -dc 0-9 <"$PIDFILE")"
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = lxd ]; then
    # The one started before: still starting, or shutting down (`lxd shutdown` returns before
    # the process has gone). Wait for either.
    log "lxd (pid $pid) is running but not answering; waiting (60 s at most)"
    for _ in $(seq 1 120); do
      lxd_ready && break
      [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = lxd ] || break
      sleep 0.5
    done
  fi
  if ! lxd_ready; then
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = lxd ]; then
      die "lxd (pid $pid) does not answer; see $LOGFILE"
    fi
    did "starting lxd in the background (no systemd): log $LOGFILE, pid file $PIDFILE"
    # Its own session, so it outlives this script and the shell that ran it.
    # (lxd also writes its warnings to stderr: that goes to a file of its own, for crashes;
    # fd 9, the lock, is not inherited: the daemon would hold it for ever)
    # (a clean environment: what the daemon runs - nft, dnsmasq, ip - must be the system's)
    stderr_log="${LOGFILE%.log}.stderr.log"
    start_mark=$(wc -l <"$stderr_log" 2>/dev/null || echo 0)
    env -i PATH="$SYSTEM_PATH" HOME="$HOME" LC_ALL=C \
      setsid lxd --group root --logfile "$LOGFILE" </dev/null >>"$stderr_log" 2>&1 9>&- &
    pid=$!
    echo "$pid" >"$PIDFILE"
    # Ready, or gone (then at once, with what it said), or 120 s.
    for _ in $(seq 1 240); do
      lxd_ready && break
      if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null && rc=0 || rc=$?
        log "lxd exited (status $rc) while starting; what it wrote to $stderr_log:"
        tail -n +"$((start_mark + 1))" "$stderr_log" | head -n 40 >&2
        die "lxd did not start; see $LOGFILE and $stderr_log"
      fi
      sleep 0.5
    done
    if ! lxd_ready; then
      log "lxd (pid $pid) did not answer within 120 s; the end of $LOGFILE:"
      tail -n 20 "$LOGFILE" >&2 || true
      die "lxd did not become ready; see $LOGFILE and $stderr_log"
    fi
  fi
fi

# --- 3. network, storage pool, profile -----------------------------------------------------

if [ -n "$stack_cidr_file" ]; then resolve_bridge_address; fi

# One `lxc ... show` each (YAML as LXD prints it), read with awk: few lxc calls keep this fast.
# (the four run side by side; each is a round trip to the daemon)
show_dir="$(mktemp -d /run/lxd-dhis2-setup.XXXXXX)"
trap 'rm -rf "$show_dir"' EXIT
show_pids=()
lxc network show "$BRIDGE" </dev/null >"$show_dir/network" 2>/dev/null 9>&- & show_pids+=($!)
lxc storage show "$POOL" </dev/null >"$show_dir/pool" 2>/dev/null 9>&- & show_pids+=($!)
lxc profile show "$PROFILE" </dev/null >"$show_dir/profile" 2>/dev/null 9>&- & show_pids+=($!)
lxc image show "local:$IMAGE_ALIAS" </dev/null >"$show_dir/image" 2>/dev/null 9>&- & show_pids+=($!)
# (not a bare `wait`: the lxd daemon, when this run started it, is a child too)
wait "${show_pids[@]}" || true
net_yaml="$(cat "$show_dir/network")"
pool_yaml="$(cat "$show_dir/pool")"
profile_yaml="$(cat "$show_dir/profile")"
image_yaml="$(cat "$show_dir/image")"
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
  description: DHIS2 local stack (scripts/lxd-setup.sh)
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
  description: DHIS2 local stack (scripts/lxd-setup.sh)
  config: {}
"
  did "creating storage pool $POOL (dir)"
fi
if [ -z "$profile_yaml" ]; then
  preseed+="profiles:
- name: $PROFILE
  description: DHIS2 local stack (scripts/lxd-setup.sh)
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

# --- 4. the image --------------------------------------------------------------------------


import_image() {   # file
  local t0 fp; t0=$(date +%s.%N)
  # A unified image's fingerprint is the tarball's sha256: if LXD has it already (its alias was
  # deleted, not the image), only the alias is missing; an import would be refused.
  fp="$(sha256sum "$1" | cut -d' ' -f1)"
  if lxc image show "local:$fp" </dev/null >/dev/null 2>&1; then
    lxc image alias create "local:$IMAGE_ALIAS" "$fp" </dev/null >&2 || return 1
    did "image $fp (from $1) was there without its alias: alias $IMAGE_ALIAS added"
    return 0
  fi
  lxc image import "$1" local: --alias "$IMAGE_ALIAS" </dev/null >&2 || return 1
  did "imported $1 as $IMAGE_ALIAS in $(elapsed "$t0")"
}

# The machine's Debian mirror for a suite: deb822 .sources first, then one-line .list files.
detect_mirror() {   # suite
  local suite="$1" f uri=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    uri="$(awk -v suite="$suite" '
      function flush() { if (isdeb && hassuite && u != "") { print u; found = 1; exit } isdeb = 0; hassuite = 0; u = "" }
      /^[[:space:]]*$/ { flush(); next }
      /^[Tt]ypes:/ { for (i = 2; i <= NF; i++) if ($i == "deb") isdeb = 1 }
      /^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\//) { u = $i; break } }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) hassuite = 1 }
      /^Enabled:[[:space:]]*no/ { isdeb = 0 }
      END { if (!found) flush() }
    ' "$f")"
    [ -n "$uri" ] && { echo "${uri%/}"; return 0; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    uri="$(awk -v suite="$suite" '
      $1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ }
                    if ($i ~ /^https?:\/\// && $(i + 1) == suite) { print $i; exit } }
    ' "$f")"
    [ -n "$uri" ] && { echo "${uri%/}"; return 0; }
  done
  return 1
}

build_image() {   # output file
  local out="$1" arch uname_m mirror security work t0
  arch="$(dpkg --print-architecture)"
  uname_m="$(uname -m)"
  mirror="${DHIS2_DEBIAN_MIRROR:-$(detect_mirror bookworm || echo http://deb.debian.org/debian)}"
  security="$(detect_mirror bookworm-security || echo http://deb.debian.org/debian-security)"
  install_missing debootstrap xz-utils
  work="$(mktemp -d /var/tmp/dhis2-lxd-image.XXXXXX)"
  # shellcheck disable=SC2064
  trap "cleanup_build '$work'" EXIT
  log "building $IMAGE_ALIAS ($IMAGE_BUILD, $arch) with debootstrap from $mirror"
  t0=$(date +%s.%N)
  # (niced, as the compression below: a shared machine keeps its other work's pace)
  nice -n 10 debootstrap --variant=minbase --arch="$arch" \
    --include=systemd,systemd-sysv,systemd-resolved,udev,dbus,iproute2,netbase,ca-certificates,apt,procps,iputils-ping,less \
    bookworm "$work/rootfs" "$mirror" </dev/null >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
  log "debootstrap: $(elapsed "$t0")"
  local r="$work/rootfs"

  # apt: the same mirror as the machine, with updates and security.
  rm -f "$r/etc/apt/sources.list"
  cat >"$r/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

  # No translated package descriptions: a shorter `apt-get update`.
  echo 'Acquire::Languages "none";' >"$r/etc/apt/apt.conf.d/99dhis2-no-translations"

  # Network: DHCP on eth0 with systemd-networkd; DNS through systemd-resolved (the bridge's
  # dnsmasq). udev is needed: LXD mounts /sys read-write, so networkd waits for udev to
  # initialise a link before configuring it (without udev eth0 stays "pending", no address).
  mkdir -p "$r/etc/systemd/network"
  cat >"$r/etc/systemd/network/eth0.network" <<'EOF'
[Match]
Name=eth0

[Network]
DHCP=ipv4
LinkLocalAddressing=no
IPv6AcceptRA=no

[DHCPv4]
UseDomains=true
EOF
  chroot "$r" systemctl enable systemd-networkd.service systemd-resolved.service >/dev/null 2>&1
  ln -sfn ../run/systemd/resolve/stub-resolv.conf "$r/etc/resolv.conf"
  mkdir -p "$r/etc/systemd/resolved.conf.d"
  printf '[Resolve]\nLLMNR=no\nMulticastDNS=no\n' >"$r/etc/systemd/resolved.conf.d/dhis2.conf"

  # Identity: hostname and hosts from the container name (metadata templates below); a machine
  # id generated on first boot (an empty file), so containers do not share one (nor a DHCP DUID).
  echo localhost >"$r/etc/hostname"
  : >"$r/etc/machine-id"
  rm -f "$r/var/lib/dbus/machine-id"
  # root has no password (locked): the containers are reached with `lxc exec`.
  chroot "$r" usermod -p '*' root
  echo 'LANG=C.UTF-8' >"$r/etc/default/locale"
  : >"$r/etc/fstab"

  # Smaller image: no downloaded packages or package lists (run apt-get update first).
  rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/cache/apt/*.bin "$r"/var/lib/apt/lists/* \
    "$r"/var/log/*.log "$r"/var/log/apt/* "$r/debootstrap" 2>/dev/null || true
  mkdir -p "$r/var/lib/apt/lists/partial"

  mkdir -p "$work/templates"
  echo '{{ container.name }}' >"$work/templates/hostname.tpl"
  cat >"$work/templates/hosts.tpl" <<'EOF'
127.0.0.1	localhost
127.0.1.1	{{ container.name }}

::1	localhost ip6-localhost ip6-loopback
ff02::1	ip6-allnodes
ff02::2	ip6-allrouters
EOF
  cat >"$work/metadata.yaml" <<EOF
architecture: $uname_m
creation_date: $(date +%s)
properties:
  architecture: $arch
  description: Debian 12 (bookworm) $arch minbase with systemd, for DHIS2 (build $IMAGE_BUILD)
  os: debian
  release: bookworm
  variant: dhis2
  serial: "$(date -u +%Y%m%d_%H%M)"
  dhis2.build: $IMAGE_BUILD
templates:
  /etc/hostname:
    when: [create, copy]
    template: hostname.tpl
  /etc/hosts:
    when: [create, copy]
    template: hosts.tpl
EOF
  t0=$(date +%s.%N)
  mkdir -p "$(dirname "$out")"
  tar -C "$work" --numeric-owner --xattrs --xattrs-include='*' -cf - metadata.yaml templates rootfs \
    | nice -n 10 xz -T0 -3 >"$out.partial"
  mv -f "$out.partial" "$out"
  log "image tarball $out ($(du -h "$out" | cut -f1)): $(elapsed "$t0")"
  cleanup_build "$work"
  trap - EXIT
}

cleanup_build() {   # work dir: unmount anything debootstrap left mounted, then remove
  local m
  for m in $(findmnt -rn -o TARGET | awk -v d="$1/" 'index($0, d) == 1' | sort -r); do umount -l "$m" || true; done
  rm -rf --one-file-system "$1" "${cached:-/nonexistent}.partial"
}

if [ -n "$image_yaml" ]; then
  build="$(awk '/^[^ ]/ { inp = ($0 == "properties:") } inp && /^  dhis2.build: / { print $2; exit }' <<<"$image_yaml")"
  if [ -n "$build" ] && [ "$build" != "$IMAGE_BUILD" ]; then
    log "note: image $IMAGE_ALIAS is build $build, this script builds $IMAGE_BUILD; to replace it:" \
      "lxc image delete $IMAGE_ALIAS, then run again"
  fi
  if [ -n "${DHIS2_LXD_IMAGE_FILE:-}" ]; then
    log "note: image $IMAGE_ALIAS exists; DHIS2_LXD_IMAGE_FILE not imported (lxc image delete $IMAGE_ALIAS to replace it)"
  fi
elif [ -n "${DHIS2_LXD_IMAGE_FILE:-}" ]; then
  [ -f "$DHIS2_LXD_IMAGE_FILE" ] || die "DHIS2_LXD_IMAGE_FILE=$DHIS2_LXD_IMAGE_FILE: no such file"
  import_image "$DHIS2_LXD_IMAGE_FILE" || die "lxc image import $DHIS2_LXD_IMAGE_FILE failed"
else
  cached="$CACHE_DIR/$IMAGE_ALIAS-$IMAGE_BUILD-$(dpkg --print-architecture).tar.xz"
  done_image=0
  if [ -f "$cached" ]; then
    if import_image "$cached"; then
      done_image=1
    else
      log "the cached image $cached did not import; removing it and building again"
      rm -f "$cached"
    fi
  fi
  remote="${DHIS2_LXD_IMAGE_REMOTE-images:debian/12}"
  if [ "$done_image" -eq 0 ] && [ -n "$remote" ]; then
    log "trying lxc image copy $remote (30 s at most)"
    t0=$(date +%s.%N)
    if timeout 30 lxc image copy "$remote" local: --alias "$IMAGE_ALIAS" </dev/null >&2; then
      did "copied $remote as $IMAGE_ALIAS in $(elapsed "$t0")"
      done_image=1
    else
      log "no image from $remote ($(elapsed "$t0")); building one"
    fi
  fi
  if [ "$done_image" -eq 0 ]; then
    build_image "$cached"
    import_image "$cached" || die "lxc image import $cached failed"
  fi
fi

log "done in $(elapsed "$t_start")$([ "$changed" -eq 0 ] && echo ': nothing to change')"
echo ok
