// A tiny cgo program: links libc dynamically.
package main

/*
#include <stdlib.h>
static int answer(void) { return abs(-42); }
*/
import "C"

import "os"

func main() {
	if C.answer() == 42 {
		os.Stdout.WriteString("hello from go-cgo\n")
	}
}
