// A tiny Go program: prints one line and exits 0.
package main

import "os"

func main() {
	os.Stdout.WriteString("hello from go\n")
}
