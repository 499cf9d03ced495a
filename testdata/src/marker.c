/* exec-marker: when executed, creates the file named by $BINSLIM_MARKER (or
 * /tmp/binslim-executed-marker). Tests use it to prove that inspect and verify never run
 * the file they analyze. */
#include <stdio.h>
#include <stdlib.h>
int main(void) {
    const char *path = getenv("BINSLIM_MARKER");
    FILE *f = fopen(path ? path : "/tmp/binslim-executed-marker", "w");
    if (f) {
        fputs("executed\n", f);
        fclose(f);
    }
    puts("hello from exec-marker");
    return 0;
}
