/* i386-static: a libc-free static 32-bit x86 program (write + exit through int $0x80), the
 * ELFCLASS32 fixture. No 32-bit libc is needed to build it. */
static const char msg[] = "hello from i386-static\n";
void _start(void) {
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(4), "b"(1), "c"(msg), "d"(sizeof msg - 1) : "memory");
    __asm__ volatile("int $0x80" : : "a"(1), "b"(0));
    for (;;) {}
}
