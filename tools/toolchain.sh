#!/usr/bin/env bash
# Make the Pulumi CLI, the official Node.js language host and the official
# `command` resource provider available for this project. See docs/toolchain.md.
#
# For each of the three, in this order:
#   1. official binaries already installed (the CLI and language host on PATH,
#      the command provider in Pulumi's plugin cache), at the pinned versions;
#   2. built here with Go from their upstream source: the CLI from the Go module
#      proxy, the language host and the command provider from the upstream
#      source tarballs in ${DHIS2_PULUMI_SOURCES:-<project>/../shared/vendor}
#      (checked against the sha256 pinned below);
#   3. otherwise an error saying how to install Pulumi the normal way.
# A command provider built here is installed into Pulumi's plugin cache
# (`pulumi plugin install --file`), where Pulumi looks for it.
#
# Usage:
#   export PATH="$(bash tools/toolchain.sh):$PATH"
#   bash tools/toolchain.sh --smoke   # also run a small Pulumi program end to end
#   bash tools/toolchain.sh --force   # ignore the stamp: re-detect and rebuild
#
# The last (and only) line on stdout is the bin directory to prepend to PATH;
# progress goes to stderr, the build's own output to <toolchain dir>/build.log.
# Results are cached under ${DHIS2_TOOLCHAIN_DIR:-<project>/.toolchain}: a run
# whose inputs match the stamp does nothing.
set -euo pipefail

# --- Pins: change them together (docs/toolchain.md, "Pinned versions") --------
# Pulumi CLI and language host: must equal npm @pulumi/pulumi in package.json
# (3.248.0 is the last release supporting Node 20).
PULUMI_VERSION=3.248.0
PULUMI_MAIN=github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
PULUMI_COMMIT=dc7edd58bc13179f81b80983aab4eb7f74a01b41 # tags pkg/v3.248.0, sdk/v3.248.0
LANGHOST_TARBALL=pulumi-language-nodejs-v$PULUMI_VERSION.tar.gz
LANGHOST_SHA256=023752596da65a99ac76f0684c94f2dc3a6e90ec5f668df648d3faec30ebea39
# command provider: must equal npm @pulumi/command (1.2.1; npm "latest", 4.5.0, is broken).
COMMAND_VERSION=1.2.1
COMMAND_COMMIT=7f3eb6f3b77cd0fa3895ba437a695dd393f7dd25 # tag v1.2.1
COMMAND_TARBALL=pulumi-command-provider-v$COMMAND_VERSION.tar.gz
COMMAND_SHA256=a88307abf5189d9056956baa9ea8042d2f28224e70b061b5319bea0816a8864c
# Bump when the build commands below change, to invalidate existing caches.
BUILD_REV=2
# Typical cold build times on 2 cores (docs/toolchain.md), shown with the progress.
EST_CLI="8-10 min" EST_LANGHOST="1-2 min" EST_COMMAND="3-5 min"
# ------------------------------------------------------------------------------

exec 3>&1 1>&2 # stdout is reserved for the final line; everything else -> stderr

CLEANUP=()
TICKER=""
cleanup() {
  [[ -z $TICKER ]] || kill "$TICKER" 2>/dev/null || true
  rm -rf "${CLEANUP[@]}"
}
trap cleanup EXIT
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
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown argument: $arg" ;;
  esac
done

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
MODULES=$ROOT/tools/toolchain
TOOLCHAIN_DIR=${DHIS2_TOOLCHAIN_DIR:-$ROOT/.toolchain}
mkdir -p "$TOOLCHAIN_DIR/bin"
TOOLCHAIN_DIR=$(cd -P "$TOOLCHAIN_DIR" && pwd -P)
BIN=$TOOLCHAIN_DIR/bin
STAMP=$TOOLCHAIN_DIR/stamp
BUILD_LOG=$TOOLCHAIN_DIR/build.log
SOURCES=${DHIS2_PULUMI_SOURCES:-$ROOT/../shared/vendor}
# Where the CLI keeps its plugins: $PULUMI_HOME, else .pulumi in the user's home directory as the
# password database gives it (Go's os/user, which the CLI uses), not $HOME: the two differ under
# `sudo` or a changed HOME, and the provider would be installed where the CLI does not look.
passwd_home=$(getent passwd "$(id -u)" 2>/dev/null | cut -d: -f6 || true)
PULUMI_HOME_DIR=${PULUMI_HOME:-${passwd_home:-$HOME}/.pulumi}
COMMAND_PLUGIN=$PULUMI_HOME_DIR/plugins/resource-command-v$COMMAND_VERSION/pulumi-resource-command

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

