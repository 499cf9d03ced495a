#!/usr/bin/env bash
# Rebuilds every committed fixture in testdata/ from testdata/src/. Tests use the committed
# binaries (so they are deterministic); run this only to regenerate them, then review the
# snapshot changes (`cargo insta review`).
#
# Usage: bash testdata/build.sh   (from any directory; it overwrites every output)
#
# Needs (Debian bookworm, as root):
#   apt-get install gcc musl-tools gcc-aarch64-linux-gnu libc6-dev-arm64-cross openssl
#   apt-get install gcc-arm-linux-gnueabihf   # arm-v6, arm-v7
#   apt-get install -t bookworm-backports golang-1.23-go upx-ucl   # go at /usr/lib/go-1.23/bin/go
#   rustc (rustup, stable) for the Rust fixtures; cargo install cargo-auditable --locked
# No network: Go uses only the standard library (GOPROXY=off, GOTOOLCHAIN=local). The bytes are
# reproducible with the same tool versions (see README.md), whatever the checkout path or cwd.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# Build from testdata/ itself: gcc records the cwd as DW_AT_comp_dir (c-debug), and
# -ffile-prefix-map below turns it into ".".
cd "$here"
src=$here/src
out=$here
GO=${GO:-/usr/lib/go-1.23/bin/go}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Reproducible enough: no build paths, no VCS stamps, no module downloads.
CFLAGS_COMMON=(-O2 -ffile-prefix-map="$here"=. -Wl,--build-id=sha1)
export GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-buildvcs=false GOCACHE="$work/gocache" GOPATH="$work/gopath"
export SOURCE_DATE_EPOCH=0

c() { # c NAME [flags...]: hello.c built with NAME printed
  local name=$1; shift
  gcc "${CFLAGS_COMMON[@]}" -DNAME="\"$name\"" "$@" -o "$out/$name" "$src/hello.c"
}

# --- C, glibc (gcc) ---------------------------------------------------------------------
c c-dynamic-pie                      # default: dynamic PIE, interp /lib64/ld-linux-x86-64.so.2
c c-nopie -no-pie                    # dynamic ET_EXEC
c c-debug -g -O0                     # dynamic PIE with DWARF
c c-static -static                   # static ET_EXEC
# static-pie (ET_DYN, no PT_INTERP) that also links glibc's NSS (getaddrinfo, getpwnam), which
# it calls only when given an argument: one 1 MB fixture for both cases instead of two.
gcc "${CFLAGS_COMMON[@]}" -DNAME='"c-static-pie"' -static-pie -o "$out/c-static-pie" "$src/nss.c"
musl-gcc -O2 -static -o "$out/exec-marker" "$src/marker.c"
gcc "${CFLAGS_COMMON[@]}" -c -o "$out/c-object.o" "$src/hello.c"

# A shared library with a SONAME, and programs that find it through $ORIGIN.
gcc "${CFLAGS_COMMON[@]}" -fPIC -shared -Wl,-soname,libgreet.so -o "$out/libgreet.so" "$src/greet.c"
gcc "${CFLAGS_COMMON[@]}" -DNAME='"c-rpath"' -o "$out/c-rpath" "$src/use-greet.c" \
  -L"$out" -lgreet -Wl,--enable-new-dtags -Wl,-rpath,'$ORIGIN/../lib'      # DT_RUNPATH
gcc "${CFLAGS_COMMON[@]}" -DNAME='"c-rpath-old"' -o "$out/c-rpath-old" "$src/use-greet.c" \
  -L"$out" -lgreet -Wl,--disable-new-dtags -Wl,-rpath,'$ORIGIN/../lib'     # DT_RPATH

# --- C, musl and aarch64 ------------------------------------------------------------------
musl-gcc -O2 -DNAME='"musl-static"' -static -o "$out/musl-static" "$src/hello.c"
musl-gcc -O2 -DNAME='"musl-dynamic"' -o "$out/musl-dynamic" "$src/hello.c"  # interp /lib/ld-musl-x86_64.so.1
aarch64-linux-gnu-gcc -O2 -static -nostdlib -ffreestanding -Wl,--build-id=sha1 -o "$out/arm64-static" "$src/arm64.c"
# 32-bit (ELFCLASS32) x86: libc-free like arm64-static, because there is no 32-bit libc here
# (no gcc-multilib). Runs on x86_64 kernels with IA-32 emulation.
gcc -m32 -O2 -static -nostdlib -ffreestanding -fno-pie -no-pie -fno-asynchronous-unwind-tables \
  -Wl,--build-id=sha1 -o "$out/i386-static" "$src/i386.c"
# A FreeBSD/amd64 program as a FreeBSD toolchain brands it (ABI note + EI_OSABI), libc-free.
gcc -O2 -static -nostdlib -ffreestanding -fno-pie -no-pie -fno-asynchronous-unwind-tables \
  -Wl,--build-id=sha1 -o "$out/freebsd-static" "$src/freebsd.c"
elfedit --output-osabi FreeBSD "$out/freebsd-static"

# --- CPU levels (verify --platform linux/amd64/v2, linux/arm/v6) ---------------------------
# x86-64-v3 recorded in .note.gnu.property (GNU_PROPERTY_X86_ISA_1_NEEDED) by ld's -z x86-64-v3;
# -march alone records nothing. Static musl, so only the CPU level can fail it.
musl-gcc -O2 -DNAME='"musl-x86-64-v3"' -static -march=x86-64-v3 -Wl,-z,x86-64-v3 \
  -o "$out/musl-x86-64-v3" "$src/hello.c"
