module example.com/go-cgo-static

go 1.23
