#!/usr/bin/env bash
# Make the Pulumi CLI, the Node.js language host and the `command` resource
# provider plugin available, building them with Go from the Go module proxy
# when matching official binaries are not installed. See docs/toolchain.md.
#
# Usage:
#   export PATH="$(bash tools/toolchain.sh):$PATH"
#   bash tools/toolchain.sh --smoke   # also run an end-to-end smoke test
#   bash tools/toolchain.sh --force   # ignore the stamp: re-detect and rebuild
#
# The last (and only) line on stdout is the bin directory to prepend to PATH;
# everything else goes to stderr. Results are cached under
# ${DHIS2_TOOLCHAIN_DIR:-<project>/.toolchain}; a run whose cache key matches
# the stamp does nothing.
set -euo pipefail

# --- Pinned versions: change them here (and in tools/toolchain/cli/go.mod) -----
# Pulumi CLI: must equal npm @pulumi/pulumi in package.json (3.248.0 is the last
# release supporting Node 20).
PULUMI_VERSION=3.248.0
PULUMI_MODULE=github.com/pulumi/pulumi/pkg/v3
PULUMI_MAIN=github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
PULUMI_COMMIT=dc7edd58bc13179f81b80983aab4eb7f74a01b41 # tag pkg/v3.248.0
# command provider: must equal npm @pulumi/command in package.json (1.2.1; the
# npm "latest", 4.5.0, is a broken release).
COMMAND_VERSION=1.2.1
# Upstream modules of the language host and of the command provider. The Go
# module proxy serves neither (403 "This module version is not available" /
# 404), so the stand-ins under tools/toolchain/cli/cmd/ are built in their place
# unless official binaries are installed. Pseudo-versions of the commits of
# the releases above, kept for when they become buildable:
LANGHOST_UPSTREAM=github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3@v3.0.0-20260624180030-dc7edd58bc13
COMMAND_UPSTREAM=github.com/pulumi/pulumi-command/provider@v0.0.0-20260303235922-7f3eb6f3b77c # tag v1.2.1
# Bump when the build commands below change, to invalidate existing caches.
BUILD_REV=1
# ------------------------------------------------------------------------------

exec 3>&1 1>&2 # stdout is reserved for the final line; everything else -> stderr

CLEANUP=()
trap 'rm -rf "${CLEANUP[@]}"' EXIT
log() { printf 'toolchain: %s\n' "$*"; }
die() {
  printf 'toolchain: error: %s\n' "$*"
  exit 1
}

force=0 smoke=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --smoke) smoke=1 ;;
    -h | --help)
      sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown argument: $arg" ;;
  esac
done

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
MODDIR=$ROOT/tools/toolchain/cli
TOOLCHAIN_DIR=${DHIS2_TOOLCHAIN_DIR:-$ROOT/.toolchain}
mkdir -p "$TOOLCHAIN_DIR/bin"
TOOLCHAIN_DIR=$(cd -P "$TOOLCHAIN_DIR" && pwd -P)
BIN=$TOOLCHAIN_DIR/bin
STAMP=$TOOLCHAIN_DIR/stamp
PULUMI_HOME_DIR=${PULUMI_HOME:-$HOME/.pulumi}
COMMAND_CACHE_BIN=$PULUMI_HOME_DIR/plugins/resource-command-v$COMMAND_VERSION/pulumi-resource-command

# find_on_path NAME: first executable NAME on PATH outside our own bin directory.
find_on_path() {
  local dir
  local IFS=:
  for dir in $PATH; do
    [[ -z $dir || $dir == "$BIN" || $dir == "$BIN/" ]] && continue
    if [[ -f $dir/$1 && -x $dir/$1 ]]; then
      printf '%s\n' "$dir/$1"
      return 0
    fi
  done
  return 1
}

