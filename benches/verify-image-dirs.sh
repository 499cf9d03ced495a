#!/usr/bin/env bash
# Benchmark: `binslim verify --image` of an image of many directories (100,000 by default, one
# uncompressed layer, and a static /x), with $TMPDIR on disk (/var/tmp), where every mkdir of the
# merge costs. Issue 20 §6: 22-265 s when each image directory was made, now seconds.
#
#   benches/verify-image-dirs.sh [COUNT]
#   BINSLIM_BASE=/path/to/old/binslim benches/verify-image-dirs.sh
#                                       also times an older build in the same run
#   BENCH_TMP=/dev/shm benches/verify-image-dirs.sh     $TMPDIR elsewhere (tmpfs)
#
# Measured 2026-12-07 (ext4 /var/tmp, 2 cores shared with other work, RUNS=3): 0.764 s +- 0.049
# against 25.0 s +- 10.1 s (13.4-31.6 s) for the build before the change.
#
# Needs hyperfine and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/require.sh
require hyperfine:hyperfine python3:python3
cargo build --release --quiet
bin=$PWD/target/release/binslim
count=${1:-100000}
W=$(mktemp -d "${BENCH_TMP:-/var/tmp}/binslim-bench-XXXXXX")
trap 'rm -rf "$W"' EXIT
python3 - "$W/dirs.tar" "$count" testdata/c-static <<'PY'
import hashlib, io, json, sys, tarfile
out, count, server = sys.argv[1], int(sys.argv[2]), open(sys.argv[3], "rb").read()
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
    for i in range(count):
        d = tarfile.TarInfo(f"d{i // 1000}/e{i}"); d.type = tarfile.DIRTYPE; d.mode = 0o755
        t.addfile(d)
    x = tarfile.TarInfo("x"); x.size = len(server); x.mode = 0o755
    t.addfile(x, io.BytesIO(server))
layer = buf.getvalue()
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Entrypoint": ["/x"]},
                  "rootfs": {"type": "layers",
                             "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}).encode()
ch = hashlib.sha256(cfg).hexdigest()
man = json.dumps([{"Config": ch + ".json", "RepoTags": ["dirs:latest"],
                   "Layers": ["l/layer.tar"]}]).encode()
with tarfile.open(out, "w") as t:
    for name, data in [("l/layer.tar", layer), (ch + ".json", cfg), ("manifest.json", man)]:
        i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
PY
mkdir "$W/tmp"
echo "image: $count directories, $(stat -c %s "$W/dirs.tar") bytes; TMPDIR=$W/tmp ($(stat -f -c %T "$W"))"
base=()
[ -z "${BINSLIM_BASE:-}" ] || base=(-n "base" "env TMPDIR=$W/tmp $BINSLIM_BASE verify --quiet --image $W/dirs.tar")
hyperfine --warmup 1 --runs "${RUNS:-5}" -N \
  -n "binslim verify --image" "env TMPDIR=$W/tmp $bin verify --quiet --image $W/dirs.tar" \
  "${base[@]}"
