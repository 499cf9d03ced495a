#!/usr/bin/env bash
# Same output: runs the binslim of BASE_REV and the binslim of this tree over a matrix of
# commands and compares stdout, stderr, exit code and every file the command wrote, byte for
# byte. It proves that a refactor changed no output (issue 19).
#
#   benches/same-output.sh [BASE_REV]     default BASE_REV: 771672a (main before issue 19)
#
# BASE_REV is checked out in a temporary git worktree (target/same-output-base/tree, removed on
# exit) and built (debug) with its own CARGO_TARGET_DIR, target/same-output-base/target, kept
# between runs: the checkout's mtimes are set to the commit time when the last build there was
# of the same commit, so a second run rebuilds nothing. This tree is built with `cargo build`.
#
# Matrix (labels name fixtures relative to testdata/):
#   - every regular file in testdata/ and testdata/shrink/ (programs, libraries, objects, and
#     the non-ELF ones: errors must match too): inspect [--json] [--packages] [--sections],
#     --color=always inspect, verify [--json] [-v] [--platform linux/arm64] [--root / -v]
#     [policy flags], --color=always verify, shrink -o OUT [--json] [--upx], image --json -o OUT;
#   - verify of testdata/ itself (text, --json, --strict, -q), several files at once;
#   - shrink options (--keep-debug, --remove-debuglink, --no-gzip, --smoke, in place, refusals);
#   - image options (oci, oci-dir, --with-libs, --shrink --upx, --tag/--arg/--env/--user/--add,
#     SOURCE_DATE_EPOCH, --ca-certs, --tzdata, refusals);
#   - verify --image on testdata/images/*.tar and on archives built here by BASE's binslim
#     image (docker, oci, oci-dir layout, --with-libs, an added dynamic program) and by
#     podman build + podman save (docker-archive, oci-archive, oci-dir; when podman is there),
#     as a file and on stdin, with --json, --verify-digests, named PATHs and --platform, plus
#     unreadable, truncated and hostile archives and hand-made ones with wrong diff_ids;
#   - inspect --treemap, diff of fixture pairs (text, --json, --max-growth), completions, man,
#     and bad input: missing file, directory, empty file, usage errors.
# Each command runs with a clean environment (PATH and HOME only, plus what the case sets) in a
# fresh directory $W/run (W: target/same-output.XXXXXX) with the same absolute paths for both
# builds, and both binaries are named binslim (clap's usage lines print argv[0]), so no path
# needs normalizing. OUT files land in that directory and are compared with `diff -r`. No case
# may change testdata/ (checked at the end: exit 2 if one did).
#
# Time-dependent output, normalized in both outputs before comparing (nothing else is):
#   - JSON "duration_ms" of shrink steps (shrink --json, image --json --shrink) -> 0;
#   - shrink --smoke: the "start-up A → B, peak RSS C → D" line and the JSON "median_ms" and
#     "peak_rss" of each smoke run -> 0.
# The spinner of shrink only draws on a terminal (never here), and image timestamps come from
# SOURCE_DATE_EPOCH (or 0), so neither needs it.
#
# Prints one block per differing case (the command and a short unified diff) and a last line
# "N cases, all identical" (exit 0) or "N cases, K differ" (exit 1). Set SAME_OUTPUT_KEEP=1 to
# keep the work directory (its path is printed). Takes about 4 minutes (2 busy cores) once
# both builds are cached. Needs git, cargo, upx, python3; podman optionally.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rev=${1:-771672a}
sha=$(git rev-parse --verify "$rev^{commit}")

# --- build both ---------------------------------------------------------------------------
basedir=$root/target/same-output-base
tree=$basedir/tree
mkdir -p "$basedir"
git worktree prune
if [ -e "$tree" ]; then
  git worktree remove --force "$tree" 2>/dev/null || rm -rf "$tree"
  git worktree prune
fi
W=$(mktemp -d "$root/target/same-output.XXXXXX")
cleanup() {
  git -C "$root" worktree remove --force "$tree" 2>/dev/null || true
  if [ "${SAME_OUTPUT_KEEP:-0}" = 1 ]; then
    echo "work directory kept: $W" >&2
  else
    rm -rf "$W"
  fi
}
trap cleanup EXIT
git worktree add --quiet --detach "$tree" "$sha"
if [ "$(cat "$basedir/built" 2>/dev/null)" = "$sha" ]; then
  # Same commit as the cached build: old mtimes keep cargo from rebuilding it.
  when=$(git -C "$tree" log -1 --format=%ct HEAD)
  (cd "$tree" && git ls-files -z | xargs -0 touch -h -d "@$when")
