#!/usr/bin/env bash
# Benchmark: the default `binslim shrink` (strip steps + the gzip wire-size ledger of every step)
# against one `gzip -6 -c` of the same input, alternated in one hyperfine run, and the ratio.
# Also checks each wire size in the ledger against gzip -6 over the step's real bytes.
#
#   benches/shrink-wire.sh [BINARY]     default: /usr/local/bin/docker (42.8 MB Go CLI with DWARF)
#
# Target (issue 14 §1): ratio <= 0.5, every wire size within 0.5 % of gzip -6.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/require.sh
require hyperfine:hyperfine gzip:gzip jq:jq
BIN=${1:-/usr/local/bin/docker}
cargo build --release -q
B=$PWD/target/release/binslim
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
echo "input: $BIN ($(stat -c %s "$BIN") bytes), $(nproc) cores"

hyperfine -N --warmup 2 --runs "${RUNS:-20}" \
  --prepare "rm -f $W/x" \
  -n "binslim shrink" "$B shrink -o $W/x $BIN" \
  -n "gzip -6" "gzip -6 -c $BIN" \
  --export-json "$W/h.json"
jq -r '.results as $r | "ratio (mean binslim shrink / mean gzip -6): \(($r[0].mean / $r[1].mean) * 1000 | round / 1000)  (median: \(($r[0].median / $r[1].median) * 1000 | round / 1000))"' "$W/h.json"

# hyperfine runs each command's runs in a block; on a shared machine load can change between
# blocks. Alternated pairs put the same load on both: the mean of the per-pair ratios.
echo
echo "alternated pairs (${PAIRS:-8}): binslim shrink s, gzip -6 s"
for _ in $(seq "${PAIRS:-8}"); do
  rm -f "$W/x"
  t0=$(date +%s%N); "$B" shrink -o "$W/x" "$BIN" >/dev/null; t1=$(date +%s%N)
  gzip -6 -c "$BIN" >/dev/null; t2=$(date +%s%N)
  echo "$(( (t1 - t0) / 1000000 )) $(( (t2 - t1) / 1000000 ))"
done | awk '{ printf "  %.3f %.3f\n", $1 / 1000, $2 / 1000; r += $1 / $2; n++ } END { printf "ratio (mean of pairs): %.3f\n", r / n }'

echo
echo "wire sizes: binslim ledger vs gzip -6 -c < bytes | wc -c"
rm -f "$W/x"
"$B" shrink --json -o "$W/x" "$BIN" >"$W/j.json"
row() { # name ours bytes-file
  local g; g=$(gzip -6 -c <"$3" | wc -c)
  awk -v n="$1" -v a="$2" -v b="$g" 'BEGIN { printf "%-16s binslim %10d  gzip -6 %10d  %+.3f %%\n", n, a, b, 100 * (a - b) / b }'
}
row original "$(jq '.original_gzip_size' "$W/j.json")" "$BIN"
row stripped "$(jq '.gzip_size' "$W/j.json")" "$W/x"
if command -v upx >/dev/null; then
  rm -f "$W/u"
  "$B" shrink --upx --json -o "$W/u" "$BIN" >"$W/u.json"
  if [ "$(jq -r '.upx.outcome' "$W/u.json")" = packed ]; then
    row upx "$(jq '.steps[] | select(.step == "upx") | .gzip_size' "$W/u.json")" "$W/u"
  fi
fi

# zstd (issue 22 §3): `shrink --wire zstd` against one `zstd -3 -c` and `shrink` (gzip), and
# each zstd wire size against `zstd -3 -c FILE | wc -c` (the figure is libzstd 1.5.8's level 3:
# exact for a zstd CLI on that library, within 0.2 % of older CLIs such as bookworm's 1.5.4).
if command -v zstd >/dev/null; then
  echo
  echo "zstd: $(zstd -V)"
  hyperfine -N --warmup 2 --runs "${RUNS:-20}" \
    --prepare "rm -f $W/x" \
    -n "binslim shrink (gzip)" "$B shrink -o $W/x $BIN" \
    -n "binslim shrink --wire zstd" "$B shrink --wire zstd -o $W/x $BIN" \
    -n "binslim shrink --wire both" "$B shrink --wire both -o $W/x $BIN" \
    -n "zstd -3" "zstd -3 -q -c $BIN"
  rm -f "$W/x"
  "$B" shrink --wire zstd --json -o "$W/x" "$BIN" >"$W/z.json"
  zrow() { # name ours bytes-file
    local z; z=$(zstd -3 -q -c "$3" | wc -c)
    awk -v n="$1" -v a="$2" -v b="$z" 'BEGIN { printf "%-16s binslim %10d  zstd -3 %10d  %+.3f %%\n", n, a, b, 100 * (a - b) / b }'
  }
  zrow original "$(jq '.original_zstd_size' "$W/z.json")" "$BIN"
  zrow stripped "$(jq '.zstd_size' "$W/z.json")" "$W/x"
fi
