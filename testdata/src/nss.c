/* Static glibc that calls NSS functions (the c-static-pie fixture): it starts in scratch, but
 * the lookups quietly fail there (no /etc/passwd, /etc/hosts). Given an argument it makes them
 * and prints the results; it always prints its line and exits 0. NAME is set by build.sh. */
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#ifndef NAME
#define NAME "c-static-pie"
#endif
int main(int argc, char **argv) {
    if (argc > 1) {
        struct addrinfo *res = 0;
        int rc = getaddrinfo("localhost", "80", 0, &res);
        struct passwd *pw = getpwnam("root");
        printf("getaddrinfo=%d getpwnam=%s\n", rc, pw ? "found" : "missing");
    }
    puts("hello from " NAME);
    return 0;
}
