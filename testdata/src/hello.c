/* The smallest useful C fixture: prints one line and exits 0. NAME is set by build.sh. */
#include <stdio.h>
#ifndef NAME
#define NAME "c"
#endif
int main(void) {
    puts("hello from " NAME);
    return 0;
}