# Everything that decides what ends up in $BIN: pins, build inputs, and the
# official binaries that could replace a build.
compute_key() {
  local sums found=() f name
  sums=$(cd "$MODDIR" && sha256sum go.mod go.sum tools.go cmd/*/*.go | sha256sum)
  for name in pulumi pulumi-language-nodejs pulumi-resource-command; do
    if f=$(find_on_path "$name"); then found+=("$f"); fi
  done
  [[ -e $COMMAND_CACHE_BIN ]] && found+=("$COMMAND_CACHE_BIN")
  local stats=none
  ((${#found[@]})) && stats=$(stat -L -c '%n:%s:%Y' "${found[@]}" | tr '\n' ' ')
  printf 'rev=%s pulumi=%s@%s command=%s src=%s official=%s\n' \
    "$BUILD_REV" "$PULUMI_VERSION" "$PULUMI_COMMIT" "$COMMAND_VERSION" "${sums%% *}" "$stats"
}

# stamp_ok KEY: the stamp records KEY and every binary it promised is still there.
stamp_ok() {
  [[ $force == 0 && -f $STAMP ]] || return 1
  local line key="" provided=""
  while IFS= read -r line; do
    case "$line" in
      key=*) key=${line#key=} ;;
      provided=*) provided=${line#provided=} ;;
    esac
  done <"$STAMP"
  [[ $key == "$1" ]] || return 1
  local b
  for b in $provided; do [[ -x $BIN/$b ]] || return 1; done
  return 0
}

finish() {
  if ((smoke)); then
    : "${command_source:=$(sed -n 's/^command=//p' "$STAMP")}"
    smoke_test
  fi
  printf '%s\n' "$BIN" >&3
  exit 0
}

# --- Smoke test: a tiny Pulumi TypeScript program using @pulumi/command -------
smoke_test() {
  local tmp
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/toolchain-smoke.XXXXXX")
  CLEANUP+=("$tmp")
  [[ -d $ROOT/node_modules/@pulumi/command && -d $ROOT/node_modules/@pulumi/pulumi ]] ||
    die "smoke test needs $ROOT/node_modules (run npm ci first)"
  cat >"$tmp/Pulumi.yaml" <<'EOF'
name: toolchain-smoke
runtime: nodejs
description: tools/toolchain.sh smoke test
EOF
  cat >"$tmp/package.json" <<EOF
{
  "name": "toolchain-smoke",
  "private": true,
  "main": "index.ts",
  "dependencies": { "@pulumi/pulumi": "$PULUMI_VERSION", "@pulumi/command": "$COMMAND_VERSION" }
}
EOF
  cat >"$tmp/index.ts" <<'EOF'
import { local } from "@pulumi/command";

const hello = new local.Command("hello", { create: "echo hello" });

export const stdout = hello.stdout;
EOF
  ln -s "$ROOT/node_modules" "$tmp/node_modules"
  mkdir "$tmp/state"
  log "smoke test in $tmp"
  (
    cd "$tmp"
    export PATH="$BIN:$PATH"
    export PULUMI_BACKEND_URL="file://$tmp/state" PULUMI_CONFIG_PASSPHRASE=test PULUMI_SKIP_UPDATE_CHECK=true
    # Keep the smoke test out of the user's ~/.pulumi unless an official command
    # plugin installed in its plugin cache is the one to test.
    [[ $command_source == plugin-cache:* ]] || export PULUMI_HOME="$tmp/.pulumi"
    set -x
    pulumi version
    pulumi stack init test
    pulumi up --yes
    [[ $(pulumi stack output stdout) == hello ]]
    pulumi preview --expect-no-changes
    pulumi destroy --yes
  ) || die "smoke test failed"
  log "smoke test passed"
}

# --- Fast path -----------------------------------------------------------------
KEY=$(compute_key)
if stamp_ok "$KEY"; then
  finish
fi

# --- Slow path: detect, build, stamp ------------------------------------------
exec 9>"$TOOLCHAIN_DIR/.lock"
flock 9
KEY=$(compute_key)
if stamp_ok "$KEY"; then # another run finished while we waited for the lock
  finish
fi

# The npm packages must match the pins, or CLI/SDK and provider/SDK disagree.
for pin in "@pulumi/pulumi:$PULUMI_VERSION" "@pulumi/command:$COMMAND_VERSION"; do
  grep -q "\"${pin%%:*}\": \"${pin##*:}\"" "$ROOT/package.json" ||
    log "warning: package.json does not pin \"${pin%%:*}\": \"${pin##*:}\""
done
# go.mod must build what the header says.
grep -Eq "^[[:space:]]*(require[[:space:]]+)?$PULUMI_MODULE v$PULUMI_VERSION\$" "$MODDIR/go.mod" ||
  die "$MODDIR/go.mod does not require $PULUMI_MODULE v$PULUMI_VERSION (update it together with PULUMI_VERSION)"
grep -Eq "^[[:space:]]*(require[[:space:]]+)?github.com/pulumi/pulumi/sdk/v3 v$PULUMI_VERSION\$" "$MODDIR/go.mod" ||
  die "$MODDIR/go.mod does not require github.com/pulumi/pulumi/sdk/v3 v$PULUMI_VERSION"

have_go=0
if command -v go >/dev/null 2>&1; then have_go=1; fi
need_go() { ((have_go)) || die "Go (>= 1.25.11) is needed to build $1; install Go, or install official Pulumi binaries (see docs/toolchain.md)"; }

LIBEXEC=$TOOLCHAIN_DIR/libexec
WORK=$(mktemp -d "$TOOLCHAIN_DIR/build.XXXXXX")
CLEANUP+=("$WORK")

go_build() { # go_build OUT PKG LDFLAGS
  (cd "$MODDIR" && nice -n 10 go build -mod=readonly -trimpath -buildvcs=false -ldflags "$3" -o "$1" "$2")
}

# plugin_version KIND PATH: the version a plugin reports over gRPC (no leading v).
plugin_version() {
  if [[ ! -x $LIBEXEC/plugin-version ]]; then
    ((have_go)) || return 1
    mkdir -p "$LIBEXEC"
    go_build "$WORK/plugin-version" ./cmd/plugin-version "-s -w" && mv -f "$WORK/plugin-version" "$LIBEXEC/"
  fi
  "$LIBEXEC/plugin-version" "$1" "$2" 2>/dev/null
}

build=() # binaries to build into $BIN

# Pulumi CLI
pulumi_source=build
if p=$(find_on_path pulumi); then
  v=$(PULUMI_SKIP_UPDATE_CHECK=true "$p" version 2>/dev/null || true)
  if [[ $v == "v$PULUMI_VERSION" ]]; then
    pulumi_source=official:$p
  else
    log "ignoring $p (version '${v:-?}', want v$PULUMI_VERSION); $BIN/pulumi will shadow it"
  fi
fi
[[ $pulumi_source == build ]] && build+=(pulumi)

# Node.js language host
langhost_source=build
if p=$(find_on_path pulumi-language-nodejs); then
  if v=$(plugin_version language "$p") && [[ $v == "$PULUMI_VERSION" ]]; then
    langhost_source=official:$p
  else
    log "ignoring $p (version '${v:-?}', want $PULUMI_VERSION); $BIN/pulumi-language-nodejs will shadow it"
  fi
fi
[[ $langhost_source == build ]] && build+=(pulumi-language-nodejs)

# command provider: on PATH, or installed in Pulumi's plugin cache (a plugin on
# PATH would take precedence over the cache, so then we must not add ours).
command_source=build
if p=$(find_on_path pulumi-resource-command); then
  if v=$(plugin_version resource "$p") && [[ $v == "$COMMAND_VERSION" ]]; then
    command_source=official:$p
  else
    log "ignoring $p (version '${v:-?}', want $COMMAND_VERSION); $BIN/pulumi-resource-command will shadow it"
  fi
fi
if [[ $command_source == build && -x $COMMAND_CACHE_BIN ]]; then
  command_source=plugin-cache:$COMMAND_CACHE_BIN
fi
[[ $command_source == build ]] && build+=(pulumi-resource-command)

for b in "${build[@]}"; do
  case $b in
    pulumi)
      need_go "the Pulumi CLI"
      log "building pulumi v$PULUMI_VERSION ($PULUMI_MAIN) - a cold build takes ~10 minutes on 2 cores"
      go_build "$WORK/pulumi" "$PULUMI_MAIN" \
        "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
      ;;
    pulumi-language-nodejs)
      need_go "the Node.js language host"
      log "building pulumi-language-nodejs (stand-in from tools/toolchain/cli/cmd: $LANGHOST_UPSTREAM is not on the Go module proxy)"
      go_build "$WORK/$b" ./cmd/pulumi-language-nodejs \
        "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
      ;;
    pulumi-resource-command)
      need_go "the command provider"
      log "building pulumi-resource-command $COMMAND_VERSION (stand-in from tools/toolchain/cli/cmd: $COMMAND_UPSTREAM is not on the Go module proxy)"
      go_build "$WORK/$b" ./cmd/pulumi-resource-command "-s -w -X main.Version=$COMMAND_VERSION"
      ;;
  esac
done

# Install: move new binaries in; drop ones that official binaries now replace.
for b in pulumi pulumi-language-nodejs pulumi-resource-command; do
  if [[ -e $WORK/$b ]]; then
    mv -f "$WORK/$b" "$BIN/$b"
  elif [[ " ${build[*]} " != *" $b "* ]]; then
    rm -f "$BIN/$b"
  fi
done

log "pulumi: ${pulumi_source/#build/built}"
log "pulumi-language-nodejs: ${langhost_source/#build/built (stand-in)}"
log "pulumi-resource-command: ${command_source/#build/built (stand-in)}"

KEY=$(compute_key)
{
  printf 'key=%s\n' "$KEY"
  printf 'provided=%s\n' "${build[*]}"
  printf 'pulumi=%s\nlanghost=%s\ncommand=%s\n' "$pulumi_source" "$langhost_source" "$command_source"
} >"$STAMP.tmp"
mv -f "$STAMP.tmp" "$STAMP"
finish
