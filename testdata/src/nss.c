/* Static glibc that calls NSS functions: it starts in scratch, but the lookups need shared
 * NSS modules at run time and quietly fail without them. Always prints its line, exits 0. */
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    if (argc > 1) {
        struct addrinfo *res = 0;
        int rc = getaddrinfo("localhost", "80", 0, &res);
        struct passwd *pw = getpwnam("root");
        printf("getaddrinfo=%d getpwnam=%s\n", rc, pw ? "found" : "missing");
    }
    puts("hello from c-static-nss");
    return 0;
}