fi
echo "building $rev ($sha) in $tree" >&2
CARGO_TARGET_DIR=$basedir/target cargo build --quiet --manifest-path "$tree/Cargo.toml"
echo "$sha" >"$basedir/built"
echo "building this tree (${SECONDS}s)" >&2
cargo build --quiet
# Both named binslim (clap's usage lines name argv[0]).
mkdir -p "$W/base" "$W/new"
cp "$basedir/target/debug/binslim" "$W/base/binslim"
cp "${CARGO_TARGET_DIR:-$root/target}/debug/binslim" "$W/new/binslim"
BASE=$W/base/binslim
NEW=$W/new/binslim

T=$root/testdata
IMG=$W/img
mkdir -p "$IMG" "$W/res"

# --- running and comparing one case -------------------------------------------------------
cases=0
differ=0

# The time-dependent fields named in the header, made constant.
normalize() {
  sed -E -i \
    -e 's/"(duration_ms|median_ms)": [0-9.e+-]+/"\1": 0/g' \
    -e 's/"peak_rss": [0-9]+/"peak_rss": 0/g' \
    -e 's/start-up .* → .*, peak RSS .* → .*$/start-up T → T, peak RSS M → M/' \
    "$@"
}

# run_one KIND BINARY ARGS...: runs in a fresh $W/run, keeps out/err/rc and the files written.
run_one() {
  local kind=$1 bin=$2
  shift 2
  local r=$W/res/$kind
  rm -rf "$W/run" "$r"
  mkdir -p "$W/run" "$r"
  (
    cd "$W/run"
    if [ -n "${SETUP:-}" ]; then eval "$SETUP"; fi
    set +e
    # shellcheck disable=SC2086
    env -i PATH="$PATH" HOME="$HOME" ${ENVS:-} "$bin" "$@" \
      <"${STDIN:-/dev/null}" >"$r/stdout" 2>"$r/stderr"
    echo $? >"$r/rc"
  )
  normalize "$r/stdout" "$r/stderr"
  mv "$W/run" "$r/files"
}

# t LABEL ARGS...: one case. SETUP (shell run in the directory first), STDIN (a file) and ENVS
# (VAR=value words) may be set for the call.
t() {
  local label=$1
  shift
  cases=$((cases + 1))
  run_one base "$BASE" "$@"
  run_one new "$NEW" "$@"
  local b=$W/res/base n=$W/res/new report=""
  for f in rc stdout stderr; do
    if ! cmp -s "$b/$f" "$n/$f"; then
      report+=$(diff -u --label "base/$f" --label "new/$f" "$b/$f" "$n/$f" |
        head -n 20 || true)$'\n'
    fi
  done
  if ! diff -r -q "$b/files" "$n/files" >/dev/null 2>&1; then
    report+=$(diff -r -u "$b/files" "$n/files" 2>&1 | sed "s|$W/res/||g" | head -n 20 || true)$'\n'
  fi
  if [ -n "$report" ]; then
    differ=$((differ + 1))
    printf 'DIFFERS: %s\n  binslim' "$label"
    printf ' %q' "$@"
    printf '\n%s\n' "$report"
  fi
}

# --- the images verify --image reads, built once by BASE's binslim ------------------------
base_image() { # base_image OUT PROGRAM [OPTIONS...]
  local out=$1 prog=$2
  shift 2
  env -i PATH="$PATH" HOME="$HOME" "$BASE" image --force -o "$IMG/$out" "$prog" "$@" >/dev/null
}
echo "building images with $rev's binslim (${SECONDS}s)" >&2
for p in c-static go-tls rust-static musl-static; do
  base_image "$p-docker.tar" "$T/$p"
  base_image "$p-oci.tar" "$T/$p" --format oci
done
base_image go-static-layout "$T/go-static" --format oci-dir
base_image c-dynamic-pie-libs.tar "$T/c-dynamic-pie" --with-libs
base_image rust-dynamic-libs-oci.tar "$T/rust-dynamic" --with-libs --format oci
base_image musl-dynamic-libs.tar "$T/musl-dynamic" --with-libs
base_image arm64-static.tar "$T/arm64-static"
base_image added-dynamic.tar "$T/c-static" --add "$T/c-dynamic-pie:/app" \
  --add "$T/script.sh:/run.sh"
