#!/usr/bin/env bash
# `binslim image` on a ~40 MB program against `tar c | gzip -6` of the same files: wall time
# (hyperfine), and the gzip layer's size against gzip's.
# Usage: benches/image-build.sh [PROGRAM]   (default /usr/local/bin/docker, a 42 MB static Go
# binary; without it, a 40 MB program is made by appending copies of testdata/go-static to itself)
# Target (issue 12): binslim image <= 1.1x the time of tar c | gzip -6.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/require.sh
require hyperfine:hyperfine gzip:gzip tar:tar
cargo build --release -q
B=$PWD/target/release/binslim
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
PROG=${1:-/usr/local/bin/docker}
if [ ! -f "$PROG" ]; then
  PROG=$W/program
  for _ in $(seq 35); do cat testdata/go-static; done > "$PROG"
  chmod +x "$PROG"
fi
NAME=$(basename "$PROG")
echo "input: $PROG ($(stat -c %s "$PROG") bytes)"

# The same files binslim puts in the layer (without CA bundle and zoneinfo): program, passwd,
# group, the nonroot home and /tmp.
"$B" image "$PROG" -o "$W/ref.tar" --ca-certs no --tzdata no --json > "$W/ref.json"
mkdir -p "$W/root/etc" "$W/root/home/nonroot" "$W/root/tmp"
cp "$PROG" "$W/root/$NAME"
tar -xOf "$W/ref.tar" >/dev/null  # the archive reads back
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$W/root/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' > "$W/root/etc/group"

hyperfine --warmup 1 --runs 10 \
  "tar -C $W/root -c . | gzip -6 > $W/layer.tar.gz" \
  "$B image $PROG -o $W/image.tar --force --ca-certs no --tzdata no" \
  --export-markdown "$W/build.md"
cat "$W/build.md"

echo
echo "| what | bytes |"
echo "|---|---|"
echo "| tar c \| gzip -6 | $(stat -c %s "$W/layer.tar.gz") |"
echo "| binslim layer blob (layers[0].size) | $(sed -n 's/.*"size": \([0-9]*\),.*/\1/p' "$W/ref.json" | head -1) |"
echo "| binslim image tar (whole archive) | $(stat -c %s "$W/image.tar") |"
