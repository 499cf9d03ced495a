#!/usr/bin/env bash
# A short fuzz run of every target, seeded from testdata/ (CI runs this after the tests; the
# long runs are described in README.md's development section).
#
#   fuzz/smoke.sh            # 30 s per target
#   FUZZ_SECONDS=300 fuzz/smoke.sh
#
# Exits non-zero when a target crashes; the crashing input is left in fuzz/artifacts/TARGET/.
# Without the nightly toolchain or cargo-fuzz it skips (exit 0, with a message), except when
# BINSLIM_REQUIRE_TOOLS is set (.ci/run sets it): then it fails, so CI cannot pass unfuzzed.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${FUZZ_SECONDS:-30}"
cannot_fuzz() {
  if [ -n "${BINSLIM_REQUIRE_TOOLS:-}" ] && [ "${BINSLIM_REQUIRE_TOOLS}" != 0 ]; then
    echo "fuzz smoke FAILED: $1 (BINSLIM_REQUIRE_TOOLS is set)"
    exit 1
  fi
  echo "fuzz smoke skipped: $1"
  exit 0
}
if ! cargo +nightly --version >/dev/null 2>&1; then
  cannot_fuzz "no nightly toolchain (rustup toolchain install nightly)"
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== cargo install cargo-fuzz"
  if ! cargo install --locked --quiet cargo-fuzz </dev/null; then
    cannot_fuzz "cargo-fuzz could not be installed"
  fi
fi

log="$(mktemp)"
corpus="$(mktemp -d)"
trap 'rm -rf "$log" "$corpus"' EXIT
for target in analyze strip verify image pclntab; do
  rm -rf "${corpus:?}"/*
  # New inputs go to the throwaway first corpus; testdata/ is only read.
  if ! cargo +nightly fuzz run "$target" "$corpus" testdata -- \
    -max_len=131072 -timeout=10 -rss_limit_mb=2048 -seed=1 \
    -max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1 </dev/null; then
    tail -n 60 "$log"
    echo "fuzz smoke: target $target FAILED (crash input in fuzz/artifacts/$target/)"
    exit 1
  fi
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
  echo "fuzz smoke: $target: ${runs:-?} executions in ${secs} s, no crash"
done
