#!/usr/bin/env bash
# Rebuilds every committed fixture in testdata/ from testdata/src/. Tests use the committed
# binaries (so they are deterministic); run this only to regenerate them, then review the
# snapshot changes (`cargo insta review`).
#
# Needs (Debian bookworm, as root):
#   apt-get install gcc musl-tools gcc-aarch64-linux-gnu libc6-dev-arm64-cross openssl
#   apt-get install -t bookworm-backports golang-1.23-go upx-ucl
#   rustc (rustup, stable) for the Rust fixtures
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
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
c c-static-pie -static-pie           # static-pie: ET_DYN, no PT_INTERP
# Stripped (-s): NSS use must be detectable without .symtab (glibc's "/etc/nsswitch.conf").
gcc "${CFLAGS_COMMON[@]}" -static -s -o "$out/c-static-nss" "$src/nss.c"
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

# --- Go 1.23 --------------------------------------------------------------------------------
gobuild() { # gobuild DIR OUT [go build flags...]
  local dir=$1 name=$2; shift 2
  (cd "$src/$dir" && "$GO" build -trimpath "$@" -o "$out/$name" .)
}
CGO_ENABLED=0 gobuild go-hello go-static -ldflags="-s -w"
CGO_ENABLED=1 gobuild go-cgo go-cgo -ldflags="-s -w"              # dynamic: libc.so.6
# PT_INTERP but no DT_NEEDED (ldd: "statically linked"); built without -s -w, so it is also
# the Go fixture that keeps DWARF and .symtab.
CGO_ENABLED=0 gobuild go-hello go-pie -buildmode=pie
CGO_ENABLED=0 gobuild go-tls go-tls -ldflags="-s -w"
CGO_ENABLED=0 gobuild go-tls-embedded go-tls-embedded -tags netgo,osusergo -ldflags="-s -w"

# --- Rust ---------------------------------------------------------------------------------
rs() { # rs NAME [rustc flags...]
  local name=$1; shift
  FIXTURE_NAME=$name rustc --edition 2021 -C opt-level=s -C panic=abort -C strip=debuginfo \
    --remap-path-prefix="$here"=. "$@" -o "$out/$name" "$src/rust/main.rs"
}
rs rust-dynamic
rs rust-static -C target-feature=+crt-static -C strip=symbols    # static-pie

# --- UPX, non-ELF and broken inputs --------------------------------------------------------
rm -f "$out/upx-packed"
upx -q --no-progress -o "$out/upx-packed" "$out/musl-static" >/dev/null
printf '#!/bin/sh\necho hello from script.sh\n' >"$out/script.sh"
chmod +x "$out/script.sh"
printf 'This is not an ELF file.\n' >"$out/not-elf.txt"
: >"$out/empty"
# The first 4 KiB of c-static: the ELF header promises section headers far past the end.
head -c 4096 "$out/c-static" >"$out/truncated-elf"

ls -l "$out" | grep -v '^d'
du -sh "$out"
