/* arm-static: a libc-free static 32-bit ARM program (write + exit syscalls), built for a given
 * -march so that .ARM.attributes records that architecture (Tag_CPU_arch). */
static const char msg[] = "hello from arm-static\n";
void _start(void) {
    register long r0 __asm__("r0") = 1;
    register const char *r1 __asm__("r1") = msg;
    register long r2 __asm__("r2") = sizeof msg - 1;
    register long r7 __asm__("r7") = 4; /* write */
    __asm__ volatile("svc 0" : "+r"(r0) : "r"(r1), "r"(r2), "r"(r7) : "memory");
    register long s0 __asm__("r0") = 0;
    register long s7 __asm__("r7") = 1; /* exit */
    __asm__ volatile("svc 0" : : "r"(s0), "r"(s7));
    for (;;) {}
}
