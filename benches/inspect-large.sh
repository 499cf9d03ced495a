#!/usr/bin/env bash
# Benchmark: `binslim inspect` on a 1 MiB-class binary vs the same binary with a 1 GiB debug
# section added. inspect reads only headers and small sections, so both should cost the same.
#
#   benches/inspect-large.sh            # needs hyperfine, objcopy (binutils), /usr/bin/time
#
# Prints hyperfine's table and the peak RSS of each run.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/require.sh
require hyperfine:hyperfine objcopy:binutils /usr/bin/time:time
cargo build --release --quiet
bin=target/release/binslim
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

small=$work/small
cp testdata/c-static "$small"
truncate -s 1G "$work/zeros"
objcopy --add-section .debug_huge="$work/zeros" --set-section-flags .debug_huge=readonly \
  "$small" "$work/huge"
rm "$work/zeros"
ls -l "$small" "$work/huge"

hyperfine --warmup 3 -N \
  -n "inspect $(du -h "$small" | cut -f1) file" "$bin inspect --json $small" \
  -n "inspect 1 GiB file" "$bin inspect --json $work/huge"

for f in "$small" "$work/huge"; do
  /usr/bin/time -f "peak RSS %M KiB  ($f)" "$bin" inspect --json "$f" >/dev/null
done
