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
	root := rootFor(os.Args[0])
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, root.DisplayName()+":", err)
		os.Exit(1)
	}
}

// kubectlPluginName is the file name that makes the binary a kubectl
// plugin (`ln -s edgecert kubectl-edgecert` somewhere on PATH).
const kubectlPluginName = "kubectl-edgecert"

// rootFor is the root command for the name the binary was run as: run as
// kubectl-edgecert (kubectl runs plugins by their file name), it is the
// same command under the name kubectl shows.
func rootFor(argv0 string) *cobra.Command {
	root := newRootCommand()
	if filepath.Base(argv0) == kubectlPluginName {
		root.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl edgecert"}
	}
	return root
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
	root.AddCommand(newStatusCommand(), newExplainCommand(), newRenewCommand(), newInspectCommand(), newCheckCommand())
	return root
}
