package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/edgecert/edgecert/internal/cli"
)

func newExplainCommand() *cobra.Command {
	var kube cli.Kube
	var output string
	cmd := &cobra.Command{
		Use:   "explain <certificate>",
		Short: "Explain, step by step, why a Certificate is not Ready",
		Long: `Lay out where a Certificate's issuance stands, step by step: the issuer
and its ACME account, the platform's policy, the Secret, the order, each
authorization's challenge, DNS propagation, and the CA's own words, then
the Certificate's latest events. Everything comes from what edgecert
recorded in the cluster; nothing is sent to the CA or to DNS.`,
		Example: `  edgecert explain -n shop shop-tls`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := cli.NewPrinter(cmd.OutOrStdout(), output)
			if err != nil {
				return err
			}
			c, ns, err := kube.Connect()
			if err != nil {
				return err
			}
			e, err := cli.Explain(cmd.Context(), c, ns, args[0], time.Now())
			if err != nil {
				return err
			}
			return p.PrintExplanation(e)
		},
	}
	kube.Bind(cmd.Flags())
	cli.BindOutput(cmd.Flags(), &output)
	return cmd
}
