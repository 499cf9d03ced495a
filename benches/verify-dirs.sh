#!/usr/bin/env bash
# Benchmark: `binslim verify` over whole system directories vs `scanelf -RBn` (pax-utils), which
# reads the same ELF headers and prints DT_NEEDED. binslim additionally classifies linkage, reads
# Go build info and, for Go programs, the function-name table.
#
#   benches/verify-dirs.sh [DIR...]     default: /usr/bin /usr/lib/x86_64-linux-gnu
#   BINSLIM_BASE=/path/to/old/binslim benches/verify-dirs.sh
#                                       also times an older build in the same run (a refactor's
#                                       before and after) and prints new/base
#
# Needs hyperfine, scanelf and jq (apt-get install hyperfine pax-utils jq).
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/require.sh
require hyperfine:hyperfine scanelf:pax-utils jq:jq
cargo build --release --quiet
bin=$PWD/target/release/binslim
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=(/usr/bin /usr/lib/x86_64-linux-gnu)
echo "ELF files: $(scanelf -RBF '%F' "${dirs[@]}" 2>/dev/null | wc -l)"
# Warm the page cache first; both tools then read from memory. Alternated in one run, so load
# from elsewhere falls on both alike; the ratio is printed last (target, issue 14 §2: <= 0.8).
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
base=()
[ -z "${BINSLIM_BASE:-}" ] || base=(-n "base verify" "$BINSLIM_BASE verify --quiet ${dirs[*]}")
hyperfine --warmup 3 --runs "${RUNS:-30}" -N -i \
  -n "binslim verify" "$bin verify --quiet ${dirs[*]}" \
  -n "scanelf -RBn" "scanelf -RBn ${dirs[*]}" \
  "${base[@]}" \
  --export-json "$W/h.json"
jq -r '.results as $r | "ratio (binslim verify / scanelf -RBn): mean \(($r[0].mean / $r[1].mean) * 1000 | round / 1000), median \(($r[0].median / $r[1].median) * 1000 | round / 1000)"' "$W/h.json"
if [ -n "${BINSLIM_BASE:-}" ]; then
  jq -r '.results as $r | "ratio (binslim verify / base verify): mean \(($r[0].mean / $r[2].mean) * 1000 | round / 1000), median \(($r[0].median / $r[2].median) * 1000 | round / 1000)"' "$W/h.json"
fi
