/* libgreet.so: a shared library with a SONAME, used by the c-rpath fixtures. */
#include <stdio.h>
void greet(const char *who) { printf("hello from %s\n", who); }
