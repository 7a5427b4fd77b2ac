#!/usr/bin/env bash
# The LXD images of the DHIS2 containers (after templates/lxd-host/lib.sh and setup-lxd.sh), one
# per Debian release a node runs (lib/os/images.ts): the aliases `dhis2-debian-11` (bullseye),
# `dhis2-debian-12` (bookworm) and `dhis2-debian-13` (trixie). Each from DHIS2_LXD_IMAGE_FILE if
# given (one image only), else from the cache (${DHIS2_CACHE_DIR}/lxd-image/), else
# `images:debian/<N>`, else built here with debootstrap from the machine's own Debian mirror (and
# cached). An image that exists is kept as it is.
#
# Environment:
#   DHIS2_CACHE_DIR          cache directory (required)
#   DHIS2_LXD_OS             the systems to provide, e.g. "debian-11 debian-12" (default debian-12)
#   DHIS2_LXD_IMAGE_FILE     a unified LXD image tarball (metadata.yaml, templates/, rootfs/) to
#                            import instead of downloading or building one (with one system only)
#   DHIS2_DEBIAN_MIRROR      Debian mirror for the image build (default: the machine's own)
#   DHIS2_LXD_IMAGE_REMOTE   remote image tried before building (default images:debian/<N>;
#                            empty: do not try)
set -euo pipefail

# Bump when the image build below changes: the cache is keyed by it, and the image records it
# (property dhis2.build).
IMAGE_REV=3
CACHE_DIR="${DHIS2_CACHE_DIR:?DHIS2_CACHE_DIR is not set}/lxd-image"


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
  mirror="${DHIS2_DEBIAN_MIRROR:-$(detect_mirror "$SUITE" || detect_mirror bookworm || echo http://deb.debian.org/debian)}"
  security="$(detect_mirror "$SUITE-security" || detect_mirror bookworm-security || echo http://deb.debian.org/debian-security)"
  install_missing debootstrap xz-utils
  work="$(mktemp -d /var/tmp/dhis2-lxd-image.XXXXXX)"
  # shellcheck disable=SC2064
  trap "cleanup_build '$work'" EXIT
  log "building $IMAGE_ALIAS ($IMAGE_BUILD, $arch) with debootstrap from $mirror"
  t0=$(date +%s.%N)
  # (niced, as the compression below: a shared machine keeps its other work's pace)
  # bullseye: systemd-resolved is part of systemd; networkd cannot configure eth0 in its containers
  # (systemd 247: udev's trigger fails there, the link stays "pending"), so ifupdown and dhclient
  local include=systemd,systemd-sysv,udev,dbus,iproute2,netbase,ca-certificates,apt,procps,iputils-ping,less
  if [ "$SUITE" = bullseye ]; then include="$include,ifupdown,isc-dhcp-client"; else include="$include,systemd-resolved"; fi
  nice -n 10 debootstrap --variant=minbase --arch="$arch" --include="$include" \
    "$SUITE" "$work/rootfs" "$mirror" </dev/null >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
  log "debootstrap: $(elapsed "$t0")"
  local r="$work/rootfs"

  # apt: the same mirror as the machine, with updates and security.
  rm -f "$r/etc/apt/sources.list"
  cat >"$r/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

  # No translated package descriptions: a shorter `apt-get update`.
  echo 'Acquire::Languages "none";' >"$r/etc/apt/apt.conf.d/99dhis2-no-translations"

  # Network: DHCP on eth0 (LXD's DHCP hands each container the plan's fixed address). bookworm and
  # later: systemd-networkd, DNS through systemd-resolved (the bridge's dnsmasq); udev is needed:
  # LXD mounts /sys read-write, so networkd waits for udev to initialise a link before configuring
  # it. bullseye: ifupdown with dhclient, which writes /etc/resolv.conf.
  if [ "$SUITE" = bullseye ]; then
    printf 'auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n' >"$r/etc/network/interfaces"
    rm -f "$r/etc/resolv.conf" && : >"$r/etc/resolv.conf"
  else
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
  fi

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
  description: Debian $VERSION ($SUITE) $arch minbase with systemd, for DHIS2 (build $IMAGE_BUILD)
  os: debian
  release: $SUITE
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

provide_image() {   # os id (debian-NN)
  VERSION="${1#debian-}"
  case "$VERSION" in
    11) SUITE=bullseye ;;
    12) SUITE=bookworm ;;
    13) SUITE=trixie ;;
    *) die "no LXD image for $1: the containers run debian-11, debian-12 or debian-13" ;;
  esac
  IMAGE_ALIAS="dhis2-debian-$VERSION"   # lib/os/images.ts lxdAlias
  IMAGE_BUILD="$SUITE-$IMAGE_REV"
  local image_yaml build cached done_image remote t0
  image_yaml="$(lxc image show "local:$IMAGE_ALIAS" </dev/null 2>/dev/null || true)"
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
    remote="${DHIS2_LXD_IMAGE_REMOTE-images:debian/$VERSION}"
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
}

systems="${DHIS2_LXD_OS:-debian-12}"
[ -z "${DHIS2_LXD_IMAGE_FILE:-}" ] || [ "$(wc -w <<<"$systems")" -eq 1 ] || die "DHIS2_LXD_IMAGE_FILE is one image: give DHIS2_LXD_OS one system"
for os in $systems; do provide_image "$os"; done

log "done in $(elapsed "$t_start")$([ "$changed" -eq 0 ] && echo ': nothing to change')"
echo ok
