// Command edgecert is the edgecert operator and its command line tools.
//
//	edgecert controller --kubeconfig ~/.kube/config
//	edgecert status -A
//
// Installed (or linked) as kubectl-edgecert, it is a kubectl plugin:
// `kubectl edgecert status -A`.
//
// Each subcommand lives in a file of its own; this file only assembles them.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

func main() {
	root := newRootCommand()
	name := "edgecert"
	if filepath.Base(os.Args[0]) == kubectlPluginName {
		// kubectl runs plugins by their file name; the plugin is the
		// root command under the name kubectl shows.
		name = "kubectl edgecert"
		root.Use = name
	}
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// kubectlPluginName is the file name that makes the binary a kubectl
// plugin (`ln -s edgecert kubectl-edgecert` somewhere on PATH).
const kubectlPluginName = "kubectl-edgecert"

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "edgecert",
		Short:         "TLS for Istio ingress gateways: ACME certificates, gateway servers, bundles",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newControllerCommand())
	root.AddCommand(newStatusCommand(), newExplainCommand(), newRenewCommand(), newInspectCommand(), newCheckCommand())
	return root
}
