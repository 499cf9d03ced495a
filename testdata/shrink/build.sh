#!/usr/bin/env bash
# Builds testdata/shrink/not-compressible: a static, libc-free x86-64 program whose loaded bytes
# are mostly pseudo-random (seeded, so the build is reproducible), so upx 4.2.2 reports
# NotCompressibleException. It exits 0 without output.
set -euo pipefail
cd "$(dirname "$0")"
python3 - <<'PY' > not-compressible.c
import random
r = random.Random(4)
n = 65536
print("const unsigned char blob[%d] = {%s};" % (n, ",".join(str(r.randrange(256)) for _ in range(n))))
print('void _start(void) { __asm__ volatile("mov $60, %eax; xor %edi, %edi; syscall"); }')
print("const void *keep(void) { return blob; }")
PY
gcc -nostdlib -static -Os -s -Wl,-z,noseparate-code -Wl,--build-id=none -Wl,-z,norelro \
  -o not-compressible not-compressible.c
rm -f not-compressible.c
