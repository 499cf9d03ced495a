/* freebsd-static: a libc-free static program for FreeBSD/amd64, as a FreeBSD toolchain brands
 * it: the ABI note crt1 carries (.note.tag, "FreeBSD", NT_FREEBSD_ABI_TAG) and EI_OSABI 9 (set
 * with elfedit). It makes FreeBSD system calls (write = 4, exit = 1), so on Linux it cannot
 * print its line: 4 is stat there and 1 is write, and it then traps. */
struct note {
    unsigned namesz, descsz, type;
    char name[8];
    unsigned desc;
};
__attribute__((section(".note.tag"), aligned(4), used))
static const struct note abi_tag = {8, 4, 1, "FreeBSD", 1400097};

static const char msg[] = "hello from freebsd-static\n";
void _start(void) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(4), "D"(1), "S"(msg), "d"(sizeof msg - 1) : "rcx", "r11", "memory");
    __asm__ volatile("syscall" : "=a"(r) : "a"(1), "D"(0) : "rcx", "r11", "memory");
    __builtin_trap();
}
