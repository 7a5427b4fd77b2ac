# Helpers of the LXD server set-up (templates/lxd-host/): put in front of setup-lxd.sh and
# image.sh, which run as one script on the server (stdin of bash over SSH, or on this machine).
export DEBIAN_FRONTEND=noninteractive
export DEBCONF_NONINTERACTIVE_SEEN=true
export LC_ALL=C
export HOME="${HOME:-/root}"   # lxc keeps its client configuration there

log() { printf 'lxd-setup: %s\n' "$*" >&2; }
die() { printf 'lxd-setup: error: %s\n' "$*" >&2; exit 1; }
changed=0
did() { changed=1; log "$*"; }
t_start=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f s", b - a }'; }

apt_install() {
  log "installing from the distribution: $*"
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

lxd_ready() { timeout 10 lxc info </dev/null >/dev/null 2>&1; }
