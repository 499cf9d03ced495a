#!/usr/bin/env bash
# Benchmark: `binslim verify --image` on a ~1 GiB image vs listing the same archive with tar.
#
#   benches/verify-image.sh [DIR...]   default: /usr/lib/x86_64-linux-gnu /usr/lib/llvm-14
#   BINSLIM_BASE=/path/to/old/binslim benches/verify-image.sh
#                                       also times an older build on the docker-archive in the
#                                       same run and prints new/base
#   TMPDIR=/dev/shm or TMPDIR=/var/tmp  where the archives and binslim's private root go: a
#                                       tmpfs, or a disk where each mkdir or symlink binslim
#                                       makes costs (0.3-1 ms on an ext4 VM disk)
#
# Writes the image without an engine (so it runs anywhere): one layer with the DIRs and
# testdata/c-static as /server, as
#   - a docker-archive with the layer uncompressed (what `docker save` / `podman save` write), and
#   - an oci-archive with the layer gzip-compressed (what a registry serves, `podman save
#     --format oci-archive`),
# then compares binslim (by default, which seeks over the uncompressed layer's payload, and with
# --verify-digests, which reads and hashes all of it) with `tar -tf` of the archive and of the
# layer inside it (which lists every file, as binslim must read every header), and `tar -tzf`
# of the gzip layer, and `skopeo inspect` of the docker-archive (which reads its manifest and
# config; target, issue 20 §8: binslim <= 0.5x of it). Peak memory comes from /usr/bin/time -v,
# the bytes binslim writes (into its temporary root) from strace. Needs hyperfine, GNU tar, gzip,
# sha256sum, GNU time, skopeo, jq and strace
# (apt-get install hyperfine tar gzip coreutils time skopeo jq strace).
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/require.sh
require hyperfine:hyperfine tar:tar gzip:gzip sha256sum:coreutils /usr/bin/time:time \
  skopeo:skopeo jq:jq strace:strace
cargo build --release --quiet
bin=$PWD/target/release/binslim
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=(/usr/lib/x86_64-linux-gnu /usr/lib/llvm-14)

work="$(mktemp -d "${TMPDIR:-/tmp}/binslim-bench-XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/ctx" "$work/docker" "$work/oci/blobs/sha256"
cp testdata/c-static "$work/ctx/server"
rel=()
for d in "${dirs[@]}"; do rel+=("${d#/}"); done
# One uncompressed layer: the directories (relative, as engines store them) and /server.
tar --numeric-owner -cf "$work/layer.tar" -C / "${rel[@]}" -C "$work/ctx" server
gzip -6 -n -c "$work/layer.tar" >"$work/layer.tar.gz"
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
gz_id=$(sha256sum "$work/layer.tar.gz" | cut -d' ' -f1)

config="{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Entrypoint\":[\"/server\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff_id\"]}}"
printf '%s' "$config" >"$work/config.json"
cfg_id=$(sha256sum "$work/config.json" | cut -d' ' -f1)

# docker-archive: manifest.json, <config hex>.json, <diff_id>.tar (podman save's layout).
cp "$work/config.json" "$work/docker/$cfg_id.json"
ln "$work/layer.tar" "$work/docker/$diff_id.tar"
printf '[{"Config":"%s.json","RepoTags":["bench:latest"],"Layers":["%s.tar"]}]' \
  "$cfg_id" "$diff_id" >"$work/docker/manifest.json"
tar -cf "$work/docker.tar" -C "$work/docker" "$cfg_id.json" "$diff_id.tar" manifest.json

# oci-archive: oci-layout, index.json, blobs/sha256/{manifest,config,gzip layer}.
cp "$work/config.json" "$work/oci/blobs/sha256/$cfg_id"
ln "$work/layer.tar.gz" "$work/oci/blobs/sha256/$gz_id"
gz_size=$(stat -c %s "$work/layer.tar.gz")
cfg_size=$(stat -c %s "$work/config.json")
manifest="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$cfg_id\",\"size\":$cfg_size},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$gz_id\",\"size\":$gz_size}]}"
printf '%s' "$manifest" >"$work/manifest.json"
m_id=$(sha256sum "$work/manifest.json" | cut -d' ' -f1)
m_size=$(stat -c %s "$work/manifest.json")
cp "$work/manifest.json" "$work/oci/blobs/sha256/$m_id"
printf '{"imageLayoutVersion":"1.0.0"}' >"$work/oci/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s}]}' \
  "$m_id" "$m_size" >"$work/oci/index.json"
tar -cf "$work/oci.tar" -C "$work/oci" oci-layout blobs index.json

echo "files in the layer: $(tar -tf "$work/layer.tar" | wc -l)"
ls -l "$work/docker.tar" "$work/oci.tar" | awk '{print $5, $9}'
"$bin" verify --image "$work/docker.tar"
"$bin" verify --image "$work/oci.tar"

