#!/usr/bin/env bash
# Builds gofakes3, the S3-compatible object store the backup tests start on loopback as the
# off-site copy's stand-in (tests/backup-offsite.test.ts), from the Go module proxy, pinned:
# the module's version and its go.sum hash (checked by `go` against this pin and the checksum
# database). MinIO was the first choice; its build took 27 minutes on this machine's 2 cores,
# gofakes3's takes about a minute (8 on a busy machine). See docs/backups.md.
#
# Usage: bash tools/gofakes3.sh     # prints the binary's path; builds it only when missing
# The binary is cached in ${DHIS2_TOOLCHAIN_DIR:-<project>/.toolchain}/bin, as tools/toolchain.sh
# caches the Pulumi CLI.
set -euo pipefail

GOFAKES3_MODULE=github.com/johannesboyne/gofakes3
GOFAKES3_VERSION=v1.2.0
GOFAKES3_H1=h1:I9VEzPWvvAUAGzDlhYFoZjF0AXMlkcEyZlmBwiI6Oms=

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
TOOLCHAIN_DIR=${DHIS2_TOOLCHAIN_DIR:-$ROOT/.toolchain}
BIN=$TOOLCHAIN_DIR/bin
OUT=$BIN/gofakes3
STAMP=$TOOLCHAIN_DIR/gofakes3.stamp
want="$GOFAKES3_MODULE@$GOFAKES3_VERSION $GOFAKES3_H1"

if [[ -x $OUT && -f $STAMP && $(cat "$STAMP") == "$want" ]]; then
  echo "$OUT"
  exit 0
fi
command -v go >/dev/null || { echo "gofakes3: Go is needed to build it (see docs/toolchain.md)" >&2; exit 1; }
mkdir -p "$BIN"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "gofakes3: building $GOFAKES3_MODULE $GOFAKES3_VERSION (about a minute)" >&2
(
  cd "$work"
  go mod init gofakes3-build >/dev/null 2>&1
  go get "$GOFAKES3_MODULE/cmd/gofakes3@$GOFAKES3_VERSION" >&2
  # the module's hash as the pin says (go.sum was filled from the checksum database)
  grep -qxF "$GOFAKES3_MODULE $GOFAKES3_VERSION $GOFAKES3_H1" go.sum \
    || { echo "gofakes3: $GOFAKES3_MODULE $GOFAKES3_VERSION does not have the pinned hash $GOFAKES3_H1" >&2; exit 1; }
  nice -n 10 go build -trimpath -buildvcs=false -o "$OUT.tmp" "$GOFAKES3_MODULE/cmd/gofakes3" >&2
)
mv "$OUT.tmp" "$OUT"
echo "$want" >"$STAMP"
echo "$OUT"
