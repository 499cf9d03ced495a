#!/usr/bin/env bash
# Strip steps and the upx step of `binslim shrink` on a large Go binary with DWARF, against GNU
# strip, llvm-strip and eu-strip: wall time (hyperfine), peak RSS and output bytes (/usr/bin/time -v).
# Usage: benches/shrink-large.sh [BINARY]   (default /usr/local/bin/docker, 42 MB Go with DWARF)
#        BINSLIM_BASE=/path/to/old/binslim benches/shrink-large.sh   also times an older build's
#        strip steps in the same run (a refactor's before and after)
# Targets (issue 4): strip steps <= 0.7x GNU strip's wall time, no higher peak RSS, no more bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/require.sh
require hyperfine:hyperfine strip:binutils llvm-strip:llvm eu-strip:elfutils /usr/bin/time:time
BIN=${1:-/usr/local/bin/docker}
cargo build --release -q
B=$PWD/target/release/binslim
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
echo "input: $BIN ($(stat -c %s "$BIN") bytes)"

# The strip steps alone: --no-gzip skips the wire-size measurement (that is the ledger, not strip).
hyperfine -N --warmup 3 --runs 20 \
  --prepare "rm -f $W/gnu $W/llvm $W/eu $W/ours $W/base" \
  "strip --strip-all -o $W/gnu $BIN" \
  "llvm-strip --strip-all -o $W/llvm $BIN" \
  "eu-strip -o $W/eu $BIN" \
  "$B shrink --no-gzip -o $W/ours $BIN" \
  ${BINSLIM_BASE:+"$BINSLIM_BASE shrink --no-gzip -o $W/base $BIN"} \
  --export-markdown "$W/strip.md"
cat "$W/strip.md"

echo
echo "| tool | peak RSS (KiB) | output bytes |"
echo "|---|---|---|"
rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident/ {print $2}'; }
rm -f "$W"/*; echo "| strip --strip-all | $(rss strip --strip-all -o "$W/gnu" "$BIN") | $(stat -c %s "$W/gnu") |"
echo "| llvm-strip --strip-all | $(rss llvm-strip --strip-all -o "$W/llvm" "$BIN") | $(stat -c %s "$W/llvm") |"
echo "| eu-strip | $(rss eu-strip -o "$W/eu" "$BIN") | $(stat -c %s "$W/eu") |"
echo "| binslim shrink --no-gzip | $(rss "$B" shrink --no-gzip -o "$W/ours" "$BIN") | $(stat -c %s "$W/ours") |"
rm -f "$W/ours"
echo "| binslim shrink (with gzip ledger) | $(rss "$B" shrink -o "$W/ours" "$BIN") | $(stat -c %s "$W/ours") |"

# The upx step: binslim shrink --upx minus binslim shrink, against upx on the stripped file.
if command -v upx >/dev/null; then
  cp "$W/ours" "$W/stripped"
  hyperfine -N --warmup 1 --runs 5 \
    --prepare "rm -f $W/packed $W/o1 $W/o2" \
    "upx -q -o $W/packed $W/stripped" \
    "$B shrink --no-gzip -o $W/o1 $W/stripped" \
    "$B shrink --no-gzip --upx -o $W/o2 $W/stripped" \
    --export-markdown "$W/upx.md"
  cat "$W/upx.md"
  echo "(upx step overhead = third row - second row - first row)"
fi
