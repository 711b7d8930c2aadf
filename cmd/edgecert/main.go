// Command edgecert is the edgecert operator and its command line tools.
//
//	edgecert controller --kubeconfig ~/.kube/config
//
// Each subcommand lives in a file of its own; this file only assembles them.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "edgecert:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "edgecert",
		Short:         "TLS for Istio ingress gateways: ACME certificates, gateway servers, bundles",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newControllerCommand())
	root.AddCommand(newMigrateCommand())
	root.AddCommand(newVersionCommand())
	return root
}
