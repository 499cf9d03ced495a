#!/usr/bin/env bash
# Benchmark: `binslim verify --image docker://REF` of an image with a 1 GiB data layer under a
# static entrypoint, from a real registry on 127.0.0.1: wall time and peak memory (goal, issue
# 21: <= 64 MB), against `skopeo copy` of the same image into an OCI layout (which downloads the
# same bytes).
#
#   benches/verify-registry.sh [SIZE]    SIZE of the data file, for head -c (default 1G)
#
# The image is written without an engine: layer 1 is a tar of SIZE random bytes (gzip -1: it
# does not shrink, so the whole SIZE travels), layer 2 is testdata/c-static as /server. It is
# uploaded with curl (monolithic POST + PUT) to Debian's docker-registry serving plain HTTP on a
# free loopback port, stopped on exit. Needs docker-registry, curl, gzip, GNU tar, sha256sum,
# GNU time, skopeo, python3
# (apt-get install docker-registry curl gzip tar coreutils time skopeo python3).
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/require.sh
require docker-registry:docker-registry curl:curl gzip:gzip tar:tar sha256sum:coreutils \
  /usr/bin/time:time skopeo:skopeo python3:python3
size=${1:-1G}
cargo build --release --quiet
bin=$PWD/target/release/binslim

work="$(mktemp -d "${TMPDIR:-/tmp}/binslim-bench-XXXXXX")"
reg_pid=
cleanup() {
  [ -z "$reg_pid" ] || kill "$reg_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/data" "$work/ctx" "$work/layers"
cat >"$work/config.yml" <<EOF
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $work/data}}
http: {addr: 127.0.0.1:$port}
EOF
docker-registry serve "$work/config.yml" >"$work/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break
  sleep 0.1
done
base="http://127.0.0.1:$port/v2/bench"

echo "making the image ($size of random data, gzip -1)..." >&2
head -c "$size" /dev/urandom >"$work/ctx/data.bin"
cp testdata/c-static "$work/ctx/server"
tar --numeric-owner -cf "$work/layers/data.tar" -C "$work/ctx" data.bin
rm "$work/ctx/data.bin"
tar --numeric-owner -cf "$work/layers/server.tar" -C "$work/ctx" server
for l in data server; do gzip -1 -n "$work/layers/$l.tar" -c >"$work/layers/$l.tar.gz"; done

# Uploads FILE as a blob; prints its descriptor's "digest" and "size" fields.
upload() {
  local file=$1 digest size loc
  digest="sha256:$(sha256sum "$file" | cut -d' ' -f1)"
  size=$(stat -c %s "$file")
  loc=$(curl -fsS -X POST -D - -o /dev/null "$base/blobs/uploads/" |
    tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  case $loc in http*) ;; *) loc="http://127.0.0.1:$port$loc" ;; esac
  curl -fsS -X PUT -H 'Content-Type: application/octet-stream' -T "$file" \
    "$loc&digest=$digest" -o /dev/null
  printf '"digest":"%s","size":%s' "$digest" "$size"
}
diff_data="sha256:$(sha256sum "$work/layers/data.tar" | cut -d' ' -f1)"
diff_server="sha256:$(sha256sum "$work/layers/server.tar" | cut -d' ' -f1)"
printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/server"]},"rootfs":{"type":"layers","diff_ids":["%s","%s"]}}' \
  "$diff_data" "$diff_server" >"$work/config.json"
gz=application/vnd.oci.image.layer.v1.tar+gzip
manifest="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",$(upload "$work/config.json")},\"layers\":[{\"mediaType\":\"$gz\",$(upload "$work/layers/data.tar.gz")},{\"mediaType\":\"$gz\",$(upload "$work/layers/server.tar.gz")}]}"
curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
  --data-binary "$manifest" "$base/manifests/1" -o /dev/null
rm -rf "$work/layers"
ref="127.0.0.1:$port/bench:1"
layer_size=$(printf '%s' "$manifest" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["size"])')

# Runs CMD under GNU time; prints "seconds peak-KiB".
measure() {
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$work/out" 2>"$work/err" || {
    echo "failed: $*" >&2
    cat "$work/out" "$work/err" >&2
    exit 1
  }
  cat "$work/time"
}
read -r b_s b_kib < <(measure "$bin" verify --insecure --image "docker://$ref")
verdict=$(cat "$work/out")
read -r s_s s_kib < <(measure skopeo copy --quiet --src-tls-verify=false "docker://$ref" "oci:$work/skopeo:x")
rm -rf "$work/skopeo"

echo "image: docker://$ref, layers: $layer_size B (random data, gzip) + /server"
echo "binslim: $verdict"
printf '%-58s %8s s  peak %6d KiB (%.1f MB)\n' \
  "binslim verify --insecure --image docker://REF" "$b_s" "$b_kib" "$(awk "BEGIN{print $b_kib/1024}")"
printf '%-58s %8s s  peak %6d KiB (%.1f MB)\n' \
  "skopeo copy docker://REF oci:DIR (same bytes)" "$s_s" "$s_kib" "$(awk "BEGIN{print $s_kib/1024}")"
if [ "$b_kib" -le $((64 * 1024)) ]; then
  echo "peak memory <= 64 MB: yes"
else
  echo "peak memory <= 64 MB: NO" >&2
  exit 1
fi
