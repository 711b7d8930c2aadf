package main

import (
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/edgecert/edgecert/internal/cli"
)

func newRenewCommand() *cobra.Command {
	var kube cli.Kube
	var output, selector string
	var all bool
	cmd := &cobra.Command{
		Use:   "renew (<certificate>... | --all [-l selector])",
		Short: "Issue Certificates now, without waiting for their renewal time",
		Long: `Ask edgecert to order a new certificate now for the named Certificates,
or for all of them (--all) matching a label selector (-l), in the
namespace or in every namespace (-A). It sets the annotation
edgecert.dev/renew-requested-at; the controller answers each request with
one order, also cutting short the backoff after failed attempts (use it
once the cause is fixed).`,
		Example: `  edgecert renew -n shop shop-tls
  edgecert renew --all -l team=web -A`,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := cli.NewPrinter(cmd.OutOrStdout(), output)
			if err != nil {
				return err
			}
			sel, err := labels.Parse(selector)
			if err != nil {
				return err
			}
			c, ns, err := kube.Connect()
			if err != nil {
				return err
			}
			rs, err := cli.Renew(cmd.Context(), c, cli.RenewRequest{Namespace: ns, Names: args, All: all, AllNamespaces: kube.AllNamespaces, Selector: sel}, time.Now())
			if perr := p.PrintRenewed(rs); err == nil {
				err = perr
			}
			return err
		},
	}
	kube.Bind(cmd.Flags())
	kube.BindAll(cmd.Flags())
	cmd.Flags().BoolVar(&all, "all", false, "Renew every Certificate in the namespace (or, with -A, everywhere) that matches -l.")
	cmd.Flags().StringVarP(&selector, "selector", "l", "", "Label selector for --all (e.g. team=web).")
	cli.BindOutput(cmd.Flags(), &output)
	return cmd
}
