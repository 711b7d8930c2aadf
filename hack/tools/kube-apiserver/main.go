// Command kube-apiserver builds the upstream Kubernetes API server from the Go
// module proxy, so that envtest runs the real thing on machines with no
// release tarballs. `make tools` builds it into bin/ and caches it by version.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
