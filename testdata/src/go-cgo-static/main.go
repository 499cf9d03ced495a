// A cgo program linked statically against glibc: os/user then goes through glibc's NSS.
package main

/*
#include <stdlib.h>
static int answer(void) { return abs(-42); }
*/
import "C"

import (
	"os"
	"os/user"
)

func main() {
	if len(os.Args) > 1 {
		if u, err := user.Current(); err == nil {
			os.Stdout.WriteString(u.Username + "\n")
		}
	}
	if C.answer() == 42 {
		os.Stdout.WriteString("hello from go-cgo-static\n")
	}
}