base_image shrunk.tar "$T/go-static" --shrink --upx
head -c 2048 /dev/zero | tr '\0' '\a' >"$IMG/not-a-tar.tar"
: >"$IMG/empty.tar"
head -c 5000 "$IMG/c-static-docker.tar" >"$IMG/truncated.tar"
python3 - "$IMG" "$T/c-static" <<'EOF'
# Hand-made archives (as tests/verify_image.rs makes them): an entry climbing out of the root,
# uncompressed and gzip layers whose diff_id is wrong, and a correct gzip oci-archive.
import gzip, hashlib, io, json, os, sys, tarfile
out, server = sys.argv[1], open(sys.argv[2], "rb").read()
def sha(b): return hashlib.sha256(b).hexdigest()
def tar_of(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, data in entries:
            info = tarfile.TarInfo(name); info.size = len(data); info.mode = 0o755
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()
def config(entry, diff_id):
    return json.dumps({"architecture": "amd64", "os": "linux",
                       "config": {"Entrypoint": [entry]},
                       "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
def docker(name, layer, cfg):
    manifest = json.dumps([{"Config": sha(cfg) + ".json", "Layers": ["l/layer.tar"]}]).encode()
    open(os.path.join(out, name), "wb").write(tar_of(
        [("l/layer.tar", layer), (sha(cfg) + ".json", cfg), ("manifest.json", manifest)]))
def oci(name, gz, cfg):
    desc = lambda media, b: {"mediaType": media, "digest": "sha256:" + sha(b), "size": len(b)}
    manifest = json.dumps({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": desc("application/vnd.oci.image.config.v1+json", cfg),
        "layers": [desc("application/vnd.oci.image.layer.v1.tar+gzip", gz)]}).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": [
        desc("application/vnd.oci.image.manifest.v1+json", manifest)]}).encode()
    open(os.path.join(out, name), "wb").write(tar_of(
        [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')]
        + [("blobs/sha256/" + sha(b), b) for b in (gz, cfg, manifest)]
        + [("index.json", index)]))
evil = tar_of([("../../../../../../../../tmp/same-output-escaped", b"x")])
docker("hostile.tar", evil, config("/x", "sha256:" + sha(evil)))
layer = tar_of([("server", server)])
wrong = "sha256:" + sha(b"not this layer")
docker("wrong-diff-id.tar", layer, config("/server", wrong))
gz = gzip.compress(layer, mtime=0)
oci("gzip-wrong-diff-id-oci.tar", gz, config("/server", wrong))
oci("gzip-oci.tar", gz, config("/server", "sha256:" + sha(layer)))
EOF
# With podman (skipped without it, or with SAME_OUTPUT_PODMAN=0): a FROM scratch image as
# podman build makes it (c-static as the entrypoint, c-dynamic-pie beside it without its
# loader), saved by podman save in the three forms verify --image reads.
if [ "${SAME_OUTPUT_PODMAN:-1}" != 0 ] && command -v podman >/dev/null; then
  mkdir -p "$W/ctx"
  cp "$T/c-static" "$W/ctx/app"
  cp "$T/c-dynamic-pie" "$W/ctx/dyn"
  printf 'FROM scratch\nCOPY app /server\nCOPY dyn /dyn\nENTRYPOINT ["/server"]\n' \
    >"$W/ctx/Containerfile"
  tag=localhost/binslim-same-output-$$
  podman build --runtime runc -q -t "$tag" -f "$W/ctx/Containerfile" "$W/ctx" </dev/null >/dev/null
  podman save -q --format docker-archive -o "$IMG/podman-docker.tar" "$tag" </dev/null
  podman save -q --format oci-archive -o "$IMG/podman-oci.tar" "$tag" </dev/null
  podman save -q --format oci-dir -o "$IMG/podman-layout" "$tag" </dev/null
  podman rmi -f "$tag" </dev/null >/dev/null
else
  echo "podman is not installed (or SAME_OUTPUT_PODMAN=0): no podman-built images" >&2
fi

# --- the matrix ---------------------------------------------------------------------------
echo "running the matrix (${SECONDS}s)" >&2
fixtures=()
while IFS= read -r f; do fixtures+=("${f#"$T"/}"); done < <(
  find "$T" -maxdepth 1 -type f | sort
  find "$T/shrink" -maxdepth 1 -type f | sort
)

for f in "${fixtures[@]}"; do
  p=$T/$f
  t "inspect $f" inspect "$p"
  t "inspect --json $f" inspect --json "$p"
  t "inspect --packages $f" inspect --packages "$p"
  t "inspect --packages --json $f" inspect --packages --json "$p"
  t "inspect --sections $f" inspect --sections "$p"
  t "inspect --sections --json $f" inspect --sections --json "$p"
  t "--color=always inspect $f" --color=always inspect "$p"
  t "verify $f" verify "$p"
  t "verify --json $f" verify --json "$p"
  t "verify -v $f" verify -v "$p"
  t "verify --platform linux/arm64 $f" verify --platform linux/arm64 "$p"
  t "verify --root / -v $f" verify --root / -v "$p"
  t "verify policies $f" verify --json --strict --require-stripped --forbid-upx \
    --max-size 100KiB "$p"
  t "--color=always verify $f" --color=always verify --strict "$p"
  t "shrink -o out $f" shrink -o out "$p"
  t "shrink --json -o out $f" shrink --json -o out "$p"
  t "shrink --upx -o out $f" shrink --upx -o out "$p"
  t "image --json -o out.tar $f" image --json -o out.tar "$p"
done

# verify of directories and several files
t "verify testdata" verify "$T"
t "verify --json testdata" verify --json "$T"
t "verify --strict testdata" verify --strict "$T"
t "verify -q testdata" verify -q "$T"
t "verify testdata/shrink" verify "$T/shrink"
t "verify several" verify "$T/c-static" "$T/go-static" "$T/c-dynamic-pie" "$T/not-elf.txt"
t "verify --platform variant" verify --platform linux/amd64/v2 "$T/musl-x86-64-v3" "$T/c-static"
t "verify --platform arm/v6" verify --platform linux/arm/v6 "$T/arm-v6" "$T/arm-v7"
t "verify --root --env" verify --root / --env LD_LIBRARY_PATH=/nonexistent -v \
  "$T/c-rpath" "$T/musl-dynamic"
ENVS="TARGETPLATFORM=linux/arm64" t "verify TARGETPLATFORM" verify "$T/arm64-static" "$T/c-static"
ENVS="NO_COLOR=1" t "verify NO_COLOR" --color=auto verify "$T/c-dynamic-pie"

# inspect of several files and treemaps
t "inspect several" inspect "$T/c-static" "$T/libgreet.so" "$T/not-elf.txt"
t "inspect --json several" inspect --json "$T/c-static" "$T/go-pie" "$T/missing"
t "inspect --packages --top 3" inspect --packages --top 3 "$T/go-tls"
for f in go-tls rust-static c-static; do
  t "inspect --treemap svg $f" inspect --treemap out.svg "$T/$f"
  t "inspect --treemap html $f" inspect --treemap out.html "$T/$f"
done

# shrink options
t "shrink --keep-debug" shrink --keep-debug dbg -o out "$T/c-debug"
t "shrink --remove-debuglink" shrink --remove-debuglink -o out "$T/c-debug"
t "shrink --no-gzip" shrink --no-gzip -o out "$T/go-static"
SETUP="cp $T/c-debug $T/c-static ." t "shrink several --json" shrink --json c-debug c-static
t "shrink --upx --upx-args" shrink --upx-args '--best' -o out "$T/c-nopie"
t "shrink --smoke" shrink --smoke '' -o out "$T/c-static"
t "shrink --smoke --json" shrink --smoke '' --json -o out "$T/go-static"
SETUP="cp $T/c-debug prog" t "shrink in place" shrink prog
SETUP="cp $T/c-debug prog; cp prog prog2" t "shrink two in place" shrink --json prog prog2
SETUP="touch out" t "shrink refuses out" shrink -o out "$T/c-debug"
SETUP="touch out" t "shrink --force" shrink --force -o out "$T/c-debug"
t "shrink -o with two files" shrink -o out "$T/c-debug" "$T/c-static"

# image options
t "image oci" image --json --format oci -o out.tar "$T/go-tls"
t "image oci-dir" image --json --format oci-dir -o layout "$T/go-static"
t "image --with-libs c" image --json --with-libs -o out.tar "$T/c-dynamic-pie"
t "image --with-libs rust oci" image --json --with-libs --format oci -o out.tar "$T/rust-dynamic"
t "image --with-libs text" image --with-libs -o out.tar "$T/musl-dynamic"
t "image --shrink --upx" image --json --shrink --upx -o out.tar "$T/go-static"
t "image --shrink text" image --shrink -o out.tar "$T/c-debug"
t "image options" image --json -o out.tar --tag reg.example/x:1.2 --arg --port=8080 \
  --env A=b --user 1000:1000 --path /bin/app --add "$T/script.sh:/etc/s.sh" "$T/c-static"
t "image --user root --ca-certs yes --tzdata yes" image --json -o out.tar --user root \
  --ca-certs yes --tzdata yes "$T/c-static"
t "image go-tls --ca-certs no" image --json -o out.tar --ca-certs no --tzdata no "$T/go-tls"
ENVS="SOURCE_DATE_EPOCH=1700000000" t "image SOURCE_DATE_EPOCH" image -o out.tar "$T/go-tls"
t "image text" image -o out.tar "$T/go-tls-embedded"
SETUP="touch out.tar" t "image refuses out" image -o out.tar "$T/c-static"
t "image bad user" image -o out.tar --user nobody:x "$T/c-static"
t "image bad add" image -o out.tar --add nocolon "$T/c-static"
t "image bad env" image -o out.tar --env NOEQUALS "$T/c-static"

# verify --image
images=("$T"/images/*.tar)
for i in "$IMG"/*; do images+=("$i"); done
for i in "${images[@]}"; do
  n=${i##*/}
  t "verify --image $n" verify --image "$i"
  t "verify --json --image $n" verify --json --image "$i"
  t "verify --verify-digests --image $n" verify --verify-digests --image "$i"
  if [ -f "$i" ]; then
    STDIN=$i t "verify --image - < $n" verify --image -
  fi
done
if [ -e "$IMG/podman-docker.tar" ]; then
  t "verify --image podman named paths" verify --image "$IMG/podman-docker.tar" /server /dyn /bin/sh
fi
t "verify --image named paths" verify --image "$IMG/added-dynamic.tar" \
  /app /c-static /run.sh /bin/sh
t "verify --json --image named paths" verify --json --image "$IMG/added-dynamic.tar" /app /bin/sh
t "verify --image --platform" verify --platform linux/arm64 --image "$IMG/c-static-docker.tar"
t "verify --image --strict" verify --strict --require-stripped --image "$IMG/go-tls-oci.tar"
t "verify --image missing" verify --image /nonexistent/image.tar
t "verify --image --root" verify --image "$IMG/empty.tar" --root /
t "verify --image directory" verify --image "$T"

# diff
t "diff c-static c-static-pie" diff "$T/c-static" "$T/c-static-pie"
t "diff --json go-static go-tls" diff --json "$T/go-static" "$T/go-tls"
t "diff --max-growth 5%" diff --max-growth 5% "$T/go-static" "$T/go-tls"
t "diff --max-growth 10MiB --top 2" diff --max-growth 10MiB --top 2 "$T/go-static" "$T/go-tls"
t "diff rust" diff "$T/rust-static" "$T/rust-dynamic"
t "diff same" diff "$T/c-debug" "$T/c-debug"
t "diff not-elf" diff "$T/go-static" "$T/not-elf.txt"
t "diff bad budget" diff --max-growth lots "$T/c-static" "$T/c-static"

# bad input and usage errors
t "inspect missing" inspect /nonexistent/file
t "inspect directory" inspect "$T"
t "verify missing" verify /nonexistent/file
t "verify empty" verify "$T/empty"
t "shrink missing" shrink -o out /nonexistent/file
t "shrink directory" shrink -o out "$T"
t "image missing" image -o out.tar /nonexistent/file
t "image directory" image -o out.tar "$T"
t "diff missing" diff /nonexistent/a "$T/c-static"
t "diff directory" diff "$T" "$T/c-static"
t "no verb" --color=never
t "inspect without file" inspect
t "unknown verb" frobnicate
t "verify bad platform" verify --platform plan9/mips "$T/c-static"
t "verify bad max-size" verify --max-size huge "$T/c-static"
t "completions bash" completions bash
t "man" man
t "version" --version

# No case may change a fixture (they name them by absolute path; in-place cases copy first).
if ! git diff --quiet -- testdata; then
  echo "testdata/ was changed by a case:" >&2
  git status --short -- testdata >&2
  exit 2
fi
echo
if [ "$differ" -eq 0 ]; then
  echo "$cases cases, all identical"
else
  echo "$cases cases, $differ differ"
  exit 1
fi
