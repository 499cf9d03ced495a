// A multi-package program for binslim's size tests (tests/go_sizes.rs): an HTTP server with
// JSON, a generic store in a second package of the module, closures and methods. Given an
// argument it serves on that address; without one it prints what it would serve and exits.
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"

	"example.com/sizes/store"
)

type item struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func main() {
	s := store.New[string, item]()
	s.Put("a", item{Name: "a", Count: 1})
	ids := store.New[int, []string]()
	ids.Put(1, []string{"x"})
	mux := http.NewServeMux()
	mux.HandleFunc("/items", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Values())
	})
	if len(os.Args) > 1 {
		_ = http.ListenAndServe(os.Args[1], mux)
		return
	}
	out, _ := json.Marshal(s.Values())
	fmt.Println(string(out), ids.Len())
}
