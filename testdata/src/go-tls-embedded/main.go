// go-tls-embedded is the scratch-safe counterpart of go-tls: it registers fallback root
// certificates (x509.SetFallbackRoots, which is what golang.org/x/crypto/x509roots/fallback
// does), embeds the time zone database (time/tzdata), looks up no users and is built with
// -tags netgo,osusergo. To keep the fixture small it verifies against the root pool with
// crypto/x509 directly instead of dialing with crypto/tls.
package main

import (
	"crypto/x509"
	_ "embed"
	"fmt"
	"os"
	"time"
	_ "time/tzdata"
)

//go:embed root.pem
var rootPEM []byte

func init() {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(rootPEM)
	x509.SetFallbackRoots(pool)
}

func main() {
	if len(os.Args) > 1 {
		pool, err := x509.SystemCertPool()
		fmt.Println(pool != nil, err)
		loc, err := time.LoadLocation("Europe/Berlin")
		fmt.Println(loc, err)
	}
	fmt.Println("hello from go-tls-embedded")
}
