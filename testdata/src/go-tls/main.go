// go-tls makes an HTTPS request when given HOST (tls.Dial with the system root certificates),
// loads a time zone and looks up the current user. With no argument it only prints its line,
// but all those code paths are linked in, which is what binslim verify looks for.
package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"os/user"
	"time"
)

func main() {
	if len(os.Args) > 1 {
		conn, err := tls.Dial("tcp", os.Args[1]+":443", &tls.Config{ServerName: os.Args[1]})
		if err == nil {
			fmt.Fprintf(conn, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", os.Args[1])
			conn.Close()
		}
		loc, err := time.LoadLocation("Europe/Berlin")
		u, uerr := user.Current()
		fmt.Println(loc, err, u, uerr)
	}
	fmt.Println("hello from go-tls")
}
