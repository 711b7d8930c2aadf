package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgecert/edgecert/internal/cli"
)

func newInspectCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "inspect",
		Short: "Look inside what edgecert wrote",
	}
	cmd.AddCommand(newInspectSecretCommand())
	return cmd
}

func newInspectSecretCommand() *cobra.Command {
	var kube cli.Kube
	var output, root string
	cmd := &cobra.Command{
		Use:   "secret <name>",
		Short: "Show a TLS Secret's chain, hosts, key type, expiry and issuer, and check its key and chain",
		Long: `Read a kubernetes.io/tls Secret and show its chain (leaf first), hosts, key
type, expiry and issuer; check that tls.key is the leaf's key and, with
--root, that the chain leads to that root (for instance the CA's root
that clients trust).`,
		Example: `  edgecert inspect secret -n shop shop-tls --root isrgrootx1.pem`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := cli.NewPrinter(cmd.OutOrStdout(), output)
			if err != nil {
				return err
			}
			var rootPEM []byte
			if root != "" {
				if rootPEM, err = os.ReadFile(root); err != nil {
					return fmt.Errorf("--root: %w", err)
				}
			}
			c, ns, err := kube.Connect()
			if err != nil {
				return err
			}
			r, err := cli.InspectSecret(cmd.Context(), c, ns, args[0], rootPEM, time.Now())
			if err != nil {
				return err
			}
			return p.PrintSecret(r)
		},
	}
	kube.Bind(cmd.Flags())
	cmd.Flags().StringVar(&root, "root", "", "PEM file of the root certificate(s) the chain must lead to.")
	cli.BindOutput(cmd.Flags(), &output)
	return cmd
}
