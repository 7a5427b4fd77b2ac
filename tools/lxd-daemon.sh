#!/usr/bin/env bash
# Development machines and CI without systemd as PID 1 (containers, build sandboxes): starts the
# LXD daemon in the background, as systemd's lxd service would, so that the product's LXD set-up
# (templates/lxd-host/setup-lxd.sh) finds it running. scripts/lxd-host.sh calls it when needed;
# on a machine with systemd it is not used.
#
#   - installs Debian's lxd when missing;
#   - `lxd --group root` in its own session (it outlives the caller), log /var/log/lxd-dhis2.log,
#     its stderr in /var/log/lxd-dhis2.stderr.log, pid file /run/lxd-dhis2.pid;
#   - with a clean environment: under `npm test` / `npm start`, npm puts node_modules/.bin first on
#     PATH, and ava brings @vercel/nft, whose command is called `nft`: LXD started from such a PATH
#     runs it in place of nftables' nft to read its version and crashes at start;
#   - waits until it answers (120 s at most), or reports at once what it wrote if it exits.
set -euo pipefail
SYSTEM_PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export PATH="$SYSTEM_PATH"
# shellcheck source=../templates/lxd-host/lib.sh
. "$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)/templates/lxd-host/lib.sh"
PIDFILE="/run/lxd-dhis2.pid"
LOGFILE="/var/log/lxd-dhis2.log"
STDERR_LOG="/var/log/lxd-dhis2.stderr.log"

[ "$(id -u)" -eq 0 ] || die "must run as root"
lxd_ready && exit 0
install_missing lxd lxd-client dnsmasq-base nftables xz-utils

pid=""
[ -r "$PIDFILE" ] && pid="$(tr -dc 0-9 <"$PIDFILE")"
if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = lxd ]; then
  # The one started before: still starting, or shutting down (`lxd shutdown` returns before the
  # process has gone). Wait for either.
  log "lxd (pid $pid) is running but not answering; waiting (60 s at most)"
  for _ in $(seq 1 120); do
    lxd_ready && exit 0
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = lxd ] || break
    sleep 0.5
  done
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = lxd ] && die "lxd (pid $pid) does not answer; see $LOGFILE"
fi

log "starting lxd in the background (no systemd): log $LOGFILE, pid file $PIDFILE"
touch "$STDERR_LOG"
start_mark=$(wc -l <"$STDERR_LOG")
env -i PATH="$SYSTEM_PATH" HOME="$HOME" LC_ALL=C \
  setsid lxd --group root --logfile "$LOGFILE" </dev/null >>"$STDERR_LOG" 2>&1 &
pid=$!
echo "$pid" >"$PIDFILE"
# Ready, or gone (then at once, with what it said), or 120 s.
for _ in $(seq 1 240); do
  lxd_ready && { log "lxd ready in $(elapsed "$t_start")"; exit 0; }
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null && rc=0 || rc=$?
    log "lxd exited (status $rc) while starting; what it wrote to $STDERR_LOG:"
    tail -n +"$((start_mark + 1))" "$STDERR_LOG" | head -n 40 >&2
    die "lxd did not start; see $LOGFILE and $STDERR_LOG"
  fi
  sleep 0.5
done
log "lxd (pid $pid) did not answer within 120 s; the end of $LOGFILE:"
tail -n 20 "$LOGFILE" >&2 || true
die "lxd did not become ready; see $LOGFILE and $STDERR_LOG"
