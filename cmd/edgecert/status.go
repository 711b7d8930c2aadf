package main

import (
	"github.com/spf13/cobra"

	"github.com/edgecert/edgecert/internal/cli"
)

func newStatusCommand() *cobra.Command {
	var kube cli.Kube
	var output string
	cmd := &cobra.Command{
		Use:   "status [-n namespace | -A]",
		Short: "Show Certificates, GatewayServices and CertMerges and what is wrong with them",
		Long: `Show one table of Certificates (hosts, issuer, state, expiry, next
renewal, the last error in plain words), one of GatewayServices (their
Gateway and port, accepted or in conflict and with whom) and one of
CertMerges, in the namespace (-n, or the kubeconfig context's) or in every
namespace (-A).`,
		Example: `  edgecert status -A
  edgecert status -n shop -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := cli.NewPrinter(cmd.OutOrStdout(), output)
			if err != nil {
				return err
			}
			c, ns, err := kube.Connect()
			if err != nil {
				return err
			}
			r, err := cli.Status(cmd.Context(), c, ns, kube.AllNamespaces)
			if err != nil {
				return err
			}
			return p.PrintStatus(r)
		},
	}
	kube.Bind(cmd.Flags())
	kube.BindAll(cmd.Flags())
	cli.BindOutput(cmd.Flags(), &output)
	return cmd
}
