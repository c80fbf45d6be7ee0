// Command etcd is go.etcd.io/etcd/server/v3's etcdmain, built from the Go module proxy for the
// e2e test environment only (Debian's etcd 3.4 is EOL and degrades the API server).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
