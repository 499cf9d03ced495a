#!/usr/bin/env bash
# Benchmark: `binslim verify` over whole system directories vs `scanelf -RBn` (pax-utils), which
# reads the same ELF headers and prints DT_NEEDED. binslim additionally classifies linkage, reads
# Go build info and, for Go programs, the function-name table.
#
#   benches/verify-dirs.sh [DIR...]     default: /usr/bin /usr/lib/x86_64-linux-gnu
#
# Needs hyperfine and scanelf (apt-get install hyperfine pax-utils).
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/require.sh
require hyperfine:hyperfine scanelf:pax-utils
cargo build --release --quiet
bin=$PWD/target/release/binslim
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=(/usr/bin /usr/lib/x86_64-linux-gnu)
echo "ELF files: $(scanelf -RBF '%F' "${dirs[@]}" 2>/dev/null | wc -l)"
# Warm the page cache first; both tools then read from memory.
hyperfine --warmup 2 --runs 30 -N -i \
  -n "binslim verify" "$bin verify --quiet ${dirs[*]}" \
  -n "scanelf -RBn" "scanelf -RBn ${dirs[*]}"
