/* arm64-static: a libc-free static aarch64 program (write + exit syscalls), so the fixture
 * stays a few KB. It cannot run on x86_64; tests use it for --platform checks. */
static const char msg[] = "hello from arm64-static\n";
void _start(void) {
    register long x0 __asm__("x0") = 1;
    register const char *x1 __asm__("x1") = msg;
    register long x2 __asm__("x2") = sizeof msg - 1;
    register long x8 __asm__("x8") = 64; /* write */
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x1), "r"(x2), "r"(x8) : "memory");
    register long y0 __asm__("x0") = 0;
    register long y8 __asm__("x8") = 93; /* exit */
    __asm__ volatile("svc 0" : : "r"(y0), "r"(y8));
    for (;;) {}
}
