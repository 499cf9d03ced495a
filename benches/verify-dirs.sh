#!/usr/bin/env bash
# Benchmark: `binslim verify` over whole system directories vs `scanelf -RBn` (pax-utils), which
# reads the same ELF headers and prints DT_NEEDED. binslim additionally classifies linkage, reads
# Go build info and, for Go programs, the function-name table.
#
#   benches/verify-dirs.sh [DIR...]     default: /usr/bin /usr/lib/x86_64-linux-gnu
#   BINSLIM_BASE=/path/to/old/binslim benches/verify-dirs.sh
#                                       also times an older build in the same run (a refactor's
#                                       before and after) and prints new/base
#   TASKSET=1 benches/verify-dirs.sh    every command pinned to one core (taskset -c 0), so that
#                                       the figure does not depend on an idle second core
#   benches/verify-dirs.sh /usr/bin     with qemu-user-static installed: the tree of large static
#                                       programs (35 static-pie glibc programs of 12 MB whose
#                                       .rodata verify searches for NSS module names)
#   WITHOUT_GO=1 benches/verify-dirs.sh /usr/bin
#                                       the same tree without its Go programs (podman, skopeo...),
#                                       as hard links in a temporary directory: the work both
#                                       tools do. verify reads a Go program's function names
#                                       (6 MB for the five in /usr/bin) to tell exactly which
#                                       run-time files it loads; scanelf reads nothing like it
#
# On a shared machine, CPU time (printed last, from `perf stat -e task-clock`) and
# `valgrind --tool=callgrind` (instructions) are steadier than wall time.
# Needs hyperfine, scanelf and jq (apt-get install hyperfine pax-utils jq; taskset: util-linux).
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/require.sh
require hyperfine:hyperfine scanelf:pax-utils jq:jq
cargo build --release --quiet
bin=$PWD/target/release/binslim
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=(/usr/bin /usr/lib/x86_64-linux-gnu)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
if [ "${WITHOUT_GO:-}" = 1 ]; then
  require readelf:binutils
  farm=()
  for d in "${dirs[@]}"; do
    mkdir -p "$W/tree$d"
    # Hard links on the same file system (the same pages in the cache), else copies.
    cp -al "$d/." "$W/tree$d/" 2>/dev/null || cp -a "$d/." "$W/tree$d/"
    farm+=("$W/tree$d")
  done
  dirs=("${farm[@]}")
  go=()
  while IFS= read -r f; do
    if readelf -SW "$f" 2>/dev/null | grep -q '\.go\.buildinfo'; then go+=("$f"); fi
  done < <(scanelf -RBF '%F' "${dirs[@]}" 2>/dev/null)
  echo "left out, Go programs: ${#go[@]}"
  [ ${#go[@]} -eq 0 ] || rm -f "${go[@]}"
fi
echo "ELF files: $(scanelf -RBF '%F' "${dirs[@]}" 2>/dev/null | wc -l)"
echo "of them over 1 MB without PT_INTERP (static programs, libraries):" \
  "$(scanelf -RBF '%F %i' "${dirs[@]}" 2>/dev/null | awk 'NF == 1 {print $1}' \
    | xargs -r stat -c %s | awk '$1 > 1048576' | wc -l)"
pin=""
if [ "${TASKSET:-}" = 1 ]; then
  require taskset:util-linux
  pin="taskset -c 0 "
  echo "pinned: every command runs on CPU 0 only"
fi
# Warm the page cache first; both tools then read from memory. Alternated in one run, so load
# from elsewhere falls on both alike; the ratio is printed last (target, issue 14 §2: <= 0.8).
base=()
[ -z "${BINSLIM_BASE:-}" ] || base=(-n "base verify" "$pin$BINSLIM_BASE verify --quiet ${dirs[*]}")
hyperfine --warmup 3 --runs "${RUNS:-30}" -N -i \
  -n "binslim verify" "$pin$bin verify --quiet ${dirs[*]}" \
  -n "scanelf -RBn" "${pin}scanelf -RBn ${dirs[*]}" \
  "${base[@]}" \
  --export-json "$W/h.json"
jq -r '.results as $r | "ratio (binslim verify / scanelf -RBn): mean \(($r[0].mean / $r[1].mean) * 1000 | round / 1000), median \(($r[0].median / $r[1].median) * 1000 | round / 1000)"' "$W/h.json"
if [ -n "${BINSLIM_BASE:-}" ]; then
  jq -r '.results as $r | "ratio (binslim verify / base verify): mean \(($r[0].mean / $r[2].mean) * 1000 | round / 1000), median \(($r[0].median / $r[2].median) * 1000 | round / 1000)"' "$W/h.json"
fi
# CPU time (task-clock), which other load on the machine disturbs less than wall time: with
# perf installed (apt-get install linux-perf), the commands taking turns CPU_RUNS times (60),
# medians and their ratio.
if command -v perf >/dev/null 2>&1; then
  args=("binslim verify" "$bin verify --quiet ${dirs[*]}" "scanelf -RBn" "scanelf -RBn ${dirs[*]}")
  [ -z "${BINSLIM_BASE:-}" ] || args+=("base verify" "$BINSLIM_BASE verify --quiet ${dirs[*]}")
  PIN=$pin cpu_turns "${CPU_RUNS:-60}" "${args[@]}"
fi
