#!/usr/bin/env bash
# Installs the real programs that tests/support/realtools.ts uses to check rendered
# configuration files (nginx -t, a throwaway PostgreSQL 15, Tomcat 10 configtest,
# cloud-init schema, nft -c, postfix, munin-node, systemd-analyze verify, ...).
#
# - Idempotent and fast when everything is present: `dpkg -s` first, `apt-get update`
#   and `apt-get install` only when something is missing.
# - Works as root on a fresh Debian 12 without systemd as PID 1 and without stdin (CI).
# - No daemon is left running: a policy-rc.d that exits 101 blocks service starts
#   during the install (any policy-rc.d that was there before is put back afterwards),
#   and any daemon process that appeared during the install is stopped by its PID.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
export DEBCONF_NONINTERACTIVE_SEEN=true

if [ "$(id -u)" -ne 0 ]; then
  echo "install-check-tools: must run as root" >&2
  exit 1
fi

PACKAGES=(
  nginx
  postgresql
  postgresql-15
  postgresql-contrib
  postgresql-15-postgis-3
  tomcat10
  tomcat10-common
  libtomcat10-java
  openjdk-17-jre-headless
  cloud-init
  nftables
  postfix
  munin
  munin-node
  libnet-cidr-perl
  openssl
  systemd
  util-linux
  fio
  iproute2
  netcat-openbsd
  apache2-utils
  restic
  jq
  testssl.sh
  lynis
  openssh-server
)

is_installed() {
  # (no `dpkg -s | grep -q`: with pipefail, grep -q closing the pipe early fails the pipeline)
  local status
  status="$(dpkg -s "$1" 2>/dev/null)" || return 1
  grep -qx 'Status: install ok installed' <<<"$status"
}

missing=()
for p in "${PACKAGES[@]}"; do
  is_installed "$p" || missing+=("$p")
done

# Daemons these packages could start, found by their package's pid file (never by name).
PIDFILES=(/run/nginx.pid /var/spool/postfix/pid/master.pid /run/munin/munin-node.pid /run/tomcat10.pid /run/sshd.pid)

pidfile_pids() {
  local f pid
  for f in "${PIDFILES[@]}"; do
    [ -r "$f" ] || continue
    pid="$(head -n1 "$f" | tr -dc 0-9)"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
  done
  return 0
}

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-check-tools: installing: ${missing[*]}"
  pids_before="$(pidfile_pids | sort -n)"
  pg_online_before="$(pg_lsclusters -h 2>/dev/null | awk '$4 == "online" {print $1 "/" $2}' || true)"

  POLICY=/usr/sbin/policy-rc.d
  policy_backup=""
  if [ -e "$POLICY" ] || [ -L "$POLICY" ]; then
    policy_backup="$(mktemp /usr/sbin/.policy-rc.d.backup.XXXXXX)"
    cp -a "$POLICY" "$policy_backup"
  fi
  restore_policy() {
    if [ -n "$policy_backup" ]; then
      mv -f "$policy_backup" "$POLICY"
    else
      rm -f "$POLICY"
    fi
  }
  trap restore_policy EXIT
  printf '#!/bin/sh\n# installed by install-check-tools.sh for the duration of the install\nexit 101\n' >"$POLICY"
  chmod 0755 "$POLICY"

  # postfix: no questions, no configuration (tests bring their own main.cf/master.cf).
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  echo "postfix postfix/mailname string localhost.localdomain" | debconf-set-selections

  apt_opts=(-y -q --no-install-recommends
    -o DPkg::Lock::Timeout=600
    -o Dpkg::Options::=--force-confdef
    -o Dpkg::Options::=--force-confold)
  apt-get -q -o DPkg::Lock::Timeout=600 update </dev/null
  apt-get install "${apt_opts[@]}" "${missing[@]}" </dev/null

  restore_policy
  trap - EXIT

  # Stop what the install started despite policy-rc.d: PostgreSQL clusters that came online
  # (pg_ctlcluster), and daemons whose package pid file names a process that was not there
  # before (by that PID only).
  if command -v pg_lsclusters >/dev/null 2>&1; then
    for c in $(pg_lsclusters -h 2>/dev/null | awk '$4 == "online" {print $1 "/" $2}'); do
      if ! grep -qxF "$c" <<<"$pg_online_before"; then
        echo "install-check-tools: stopping PostgreSQL cluster $c started by the install"
        pg_ctlcluster "${c%/*}" "${c#*/}" stop -m fast || true
      fi
    done
  fi
  new_pids="$(comm -13 <(printf '%s\n' "$pids_before" | sed '/^$/d') <(pidfile_pids | sort -n) || true)"
  for pid in $new_pids; do
    echo "install-check-tools: stopping daemon started by the install: pid $pid ($(ps -o comm= -p "$pid" || true))"
    kill -TERM "$pid" 2>/dev/null || true
  done
  if [ -n "$new_pids" ]; then
    sleep 2
    for pid in $new_pids; do
      if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    done
  fi
fi

# Sanity: the programs the harness calls.
for f in /usr/sbin/nginx /usr/lib/postgresql/15/bin/initdb /usr/lib/postgresql/15/bin/pg_ctl \
  /usr/lib/postgresql/15/bin/psql /usr/share/tomcat10/bin/catalina.sh /usr/share/tomcat10/etc/server.xml \
  /usr/bin/cloud-init /usr/sbin/nft /usr/sbin/postconf /usr/sbin/postfix /usr/sbin/munin-node \
  /usr/bin/openssl /usr/bin/systemd-analyze /usr/bin/unshare /usr/sbin/runuser /bin/nc.openbsd /usr/bin/htpasswd /usr/bin/restic /usr/bin/jq \
  /usr/bin/testssl /usr/sbin/lynis /usr/sbin/sshd; do
  if [ ! -x "$f" ] && [ ! -f "$f" ]; then
    echo "install-check-tools: missing after install: $f" >&2
    exit 1
  fi
done

v() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo '?'; }
echo "check tools: nginx $(v nginx) | postgresql-15 $(v postgresql-15) | postgis $(v postgresql-15-postgis-3) | tomcat10 $(v tomcat10-common) | openjdk-17 $(v openjdk-17-jre-headless) | cloud-init $(v cloud-init) | nftables $(v nftables) | postfix $(v postfix) | munin-node $(v munin-node) | openssl $(v openssl) | systemd $(v systemd) | util-linux $(v util-linux) | fio $(v fio) | netcat-openbsd $(v netcat-openbsd) | apache2-utils $(v apache2-utils) | testssl.sh $(v testssl.sh) | lynis $(v lynis) | restic $(v restic) | jq $(v jq)"

# The S3-compatible object store of the off-site backup test (built from the Go module proxy,
# pinned; cached in .toolchain/bin).
echo "check tools: gofakes3 $(bash "$(dirname "${BASH_SOURCE[0]}")/gofakes3.sh")"
