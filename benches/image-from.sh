#!/usr/bin/env bash
# Benchmark: `binslim image --from` on a ~1 GiB source image vs `tar -xf` of the same archive.
#
#   benches/image-from.sh [DIR...]   default: /usr/lib/x86_64-linux-gnu /usr/share
#
# Writes the source without an engine: a docker-archive (what `podman save` writes: the layer
# uncompressed) of one layer holding the DIRs and testdata/go-static as /app/server (the
# entrypoint), then times
#   - binslim image --from docker.tar -o slim.tar   (goal, issue 23: <= 0.5x of tar -xf)
#   - tar -xf docker.tar                            (unpacking the archive)
#   - tar -xf layer.tar                             (unpacking the layer, as an engine does)
#   - binslim with TMPDIR=/dev/shm                  (its sparse merged root on tmpfs: the same
#     work without the cost of making the source's symlinks and directories on the disk's
#     file system, which on a busy ext4 is most of the run)
# and the peak memory of binslim (goal: <= 64 MB) from GNU time.
# Needs hyperfine, GNU tar, sha256sum and GNU time (apt-get install hyperfine tar coreutils time).
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/require.sh
require hyperfine:hyperfine tar:tar sha256sum:coreutils /usr/bin/time:time
cargo build --release --quiet
bin=$PWD/target/release/binslim
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=(/usr/lib/x86_64-linux-gnu /usr/share)

work="$(mktemp -d "${TMPDIR:-/tmp}/binslim-bench-XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/ctx/app" "$work/docker"
cp testdata/go-static "$work/ctx/app/server"
rel=()
for d in "${dirs[@]}"; do rel+=("${d#/}"); done
tar --numeric-owner -cf "$work/layer.tar" -C / "${rel[@]}" -C "$work/ctx" app
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
config="{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Entrypoint\":[\"/app/server\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff_id\"]}}"
printf '%s' "$config" >"$work/config.json"
cfg_id=$(sha256sum "$work/config.json" | cut -d' ' -f1)
cp "$work/config.json" "$work/docker/$cfg_id.json"
ln "$work/layer.tar" "$work/docker/$diff_id.tar"
printf '[{"Config":"%s.json","RepoTags":["bench:latest"],"Layers":["%s.tar"]}]' \
  "$cfg_id" "$diff_id" >"$work/docker/manifest.json"
tar -cf "$work/docker.tar" -C "$work/docker" "$cfg_id.json" "$diff_id.tar" manifest.json
rm "$work/docker/$diff_id.tar"

echo "files in the layer: $(tar -tf "$work/layer.tar" | wc -l)"
ls -l "$work/docker.tar" | awk '{print $5, $9}'
"$bin" image --from "$work/docker.tar" -o "$work/slim.tar" --force | tail -14

mkdir -p "$work/x1" "$work/x2"
hyperfine --warmup 1 --runs 5 --export-json "$work/h.json" \
  --prepare true --prepare "rm -rf $work/x1 && mkdir $work/x1" \
  --prepare "rm -rf $work/x2 && mkdir $work/x2" --prepare true \
  -n "binslim image --from" "$bin image --from $work/docker.tar -o $work/slim.tar --force" \
  -n "tar -xf docker.tar" "tar -xf $work/docker.tar -C $work/x1" \
  -n "tar -xf layer.tar" "tar -xf $work/layer.tar -C $work/x2" \
  -n "binslim, TMPDIR=/dev/shm" "TMPDIR=/dev/shm $bin image --from $work/docker.tar -o $work/slim.tar --force"
m() { grep -A3 "\"command\": \"$1\"" "$work/h.json" | grep '"mean"' | tr -dc '0-9.'; }
b=$(m "binslim image --from"); t1=$(m "tar -xf docker.tar"); t2=$(m "tar -xf layer.tar")
s=$(m "binslim, TMPDIR=/dev/shm")
echo "binslim / tar -xf docker.tar: $(echo "scale=3; $b / $t1" | bc)x (goal <= 0.5x)"
echo "binslim / tar -xf layer.tar:  $(echo "scale=3; $b / $t2" | bc)x"
echo "binslim with TMPDIR=/dev/shm / tar -xf docker.tar: $(echo "scale=3; $s / $t1" | bc)x"
/usr/bin/time -v "$bin" image --from "$work/docker.tar" -o "$work/slim.tar" --force \
  2>&1 >/dev/null | grep -E "Maximum resident" | sed 's/^\s*/peak memory: /'