# 32-bit ARM, libc-free; .ARM.attributes records Tag_CPU_arch v6 / v7 (needs
# gcc-arm-linux-gnueabihf; the hard-float ABI needs an FPU, hence +fp).
for v in 6:armv6+fp 7:armv7-a+fp; do
  arm-linux-gnueabihf-gcc -O2 -march="${v#*:}" -static -nostdlib -ffreestanding \
    -Wl,--build-id=sha1 -o "$out/arm-v${v%%:*}" "$src/arm.c"
done

# --- Go 1.23 --------------------------------------------------------------------------------
gobuild() { # gobuild DIR OUT [go build flags...]
  local dir=$1 name=$2; shift 2
  (cd "$src/$dir" && "$GO" build -trimpath "$@" -o "$out/$name" .)
}
CGO_ENABLED=0 gobuild go-hello go-static -ldflags="-s -w"
CGO_ENABLED=1 gobuild go-cgo go-cgo -ldflags="-s -w"              # dynamic: libc.so.6
# PT_INTERP but no DT_NEEDED (ldd: "statically linked"); built without -s -w, so it keeps
# DWARF and .symtab too.
CGO_ENABLED=0 gobuild go-hello go-pie -buildmode=pie
CGO_ENABLED=0 gobuild go-tls go-tls -ldflags="-s -w"
CGO_ENABLED=0 gobuild go-tls-embedded go-tls-embedded -tags netgo,osusergo -ldflags="-s -w"

# --- Rust ---------------------------------------------------------------------------------
rs() { # rs NAME [rustc flags...]
  local name=$1; shift
  FIXTURE_NAME=$name rustc --edition 2021 -C opt-level=s -C panic=abort -C strip=debuginfo \
    -C lto=fat -C codegen-units=1 \
    --remap-path-prefix="$here"=. "$@" -o "$out/$name" "$src/rust/main.rs"
}
rs rust-dynamic
rs rust-static -C target-feature=+crt-static -C strip=symbols    # static-pie
# cargo-auditable's dependency list (.dep-v0) for `binslim sbom`: a crate with two small
# dependencies (itertools -> either, itoa), locked by testdata/src/rust-auditable/Cargo.lock.
# Needs the crates registry once, for cargo-auditable.
command -v cargo-auditable >/dev/null || cargo install cargo-auditable --locked
(cd "$src/rust-auditable" &&
  RUSTFLAGS="--remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}/registry/src=/cargo --remap-path-prefix=$src=." \
  CARGO_TARGET_DIR="$work/rust-auditable" cargo auditable build --release --locked --quiet)
cp "$work/rust-auditable/release/rust-auditable" "$out/rust-auditable"

# --- UPX, non-ELF and broken inputs --------------------------------------------------------
rm -f "$out/upx-packed"
upx -q --no-progress -o "$out/upx-packed" "$out/musl-static" >/dev/null
printf '#!/bin/sh\necho hello from script.sh\n' >"$out/script.sh"
chmod +x "$out/script.sh"
printf 'This is not an ELF file.\n' >"$out/not-elf.txt"
: >"$out/empty"
# The first 4 KiB of c-static: the ELF header promises section headers far past the end.
head -c 4096 "$out/c-static" >"$out/truncated-elf"

# --- Images binslim writes (golden files; needs binslim built: cargo build) -------------------
binslim="${BINSLIM:-$(dirname "$0")/../target/debug/binslim}"
if [ -x "$binslim" ]; then
  mkdir -p "$out/images"
  (cd "$out" && env -u SOURCE_DATE_EPOCH "$binslim" image arm64-static --sbom none -o images/arm64-static-docker.tar --force >/dev/null)
  (cd "$out" && env -u SOURCE_DATE_EPOCH "$binslim" image arm64-static --format oci --ca-certs no --tzdata no \
    -o images/arm64-static-oci.tar --force >/dev/null)
fi

# --- Checks: facts the tests rely on, so a toolchain change fails here first ----------------
readelf -l "$out/go-pie" | grep -q 'Requesting program interpreter' || { echo "go-pie: no PT_INTERP" >&2; exit 1; }
if readelf -d "$out/go-pie" | grep -q NEEDED; then echo "go-pie: has DT_NEEDED" >&2; exit 1; fi
readelf -d "$out/c-rpath" | grep -q RUNPATH || { echo "c-rpath: no DT_RUNPATH" >&2; exit 1; }
readelf -d "$out/c-rpath-old" | grep -q '(RPATH)' || { echo "c-rpath-old: no DT_RPATH" >&2; exit 1; }
readelf -h "$out/freebsd-static" | grep -q 'FreeBSD' || { echo "freebsd-static: EI_OSABI not FreeBSD" >&2; exit 1; }
readelf -n "$out/musl-x86-64-v3" | grep -q 'x86 ISA needed: x86-64-v3$' || { echo "musl-x86-64-v3: no ISA note" >&2; exit 1; }
readelf -A "$out/arm-v6" | grep -q 'Tag_CPU_arch: v6$' || { echo "arm-v6: Tag_CPU_arch not v6" >&2; exit 1; }
readelf -A "$out/arm-v7" | grep -q 'Tag_CPU_arch: v7$' || { echo "arm-v7: Tag_CPU_arch not v7" >&2; exit 1; }
readelf -S "$out/rust-auditable" | grep -q '\.dep-v0' || { echo "rust-auditable: no .dep-v0" >&2; exit 1; }

ls -l "$out" | grep -v '^d'
du -sh "$out"
