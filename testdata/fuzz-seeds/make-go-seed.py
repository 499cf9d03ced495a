#!/usr/bin/env python3
"""Writes go-moduledata: a seed for the `pclntab` fuzz target (mode byte 1 = an ELF file).

A hand-made 6 KB ELF64 with what binslim's Go readers look for: `.go.buildinfo` (go1.23.0),
a Go 1.20+ pclntab with two functions (a.F, b.G) inside `.rodata` (no `.gopclntab` name, as
lld leaves it), and moduledata in `.noptrdata` pointing at it. Addresses equal file offsets
(one PT_LOAD from 0). Run: python3 testdata/fuzz-seeds/make-go-seed.py
"""
import os
import struct

Q = lambda *v: struct.pack("<" + "Q" * len(v), *v)

TEXT, RODATA, NOPTR, BUILDINFO, SHSTR = 0x1000, 0x1100, 0x1400, 0x1600, 0x1700

# .text: two functions, 0x40 and 0x20 bytes.
text = b"\xc3" * 0x60

# .rodata: pclntab at RODATA, then types (0x40 bytes), typelinks (2 x int32), findfunctab.
pcln = struct.pack("<I", 0xFFFFFFF1) + bytes([0, 0, 1, 8])
pcln += Q(2, 0, TEXT, 72, 0, 0, 0, 80)
pcln += b"a.F\0b.G\0"
for entry, func in [(0, 24), (0x40, 32), (0x60, 0)]:
    pcln += struct.pack("<II", entry, func)
for name_off in [0, 4]:
    pcln += struct.pack("<II", 0, name_off)
types_at = RODATA + 0x100
typelinks_at = types_at + 0x40
findfunc_at = typelinks_at + 8
rodata = pcln.ljust(0x100, b"\0") + b"\x11" * 0x40 + struct.pack("<ii", 0, 16) + b"\0" * 5

# .noptrdata: moduledata (Go 1.20+ layout, 50 words).
md = [0] * 50
md[0] = RODATA
md[13:16] = [RODATA + 80, len(pcln) - 80, len(pcln) - 80]
md[16:19] = [RODATA + 80, 3, 3]
md[19] = findfunc_at
md[20:24] = [TEXT, TEXT + 0x60, TEXT, TEXT + 0x60]
md[37:39] = [types_at, types_at + 0x40]
md[44:47] = [typelinks_at, 2, 2]
md[47:50] = [0, 0, 0]
noptr = Q(*md)

# .go.buildinfo: header, then the version as a uvarint-prefixed string, empty module info.
buildinfo = b"\xff Go buildinf:" + bytes([8, 2]) + b"\0" * 16 + bytes([8]) + b"go1.23.0" + b"\0"

names = b"\0.text\0.rodata\0.noptrdata\0.go.buildinfo\0.shstrtab\0"
off = lambda n: names.index(n)

body = bytearray(SHSTR + len(names))
for at, blob in [(TEXT, text), (RODATA, rodata), (NOPTR, noptr), (BUILDINFO, buildinfo), (SHSTR, names)]:
    body[at:at + len(blob)] = blob
shoff = len(body)
A, W, X = 2, 1, 4
sections = [
    (0, 0, 0, 0, 0, 0),
    (off(b".text\0"), 1, A | X, TEXT, len(text), 16),
    (off(b".rodata\0"), 1, A, RODATA, len(rodata), 32),
    (off(b".noptrdata\0"), 1, A | W, NOPTR, len(noptr), 32),
    (off(b".go.buildinfo\0"), 1, A | W, BUILDINFO, len(buildinfo), 16),
    (off(b".shstrtab\0"), 3, 0, 0, len(names), 1),
]
for name, kind, flags, addr, size, align in sections:
    file_off = addr if kind != 3 else SHSTR
    body += struct.pack("<IIQQQQIIQQ", name, kind, flags, addr, file_off, size, 0, 0, align, 0)
ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
ehdr = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, TEXT, 64, shoff, 0, 64, 56, 1, 64, len(sections), 5)
phdr = struct.pack("<IIQQQQQQ", 1, 7, 0, 0, 0, len(body), len(body), 0x1000)
body[0:64] = ehdr
body[64:120] = phdr
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "go-moduledata")
with open(out, "wb") as f:
    f.write(b"\x01" + bytes(body))
