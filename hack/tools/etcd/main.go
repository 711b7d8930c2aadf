// Command etcd builds the upstream etcd server from the Go module proxy for
// envtest. `make tools` builds it into bin/ and caches it by version.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
