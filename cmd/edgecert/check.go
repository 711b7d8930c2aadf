package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgecert/edgecert/internal/cli"
)

func newCheckCommand() *cobra.Command {
	var kube cli.Kube
	var output, root, address string
	var offline bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "check <host[:port]>",
		Short: "Connect to a live TLS endpoint and check the certificate it serves",
		Long: `Connect to host (port 443 unless given) with SNI, and report the chain it
serves, its hosts and expiry, whether it is valid for the host and trusted
(by the system's roots, or --root), and whether it is the certificate
edgecert holds for the host: the leaf in the Secret of the Certificate
whose dnsNames cover it (in the namespace, or with -A in any).`,
		Example: `  edgecert check shop.example.com -A
  edgecert check shop.example.com:8443 --address 10.0.0.7:8443 -n shop`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := cli.NewPrinter(cmd.OutOrStdout(), output)
			if err != nil {
				return err
			}
			req := cli.CheckRequest{Target: args[0], Address: address, Timeout: timeout}
			if root != "" {
				if req.RootPEM, err = os.ReadFile(root); err != nil {
					return fmt.Errorf("--root: %w", err)
				}
			}
			var c client.Client
			var ns string
			if !offline {
				if c, ns, err = kube.Connect(); err != nil {
					return fmt.Errorf("%w (or give --offline to skip the comparison with edgecert's Secret)", err)
				}
				if kube.AllNamespaces {
					ns = ""
				}
			}
			r, err := cli.Check(cmd.Context(), req, c, ns, time.Now())
			if err != nil {
				return err
			}
			return p.PrintCheck(r)
		},
	}
	kube.Bind(cmd.Flags())
	kube.BindAll(cmd.Flags())
	fs := cmd.Flags()
	fs.StringVar(&root, "root", "", "PEM file of the roots to verify the chain with (default: the system's).")
	fs.StringVar(&address, "address", "", "Connect to this host:port instead of resolving the host (SNI stays the host).")
	fs.BoolVar(&offline, "offline", false, "Do not read the cluster: check the endpoint only.")
	fs.DurationVar(&timeout, "timeout", 10*time.Second, "Deadline of the connection and handshake.")
	cli.BindOutput(fs, &output)
	return cmd
}
