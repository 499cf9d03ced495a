#!/usr/bin/env bash
# `binslim push` of the docker CLI image (~40 MB program) to a loopback registry (Debian's
# docker-registry, plain HTTP, its own storage) against `skopeo copy` of the same archive, and
# a second push (every blob already there) against the first: wall time with hyperfine.
# Usage: benches/push.sh [PROGRAM]   (default /usr/local/bin/docker, a 42 MB static Go binary;
# without it, a 40 MB program is made by appending copies of testdata/go-static to itself)
# Targets (issue 21): binslim push <= 1.0x skopeo copy; a second push <= 0.2x the first.
#
# Each first push starts from an empty registry (hyperfine --prepare removes its storage; the
# registry keeps no blob cache in memory with this configuration). skopeo reads the
# oci-archive form of the same image, whose gzip layer it copies as it is (from a docker-archive
# it would recompress the layer, which is slower still).
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/require.sh
require hyperfine:hyperfine skopeo:skopeo docker-registry:docker-registry curl:curl
cargo build --release -q
B=$PWD/target/release/binslim
W=$(mktemp -d)
REG_PID=
cleanup() {
  [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
PROG=${1:-/usr/local/bin/docker}
if [ ! -f "$PROG" ]; then
  PROG=$W/program
  for _ in $(seq 35); do cat testdata/go-static; done > "$PROG"
  chmod +x "$PROG"
fi
echo "input: $PROG ($(stat -c %s "$PROG") bytes)"

"$B" image "$PROG" -o "$W/image.tar" --format oci --tag bench:1 > /dev/null
echo "image: $W/image.tar ($(stat -c %s "$W/image.tar") bytes, oci-archive)"

# A free loopback port, a registry on it, ready when GET /v2/ answers.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$W/data"
cat > "$W/config.yml" <<EOF
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $W/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$PORT}
EOF
docker-registry serve "$W/config.yml" > "$W/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$PORT/v2/" > /dev/null 2>&1 && break
  sleep 0.1
done
REG=127.0.0.1:$PORT
EMPTY="rm -rf $W/data/docker"
export REGISTRY_AUTH_FILE=$W/none.json

hyperfine --warmup 1 --runs 10 --prepare "$EMPTY" \
  -n "binslim push" "$B push --insecure $W/image.tar $REG/bench/app:1" \
  -n "skopeo copy" "skopeo copy -q --dest-tls-verify=false oci-archive:$W/image.tar docker://$REG/bench/app:1" \
  --export-markdown "$W/first.md"
cat "$W/first.md"
echo

# The second push: the registry has every blob (one push made it so), only the manifest goes.
"$B" push --insecure "$W/image.tar" "$REG/bench/app:1" > /dev/null
hyperfine --warmup 1 --runs 10 --prepare true --prepare "$EMPTY" \
  -n "binslim push (all blobs there)" "$B push --insecure $W/image.tar $REG/bench/app:2" \
  -n "binslim push (first)" "$B push --insecure $W/image.tar $REG/bench/app:1" \
  --export-markdown "$W/second.md"
cat "$W/second.md"
