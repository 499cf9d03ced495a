#!/usr/bin/env bash
# Benchmark (issue 22): `binslim sbom` (SPDX and CycloneDX) on a large Go binary against
# `go version -m` of the same file, which reads the same build info and prints it as text.
#
#   benches/sbom.sh [GO-BINARY]   # default: /usr/local/bin/docker (the docker CLI), else the
#                                 # largest of terraform, kpt, kubectl present, else cmd/go
#
# Needs hyperfine and Go (/usr/lib/go-1.23/bin/go or go on PATH). Goal: sbom <= 1.0 x
# go version -m. binslim also hashes the whole file (the program's SHA-256), which go does not.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/require.sh
require hyperfine:hyperfine
go=/usr/lib/go-1.23/bin/go
[ -x "$go" ] || go=$(command -v go) || {
  echo "$(basename "$0"): needs Go: apt-get install -y golang-1.23-go" >&2
  exit 2
}
cargo build --release --quiet
bin=target/release/binslim
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

file=${1:-}
if [ -z "$file" ]; then
  for f in /usr/local/bin/docker /usr/local/bin/terraform /usr/bin/kpt /usr/bin/kubectl; do
    if [ -f "$f" ]; then file=$f; break; fi
  done
fi
if [ -z "$file" ]; then
  echo "== no large Go program here: building cmd/go"
  file=$work/go-cmd
  GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GOCACHE=$work/cache "$go" build -o "$file" cmd/go
fi
echo "== $file: $(stat -c %s "$file") bytes, $("$go" version -m "$file" | grep -c '^	dep') dependencies"
# The page cache warm for both, so the comparison is of the work, not of the disk.
cat "$file" >/dev/null
# sha256sum and openssl (SHA-NI where the CPU has it) are the reference for the part go does not
# do: the SBOM holds the file's SHA-256, so `go version -m` + the hash is the floor.
hyperfine -N --warmup 5 --runs 40 \
  "$go version -m $file" \
  "sha256sum $file" \
  "openssl dgst -sha256 $file" \
  "$bin inspect $file" \
  "$bin sbom $file" \
  "$bin sbom --format cyclonedx $file"