# Warm the page cache first; every tool then reads from memory. binslim and skopeo (and an older
# binslim) alternate in one run, so load from elsewhere falls on all alike; the ratios are
# printed after.
base=()
[ -z "${BINSLIM_BASE:-}" ] || base=(-n "base verify --image docker.tar" \
  "$BINSLIM_BASE verify --image $work/docker.tar")
hyperfine --warmup 3 --runs "${RUNS:-20}" -N \
  -n "binslim verify --image docker.tar" "$bin verify --image $work/docker.tar" \
  -n "skopeo inspect docker-archive:docker.tar" "skopeo inspect docker-archive:$work/docker.tar" \
  "${base[@]}" \
  --export-json "$work/h.json"
jq -r '.results as $r | "ratio (binslim verify --image / skopeo inspect, docker.tar): mean \(($r[0].mean / $r[1].mean) * 1000 | round / 1000), median \(($r[0].median / $r[1].median) * 1000 | round / 1000)"' "$work/h.json"
if [ -n "${BINSLIM_BASE:-}" ]; then
  jq -r '.results as $r | "ratio (base verify --image / skopeo inspect, docker.tar): mean \(($r[2].mean / $r[1].mean) * 1000 | round / 1000), median \(($r[2].median / $r[1].median) * 1000 | round / 1000)"' "$work/h.json"
  jq -r '.results as $r | "ratio (binslim verify --image / base verify --image, docker.tar): mean \(($r[0].mean / $r[2].mean) * 1000 | round / 1000), median \(($r[0].median / $r[2].median) * 1000 | round / 1000)"' "$work/h.json"
fi
# CPU time (task-clock), steadier than wall time on a shared machine: with perf installed
# (apt-get install linux-perf), the commands taking turns CPU_RUNS times (60), medians and ratio.
if command -v perf >/dev/null 2>&1; then
  args=("binslim verify --image docker.tar" "$bin verify --image $work/docker.tar"
    "skopeo inspect docker-archive:docker.tar" "skopeo inspect docker-archive:$work/docker.tar")
  [ -z "${BINSLIM_BASE:-}" ] || args+=("base verify --image docker.tar"
    "$BINSLIM_BASE verify --image $work/docker.tar")
  cpu_turns "${CPU_RUNS:-60}" "${args[@]}"
fi
# Bytes written by binslim, but to standard output and error: what it copies into its
# temporary root (and, for the gzip layer, its spool).
written() {
  strace -f -qq -e trace=write,pwrite64,pwritev,pwritev2,writev,copy_file_range \
    -o "$work/strace" "$@" >/dev/null 2>&1 || true
  awk '$0 !~ /^[0-9]+ +[a-z_0-9]+\([12],/ && match($0, /= [0-9]+$/) {
         n += substr($0, RSTART + 2) } END { print n + 0 }' "$work/strace"
}
for b in "$bin" ${BINSLIM_BASE:+"$BINSLIM_BASE"}; do
  [ "$b" = "$bin" ] && who=binslim || who=base
  echo "bytes written, $who verify --image docker.tar: $(written "$b" verify --image "$work/docker.tar")"
  echo "bytes written, $who verify --image oci.tar: $(written "$b" verify --image "$work/oci.tar")"
done
hyperfine --warmup 1 --runs 5 -N \
  -n "binslim verify --image docker.tar" "$bin verify --image $work/docker.tar" \
  -n "binslim verify --image --verify-digests docker.tar" \
  "$bin verify --image $work/docker.tar --verify-digests" \
  -n "tar -tf docker.tar" "tar -tf $work/docker.tar" \
  -n "tar -tf layer.tar" "tar -tf $work/layer.tar" \
  -n "sha256sum layer.tar" "sha256sum $work/layer.tar"
hyperfine --warmup 1 --runs 3 -N \
  -n "binslim verify --image oci.tar (gzip)" "$bin verify --image $work/oci.tar" \
  -n "tar -tzf layer.tar.gz" "tar -tzf $work/layer.tar.gz"
for a in docker.tar oci.tar; do
  rss=$(/usr/bin/time -v "$bin" verify --image "$work/$a" 2>&1 >/dev/null |
    sed -n 's/^\s*Maximum resident set size (kbytes): //p')
  echo "peak RSS, binslim verify --image $a: ${rss} KiB"
done
rss=$(/usr/bin/time -v "$bin" verify --image "$work/docker.tar" --verify-digests 2>&1 >/dev/null |
  sed -n 's/^\s*Maximum resident set size (kbytes): //p')
echo "peak RSS, binslim verify --image docker.tar --verify-digests: ${rss} KiB"
rss=$(/usr/bin/time -v sh -c "cat $work/docker.tar | $bin verify --image - >/dev/null" 2>&1 |
  sed -n 's/^\s*Maximum resident set size (kbytes): //p')
echo "peak RSS, cat docker.tar | binslim verify --image -: ${rss} KiB"
