// go-runtime reports which run-time files work where it runs: system root certificates, time
// zones, a user lookup and a temporary file. `binslim image` adds what it needs, so every
// answer is true in its image and false in a bare FROM scratch image (tests/image.rs).
package main

import (
	"crypto/x509"
	"fmt"
	"os"
	"os/user"
	"time"
)

func main() {
	pool, err := x509.SystemCertPool()
	certs := err == nil && pool != nil && len(pool.Subjects()) > 0 //nolint:staticcheck
	_, err = time.LoadLocation("Europe/Berlin")
	zoneinfo := err == nil
	_, err = user.LookupId("65532")
	users := err == nil
	tmp := false
	if f, err := os.CreateTemp("", "x"); err == nil {
		tmp = true
		f.Close()
		os.Remove(f.Name())
	}
	fmt.Printf("certs=%t zoneinfo=%t user=%t tmp=%t\n", certs, zoneinfo, users, tmp)
}