# Everything that decides what ends up in $BIN and the plugin cache: pins, our
# go.mod files, and the installed binaries that could replace a build.
compute_key() {
  local sums found=() f name stats=none
  sums=$(cd "$MODULES" && sha256sum cli/go.mod cli/go.sum cli/tools.go language-nodejs/go.mod language-nodejs/go.sum | sha256sum)
  for name in pulumi pulumi-language-nodejs pulumi-resource-command; do
    if f=$(find_on_path "$name"); then found+=("$f"); fi
  done
  [[ -e $COMMAND_PLUGIN ]] && found+=("$COMMAND_PLUGIN")
  ((${#found[@]})) && stats=$(stat -L -c '%n:%s:%Y' "${found[@]}" | tr '\n' ' ')
  printf 'rev=%s pulumi=%s@%s langhost=%s command=%s@%s mods=%s installed=%s\n' \
    "$BUILD_REV" "$PULUMI_VERSION" "$PULUMI_COMMIT" "$LANGHOST_SHA256" "$COMMAND_VERSION" "$COMMAND_SHA256" "${sums%% *}" "$stats"
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
  [[ -x $COMMAND_PLUGIN ]]
}

finish() {
  ((smoke)) && smoke_test
  printf '%s\n' "$BIN" >&3
  exit 0
}

# --- Smoke test: a tiny Pulumi TypeScript program using @pulumi/command -------
smoke_test() {
  local tmp
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/toolchain-smoke.XXXXXX")
  CLEANUP+=("$tmp")
  [[ -d $ROOT/node_modules/@pulumi/command && -d $ROOT/node_modules/@pulumi/pulumi ]] ||
    die "the smoke test needs $ROOT/node_modules (run npm ci first)"
  printf 'name: toolchain-smoke\nruntime: nodejs\ndescription: tools/toolchain.sh smoke test\n' >"$tmp/Pulumi.yaml"
  printf '{ "name": "toolchain-smoke", "private": true, "main": "index.ts",\n  "dependencies": { "@pulumi/pulumi": "%s", "@pulumi/command": "%s" } }\n' \
    "$PULUMI_VERSION" "$COMMAND_VERSION" >"$tmp/package.json"
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
    export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
    set -x
    pulumi version
    pulumi-language-nodejs -version
    pulumi plugin ls
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

for pin in "@pulumi/pulumi:$PULUMI_VERSION" "@pulumi/command:$COMMAND_VERSION"; do
  grep -q "\"${pin%%:*}\": \"${pin##*:}\"" "$ROOT/package.json" ||
    log "warning: package.json does not pin \"${pin%%:*}\": \"${pin##*:}\""
done

HOW_TO_INSTALL="install Pulumi the normal way instead:
    curl -fsSL https://get.pulumi.com | sh -s -- --version $PULUMI_VERSION
    pulumi plugin install resource command $COMMAND_VERSION
  (puts pulumi and pulumi-language-nodejs in ~/.pulumi/bin: add it to PATH), then run this script again"

build=() # what to build: cli langhost command
pulumi_source=build langhost_source=build command_source=build

if p=$(find_on_path pulumi); then
  v=$(PULUMI_SKIP_UPDATE_CHECK=true "$p" version 2>/dev/null || true)
  if [[ $v == "v$PULUMI_VERSION" ]]; then
    pulumi_source=installed:$p
  else
    log "ignoring $p (version '${v:-?}', want v$PULUMI_VERSION); $BIN/pulumi will shadow it"
  fi
fi
if p=$(find_on_path pulumi-language-nodejs); then
  v=$("$p" -version 2>/dev/null || true)
  if [[ ${v#v} == "$PULUMI_VERSION" ]]; then
    langhost_source=installed:$p
  else
    log "ignoring $p (version '${v:-?}', want $PULUMI_VERSION); $BIN/pulumi-language-nodejs will shadow it"
  fi
fi
if [[ -x $COMMAND_PLUGIN ]]; then
  command_source=plugin-cache:$COMMAND_PLUGIN
fi
if p=$(find_on_path pulumi-resource-command); then
  log "warning: $p is on PATH: Pulumi prefers it to the plugin cache, whatever its version; remove it from PATH to use command $COMMAND_VERSION"
fi
[[ $pulumi_source == build ]] && build+=(cli)
[[ $langhost_source == build ]] && build+=(langhost)
[[ $command_source == build ]] && build+=(command)

# source_tarball NAME SHA256: the path of a checked upstream source tarball.
source_tarball() {
  local f=$SOURCES/$1 sum
  [[ -f $f ]] || die "the upstream source $1 is not in $SOURCES (set DHIS2_PULUMI_SOURCES to the directory holding it), or
  $HOW_TO_INSTALL"
  sum=$(sha256sum "$f" | cut -d' ' -f1)
  [[ $sum == "$2" ]] || die "$f has sha256 $sum, not the pinned $2: not building from it; restore the original, or
  $HOW_TO_INSTALL"
  printf '%s\n' "$f"
}

if ((${#build[@]})); then
  command -v go >/dev/null 2>&1 || die "Go (>= 1.25.11) is needed to build ${build[*]} from source; install Go (Debian: golang-go from bookworm-backports, or go.dev), or
  $HOW_TO_INSTALL"
  # the tarballs are checked before anything is compiled
  [[ " ${build[*]} " == *" langhost "* ]] && LANGHOST_SRC=$(source_tarball "$LANGHOST_TARBALL" "$LANGHOST_SHA256")
  [[ " ${build[*]} " == *" command "* ]] && COMMAND_SRC=$(source_tarball "$COMMAND_TARBALL" "$COMMAND_SHA256")
fi

WORK=$(mktemp -d "$TOOLCHAIN_DIR/build.XXXXXX")
CLEANUP+=("$WORK")
: >"$BUILD_LOG"
step=0 steps=${#build[@]}

# progress LABEL ESTIMATE TOTALFILE: a line every 30 s while a build runs: elapsed time, modules
# downloaded, packages compiled of the total (once `go list` has counted them).
progress() {
  local label=$1 estimate=$2 totalfile=$3 start=$SECONDS mark
  mark=$(wc -l <"$BUILD_LOG")
  while sleep 30; do
    local t=$((SECONDS - start)) downloads compiled total what
    downloads=$(tail -n +"$((mark + 1))" "$BUILD_LOG" | grep -c '^go: downloading' || true)
    compiled=$(tail -n +"$((mark + 1))" "$BUILD_LOG" | grep -c '^[a-zA-Z0-9][^ ]*$' || true)
    total=$(cat "$totalfile" 2>/dev/null || true)
    if [[ -z $total ]]; then
      what="resolving and downloading modules ($downloads so far)"
    else
      what="compiling: $compiled of $total packages (cached ones are skipped)"
    fi
    log "[$step/$steps] $label: $((t / 60))m$((t % 60))s, $what; typically $estimate cold; log: $BUILD_LOG"
  done
}

# go_build LABEL ESTIMATE DIR OUT PKG LDFLAGS: build in module DIR, with progress.
go_build() {
  local label=$1 estimate=$2 dir=$3 out=$4 pkg=$5 ldflags=$6 t0=$SECONDS rc=0 totalfile
  step=$((step + 1))
  totalfile=$WORK/total-$step
  log "[$step/$steps] building $label (typically $estimate cold on 2 cores, seconds when Go's caches are warm)"
  printf '\n=== %s\n' "$label" >>"$BUILD_LOG"
  progress "$label" "$estimate" "$totalfile" &
  TICKER=$!
  (
    cd "$dir"
    # the packages to compile (downloading the modules they come from), then the build
    go list -mod=readonly -deps "$pkg" 2>>"$BUILD_LOG" | wc -l >"$totalfile.tmp" && mv "$totalfile.tmp" "$totalfile"
    nice -n 10 go build -v -mod=readonly -trimpath -buildvcs=false -ldflags "$ldflags" -o "$out" "$pkg"
  ) >>"$BUILD_LOG" 2>&1 || rc=$?
  kill "$TICKER" 2>/dev/null || true
  wait "$TICKER" 2>/dev/null || true
  TICKER=""
  if ((rc != 0)); then
    tail -n 30 "$BUILD_LOG"
    die "building $label failed (the whole log: $BUILD_LOG)"
  fi
  log "[$step/$steps] $label built in $((SECONDS - t0)) s"
}

VERSION_FLAG=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version
for b in "${build[@]}"; do
  case $b in
    cli)
      go_build "the Pulumi CLI v$PULUMI_VERSION (Go module proxy)" "$EST_CLI" "$MODULES/cli" "$WORK/pulumi" "$PULUMI_MAIN" \
        "-s -w -X $VERSION_FLAG=v$PULUMI_VERSION"
      ;;
    langhost)
      # upstream's go.mod replaces pkg/sdk with directories of the pulumi repository that the
      # tarball lacks: ours requires them at v$PULUMI_VERSION from the proxy instead
      mkdir "$WORK/langhost"
      tar -xzf "$LANGHOST_SRC" -C "$WORK/langhost" --strip-components=1
      cp "$MODULES/language-nodejs/go.mod" "$MODULES/language-nodejs/go.sum" "$WORK/langhost/"
      go_build "the Node.js language host v$PULUMI_VERSION (upstream source)" "$EST_LANGHOST" "$WORK/langhost" "$WORK/pulumi-language-nodejs" . \
        "-s -w -X $VERSION_FLAG=v$PULUMI_VERSION"
      ;;
    command)
      mkdir "$WORK/command"
      tar -xzf "$COMMAND_SRC" -C "$WORK/command" --strip-components=1
      go_build "the command provider v$COMMAND_VERSION (upstream source)" "$EST_COMMAND" "$WORK/command/provider" "$WORK/pulumi-resource-command" \
        ./cmd/pulumi-resource-command "-s -w -X github.com/pulumi/pulumi-command/provider/pkg/version.Version=$COMMAND_VERSION"
      ;;
  esac
done

# Install: new binaries into $BIN; drop ones that installed binaries now replace.
for b in pulumi pulumi-language-nodejs; do
  if [[ -e $WORK/$b ]]; then
    mv -f "$WORK/$b" "$BIN/$b"
  else
    rm -f "$BIN/$b"
  fi
done
provided=()
[[ -x $BIN/pulumi ]] && provided+=(pulumi)
[[ -x $BIN/pulumi-language-nodejs ]] && provided+=(pulumi-language-nodejs)
if [[ -e $WORK/pulumi-resource-command ]]; then
  # into Pulumi's plugin cache, where the engine looks for command v1.2.1 (no PATH warning)
  pulumi_bin=$BIN/pulumi
  [[ $pulumi_source == installed:* ]] && pulumi_bin=${pulumi_source#installed:}
  PULUMI_SKIP_UPDATE_CHECK=true "$pulumi_bin" plugin install resource command "$COMMAND_VERSION" \
    --file "$WORK/pulumi-resource-command" --reinstall >>"$BUILD_LOG" 2>&1 ||
    { tail -n 20 "$BUILD_LOG"; die "pulumi plugin install resource command $COMMAND_VERSION --file ... failed"; }
  command_source=built:$COMMAND_PLUGIN
fi
[[ -x $COMMAND_PLUGIN ]] || die "no command provider at $COMMAND_PLUGIN after the build"

log "pulumi: ${pulumi_source/#build/built from source, $BIN/pulumi}"
log "pulumi-language-nodejs: ${langhost_source/#build/built from source, $BIN/pulumi-language-nodejs}"
log "pulumi-resource-command: $command_source"

KEY=$(compute_key)
{
  printf 'key=%s\n' "$KEY"
  printf 'provided=%s\n' "${provided[*]}"
  printf 'pulumi=%s\nlanghost=%s\ncommand=%s\n' "$pulumi_source" "$langhost_source" "$command_source"
} >"$STAMP.tmp"
mv -f "$STAMP.tmp" "$STAMP"
finish
