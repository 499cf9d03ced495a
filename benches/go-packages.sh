#!/usr/bin/env bash
# Benchmark (issue 13 §6): Go package rows on a ~40 MB Go binary vs `go tool nm -size -sort
# size` of the same file, and plain `inspect` on a Go binary with and without a 1 GiB debug
# section (its cost must not grow: the pclntab is read only when packages are asked for).
#
#   benches/go-packages.sh [GO-BINARY]   # default: /usr/local/bin/docker (Go 1.24, lld,
#                                        # 42.8 MB), else cmd/go built with Go 1.23
#
# Needs hyperfine, objcopy (binutils) and Go (/usr/lib/go-1.23/bin/go or go on PATH).
# Goal: packages <= 0.5 x go tool nm; inspect of the 1 GiB file ~ inspect of the small one.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/require.sh
require hyperfine:hyperfine objcopy:binutils
go=/usr/lib/go-1.23/bin/go
[ -x "$go" ] || go=$(command -v go) || {
  echo "$(basename "$0"): needs Go: apt-get install -y golang-1.23-go" >&2
  exit 2
}
cargo build --release --quiet --example packages
bin=target/release/binslim
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

file=${1:-/usr/local/bin/docker}
if [ ! -f "$file" ]; then
  echo "== $file is missing: building cmd/go as the large Go binary"
  file=$work/go-cmd
  GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GOCACHE=$work/cache "$go" build -o "$file" cmd/go
fi
ls -l "$file"

# `inspect --packages` once the CLI has it; the library example (same code path) before.
if "$bin" inspect --help | grep -q -- '--packages'; then
  packages="$bin inspect --packages --json $file"
else
  packages="target/release/examples/packages $file"
fi
hyperfine --warmup 2 -N \
  -n "binslim packages" "$packages" \
  -n "go tool nm -size -sort size" "$go tool nm -size -sort size $file"

# Plain inspect: a Go binary vs the same with a 1 GiB debug section added.
small=$work/go-small
cp testdata/go-static "$small"
truncate -s 1G "$work/zeros"
objcopy --add-section .debug_huge="$work/zeros" --set-section-flags .debug_huge=readonly \
  "$small" "$work/go-huge"
rm "$work/zeros"
ls -l "$small" "$work/go-huge"
hyperfine --warmup 3 -N \
  -n "inspect Go $(du -h "$small" | cut -f1) file" "$bin inspect --json $small" \
  -n "inspect Go 1 GiB file" "$bin inspect --json $work/go-huge" \
  -n "inspect $(basename "$file") ($(du -h "$file" | cut -f1))" "$bin inspect --json $file"
