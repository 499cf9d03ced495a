/* Links against libgreet.so, found at run time through RUNPATH/RPATH $ORIGIN/../lib. */
void greet(const char *who);
int main(void) {
    greet(NAME);
    return 0;
}
