module example.com/tlsembedded

go 1.23
